//! # Exercise 06: `then` and `and_then`
//!
//! Chapter 5, Promises (`book/src/promises.md`). About 15 minutes.
//!
//! Exercise 02 fetched a feed's first reading with callbacks. Do it again with futures-rs
//! combinators, the way Rust was written before `async`/`.await`: each step returns a future,
//! and a method says what happens after it, like a JavaScript promise chain.
//!
//! 1. [`first_reading`]: [`fetch`] the feed, take its [`first_record`], [`lookup`] the
//!    station, and build a [`FirstReading`]; the chain stops at the first error, and nothing
//!    starts after it. `and_then` runs the next step only on `Ok` and passes an `Err` straight
//!    through, with no `if (err) return` in sight.
//! 2. [`first_reading_with_backup`]: the first reading of `primary`, or, if that fails for any
//!    reason, of `backup`, which is not fetched at all when the primary succeeds. `then` runs
//!    whatever the outcome and gets the whole `Result`.
//!
//! No `async` and no `.await` in this file (a test checks): the point is to see what they
//! replaced. One more difference from exercise 05's promises: these futures are **lazy**.
//! Creating one starts nothing; only polling (here, `block_on` in the tests) runs it.
//!
//! The placeholders `future::poll_fn(|_| todo!(...))` are futures that panic when polled:
//! replace each with your chain.
//!
//! Check your work with `cargo run -- learn check 6`. Stuck? `cargo run -- learn hint 6`.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use futures::future::{self, Future, FutureExt, TryFutureExt};
use futures_timer::Delay;
use rosetta_pipeline::parse::{Reason, parse_line};

/// Everything that can go wrong on the way to a feed's first reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The feed did not answer (it is down, or does not exist).
    FeedDown(String),
    /// The feed answered, but with no line at all.
    EmptyFeed,
    /// The feed's first line could not be parsed.
    BadLine(Reason),
    /// The registry does not know the station.
    UnknownStation(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::FeedDown(feed) => write!(f, "feed `{feed}` is down"),
            Error::EmptyFeed => write!(f, "the feed answered with no line"),
            Error::BadLine(reason) => write!(f, "bad first line: {reason}"),
            Error::UnknownStation(station) => write!(f, "unknown station `{station}`"),
        }
    }
}

/// A feed's first reading, with its station's region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstReading {
    /// The station, as the feed wrote it.
    pub station: String,
    /// The station's region, from the registry.
    pub region: String,
    /// The temperature, in tenths of a degree.
    pub tenths: i32,
}

/// The feeds of this little world: name and body (`None`: the feed is down).
const FEEDS: &[(&str, Option<&str>)] = &[
    ("oslo-feed", Some("Oslo;3.5\nBergen;-1.0\n")),
    ("bergen-feed", Some("\nBergen;-1.0\n")),
    ("down-feed", None),
    ("empty-feed", Some("")),
    ("garbled-feed", Some("Oslo 3.5\n")),
    ("atlantis-feed", Some("Atlantis;20.0\n")),
];

/// The registry: station to region.
const REGISTRY: &[(&str, &str)] = &[("Oslo", "north"), ("Bergen", "west")];

/// How long a fetch or a lookup takes.
const LATENCY: Duration = Duration::from_millis(5);

thread_local! {
    /// What started on this thread, in order: `fetch NAME`, `lookup STATION`. (The futures run
    /// on the thread that polls them: `block_on`'s, in the tests.)
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Takes the log of what started on this thread so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Fetches the feed called `name`: its body, or [`Error::FeedDown`].
///
/// Like every future, it does nothing until polled: the fetch starts (and is logged) at the
/// first poll, not when this function is called.
pub fn fetch(name: &'static str) -> impl Future<Output = Result<String, Error>> {
    let body = FEEDS
        .iter()
        .find(|(feed, _)| *feed == name)
        .and_then(|(_, body)| *body);
    future::lazy(move |_| log(format!("fetch {name}")))
        .then(|()| Delay::new(LATENCY))
        .map(move |()| body.map(str::to_string).ok_or(Error::FeedDown(name.into())))
}

/// Looks `station` up in the registry: its region, or [`Error::UnknownStation`]. Lazy, like
/// [`fetch`].
pub fn lookup(station: String) -> impl Future<Output = Result<String, Error>> {
    let region = REGISTRY
        .iter()
        .find(|(known, _)| *known == station)
        .map(|(_, region)| region.to_string());
    future::lazy(move |_| {
        log(format!("lookup {station}"));
        station
    })
    .then(|station| Delay::new(LATENCY).map(move |()| station))
    .map(move |station| region.ok_or(Error::UnknownStation(station)))
}

/// The first non-empty line of `body`, parsed into a station and tenths.
pub fn first_record(body: &str) -> Result<(String, i32), Error> {
    let line = body
        .lines()
        .find(|line| !line.is_empty())
        .ok_or(Error::EmptyFeed)?;
    let (station, tenths) = parse_line(line).map_err(Error::BadLine)?;
    Ok((station.to_string(), tenths.0))
}

/// Fetches `feed`, parses its first line, looks up the station's region: the reading, or the
/// first error on the way (and nothing started after it).
pub fn first_reading(feed: &'static str) -> impl Future<Output = Result<FirstReading, Error>> {
    // TODO: a future of the feed's first reading, or of the first error on the way, after
    // which nothing else starts.
    future::poll_fn(|_| todo!("chain fetch, first_record and lookup with and_then"))
}

/// The first reading of `primary`; if that fails, for whatever reason, the first reading of
/// `backup` instead.
pub fn first_reading_with_backup(
    primary: &'static str,
    backup: &'static str,
) -> impl Future<Output = Result<FirstReading, Error>> {
    // TODO: a future of the primary's first reading; only if that fails, of the backup's.
    future::poll_fn(|_| todo!("try the primary, then (only if it fails) the backup"))
}
