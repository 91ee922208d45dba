//! Solution of exercise 08: a race of two fetches with `select`, and a race that falls back on
//! the loser when the winner failed.
//!
//! The exercise (`exercises/08-select-race/src/lib.rs`) explains the task; chapter 5 of the
//! book (`book/src/promises.md`) explains the style. `crates/combinators/src/fetch.rs` races a
//! feed against its timeout the same way.

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

// ANCHOR: race
/// Fetches `a` and `b` at once; resolves with the name and result of the first to finish,
/// success or failure. The other is dropped, which cancels it. JavaScript's `Promise.race`.
pub fn race(
    a: &'static str,
    b: &'static str,
) -> impl Future<Output = (&'static str, Result<String, FetchError>)> {
    // `select` resolves with the winner's output *and the loser*, still running. Here the
    // loser is not needed: it is dropped at the end of the closure, and so cancelled.
    future::select(fetch(a), fetch(b)).map(move |either| match either {
        Either::Left((result, _b_still_running)) => (a, result),
        Either::Right((result, _a_still_running)) => (b, result),
    })
}
// ANCHOR_END: race

// ANCHOR: first_success
/// Fetches `a` and `b` at once; resolves with the first body to arrive, and the name of its
/// feed. If the first to finish failed, waits for the other; if both fail, resolves with the
/// error of the last to fail. JavaScript's `Promise.any`.
pub fn first_success(
    a: &'static str,
    b: &'static str,
) -> impl Future<Output = Result<(&'static str, String), FetchError>> {
    future::select(fetch(a), fetch(b)).then(move |either| {
        // Both loser futures have the same type (both come from `fetch`), so one `let` fits.
        let (winner, result, loser, loser_name) = match either {
            Either::Left((result, loser)) => (a, result, loser, b),
            Either::Right((result, loser)) => (b, result, loser, a),
        };
        match result {
            // The loser is dropped here: cancelled.
            Ok(body) => future::ready(Ok((winner, body))).left_future(),
            // The loser is still running: keep polling it.
            Err(_) => loser
                .map(move |result| result.map(|body| (loser_name, body)))
                .right_future(),
        }
    })
}
// ANCHOR_END: first_success
