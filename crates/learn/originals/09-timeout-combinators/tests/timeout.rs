//! Tests of exercise 09: `with_timeout` lets the first to finish decide and cancels the other;
//! `fetch_with_retry` retries errors and timeouts, up to the limit.
//!
//! Times: answers come after 5 ms, the timeout is 100 ms, a slow feed takes 400 ms; far enough
//! apart that a busy machine cannot change who wins.

use std::fmt::Debug;
use std::rc::Rc;
use std::time::Duration;

use futures::executor::block_on;
use futures::future;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Fault, Settings, Source};
use timeout_combinators::{Elapsed, Fetched, call_feed, fetch_with_retry, take_log, with_timeout};

/// Where to read about this exercise.
const REREAD: &str = "chapter 5, Promises (book/src/promises.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const MS: Duration = Duration::from_millis(1);

fn source(fault: Fault, latency_ms: u64) -> Rc<Source> {
    Rc::new(Source {
        name: format!("{fault:?}-feed"),
        latency_ms,
        fault,
        body: "Oslo;3.5\n".into(),
    })
}

fn settings(retries: u32) -> Settings {
    Settings {
        timeout_ms: 100,
        retries,
        ..Settings::default()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

#[test]
fn a_future_that_finishes_in_time_gives_its_output() {
    let got = block_on(with_timeout(future::ready(7), 100 * MS));
    check("a ready future beats any timer", got, Ok(7));
    let got = block_on(with_timeout(
        async { "any future, even one that is not Unpin" },
        100 * MS,
    ));
    check(
        "`with_timeout` takes any future (if `select` complains about `Unpin`, `Box::pin` it)",
        got,
        Ok("any future, even one that is not Unpin"),
    );
}

#[test]
fn a_future_that_never_finishes_times_out_and_is_cancelled() {
    take_log();
    let got = block_on(with_timeout(call_feed(source(Fault::Hang, 5), 1), 30 * MS));
    check("a hanging feed: the timer wins", got, Err(Elapsed));
    check(
        "the loser is dropped, which cancels it",
        take_log(),
        strings(&["attempt 1", "cancel attempt 1"]),
    );
    let got = block_on(with_timeout(future::pending::<()>(), 5 * MS));
    check("a future that never finishes times out", got, Err(Elapsed));
}

fn fetched(attempts: u32, outcome: AttemptOutcome, body: Option<&str>) -> Fetched {
    Fetched {
        summary: FetchSummary::after(attempts, outcome),
        body: body.map(str::to_string),
    }
}

#[test]
fn a_healthy_feed_answers_on_the_first_attempt() {
    take_log();
    let got = block_on(fetch_with_retry(source(Fault::None, 5), settings(2)));
    check(
        "one attempt, answered",
        got,
        fetched(1, AttemptOutcome::Answered, Some("Oslo;3.5\n")),
    );
    check(
        "one attempt in the log",
        take_log(),
        strings(&["attempt 1"]),
    );
}

#[test]
fn an_error_is_retried() {
    take_log();
    let got = block_on(fetch_with_retry(source(Fault::First, 5), settings(1)));
    check(
        "fault `first` fails once, then answers",
        got,
        fetched(2, AttemptOutcome::Answered, Some("Oslo;3.5\n")),
    );
    check(
        "two attempts, one after the other",
        take_log(),
        strings(&["attempt 1", "attempt 2"]),
    );
    let got = block_on(fetch_with_retry(source(Fault::Always, 5), settings(2)));
    check(
        "fault `always` fails every attempt: 1 + 2 retries, then it gives up with `Error`",
        got,
        fetched(3, AttemptOutcome::Error, None),
    );
}

#[test]
fn a_timeout_is_retried_and_each_attempt_is_cancelled() {
    take_log();
    let got = block_on(fetch_with_retry(source(Fault::Hang, 5), settings(1)));
    check(
        "a hanging feed times out on every attempt",
        got,
        fetched(2, AttemptOutcome::Timeout, None),
    );
    check(
        "each attempt is cancelled when its timeout fires, before the next one starts",
        take_log(),
        strings(&[
            "attempt 1",
            "cancel attempt 1",
            "attempt 2",
            "cancel attempt 2",
        ]),
    );
    let got = block_on(fetch_with_retry(source(Fault::None, 400), settings(0)));
    check(
        "a feed slower than the timeout times out too; no retries means one attempt",
        got,
        fetched(1, AttemptOutcome::Timeout, None),
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
                 async/await: use `future::select`, `Delay` and the combinators\
                 \n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
