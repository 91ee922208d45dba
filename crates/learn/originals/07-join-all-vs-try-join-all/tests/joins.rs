//! Tests of exercise 07: `fetch_every` waits for every result; `fetch_all_or_first_error`
//! stops at the first error and cancels the rest; `fetch_every_within` keeps every result that
//! came before the group's deadline and cancels the rest. All run every fetch at once.
//!
//! Times: answers come after 80 ms or less, deadlines are 300 ms, the stuck feed takes 2 s: far
//! enough apart that a busy machine cannot change who wins.

use std::fmt::Debug;
use std::time::Duration;

use futures::executor::block_on;
use join_all_vs_try_join_all::{
    FetchError, fetch_all_or_first_error, fetch_every, fetch_every_within, take_log,
};

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

/// The deadline of the group tests: far after every answer but the stuck feed's.
const DEADLINE: Duration = Duration::from_millis(300);

#[test]
fn within_a_deadline_the_results_in_time_are_kept_and_the_rest_time_out() {
    take_log();
    let got = block_on(fetch_every_within(
        &["bergen", "stuck", "down", "oslo"],
        DEADLINE,
    ));
    check(
        "one result per feed, in the order of the names: the answers and errors that came in \
         time are kept, and only the fetch still running at the deadline times out (a timeout \
         around the whole group would throw the others away)",
        got,
        vec![
            Ok("Bergen;-1.0".to_string()),
            Err(FetchError::TimedOut("stuck")),
            Err(FetchError::Down("down")),
            Ok("Oslo;3.5".to_string()),
        ],
    );
    let log = take_log();
    check(
        "every fetch starts at once, before any has finished (one deadline for the group, not \
         one fetch after another)",
        log[..4].to_vec(),
        strings(&["start bergen", "start stuck", "start down", "start oslo"]),
    );
    check(
        "the fetches in time run to their end; the one still running at the deadline is \
         dropped, which cancels it (sorted)",
        sorted(&log[4..]),
        strings(&["answer bergen", "answer oslo", "cancel stuck", "fail down"]),
    );
}

#[test]
fn within_a_deadline_that_nobody_misses_every_result_is_there() {
    take_log();
    let got = block_on(fetch_every_within(&["riga", "broken", "bergen"], DEADLINE));
    check(
        "all in time: the same results as `fetch_every`, errors included",
        got,
        vec![
            Ok("Riga;7.0".to_string()),
            Err(FetchError::Down("broken")),
            Ok("Bergen;-1.0".to_string()),
        ],
    );
    check(
        "an error cancels nothing here (sorted)",
        sorted(&take_log()[3..]),
        strings(&["answer bergen", "answer riga", "fail broken"]),
    );
}

#[test]
fn a_deadline_that_has_passed_times_out_every_fetch_still_running() {
    take_log();
    let got = block_on(fetch_every_within(&["bergen", "stuck"], Duration::ZERO));
    check(
        "a zero deadline: every fetch that cannot answer at its first poll times out",
        got,
        vec![
            Err(FetchError::TimedOut("bergen")),
            Err(FetchError::TimedOut("stuck")),
        ],
    );
    check(
        "each was started, then cancelled (sorted)",
        sorted(&take_log()),
        strings(&[
            "cancel bergen",
            "cancel stuck",
            "start bergen",
            "start stuck",
        ]),
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
    check(
        "no feeds: no results, whatever the deadline",
        block_on(fetch_every_within(&[], DEADLINE)),
        vec![],
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
                 async/await: use combinators such as `future::join_all`, `future::try_join_all` \
                 and `future::select`\
                 \n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
