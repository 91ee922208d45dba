//! Tests of exercise 06: the chain stops at the first error, the backup is tried only when
//! needed, nothing runs before it is polled, and the code uses combinators only.

use std::fmt::Debug;

use futures::executor::block_on;
use rosetta_pipeline::parse::Reason;
use then_and_then::{Error, FirstReading, first_reading, first_reading_with_backup, take_log};

/// Where to read about this exercise.
const REREAD: &str = "chapter 5, Promises (book/src/promises.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

fn reading(station: &str, region: &str, tenths: i32) -> Result<FirstReading, Error> {
    Ok(FirstReading {
        station: station.into(),
        region: region.into(),
        tenths,
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

#[test]
fn a_good_feed_gives_its_first_reading() {
    take_log();
    let got = block_on(first_reading("oslo-feed"));
    check(
        "the first reading of oslo-feed",
        got,
        reading("Oslo", "north", 35),
    );
    check(
        "a fetch, then a lookup of its first station",
        take_log(),
        strings(&["fetch oslo-feed", "lookup Oslo"]),
    );
}

#[test]
fn the_chain_stops_at_the_first_error() {
    let cases = [
        ("down-feed", Error::FeedDown("down-feed".into())),
        ("empty-feed", Error::EmptyFeed),
        ("garbled-feed", Error::BadLine(Reason::MissingSeparator)),
    ];
    for (feed, error) in cases {
        take_log();
        let got = block_on(first_reading(feed));
        check(&format!("{feed}: the error"), got, Err(error));
        check(
            &format!("{feed}: after an error nothing else starts (`and_then` skips on `Err`)"),
            take_log(),
            vec![format!("fetch {feed}")],
        );
    }
}

#[test]
fn an_unknown_station_is_the_lookups_error() {
    let got = block_on(first_reading("atlantis-feed"));
    check(
        "the registry does not know Atlantis",
        got,
        Err(Error::UnknownStation("Atlantis".into())),
    );
}

#[test]
fn nothing_starts_before_the_future_is_polled() {
    take_log();
    let future = first_reading("oslo-feed");
    check(
        "creating the future must start nothing: futures are lazy, unlike JavaScript's \
         promises (exercise 05); only polling runs them",
        take_log(),
        vec![],
    );
    let got = block_on(future);
    check(
        "polled, it runs: a fetch, then a lookup",
        (got.is_ok(), take_log().len()),
        (true, 2),
    );
}

#[test]
fn the_backup_is_used_only_when_the_primary_fails() {
    take_log();
    let got = block_on(first_reading_with_backup("oslo-feed", "bergen-feed"));
    check("the primary answered", got, reading("Oslo", "north", 35));
    check(
        "so the backup was never fetched",
        take_log(),
        strings(&["fetch oslo-feed", "lookup Oslo"]),
    );

    let got = block_on(first_reading_with_backup("down-feed", "bergen-feed"));
    check(
        "the primary is down: the backup's reading",
        got,
        reading("Bergen", "west", -10),
    );
    check(
        "the primary, then the backup",
        take_log(),
        strings(&["fetch down-feed", "fetch bergen-feed", "lookup Bergen"]),
    );

    let got = block_on(first_reading_with_backup("atlantis-feed", "garbled-feed"));
    check(
        "both fail: the backup's error",
        got,
        Err(Error::BadLine(Reason::MissingSeparator)),
    );
}

#[test]
fn the_code_uses_combinators_only() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("src/lib.rs is readable");
    for (number, line) in source.lines().enumerate() {
        // The code of the line: no comment, and no string literal (`#[must_use = "..."]`).
        let code = line.split("//").next().unwrap_or_default();
        let code: String = code.split('"').step_by(2).collect::<Vec<_>>().join(" ");
        let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        if let Some(word) = words
            .into_iter()
            .find(|word| matches!(*word, "async" | "await"))
        {
            panic!(
                "src/lib.rs:{}: uses `{word}`. This chapter is about what came before \
                 async/await: write the chain with combinators (`and_then`, `then`, `map`...)\
                 \n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
