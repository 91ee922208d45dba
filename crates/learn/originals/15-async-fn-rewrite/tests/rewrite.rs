//! Tests of exercise 15: the `async fn` does what the hand-written state machine does, on every
//! kind of feed: same result, same attempts, in the same order.
//!
//! Times: answers come after 5 ms, attempts are limited to 100 ms.

use std::fmt::Debug;
use std::sync::mpsc;
use std::time::Duration;

use async_fn_rewrite::{
    Feed, Fetched, Outcome, fetch_with_retry, fetch_with_retry_async, take_log,
};

/// Where to read about this exercise.
const REREAD: &str = "chapter 7, async/await (book/src/async-await.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const LIMIT: Duration = Duration::from_millis(100);

fn feed(failures: u32, hangs: bool) -> Feed {
    Feed {
        latency: Duration::from_millis(5),
        failures,
        hangs,
        body: "Oslo;3.5",
    }
}

/// Runs both versions on `feed` (on a thread of their own, with a 10 s limit, in case the
/// `async fn` never finishes); returns what each produced and logged.
fn both(feed: Feed, max_attempts: u32) -> [(Fetched, Vec<String>); 2] {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        take_log();
        let hand_written =
            futures::executor::block_on(fetch_with_retry(&feed, max_attempts, LIMIT));
        let hand_written = (hand_written, take_log());
        let async_fn =
            futures::executor::block_on(fetch_with_retry_async(&feed, max_attempts, LIMIT));
        let _ = done.send([hand_written, (async_fn, take_log())]);
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!(
                "fetching {feed:?} with {max_attempts} attempt(s) did not finish in 10 s: does \
             `fetch_with_retry_async` stop after `max_attempts`?\n    reread: {REREAD}"
            )
        })
}

#[test]
fn a_healthy_feed() {
    let [hand_written, async_fn] = both(feed(0, false), 3);
    check(
        "the state machine answers on the first attempt",
        hand_written.0.clone(),
        Fetched {
            attempts: 1,
            outcome: Outcome::Answered,
            body: Some("Oslo;3.5".into()),
        },
    );
    check(
        "a healthy feed: the async fn should do what the state machine does (result, log)",
        async_fn,
        hand_written,
    );
}

#[test]
fn a_feed_that_fails_twice() {
    for max_attempts in [1, 2, 3, 4] {
        let [hand_written, async_fn] = both(feed(2, false), max_attempts);
        check(
            &format!(
                "a feed whose first 2 attempts fail, {max_attempts} attempt(s) allowed: the \
                 async fn should do what the state machine does (result, log)"
            ),
            async_fn,
            hand_written,
        );
    }
}

#[test]
fn a_feed_that_hangs() {
    let [hand_written, async_fn] = both(feed(0, true), 2);
    check(
        "the state machine times out twice",
        hand_written.0.clone(),
        Fetched {
            attempts: 2,
            outcome: Outcome::Timeout,
            body: None,
        },
    );
    check(
        "a hanging feed: the async fn should do what the state machine does (result, log)",
        async_fn,
        hand_written,
    );
}

#[test]
fn the_async_fn_is_a_loop_of_awaits() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("src/lib.rs is readable");
    let start = source
        .find("pub async fn fetch_with_retry_async")
        .expect("`fetch_with_retry_async` is still an `async fn`");
    let body = &source[start..];
    let body = &body[..body.find("\n}\n").map_or(body.len(), |end| end)];
    assert!(
        body.contains(".await"),
        "`fetch_with_retry_async` should `.await` the attempts (`timeout(limit, attempt(feed, \
         n)).await`), not poll a state machine by hand\n    reread: {REREAD}"
    );
    assert!(
        !body.contains("fetch_with_retry("),
        "`fetch_with_retry_async` should not call the state machine: write the loop yourself\
         \n    reread: {REREAD}"
    );
}
