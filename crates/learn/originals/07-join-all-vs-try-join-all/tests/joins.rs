//! Tests of exercise 07: `fetch_every` waits for every result; `fetch_all_or_first_error`
//! stops at the first error and cancels the rest. Both run every fetch at once.

use std::fmt::Debug;

use futures::executor::block_on;
use join_all_vs_try_join_all::{FetchError, fetch_all_or_first_error, fetch_every, take_log};

/// Where to read about this exercise.
const REREAD: &str = "chapter 5, Promises (book/src/promises.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

#[test]
fn fetch_every_gives_every_result_in_the_order_of_the_names() {
    take_log();
    let got = block_on(fetch_every(&["oslo", "down", "bergen"]));
    check(
        "one result per feed, in the order of the names, errors included",
        got,
        vec![
            Ok("Oslo;3.5".to_string()),
            Err(FetchError::Down("down")),
            Ok("Bergen;-1.0".to_string()),
        ],
    );
    let log = take_log();
    check(
        "every fetch starts at once, before any has finished",
        log[..3].to_vec(),
        strings(&["start oslo", "start down", "start bergen"]),
    );
    check(
        "then every one runs to its end: an error cancels nothing (sorted)",
        sorted(&log[3..]),
        strings(&["answer bergen", "answer oslo", "fail down"]),
    );
}

#[test]
fn all_or_first_error_gives_every_body_when_all_answer() {
    take_log();
    let got = block_on(fetch_all_or_first_error(&["oslo", "bergen", "riga"]));
    check(
        "every body, in the order of the names (not the order they answered in)",
        got,
        Ok(strings(&["Oslo;3.5", "Bergen;-1.0", "Riga;7.0"])),
    );
    check(
        "every fetch starts before any answers",
        take_log()[..3].to_vec(),
        strings(&["start oslo", "start bergen", "start riga"]),
    );
}

#[test]
fn all_or_first_error_stops_at_the_first_error_and_cancels_the_rest() {
    take_log();
    let got = block_on(fetch_all_or_first_error(&[
        "slow", "broken", "down", "oslo",
    ]));
    check(
        "the first error to *happen* (down fails after 5 ms, broken after 80 ms), not the first \
         in the list",
        got,
        Err(FetchError::Down("down")),
    );
    let log = take_log();
    check(
        "every fetch starts at once; the first to finish is down's failure",
        log[..5].to_vec(),
        strings(&[
            "start slow",
            "start broken",
            "start down",
            "start oslo",
            "fail down",
        ]),
    );
    check(
        "when down fails, the fetches still running are dropped, which cancels them (sorted)",
        sorted(&log[5..]),
        strings(&["cancel broken", "cancel oslo", "cancel slow"]),
    );
}

#[test]
fn no_feeds_is_no_results() {
    check("no feeds: no results", block_on(fetch_every(&[])), vec![]);
    check(
        "no feeds: all (none) answered",
        block_on(fetch_all_or_first_error(&[])),
        Ok(vec![]),
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
                 async/await: use `future::join_all` and `future::try_join_all`\
                 \n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
