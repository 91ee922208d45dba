//! Tests of exercise 02: `first_reading` passes every error on, once, and stops there.
//!
//! Each test runs the event loop until it has nothing left to do, then looks at what `done` was
//! called with, and at which stations were looked up.

use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;

use error_first::{Error, FirstReading, first_reading, take_lookups};
use rosetta_callbacks::event_loop::EventLoop;
use rosetta_pipeline::parse::Reason;

/// Where to read about this exercise.
const REREAD: &str = "chapter 4, Callbacks (book/src/callbacks.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// Runs `first_reading` on `feed` until the loop has no work left. Returns every result `done`
/// was called with, and the stations that were looked up.
fn run(feed: &str) -> (Vec<Result<FirstReading, Error>>, Vec<String>) {
    take_lookups(); // Start with an empty list.
    let event_loop = EventLoop::new();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let record = Rc::clone(&calls);
    first_reading(&event_loop, feed, move |result| {
        record.borrow_mut().push(result);
    });
    event_loop.run();
    let calls = calls.borrow().clone();
    (calls, take_lookups())
}

#[test]
fn a_good_feed_gives_its_first_reading_with_the_region() {
    let (calls, lookups) = run("oslo-feed");
    let expected = FirstReading {
        station: "Oslo".into(),
        region: "north".into(),
        tenths: 35,
    };
    check(
        "the first line of oslo-feed is `Oslo;3.5`, and the registry puts Oslo in the north",
        calls,
        vec![Ok(expected)],
    );
    check(
        "one lookup, of the first station",
        lookups,
        vec!["Oslo".to_string()],
    );
}

#[test]
fn empty_lines_before_the_first_record_are_skipped() {
    let (calls, _) = run("bergen-feed");
    let expected = FirstReading {
        station: "Bergen".into(),
        region: "west".into(),
        tenths: -10,
    };
    check(
        "bergen-feed starts with an empty line; its first reading is `Bergen;-1.0`",
        calls,
        vec![Ok(expected)],
    );
}

#[test]
fn a_feed_that_is_down_is_an_error_and_nothing_is_looked_up() {
    let (calls, lookups) = run("down-feed");
    check(
        "when the fetch fails, `done` gets that error, once",
        calls,
        vec![Err(Error::FeedDown("down-feed".into()))],
    );
    check(
        "after an error nothing else may start: no lookup",
        lookups,
        vec![],
    );
}

#[test]
fn an_empty_feed_is_an_error() {
    let (calls, lookups) = run("empty-feed");
    check(
        "a feed with no line at all has no first reading",
        calls,
        vec![Err(Error::EmptyFeed)],
    );
    check(
        "after an error nothing else may start: no lookup",
        lookups,
        vec![],
    );
}

#[test]
fn a_garbled_line_is_an_error_and_nothing_is_looked_up() {
    let (calls, lookups) = run("garbled-feed");
    check(
        "`Oslo 3.5` has no `;`: `parse_line` says `MissingSeparator`, and `done` gets it",
        calls,
        vec![Err(Error::BadLine(Reason::MissingSeparator))],
    );
    check(
        "after an error nothing else may start: no lookup",
        lookups,
        vec![],
    );
}

#[test]
fn an_unknown_station_is_an_error_from_the_lookup() {
    let (calls, lookups) = run("atlantis-feed");
    check(
        "the registry does not know Atlantis: `done` gets the lookup's error",
        calls,
        vec![Err(Error::UnknownStation("Atlantis".into()))],
    );
    check("the lookup happened", lookups, vec!["Atlantis".to_string()]);
}

#[test]
fn first_reading_returns_before_calling_back() {
    let event_loop = EventLoop::new();
    let called = Rc::new(RefCell::new(false));
    let flag = Rc::clone(&called);
    first_reading(&event_loop, "down-feed", move |_| *flag.borrow_mut() = true);
    check(
        "`first_reading` should return at once and call back later, from the loop, even for a \
         feed that is down",
        *called.borrow(),
        false,
    );
    event_loop.run();
    check(
        "`done` was called once the loop ran",
        *called.borrow(),
        true,
    );
}
