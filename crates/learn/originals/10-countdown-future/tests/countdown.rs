//! Tests of exercise 10: the countdown is pending the right number of times, wakes its task
//! each time, finishes, and refuses to be polled after finishing.
//!
//! The tests poll the future by hand, with a waker that counts how often it is woken, the way
//! an executor would.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use countdown_future::{LIFTOFF, countdown};

/// Where to read about this exercise.
const REREAD: &str = "chapter 6, Futures by hand (book/src/futures-by-hand.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_countdown_from_three_is_pending_three_times_then_ready() {
    let wakes = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&wakes));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(countdown(3));
    for poll in 1..=3 {
        check(
            &format!("poll {poll} of a countdown from 3"),
            future.as_mut().poll(&mut cx),
            Poll::Pending,
        );
        check(
            &format!(
                "after returning `Pending` {poll} time(s), the countdown should have woken its \
                 task {poll} time(s): `Pending` without a wake-up means nobody ever polls it \
                 again (`cx.waker().wake_by_ref()`)"
            ),
            wakes.0.load(Ordering::SeqCst),
            poll,
        );
    }
    check(
        "poll 4: the countdown has reached zero",
        future.as_mut().poll(&mut cx),
        Poll::Ready(LIFTOFF),
    );
    check(
        "no wake-up with `Ready`: the task is done",
        wakes.0.load(Ordering::SeqCst),
        3,
    );
}

#[test]
fn a_countdown_from_zero_is_ready_at_once() {
    let mut cx = Context::from_waker(Waker::noop());
    check(
        "a countdown from 0 is ready at the first poll",
        pin!(countdown(0)).poll(&mut cx),
        Poll::Ready(LIFTOFF),
    );
}

#[test]
fn an_executor_runs_it_to_the_end() {
    // In a thread of its own, so that a countdown that never wakes its task fails this test
    // instead of hanging it.
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(futures::executor::block_on(countdown(1000)));
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(said) => check("`block_on(countdown(1000))`", said, LIFTOFF),
        Err(_) => panic!(
            "`block_on(countdown(1000))` did not finish in 10 s. The executor sleeps until a \
             waker wakes the task: does every `Pending` come with `cx.waker().wake_by_ref()`?\
             \n    reread: {REREAD}"
        ),
    }
}

#[test]
fn polling_after_completion_panics() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = pin!(countdown(0));
    check(
        "first poll",
        future.as_mut().poll(&mut cx),
        Poll::Ready(LIFTOFF),
    );
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = future.as_mut().poll(&mut cx);
    }));
    let message = match again {
        Ok(()) => panic!(
            "polling a finished countdown should panic with \"`Countdown` polled after \
             completion\": the `Future` contract says a finished future must not be polled \
             again, and a future that notices says so loudly\n    reread: {REREAD}"
        ),
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default(),
    };
    check(
        "the panic message",
        message.as_str(),
        "`Countdown` polled after completion",
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
