//! Tests of exercise 13: the first of the future and the deadline decides; when both are ready
//! the future wins; any future can be limited, with a function or a method.
//!
//! Times: quick futures take 5 ms or less, deadlines are 200 ms, a slow future 2 s; far enough
//! apart that a busy machine cannot change who wins.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future;
use futures_timer::Delay;
use timeout_future::{Elapsed, TimeoutExt, timeout};

/// Where to read about this exercise.
const REREAD: &str = "chapter 6, Futures by hand (book/src/futures-by-hand.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const MS: Duration = Duration::from_millis(1);

/// Runs `future` with `block_on` on a thread of its own; fails the test if that takes more than
/// 10 seconds (a `Timeout` that never wakes would hang for ever).
fn block_on_within_10s<F: Future + Send + 'static>(future: F, what: &str) -> F::Output
where
    F::Output: Send,
{
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(futures::executor::block_on(future));
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!(
                "{what} did not finish in 10 s: are both the future and the deadline polled with \
             the same `cx`, so that either can wake the task?\n    reread: {REREAD}"
            )
        })
}

#[test]
fn a_quick_future_beats_the_deadline() {
    let quick = async {
        Delay::new(5 * MS).await;
        "answer"
    };
    let got = block_on_within_10s(
        timeout(200 * MS, quick),
        "a 5 ms future with a 200 ms limit",
    );
    check("the future finished first", got, Ok("answer"));
}

#[test]
fn a_slow_future_loses_to_the_deadline() {
    let slow = async {
        Delay::new(Duration::from_secs(2)).await;
        "too late"
    };
    let got = block_on_within_10s(timeout(20 * MS, slow), "a 2 s future with a 20 ms limit");
    check("the deadline came first", got, Err(Elapsed));
    let got = block_on_within_10s(
        timeout(20 * MS, future::pending::<()>()),
        "a future that never finishes, with a 20 ms limit",
    );
    check("a future that never finishes times out", got, Err(Elapsed));
}

#[test]
fn when_both_are_ready_the_future_wins() {
    let mut cx = Context::from_waker(Waker::noop());
    let race = pin!(timeout(Duration::ZERO, future::ready(7)));
    check(
        "a ready future with a zero deadline: poll the future first, so the work that got done \
         is not thrown away",
        race.poll(&mut cx),
        Poll::Ready(Ok(7)),
    );
}

#[test]
fn the_method_form_works_on_any_future() {
    let got = block_on_within_10s(future::ready("Oslo").timeout(200 * MS), "`.timeout(...)`");
    check(
        "`future.timeout(d)` is `timeout(d, future)`",
        got,
        Ok("Oslo"),
    );
    let got = block_on_within_10s(
        future::pending::<()>().timeout(10 * MS),
        "`.timeout(...)` on a future that never finishes",
    );
    check("and times out the same way", got, Err(Elapsed));
}

#[test]
fn the_future_is_written_by_hand() {
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
                "src/lib.rs:{}: uses `{word}`. This chapter writes by hand what `async` and \
                 `.await` generate: implement `Future::poll` yourself\n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
