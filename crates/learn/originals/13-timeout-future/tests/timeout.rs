//! Tests of exercise 13: a failed attempt is retried at once, in the same poll; the attempts
//! stop at the first success or after `max_attempts`; one deadline covers every attempt and is
//! not reset by a retry; an attempt ready at the deadline's poll counts.
//!
//! Most tests poll by hand with a no-op waker and count the attempts: no clock at all. The
//! others use timers far apart (attempts of 5 or 30 ms against deadlines of 300 ms or 2 s, a
//! 2 s attempt against 20 ms), so that a busy machine cannot change who wins.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::FutureExt;
use futures::future;
use futures_timer::Delay;
use timeout_future::{RetryError, retry_within};

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

/// Counts the attempts made; each attempt gets its number, from 1.
#[derive(Clone, Default)]
struct Counter(Arc<AtomicU32>);

impl Counter {
    /// Counts one more attempt and returns its number.
    fn next(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn made(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Runs `future` with `block_on` on a thread of its own; fails the test if that takes more than
/// 10 seconds (a future that never wakes would hang for ever).
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
                "{what} did not finish in 10 s: is every new attempt polled before `poll` \
                 returns `Pending`, and the deadline polled with the same `cx`?\
                 \n    reread: {REREAD}"
            )
        })
}

#[test]
fn a_failed_attempt_is_retried_at_once_in_the_same_poll() {
    let counter = Counter::default();
    let attempts = counter.clone();
    let retry = retry_within(Duration::from_secs(2), 5, move || {
        let number = attempts.next();
        future::ready(if number < 3 {
            Err(number)
        } else {
            Ok("third time")
        })
    });
    let mut cx = Context::from_waker(Waker::noop());
    check(
        "attempts that fail at once are replaced and the new one polled in the same `poll`: \
         returning `Pending` after a failure, with a new attempt that was never polled, would \
         leave the task asleep for ever",
        pin!(retry).poll(&mut cx),
        Poll::Ready(Ok("third time")),
    );
    check("three attempts were made", counter.made(), 3);
}

#[test]
fn after_max_attempts_failures_the_last_error_is_returned() {
    let counter = Counter::default();
    let attempts = counter.clone();
    let retry = retry_within(Duration::from_secs(2), 4, move || {
        future::ready(Err::<(), u32>(attempts.next()))
    });
    let mut cx = Context::from_waker(Waker::noop());
    check(
        "every attempt fails: `Exhausted` with the error of the last one",
        pin!(retry).poll(&mut cx),
        Poll::Ready(Err(RetryError::Exhausted(4))),
    );
    check(
        "exactly `max_attempts` attempts, not one more",
        counter.made(),
        4,
    );
}

#[test]
fn an_attempt_ready_at_the_deadline_counts() {
    // An attempt that is ready once the gate is open: the test decides when.
    let gate = Arc::new(AtomicBool::new(false));
    let attempt_gate = Arc::clone(&gate);
    let mut retry = pin!(retry_within(100 * MS, 3, move || {
        let gate = Arc::clone(&attempt_gate);
        future::poll_fn(move |_| {
            if gate.load(Ordering::SeqCst) {
                Poll::Ready(Ok::<&str, ()>("in time"))
            } else {
                Poll::Pending
            }
        })
    }));
    let mut cx = Context::from_waker(Waker::noop());
    check(
        "neither the attempt nor the 100 ms deadline is ready yet",
        retry.as_mut().poll(&mut cx),
        Poll::Pending,
    );
    // A timer of the same length, made after the deadline, fires after it: once it has, the
    // deadline has passed too. Then the attempt becomes ready, and both are at the next poll.
    futures::executor::block_on(Delay::new(100 * MS));
    gate.store(true, Ordering::SeqCst);
    check(
        "the attempt and the deadline are both ready at this poll: poll the attempt first, so \
         the answer that is there in time is not thrown away",
        retry.as_mut().poll(&mut cx),
        Poll::Ready(Ok("in time")),
    );
}

#[test]
fn a_retry_after_a_failure_that_took_time_still_wakes_the_task() {
    let counter = Counter::default();
    let attempts = counter.clone();
    let retry = retry_within(Duration::from_secs(2), 5, move || {
        let number = attempts.next();
        Delay::new(5 * MS).map(move |()| if number < 3 { Err(number) } else { Ok(number) })
    });
    let got = block_on_within_10s(retry, "three 5 ms attempts with a 2 s limit");
    check("the third attempt succeeds", got, Ok(3));
    check("three attempts were made", counter.made(), 3);
}

#[test]
fn the_deadline_is_for_all_attempts_together() {
    let counter = Counter::default();
    let attempts = counter.clone();
    // Each attempt fails after 30 ms, and 50 of them are allowed (1.5 s in all); the deadline
    // is 300 ms. A deadline that each new attempt resets would never pass.
    let retry = retry_within(300 * MS, 50, move || {
        let number = attempts.next();
        Delay::new(30 * MS).map(move |()| Err::<(), u32>(number))
    });
    let got = block_on_within_10s(retry, "30 ms failures with a 300 ms limit for all");
    check(
        "the deadline passes while the attempts still fail: it was set once, for all of them, \
         and a new attempt must not reset it",
        got,
        Err(RetryError::Elapsed),
    );
    check(
        "and it did retry before that (more than one attempt)",
        counter.made() > 1,
        true,
    );
}

#[test]
fn a_slow_attempt_loses_to_the_deadline() {
    let counter = Counter::default();
    let attempts = counter.clone();
    let retry = retry_within(20 * MS, 5, move || {
        attempts.next();
        Delay::new(Duration::from_secs(2)).map(|()| Ok::<&str, ()>("too late"))
    });
    let got = block_on_within_10s(retry, "a 2 s attempt with a 20 ms limit");
    check("the deadline came first", got, Err(RetryError::Elapsed));
    check(
        "an attempt still running is not a failure: no retry",
        counter.made(),
        1,
    );
    let got = block_on_within_10s(
        retry_within(20 * MS, 5, future::pending::<Result<(), ()>>),
        "an attempt that never finishes, with a 20 ms limit",
    );
    check(
        "an attempt that never finishes times out",
        got,
        Err(RetryError::Elapsed),
    );
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
