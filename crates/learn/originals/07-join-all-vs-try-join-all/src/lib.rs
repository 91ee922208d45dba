//! # Exercise 07: `join_all`, `try_join_all`, and a deadline for the group
//!
//! Chapter 5, Promises (`book/src/promises.md`). About 15 minutes.
//!
//! Three ways to wait for many futures at once, and the differences matter:
//!
//! - [`fetch_every`] (given): every feed at once, and **every result**, errors included, in the
//!   order of the names: `future::join_all`, JavaScript's `Promise.allSettled`;
//! - [`fetch_all_or_first_error`]: every body, or **the first error**, as soon as it happens:
//!   JavaScript's `Promise.all`. When one fetch fails, the others are *dropped*, and dropping a
//!   future cancels it (the log shows `cancel NAME`). JavaScript cannot do that: its promises
//!   run on, unobserved;
//! - [`fetch_every_within`]: every result, like `fetch_every`, but the whole group has one
//!   deadline: a fetch still running when it passes is cancelled and reported as
//!   [`FetchError::TimedOut`], and the results that came in time are **kept**. No function of
//!   futures-rs does this directly: build it from the pieces this chapter shows (`join_all`,
//!   `select`, `Shared`, `futures_timer::Delay`). Ask yourself what a timeout around the whole
//!   group would throw away.
//!
//! Read the tests: they show which fetches start when, which finish, which are cancelled, and
//! in what order the results come.
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
    /// The group's deadline passed before the feed answered; the fetch was cancelled.
    TimedOut(&'static str),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Down(feed) => write!(f, "feed `{feed}` is down"),
            FetchError::NoSuchFeed(feed) => write!(f, "no feed is called `{feed}`"),
            FetchError::TimedOut(feed) => write!(f, "feed `{feed}` did not answer in time"),
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
    // Answers, but far too late for any deadline in the tests.
    ("stuck", 2_000, Some("Kiruna;-12.0")),
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
    // `join_all` polls every fetch each time it is woken, so they all start at its first poll
    // and run at once, in one task; it keeps each output in its slot, so the order of the
    // results is the order of `names`, not the order of the answers.
    future::join_all(names.iter().map(|&name| fetch(name)))
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

/// Fetches every feed at once, with one deadline, `limit` from now, for the whole group:
/// resolves, at the latest when the deadline passes, with one result per name, in the order of
/// `names`. A fetch that finished in time gives its own result (a body or an error); a fetch
/// still running at the deadline is dropped (cancelled) and gives
/// `Err(FetchError::TimedOut(name))`. If a fetch and the deadline are ready at the same poll,
/// the answer wins: it was there in time.
pub fn fetch_every_within(
    names: &[&'static str],
    limit: Duration,
) -> impl Future<Output = Vec<Result<String, FetchError>>> {
    // TODO: every result, in the order of `names`; the fetches still running when the one
    // deadline for the group passes are cancelled and time out; the others keep their result.
    let _ = (names, limit);
    future::poll_fn(|_| todo!("every result, within one deadline for the group"))
}
