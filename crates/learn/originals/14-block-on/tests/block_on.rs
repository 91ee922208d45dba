//! Tests of exercise 14: `block_on` runs futures to the end, sleeps while they are pending
//! (instead of polling in a loop), and loses no wake-up.

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use block_on::block_on;
use futures_timer::Delay;

/// Where to read about this exercise.
const REREAD: &str = "chapter 6, Futures by hand (book/src/futures-by-hand.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// Runs `future` with the `block_on` under test, on a thread of its own; fails the test if
/// that takes more than 10 seconds (a lost wake-up makes `block_on` sleep for ever).
fn block_on_within_10s<F: Future + Send + 'static>(future: F, what: &str) -> F::Output
where
    F::Output: Send,
{
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(block_on(future));
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| {
            panic!(
                "{what} did not finish in 10 s: does the waker unpark the thread that runs \
             `block_on`, and does `block_on` poll again after `park` returns?\
             \n    reread: {REREAD}"
            )
        })
}

/// A future that another thread completes after `after`, counting how often it is polled.
struct SetLater {
    done: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
}

impl SetLater {
    fn new(after: Duration, polls: Arc<AtomicUsize>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (thread_done, thread_waker) = (Arc::clone(&done), Arc::clone(&waker));
        std::thread::spawn(move || {
            std::thread::sleep(after);
            thread_done.store(true, Ordering::SeqCst);
            if let Some(waker) = thread_waker.lock().unwrap().take() {
                waker.wake();
            }
        });
        SetLater { done, waker, polls }
    }
}

impl Future for SetLater {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let mut waker = self.waker.lock().unwrap();
        if self.done.load(Ordering::SeqCst) {
            return Poll::Ready("set");
        }
        *waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A future that is pending `times` times, waking itself each time (exercise 10's countdown).
struct WakeSelf {
    times: u32,
}

impl Future for WakeSelf {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.times == 0 {
            return Poll::Ready("liftoff");
        }
        self.times -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_ready_future_gives_its_output() {
    check("`block_on(ready(7))`", block_on(std::future::ready(7)), 7);
}

#[test]
fn a_future_woken_from_another_thread_completes() {
    let polls = Arc::new(AtomicUsize::new(0));
    let future = SetLater::new(Duration::from_millis(20), Arc::clone(&polls));
    let got = block_on_within_10s(future, "a future completed by another thread after 20 ms");
    check("its output", got, "set");
}

#[test]
fn it_sleeps_while_the_future_is_pending() {
    let polls = Arc::new(AtomicUsize::new(0));
    let future = SetLater::new(Duration::from_millis(200), Arc::clone(&polls));
    block_on_within_10s(future, "a future completed by another thread after 200 ms");
    let polls = polls.load(Ordering::SeqCst);
    assert!(
        polls <= 10,
        "the future was polled {polls} times in 200 ms, though it woke its task once: \
         `block_on` should sleep (`std::thread::park()`) after `Pending` until the waker calls \
         `unpark`, not poll in a loop (that burns a whole core while waiting)\
         \n    reread: {REREAD}"
    );
}

#[test]
fn a_wake_before_the_thread_sleeps_is_not_lost() {
    let got = block_on_within_10s(
        WakeSelf { times: 10_000 },
        "a future that wakes itself 10,000 times before it is ready",
    );
    check("its output", got, "liftoff");
}

#[test]
fn it_runs_async_code_with_timers() {
    let got = block_on_within_10s(
        async {
            Delay::new(Duration::from_millis(5)).await;
            Delay::new(Duration::from_millis(5)).await;
            "two timers later"
        },
        "an async block that waits for two timers",
    );
    check("its output", got, "two timers later");
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
