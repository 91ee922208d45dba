//! Tests of exercise 14: `block_on_timeout` runs futures to the end or to the time limit,
//! sleeps while they are pending (instead of polling in a loop), loses no wake-up, and counts
//! its limit from the start of the call.

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use block_on::{TimedOut, block_on_timeout};
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

/// A limit no test comes near: a future that should finish does so long before it.
const GENEROUS: Duration = Duration::from_secs(60);

/// Runs `block_on_timeout(future, limit)` on a thread of its own; fails the test if that does
/// not return within 10 seconds (a lost wake-up, or a limit that is never reached, makes it
/// sleep for ever).
fn run_within_10s<F: Future + Send + 'static>(
    future: F,
    limit: Duration,
    what: &str,
) -> Result<F::Output, TimedOut>
where
    F::Output: Send,
{
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(block_on_timeout(future, limit));
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(output) => output,
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
            "{what}: `block_on_timeout` panicked (its message is above)\n    reread: {REREAD}"
        ),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "{what} did not return in 10 s: does the waker unpark the thread that runs \
             `block_on_timeout`, does it poll again after each wake, and does it give up once \
             `limit` has passed since it was called?\n    reread: {REREAD}"
        ),
    }
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

/// A future that is never ready, counting its polls and telling `dropped` when it is dropped.
struct Never {
    polls: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

impl Future for Never {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Poll::Pending
    }
}

impl Drop for Never {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

/// A future that is never ready, but that another thread wakes every millisecond for as long
/// as the future exists: every wake is real, none of them is the one that finishes it.
struct WokenForEver {
    stop: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
}

impl WokenForEver {
    fn new() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (thread_stop, thread_waker) = (Arc::clone(&stop), Arc::clone(&waker));
        std::thread::spawn(move || {
            while !thread_stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
                if let Some(waker) = thread_waker.lock().unwrap().as_ref() {
                    waker.wake_by_ref();
                }
            }
        });
        WokenForEver { stop, waker }
    }
}

impl Future for WokenForEver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for WokenForEver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_ready_future_gives_its_output() {
    check(
        "`block_on_timeout(ready(7), 60 s)`",
        block_on_timeout(std::future::ready(7), GENEROUS),
        Ok(7),
    );
}

#[test]
fn a_ready_future_wins_even_with_no_time_at_all() {
    check(
        "`block_on_timeout(ready(7), Duration::ZERO)`: a future that is ready at its first \
         poll has finished in time (poll before you look at the clock)",
        block_on_timeout(std::future::ready(7), Duration::ZERO),
        Ok(7),
    );
}

#[test]
fn a_future_woken_from_another_thread_completes() {
    let polls = Arc::new(AtomicUsize::new(0));
    let future = SetLater::new(Duration::from_millis(20), Arc::clone(&polls));
    let got = run_within_10s(
        future,
        GENEROUS,
        "a future completed by another thread after 20 ms",
    );
    check("its output, well within the limit", got, Ok("set"));
}

#[test]
fn no_limit_at_all_is_not_an_overflow() {
    let polls = Arc::new(AtomicUsize::new(0));
    let future = SetLater::new(Duration::from_millis(20), Arc::clone(&polls));
    let got = run_within_10s(
        future,
        Duration::MAX,
        "a future completed after 20 ms, with a limit of `Duration::MAX`",
    );
    check(
        "its output: a limit past the end of the clock is no limit (`Instant + Duration::MAX` \
         panics; `checked_add` does not)",
        got,
        Ok("set"),
    );
}

#[test]
fn it_sleeps_while_the_future_is_pending() {
    let polls = Arc::new(AtomicUsize::new(0));
    let future = SetLater::new(Duration::from_millis(200), Arc::clone(&polls));
    run_within_10s(
        future,
        GENEROUS,
        "a future completed by another thread after 200 ms",
    )
    .expect("it finishes long before the limit");
    let polls = polls.load(Ordering::SeqCst);
    assert!(
        polls <= 10,
        "the future was polled {polls} times in 200 ms, though it woke its task once: \
         `block_on_timeout` should sleep after `Pending` until the waker calls `unpark` (or the \
         time is up), not poll in a loop (that burns a whole core while waiting)\
         \n    reread: {REREAD}"
    );
}

#[test]
fn it_sleeps_until_the_time_is_up_and_then_drops_the_future() {
    let polls = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let never = Never {
        polls: Arc::clone(&polls),
        dropped: Arc::clone(&dropped),
    };
    let got = run_within_10s(
        never,
        Duration::from_millis(200),
        "a future that is never woken, with a limit of 200 ms",
    );
    check("a future still pending at the limit", got, Err(TimedOut));
    let polls = polls.load(Ordering::SeqCst);
    assert!(
        polls <= 10,
        "a future that is never woken was polled {polls} times in 200 ms: nothing woke it, so \
         `block_on_timeout` should sleep until the time is up (a sleep that can end early: see \
         `std::thread::park_timeout`), not poll in a loop\n    reread: {REREAD}"
    );
    check(
        "on a time-out the future is dropped before `block_on_timeout` returns",
        dropped.load(Ordering::SeqCst),
        true,
    );
}

#[test]
fn the_limit_counts_from_the_call_not_from_the_last_wake() {
    let got = run_within_10s(
        WokenForEver::new(),
        Duration::from_millis(100),
        "a future that is woken every millisecond and never finishes, with a limit of 100 ms",
    );
    check(
        "a future woken again and again, but still pending when 100 ms have passed since the \
         call: one deadline for the whole call, not a fresh limit after every wake",
        got,
        Err(TimedOut),
    );
}

#[test]
fn a_wake_before_the_thread_sleeps_is_not_lost() {
    let got = run_within_10s(
        WakeSelf { times: 10_000 },
        GENEROUS,
        "a future that wakes itself 10,000 times before it is ready",
    );
    check("its output", got, Ok("liftoff"));
}

#[test]
fn it_runs_async_code_with_timers() {
    let got = run_within_10s(
        async {
            Delay::new(Duration::from_millis(5)).await;
            Delay::new(Duration::from_millis(5)).await;
            "two timers later"
        },
        GENEROUS,
        "an async block that waits for two timers",
    );
    check("its output", got, Ok("two timers later"));
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
