//! Tests of exercise 01: `fetch_all` starts every feed at once and calls back once, at the end.
//!
//! Each test runs the event loop until it has nothing left to do, then looks at what happened:
//! the log of fetches (`start NAME`, `answer NAME`) and what `done` was called with.

use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;
use std::time::Duration;

use countdown_callbacks::{Feed, fetch_all, take_log};
use rosetta_callbacks::event_loop::EventLoop;

/// Where to read about this exercise.
const REREAD: &str = "chapter 4, Callbacks (book/src/callbacks.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const fn feed(name: &'static str, latency_ms: u64, body: &'static str) -> Feed {
    Feed {
        name,
        latency: Duration::from_millis(latency_ms),
        body,
    }
}

/// Three feeds that answer in the opposite of their order: `c` first, `a` last.
const FEEDS: [Feed; 3] = [
    feed("a", 30, "Oslo;3.5"),
    feed("b", 20, "Bergen;-1.0"),
    feed("c", 10, "Riga;7.0"),
];

/// Runs `fetch_all` on `feeds` until the loop has no work left. Returns every list `done` was
/// called with, and the log of fetches.
fn run_fetch_all(feeds: &[Feed]) -> (Vec<Vec<String>>, Vec<String>) {
    take_log(); // Start with an empty log.
    let event_loop = EventLoop::new();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let record = Rc::clone(&calls);
    fetch_all(&event_loop, feeds, move |bodies| {
        record.borrow_mut().push(bodies)
    });
    event_loop.run();
    let calls = calls.borrow().clone();
    (calls, take_log())
}

#[test]
fn done_is_called_once_with_every_body_in_the_order_of_the_feeds() {
    let (calls, _) = run_fetch_all(&FEEDS);
    check(
        "`done` should be called exactly once, after the last feed has answered \
         (0 calls: the countdown never reached zero, or `done` was dropped uncalled)",
        calls.len(),
        1,
    );
    check(
        "`done` should get the bodies in the order of `feeds`, not in the order the feeds \
         answered (c answers first, a last)",
        calls[0].clone(),
        vec![
            "Oslo;3.5".to_string(),
            "Bergen;-1.0".into(),
            "Riga;7.0".into(),
        ],
    );
}

#[test]
fn every_feed_starts_before_any_answers() {
    let (_, log) = run_fetch_all(&FEEDS);
    check(
        "`fetch_all` should start every feed at once, then let them answer: waiting for one \
         feed before starting the next makes the total wait the sum of the latencies",
        log,
        [
            "start a", "start b", "start c", "answer c", "answer b", "answer a",
        ]
        .map(String::from)
        .to_vec(),
    );
}

#[test]
fn one_feed_is_a_countdown_from_one() {
    let (calls, _) = run_fetch_all(&FEEDS[..1]);
    check(
        "with one feed, `done` should be called once, with its body",
        calls,
        vec![vec!["Oslo;3.5".to_string()]],
    );
}

#[test]
fn no_feeds_calls_back_with_nothing_but_not_at_once() {
    let event_loop = EventLoop::new();
    let called = Rc::new(RefCell::new(None));
    let record = Rc::clone(&called);
    fetch_all(&event_loop, &[], move |bodies| {
        *record.borrow_mut() = Some(bodies);
    });
    check(
        "with no feeds, `done` must not be called before `fetch_all` returns (the caller's code \
         after the call would run after its own callback): schedule it with \
         `event_loop.set_immediate(...)`",
        called.borrow().clone(),
        None,
    );
    event_loop.run();
    check(
        "with no feeds, `done` should still be called, with an empty list, once the loop runs",
        called.borrow().clone(),
        Some(Vec::new()),
    );
}
