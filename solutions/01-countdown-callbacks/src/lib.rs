//! Solution of exercise 01: fetch several feeds at once, call back once when all have answered.
//!
//! The exercise (`exercises/01-countdown-callbacks/src/lib.rs`) explains the task; chapter 4 of
//! the book (`book/src/callbacks.md`) explains the style. Compare with `crates/callbacks`, whose
//! `enrich` gathers a source's lookups with the same countdown.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rosetta_callbacks::event_loop::EventLoop;

/// A feed to fetch: after `latency`, it answers with `body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// The feed's name, as the log writes it.
    pub name: &'static str,
    /// How long the feed takes to answer.
    pub latency: Duration,
    /// What it answers.
    pub body: &'static str,
}

thread_local! {
    /// What happened, in order: `start NAME` when a fetch starts, `answer NAME` when it answers.
    /// One log per thread: each test runs on a thread of its own, and so does its event loop.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Takes the log of this thread's fetches so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Starts fetching `feed`; calls `answer` with its body once the feed has answered.
///
/// Returns at once: the answer comes later, from a timer on `event_loop`.
pub fn fetch(event_loop: &EventLoop, feed: &Feed, answer: impl FnOnce(String) + 'static) {
    log(format!("start {}", feed.name));
    let Feed { name, body, .. } = *feed;
    event_loop.set_timeout(feed.latency, move || {
        log(format!("answer {name}"));
        answer(body.to_string());
    });
}

/// What the feeds' callbacks share while they answer.
struct Countdown<F> {
    /// Feeds that have not answered yet.
    remaining: usize,
    /// The body of each feed, by its index in `feeds`, once it has answered.
    bodies: Vec<Option<String>>,
    /// The continuation, taken (and called) by the last feed to answer.
    done: Option<F>,
}

// ANCHOR: fetch_all
/// Fetches every feed at once, then calls `done` once with their bodies, in the order of
/// `feeds`. With no feeds, `done` gets an empty list, on a later turn of the loop.
pub fn fetch_all<F>(event_loop: &EventLoop, feeds: &[Feed], done: F)
where
    F: FnOnce(Vec<String>) + 'static,
{
    if feeds.is_empty() {
        // Nobody will count down to zero: call back ourselves, but later, never before we
        // return (a callback that is sometimes synchronous is a trap for the caller).
        event_loop.set_immediate(move || done(Vec::new()));
        return;
    }
    let countdown = Rc::new(RefCell::new(Countdown {
        remaining: feeds.len(),
        bodies: vec![None; feeds.len()],
        done: Some(done),
    }));
    for (index, feed) in feeds.iter().enumerate() {
        let countdown = Rc::clone(&countdown);
        fetch(event_loop, feed, move |body| {
            let mut state = countdown.borrow_mut();
            state.bodies[index] = Some(body);
            state.remaining -= 1;
            if state.remaining > 0 {
                return; // Others are still out; the last one will call `done`.
            }
            let bodies = state
                .bodies
                .drain(..)
                .map(|body| body.expect("every feed has answered"))
                .collect();
            let done = state.done.take().expect("only the last feed gets here");
            // Release the borrow before calling code we do not control: `done` might start
            // more work that needs this state.
            drop(state);
            done(bodies);
        });
    }
}
// ANCHOR_END: fetch_all
