//! # Exercise 02: error-first callbacks
//!
//! Chapter 4, Callbacks (`book/src/callbacks.md`). About 15 minutes.
//!
//! Node.js passes errors to callbacks first: `fetch(url, (err, body) => { if (err) return
//! done(err); ... })`. Forget the `return` and the code goes on with a body that is not there;
//! forget the check and the error vanishes. In Rust the callback gets a `Result`, so the check
//! cannot be skipped, and `done` is `FnOnce`, so it cannot be called twice. What is left to you
//! is the discipline: **every error goes to `done`, once, and nothing starts after it.**
//!
//! Write [`first_reading`]: fetch the feed ([`fetch_feed`]), take its first record
//! ([`first_record`] does the parsing), look the station up ([`lookup_region`]), and call `done`
//! with a [`FirstReading`], or with the first [`Error`] on the way. After an error, start
//! nothing else: the tests check that no lookup happens for a feed that is down or garbled.
//!
//! Notice where `?` works and where it does not: inside [`first_record`], which returns a
//! `Result`, it does; inside a callback, which returns nothing, there is nobody to return the
//! error to but `done`.
//!
//! Check your work with `cargo run -- learn check 2`. Stuck? `cargo run -- learn hint 2`.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use rosetta_callbacks::event_loop::EventLoop;
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
    /// Stations looked up on this thread, in order (each test has a thread, and an event loop,
    /// of its own).
    static LOOKED_UP: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The stations looked up on this thread so far, in order; clears the list.
pub fn take_lookups() -> Vec<String> {
    LOOKED_UP.with(|stations| stations.take())
}

/// Fetches the feed called `name`. Calls back, a little later, with its body or with
/// [`Error::FeedDown`].
pub fn fetch_feed(
    event_loop: &EventLoop,
    name: &str,
    callback: impl FnOnce(Result<String, Error>) + 'static,
) {
    let body = FEEDS
        .iter()
        .find(|(feed, _)| *feed == name)
        .and_then(|(_, body)| *body);
    let result = body
        .map(str::to_string)
        .ok_or_else(|| Error::FeedDown(name.to_string()));
    event_loop.set_timeout(LATENCY, move || callback(result));
}

/// Looks `station` up in the registry. Calls back, a little later, with its region or with
/// [`Error::UnknownStation`].
pub fn lookup_region(
    event_loop: &EventLoop,
    station: &str,
    callback: impl FnOnce(Result<String, Error>) + 'static,
) {
    LOOKED_UP.with(|stations| stations.borrow_mut().push(station.to_string()));
    let region = REGISTRY
        .iter()
        .find(|(known, _)| *known == station)
        .map(|(_, region)| region.to_string());
    let result = region.ok_or_else(|| Error::UnknownStation(station.to_string()));
    event_loop.set_timeout(LATENCY, move || callback(result));
}

/// The first non-empty line of `body`, parsed into a station and tenths.
fn first_record(body: &str) -> Result<(String, i32), Error> {
    let line = body
        .lines()
        .find(|line| !line.is_empty())
        .ok_or(Error::EmptyFeed)?;
    let (station, tenths) = parse_line(line).map_err(Error::BadLine)?;
    Ok((station.to_string(), tenths.0))
}

/// Fetches `feed`, parses its first line, looks up the station's region, and calls `done` with
/// the reading, or with the first error: once, and with nothing started after the error.
pub fn first_reading(
    event_loop: &EventLoop,
    feed: &str,
    done: impl FnOnce(Result<FirstReading, Error>) + 'static,
) {
    // TODO: fetch, take the first record, look its station up; `done` gets the reading or the
    // first error, exactly once, and nothing starts after an error.
    todo!("fetch, parse, look up: pass every error to `done`")
}
