//! Tests of exercise 03: `fetch_with_retry` takes any number of attempts, one at a time, and
//! agrees with the nested version where that one can go.

use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;

use flatten_callback_hell::{Feed, Fetched, fetch_three_times_nested, fetch_with_retry, take_log};
use rosetta_callbacks::event_loop::EventLoop;

/// Where to read about this exercise.
const REREAD: &str = "chapter 4, Callbacks (book/src/callbacks.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// A feed whose first `failures` attempts fail.
fn flaky(failures: u32) -> Feed {
    Feed {
        failures,
        body: "Oslo;3.5",
    }
}

/// Runs `fetch` on a fresh loop until it has no work left. Returns every `Fetched` that `done`
/// got, and the log of attempts.
fn run(fetch: impl FnOnce(&EventLoop, Box<dyn FnOnce(Fetched)>)) -> (Vec<Fetched>, Vec<String>) {
    take_log();
    let event_loop = EventLoop::new();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let record = Rc::clone(&calls);
    fetch(
        &event_loop,
        Box::new(move |fetched| record.borrow_mut().push(fetched)),
    );
    event_loop.run();
    let calls = calls.borrow().clone();
    (calls, take_log())
}

fn answered(attempts: u32) -> Fetched {
    Fetched {
        attempts,
        body: Some("Oslo;3.5".into()),
    }
}

#[test]
fn agrees_with_the_nested_version_on_three_attempts() {
    for failures in 0..=3 {
        let feed = flaky(failures);
        let nested = run(|event_loop, done| fetch_three_times_nested(event_loop, &feed, done));
        let flat = run(|event_loop, done| fetch_with_retry(event_loop, &feed, 3, done));
        check(
            &format!(
                "with 3 attempts and a feed that fails {failures} time(s), `fetch_with_retry` \
                 should do what `fetch_three_times_nested` does (calls of `done`, then the log)"
            ),
            flat,
            nested,
        );
    }
}

#[test]
fn takes_as_many_attempts_as_it_is_given() {
    let (calls, _) = run(|event_loop, done| fetch_with_retry(event_loop, &flaky(5), 8, done));
    check(
        "a feed that fails 5 times answers on attempt 6, if 8 attempts are allowed",
        calls,
        vec![answered(6)],
    );
}

#[test]
fn gives_up_after_the_last_attempt() {
    let (calls, log) = run(|event_loop, done| fetch_with_retry(event_loop, &flaky(10), 4, done));
    check(
        "a feed that fails 10 times, with 4 attempts allowed: 4 attempts, no body",
        calls,
        vec![Fetched {
            attempts: 4,
            body: None,
        }],
    );
    check("4 attempts in the log, then no more", log.len(), 8);
}

#[test]
fn one_attempt_means_no_retry() {
    let (calls, log) = run(|event_loop, done| fetch_with_retry(event_loop, &flaky(1), 1, done));
    check(
        "with 1 attempt allowed, a failure is final",
        calls,
        vec![Fetched {
            attempts: 1,
            body: None,
        }],
    );
    check(
        "the log of one failed attempt",
        log,
        vec!["attempt 1".to_string(), "failed 1".into()],
    );
}

#[test]
fn attempts_run_one_after_the_other_and_stop_at_the_first_answer() {
    let (calls, log) = run(|event_loop, done| fetch_with_retry(event_loop, &flaky(2), 5, done));
    check("answered on attempt 3", calls, vec![answered(3)]);
    let expected: Vec<String> = [
        "attempt 1",
        "failed 1",
        "attempt 2",
        "failed 2",
        "attempt 3",
        "answered 3",
    ]
    .map(String::from)
    .to_vec();
    check(
        "each attempt starts once the previous one has failed, and none after an answer",
        log,
        expected,
    );
}
