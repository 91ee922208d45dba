//! Solution of exercise 07: `join_all` (every result) against `try_join_all` (all, or the first
//! error), and a deadline for a whole group that keeps what came in time.
//!
//! The exercise (`exercises/07-join-all-vs-try-join-all/src/lib.rs`) explains the task;
//! chapter 5 of the book (`book/src/promises.md`) explains the style.

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

// ANCHOR: every
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

// ANCHOR_END: every

// ANCHOR: all_or_error
/// Fetches every feed at once; resolves with every body, in the order of `names`, or with the
/// first error to happen, at the moment it happens (the other fetches are dropped: cancelled).
/// JavaScript's `Promise.all`, except that JavaScript cannot cancel the others.
pub fn fetch_all_or_first_error(
    names: &[&'static str],
) -> impl Future<Output = Result<Vec<String>, FetchError>> {
    // `try_join_all` returns at the first `Err` it polls, and dropping it drops the fetches
    // still running: that is the cancellation the log shows.
    future::try_join_all(names.iter().map(|&name| fetch(name)))
}
// ANCHOR_END: all_or_error

// ANCHOR: within
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
    // A timeout around the whole `join_all` would drop it at the deadline, and with it the
    // results already in. So the deadline goes around each fetch instead: one timer, started
    // now, and `Shared` so that every race holds a handle to the same one.
    let deadline = Delay::new(limit).shared();
    future::join_all(names.iter().map(move |&name| {
        // `select` polls the fetch first: an answer ready at the deadline's poll wins.
        future::select(fetch(name), deadline.clone()).map(move |winner| match winner {
            Either::Left((result, _deadline)) => result,
            // The fetch lost; it is dropped at the end of this arm, which cancels it.
            Either::Right(((), _fetch)) => Err(FetchError::TimedOut(name)),
        })
    }))
}
// ANCHOR_END: within
