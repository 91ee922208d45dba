//! Solution of exercise 02: error-first callbacks, every error passed on, nothing done after it.
//!
//! The exercise (`exercises/02-error-first/src/lib.rs`) explains the task; chapter 4 of the book
//! (`book/src/callbacks.md`) explains the style. `crates/callbacks/src/fetch.rs` passes errors
//! to continuations the same way.

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

// ANCHOR: first_reading
/// Fetches `feed`, parses its first line, looks up the station's region, and calls `done` with
/// the reading, or with the first error: once, and with nothing started after the error.
pub fn first_reading(
    event_loop: &EventLoop,
    feed: &str,
    done: impl FnOnce(Result<FirstReading, Error>) + 'static,
) {
    let event_loop_for_lookup = event_loop.clone();
    fetch_feed(event_loop, feed, move |body| {
        // Node: `if (err) return done(err);`. A `match` that returns makes the check explicit,
        // and `done` being `FnOnce` makes calling it twice a compile error.
        let body = match body {
            Ok(body) => body,
            Err(error) => return done(Err(error)),
        };
        // Synchronous steps may use `?`, inside a function of their own...
        let (station, tenths) = match first_record(&body) {
            Ok(record) => record,
            Err(error) => return done(Err(error)),
        };
        // ...but every wait cuts the function in two: the rest goes into the next callback.
        lookup_region(&event_loop_for_lookup, &station.clone(), move |region| {
            let reading = region.map(|region| FirstReading {
                station,
                region,
                tenths,
            });
            done(reading);
        });
    });
}
// ANCHOR_END: first_reading
