//! # Exercise 03: flatten callback hell
//!
//! Chapter 4, Callbacks (`book/src/callbacks.md`). About 15 minutes.
//!
//! [`fetch_three_times_nested`] fetches a flaky feed with up to three attempts, the way it first
//! comes to mind: the second attempt is written inside the first one's callback, the third
//! inside the second's. That is *callback hell*: the code's shape follows the order of events
//! in time, one level deeper per wait, and "up to N attempts" cannot be written at all, because
//! a loop cannot wait.
//!
//! Write [`fetch_with_retry`], which takes any number of attempts. The way out of the nesting
//! is to give the retry a **name**: a function that makes attempt `number` and, when it fails
//! and attempts are left, calls *itself* for attempt `number + 1` from the callback. (It looks
//! like deep recursion but is not: each call returns as soon as the attempt is started, and the
//! next call comes from the event loop, on a fresh stack.)
//!
//! The tests check that your version agrees with the nested one on three attempts, that it
//! takes more, that attempts run one after the other, and that nothing happens after an answer.
//!
//! Check your work with `cargo run -- learn check 3`. Stuck? `cargo run -- learn hint 3`.

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

/// Fetches `feed` with up to `max_attempts` attempts (at least 1), one after the other, and calls
/// `done` once with the attempts made and the body, if any attempt answered.
pub fn fetch_with_retry(
    event_loop: &EventLoop,
    feed: &Feed,
    max_attempts: u32,
    done: impl FnOnce(Fetched) + 'static,
) {
    // TODO: up to `max_attempts` attempts, one after the other, each started only when the one
    // before has failed; `done` once, with the first answer or the last failure. No nesting:
    // the code must not grow with the number of attempts.
    todo!("retry with a named function that calls itself")
}
