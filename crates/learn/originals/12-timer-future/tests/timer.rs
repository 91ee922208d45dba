//! Tests of exercise 12: the timer completes after (never before) its duration, wakes the task
//! that polled it last, and loses no wake-up when many run at once.

use std::fmt::Debug;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use timer_future::TimerFuture;

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

/// Runs `future` to completion with `block_on` on a thread of its own; fails the test if that
/// takes more than 10 seconds (a lost wake-up would make it hang for ever).
fn block_on_within_10s<F: Future + Send + 'static>(future: F, what: &str) -> F::Output
where
    F::Output: Send,
{
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(futures::executor::block_on(future));
    });
    finished.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|_| {
        panic!(
            "{what} did not finish in 10 s. `block_on` sleeps until the task is woken: does the \
             timer thread wake the waker that `poll` stored?\n    reread: {REREAD}"
        )
    })
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn it_completes_after_its_duration_and_not_before() {
    let started = Instant::now();
    block_on_within_10s(
        TimerFuture::new(50 * MS),
        "`block_on(TimerFuture::new(50 ms))`",
    );
    let waited = started.elapsed();
    assert!(
        waited >= 50 * MS,
        "a 50 ms timer completed after {waited:?}: it must not be ready before its time\
         \n    reread: {REREAD}"
    );
}

#[test]
fn it_is_pending_until_the_time_has_passed() {
    let mut cx = Context::from_waker(Waker::noop());
    let mut timer = pin!(TimerFuture::new(Duration::from_secs(3600)));
    check(
        "an hour-long timer, polled at once",
        timer.as_mut().poll(&mut cx),
        Poll::Pending,
    );
    check(
        "and polled again",
        timer.as_mut().poll(&mut cx),
        Poll::Pending,
    );
}

#[test]
fn it_wakes_the_task_that_polled_last() {
    let first = Arc::new(CountingWaker::default());
    let last = Arc::new(CountingWaker::default());
    let mut timer = pin!(TimerFuture::new(30 * MS));
    let first_waker = Waker::from(Arc::clone(&first));
    let last_waker = Waker::from(Arc::clone(&last));
    check(
        "polled with a first waker",
        timer.as_mut().poll(&mut Context::from_waker(&first_waker)),
        Poll::Pending,
    );
    check(
        "polled again, with another waker (the future moved to another task)",
        timer.as_mut().poll(&mut Context::from_waker(&last_waker)),
        Poll::Pending,
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while last.0.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(MS);
    }
    check(
        "wake-ups of (the first waker, the last waker): only the task that polled last is \
         waiting, so `poll` must replace the stored waker each time",
        (
            first.0.load(Ordering::SeqCst),
            last.0.load(Ordering::SeqCst),
        ),
        (0, 1),
    );
    check(
        "once woken, the timer is ready",
        timer.as_mut().poll(&mut Context::from_waker(&last_waker)),
        Poll::Ready(()),
    );
}

#[test]
fn a_hundred_timers_at_once_all_complete() {
    let timers: Vec<_> = (0..100).map(|n| TimerFuture::new((n % 10) * MS)).collect();
    let all = futures::future::join_all(timers);
    let done = block_on_within_10s(all, "`block_on(join_all(100 timers))`");
    check("every timer completed", done.len(), 100);
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
