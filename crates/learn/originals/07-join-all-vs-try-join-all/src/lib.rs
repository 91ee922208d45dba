//! # Exercise 07: `join_all` against `try_join_all`
//!
//! Chapter 5, Promises (`book/src/promises.md`). About 10 minutes.
//!
//! Two ways to wait for many futures at once, and the difference matters:
//!
//! - [`fetch_every`]: every feed at once, and **every result**, errors included, in the order
//!   of the names: `future::join_all`, JavaScript's `Promise.allSettled`;
//! - [`fetch_all_or_first_error`]: every body, or **the first error**, as soon as it happens:
//!   `future::try_join_all`, JavaScript's `Promise.all`. When one fetch fails, the others are
//!   *dropped*, and dropping a future cancels it (the log shows `cancel NAME`). JavaScript
//!   cannot do that: its promises run on, unobserved.
//!
//! Each is one line of code. Read the tests: they show which fetches start when, which finish,
//! which are cancelled, and in what order the results come.
//!
//! No `async` and no `.await` in this file (a test checks). The placeholders
//! `future::poll_fn(|_| todo!(...))` are futures that panic when polled: replace them.
//!
//! Check your work with `cargo run -- learn check 7`. Stuck? `cargo run -- learn hint 7`.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use futures::future::{self, Future, FutureExt};
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

/// The feeds of this little world: name, latency in milliseconds, body (`None`: it fails).
const FEEDS: &[(&str, u64, Option<&str>)] = &[
    ("oslo", 60, Some("Oslo;3.5")),
    ("bergen", 10, Some("Bergen;-1.0")),
    ("riga", 30, Some("Riga;7.0")),
    ("slow", 150, Some("Tromsø;-5.0")),
    ("down", 5, None),
    ("broken", 80, None),
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

/// Fetches every feed at once; resolves when all have finished, with every result, in the
/// order of `names`. JavaScript's `Promise.allSettled`.
pub fn fetch_every(
    names: &[&'static str],
) -> impl Future<Output = Vec<Result<String, FetchError>>> {
    // TODO: every fetch runs to its end; every result, in the order of `names`.
    future::poll_fn(|_| todo!("every result, in order"))
}

/// Fetches every feed at once; resolves with every body, in the order of `names`, or with the
/// first error to happen, at the moment it happens (the other fetches are dropped: cancelled).
/// JavaScript's `Promise.all`, except that JavaScript cannot cancel the others.
pub fn fetch_all_or_first_error(
    names: &[&'static str],
) -> impl Future<Output = Result<Vec<String>, FetchError>> {
    // TODO: every body in the order of `names`, or the first error as soon as it happens,
    // with the fetches still running cancelled.
    future::poll_fn(|_| todo!("every body, or the first error"))
}
