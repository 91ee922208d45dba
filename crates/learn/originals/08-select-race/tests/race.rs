//! Tests of exercise 08: `race` takes the first to finish and cancels the other;
//! `first_success` falls back on the loser when the winner failed.
//!
//! Times: the quick mirrors take 5 or 10 ms, the slow ones 120 or 200 ms, far enough apart that
//! a busy machine cannot change who wins.

use std::fmt::Debug;

use futures::executor::block_on;
use select_race::{FetchError, first_success, race, take_log};

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

#[test]
fn a_race_takes_the_first_to_finish_and_cancels_the_other() {
    for (a, b) in [
        ("fast-mirror", "slow-mirror"),
        ("slow-mirror", "fast-mirror"),
    ] {
        take_log();
        let got = block_on(race(a, b));
        check(
            &format!("race({a:?}, {b:?}): the fast mirror wins, whichever side it is on"),
            got,
            ("fast-mirror", Ok("Oslo;3.5".to_string())),
        );
        check(
            "both start at once; when the fast one answers, the slow one is dropped (cancelled)",
            take_log(),
            vec![
                format!("start {a}"),
                format!("start {b}"),
                "answer fast-mirror".into(),
                "cancel slow-mirror".into(),
            ],
        );
    }
}

#[test]
fn a_race_takes_the_first_to_finish_even_if_it_failed() {
    let got = block_on(race("slow-mirror", "broken-mirror"));
    check(
        "the broken mirror fails after 5 ms, before the slow one answers: a race is about who \
         finishes first, not who succeeds",
        got,
        ("broken-mirror", Err(FetchError::Down("broken-mirror"))),
    );
}

#[test]
fn first_success_waits_for_the_loser_when_the_winner_failed() {
    take_log();
    let got = block_on(first_success("broken-mirror", "slow-mirror"));
    check(
        "the broken mirror finishes first, with an error: keep waiting for the other one \
         (`select` gives it back to you, still running)",
        got,
        Ok(("slow-mirror", "Oslo;3.5 (slow)".to_string())),
    );
    check(
        "nothing is cancelled: the slow mirror runs to its end",
        take_log(),
        strings(&[
            "start broken-mirror",
            "start slow-mirror",
            "fail broken-mirror",
            "answer slow-mirror",
        ]),
    );
}

#[test]
fn first_success_takes_a_winner_that_answered_and_cancels_the_loser() {
    take_log();
    let got = block_on(first_success("broken-slow-mirror", "fast-mirror"));
    check(
        "the fast mirror answers first",
        got,
        Ok(("fast-mirror", "Oslo;3.5".to_string())),
    );
    check(
        "the other one is no longer needed: dropped, cancelled",
        take_log(),
        strings(&[
            "start broken-slow-mirror",
            "start fast-mirror",
            "answer fast-mirror",
            "cancel broken-slow-mirror",
        ]),
    );
}

#[test]
fn first_success_gives_the_last_error_when_both_fail() {
    let got = block_on(first_success("broken-mirror", "broken-slow-mirror"));
    check(
        "both fail: the error of the one that failed last",
        got,
        Err(FetchError::Down("broken-slow-mirror")),
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
                 async/await: use `future::select` and the combinators\n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
