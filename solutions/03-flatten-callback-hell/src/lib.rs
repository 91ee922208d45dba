//! Solution of exercise 03: fetch-with-retry, flattened from callback hell into a named
//! recursive function.
//!
//! The exercise (`exercises/03-flatten-callback-hell/src/lib.rs`) explains the task; chapter 4
//! of the book (`book/src/callbacks.md`) explains the style. `crates/callbacks/src/fetch.rs`
//! shows the same two forms on the real pipeline.

use std::cell::RefCell;
use std::time::Duration;

use rosetta_callbacks::event_loop::EventLoop;

/// A flaky feed: its first `failures` attempts fail, the next ones answer `body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// How many attempts fail before one answers.
    pub failures: u32,
    /// What it answers once it does.
    pub body: &'static str,
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptFailed;

/// What fetch-with-retry comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Attempts made, from 1 to the maximum.
    pub attempts: u32,
    /// The body, if an attempt answered; `None` if every attempt failed.
    pub body: Option<String>,
}

/// How long an attempt takes.
const LATENCY: Duration = Duration::from_millis(2);

thread_local! {
    /// What happened on this thread, in order: `attempt N` when attempt N starts, then
    /// `failed N` or `answered N` when it ends.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Takes the log of this thread's attempts so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Attempt number `number` (from 1) at `feed`: calls `done`, a little later, with the body or
/// with [`AttemptFailed`].
pub fn attempt(
    event_loop: &EventLoop,
    feed: &Feed,
    number: u32,
    done: impl FnOnce(Result<String, AttemptFailed>) + 'static,
) {
    log(format!("attempt {number}"));
    let feed = *feed;
    event_loop.set_timeout(LATENCY, move || {
        if number <= feed.failures {
            log(format!("failed {number}"));
            done(Err(AttemptFailed));
        } else {
            log(format!("answered {number}"));
            done(Ok(feed.body.to_string()));
        }
    });
}

// ANCHOR: nested
/// Fetch-with-retry as it first comes to mind: three attempts at most, each written inside the
/// previous one's callback. One level of nesting per attempt, and no way to write "up to N".
pub fn fetch_three_times_nested(
    event_loop: &EventLoop,
    feed: &Feed,
    done: impl FnOnce(Fetched) + 'static,
) {
    let (event_loop_2, feed_2) = (event_loop.clone(), *feed);
    attempt(event_loop, feed, 1, move |first| match first {
        Ok(body) => done(Fetched {
            attempts: 1,
            body: Some(body),
        }),
        Err(AttemptFailed) => {
            let event_loop_3 = event_loop_2.clone();
            attempt(&event_loop_2, &feed_2, 2, move |second| match second {
                Ok(body) => done(Fetched {
                    attempts: 2,
                    body: Some(body),
                }),
                Err(AttemptFailed) => attempt(&event_loop_3, &feed_2, 3, move |third| {
                    done(Fetched {
                        attempts: 3,
                        body: third.ok(),
                    });
                }),
            });
        }
    });
}
// ANCHOR_END: nested

// ANCHOR: flat
/// Fetches `feed` with up to `max_attempts` attempts (at least 1), one after the other, and calls
/// `done` once with the attempts made and the body, if any attempt answered.
pub fn fetch_with_retry(
    event_loop: &EventLoop,
    feed: &Feed,
    max_attempts: u32,
    done: impl FnOnce(Fetched) + 'static,
) {
    assert!(max_attempts >= 1, "at least one attempt");
    fetch_from(event_loop, *feed, 1, max_attempts, done);
}

/// Attempt `number`; if it fails and attempts are left, the same function for the next one.
///
/// The nesting is gone because the retry is a *named* function calling itself, not a closure
/// written inside a closure. It is not a deep recursion either: each call returns as soon as
/// its timer is set, and the next one starts from the timer's callback, on a fresh stack.
fn fetch_from(
    event_loop: &EventLoop,
    feed: Feed,
    number: u32,
    max_attempts: u32,
    done: impl FnOnce(Fetched) + 'static,
) {
    let event_loop_for_retry = event_loop.clone();
    attempt(event_loop, &feed, number, move |result| match result {
        Ok(body) => done(Fetched {
            attempts: number,
            body: Some(body),
        }),
        Err(AttemptFailed) if number == max_attempts => done(Fetched {
            attempts: number,
            body: None,
        }),
        Err(AttemptFailed) => {
            fetch_from(&event_loop_for_retry, feed, number + 1, max_attempts, done);
        }
    });
}
// ANCHOR_END: flat
