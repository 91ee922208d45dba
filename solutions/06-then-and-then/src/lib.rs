//! Solution of exercise 06: a chain of futures with `and_then`, and a fallback with `then`.
//!
//! The exercise (`exercises/06-then-and-then/src/lib.rs`) explains the task; chapter 5 of the
//! book (`book/src/promises.md`) explains the style. `crates/combinators` writes the whole
//! pipeline this way.

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

// ANCHOR: first_reading
/// Fetches `feed`, parses its first line, looks up the station's region: the reading, or the
/// first error on the way (and nothing started after it).
pub fn first_reading(feed: &'static str) -> impl Future<Output = Result<FirstReading, Error>> {
    fetch(feed)
        // `and_then` runs only on `Ok`, and must return a future: `ready` wraps a plain value.
        .and_then(|body| future::ready(first_record(&body)))
        .and_then(|(station, tenths)| {
            lookup(station.clone()).map_ok(move |region| FirstReading {
                station,
                region,
                tenths,
            })
        })
}
// ANCHOR_END: first_reading

// ANCHOR: with_backup
/// The first reading of `primary`; if that fails, for whatever reason, the first reading of
/// `backup` instead.
pub fn first_reading_with_backup(
    primary: &'static str,
    backup: &'static str,
) -> impl Future<Output = Result<FirstReading, Error>> {
    // `then` gets the whole `Result`, whatever it is. Its two branches are two different future
    // types; `left_future` and `right_future` wrap them in one `Either`. (`or_else` is the
    // shortcut for exactly this case.)
    first_reading(primary).then(move |result| match result {
        Ok(reading) => future::ready(Ok(reading)).left_future(),
        Err(_) => first_reading(backup).right_future(),
    })
}
// ANCHOR_END: with_backup
