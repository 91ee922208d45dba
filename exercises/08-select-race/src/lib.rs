//! # Exercise 08: a race with `select`
//!
//! Chapter 5, Promises (`book/src/promises.md`). About 15 minutes.
//!
//! Two mirrors serve the same feed; ask both and take whichever is quicker. `future::select(a,
//! b)` polls two futures and resolves as soon as **one** of them does, with
//! `Either::Left((a_output, b_future))` or `Either::Right((b_output, a_future))`: the winner's
//! output, **and the loser, still running**. What you do with the loser is the whole lesson:
//!
//! 1. [`race`]: resolve with the winner's name and result, success or failure (JavaScript's
//!    `Promise.race`). Drop the loser: dropping a future cancels it, and the log shows
//!    `cancel NAME`.
//! 2. [`first_success`]: resolve with the first *body* (JavaScript's `Promise.any`). If the
//!    winner failed, keep the loser and wait for it; if both fail, give the last error.
//!
//! No `async` and no `.await` in this file (a test checks). The placeholders
//! `future::poll_fn(|_| todo!(...))` are futures that panic when polled: replace them.
//!
//! Check your work with `cargo run -- learn check 8`. Stuck? `cargo run -- learn hint 8`.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use futures::future::{self, Either, Future, FutureExt};
use futures_timer::Delay;

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The feed answered with an error.
    Down(&'static str),
    /// No feed has that name.
    NoSuchFeed(&'static str),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Down(feed) => write!(f, "feed `{feed}` is down"),
            FetchError::NoSuchFeed(feed) => write!(f, "no feed is called `{feed}`"),
        }
    }
}

/// The mirrors of one feed: name, latency in milliseconds, body (`None`: it fails).
const FEEDS: &[(&str, u64, Option<&str>)] = &[
    ("fast-mirror", 10, Some("Oslo;3.5")),
    ("slow-mirror", 200, Some("Oslo;3.5 (slow)")),
    ("broken-mirror", 5, None),
    ("broken-slow-mirror", 120, None),
];

thread_local! {
    /// What happened on this thread, in order: `start NAME`, then `answer NAME`, `fail NAME`,
    /// or `cancel NAME` if the fetch was dropped before it finished.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Takes the log of this thread's fetches so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Notes `cancel NAME` in the log if dropped before the fetch finished.
struct CancelWatch {
    /// The feed being fetched.
    name: &'static str,
    /// Set when the fetch has finished.
    finished: bool,
}

impl Drop for CancelWatch {
    fn drop(&mut self) {
        if !self.finished {
            log(format!("cancel {}", self.name));
        }
    }
}

/// Fetches the feed called `name`. Lazy: it starts at its first poll. Dropping it before it
/// finishes cancels it (and the log says so).
pub fn fetch(name: &'static str) -> impl Future<Output = Result<String, FetchError>> {
    let feed = FEEDS.iter().find(|(feed, ..)| *feed == name).copied();
    future::lazy(move |_| {
        log(format!("start {name}"));
        CancelWatch {
            name,
            finished: false,
        }
    })
    .then(move |watch| {
        let latency = feed.map_or(0, |(_, latency, _)| latency);
        Delay::new(Duration::from_millis(latency)).map(move |()| watch)
    })
    .map(move |mut watch| {
        watch.finished = true;
        match feed {
            Some((_, _, Some(body))) => {
                log(format!("answer {name}"));
                Ok(body.to_string())
            }
            Some((_, _, None)) => {
                log(format!("fail {name}"));
                Err(FetchError::Down(name))
            }
            None => Err(FetchError::NoSuchFeed(name)),
        }
    })
}

/// Fetches `a` and `b` at once; resolves with the name and result of the first to finish,
/// success or failure. The other is dropped, which cancels it. JavaScript's `Promise.race`.
pub fn race(
    a: &'static str,
    b: &'static str,
) -> impl Future<Output = (&'static str, Result<String, FetchError>)> {
    // TODO: both fetches at once; the first to finish, success or failure, with its feed's
    // name; the other one cancelled.
    future::poll_fn(|_| todo!("the first of two fetches to finish"))
}

/// Fetches `a` and `b` at once; resolves with the first body to arrive, and the name of its
/// feed. If the first to finish failed, waits for the other; if both fail, resolves with the
/// error of the last to fail. JavaScript's `Promise.any`.
pub fn first_success(
    a: &'static str,
    b: &'static str,
) -> impl Future<Output = Result<(&'static str, String), FetchError>> {
    // TODO: both fetches at once; the first body to arrive, with its feed's name. A failure
    // does not end the race while the other fetch may still succeed; both failing gives the
    // last error.
    future::poll_fn(|_| todo!("the first body, falling back on the loser"))
}
