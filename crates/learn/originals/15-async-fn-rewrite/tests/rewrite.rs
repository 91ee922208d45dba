//! Tests of exercise 15: the `async fn` does what the hand-written state machine does, on every
//! kind of feed: same result, same attempts, in the same order; and it does so without the
//! state machine (it never polls a `FetchWithRetry`).
//!
//! Times: answers come after 5 ms, attempts are limited to 100 ms.

use std::fmt::Debug;
use std::sync::mpsc;
use std::time::Duration;

use async_fn_rewrite::{
    Feed, Fetched, Outcome, fetch_with_retry, fetch_with_retry_async, state_machine_polls, take_log,
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

/// Runs `work` on a thread of its own and returns its result, failing the test if it takes more
/// than 10 s (an `async fn` that never finishes must not hang the tests) or re-raising its
/// panic (a `todo!()`, for example) if it panics.
fn with_watchdog<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = done.send(work());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends its result before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{what} did not finish in 10 s: does `fetch_with_retry_async` stop after \
             `max_attempts`, and limit every attempt with `timeout`?\n    reread: {REREAD}"
        ),
    }
}

/// Runs both versions on `feed` (on a thread of their own, under the watchdog); returns what
/// each produced and logged.
fn both(feed: Feed, max_attempts: u32) -> [(Fetched, Vec<String>); 2] {
    with_watchdog(
        &format!("fetching {feed:?} with {max_attempts} attempt(s)"),
        move || {
            take_log();
            let hand_written =
                futures::executor::block_on(fetch_with_retry(&feed, max_attempts, LIMIT));
            let hand_written = (hand_written, take_log());
            let async_fn =
                futures::executor::block_on(fetch_with_retry_async(&feed, max_attempts, LIMIT));
            [hand_written, (async_fn, take_log())]
        },
    )
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
fn the_async_fn_does_not_use_the_state_machine() {
    // Awaiting `fetch_with_retry(..)` inside the `async fn` would pass every test above: it *is*
    // the same behaviour. What tells the rewrite from a wrapper is whether the state machine
    // runs at all, so count its polls (on the thread where `block_on` runs the `async fn`).
    let feed = feed(2, false);
    let (fetched, polls) = with_watchdog("fetching a feed that fails twice", move || {
        let before = state_machine_polls();
        let fetched = futures::executor::block_on(fetch_with_retry_async(&feed, 3, LIMIT));
        (fetched, state_machine_polls() - before)
    });
    check(
        "a feed whose first 2 attempts fail, 3 attempts allowed",
        fetched.outcome,
        Outcome::Answered,
    );
    assert!(
        polls == 0,
        "`fetch_with_retry_async` polled the hand-written `FetchWithRetry` {polls} time(s): \
         it should replace the state machine, not wrap it. Write the retry loop yourself, \
         awaiting `timeout(limit, attempt(feed, number))`\n    reread: {REREAD}"
    );
}
