//! Tests of exercise 18: on a runtime with one thread, the blocking calls still run at the same
//! time once they are off the executor, give the right results in order, and leave the
//! executor free: a ticker task on the same thread keeps ticking while they run.

use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use blocking_in_async::{Gauge, checksums_blocking_the_executor, checksums_smol, checksums_tokio};
use rosetta_pipeline::partition::fnv1a32;

/// Where to read about this exercise.
const REREAD: &str = "chapter 8, Runtimes (book/src/runtimes.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

fn items() -> Vec<String> {
    ["Oslo;3.5", "Bergen;-1.0", "Riga;7.0", "Turku;2.0"]
        .map(String::from)
        .to_vec()
}

fn expected() -> Vec<u32> {
    items()
        .iter()
        .map(|item| fnv1a32(item.as_bytes()))
        .collect()
}

/// A tokio runtime with one thread for all tasks (and a pool for blocking calls).
fn one_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn blocking_the_executor_runs_the_calls_one_by_one() {
    // Not your code: the mistake, to compare with.
    let gauge = Arc::new(Gauge::default());
    let sums = one_thread().block_on(checksums_blocking_the_executor(items(), Arc::clone(&gauge)));
    check("right answers...", sums, expected());
    check("...one at a time", gauge.peak(), 1);
}

#[test]
fn spawn_blocking_runs_the_calls_at_the_same_time() {
    let gauge = Arc::new(Gauge::default());
    let sums = one_thread().block_on(checksums_tokio(items(), Arc::clone(&gauge)));
    check("the checksums, in the order of the items", sums, expected());
    check(
        "blocking calls running at the same time, on a runtime with one thread: all four, \
         once each runs on the blocking pool (`tokio::task::spawn_blocking`) instead of the \
         executor's thread",
        gauge.peak(),
        4,
    );
}

#[test]
fn unblock_runs_the_calls_at_the_same_time() {
    let gauge = Arc::new(Gauge::default());
    let sums = smol::block_on(checksums_smol(items(), Arc::clone(&gauge)));
    check("the checksums, in the order of the items", sums, expected());
    let peak = gauge.peak();
    assert!(
        peak >= 2,
        "the blocking calls ran one at a time (peak {peak}): start them all with \
         `smol::unblock` before awaiting any (`join_all`), so that the pool runs them at once\
         \n    reread: {REREAD}"
    );
}

/// The ticks the ticker makes before it lets the blocking calls finish.
const TICKS: u32 = 3;

/// A ticker: a task that ticks every millisecond, on whatever timer `sleep` uses, and after its
/// third tick opens the gauge that holds the blocking calls. It can only tick while its thread
/// is free: if the blocking calls hold that thread, it never ticks, and they wait for ever.
async fn ticker<Tick: Future>(gauge: Arc<Gauge>, sleep: impl Fn(Duration) -> Tick) -> u32 {
    for _ in 0..TICKS {
        sleep(Duration::from_millis(1)).await;
    }
    gauge.open();
    TICKS
}

/// Runs `work` on a thread of its own; fails the test if it has not finished after 10 s (the
/// ticker never ticked), and re-raises its panic if it panics (a `todo!()`, for example).
fn with_watchdog<T: Send + 'static>(runtime: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = done.send(work());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends its result before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "on {runtime}, the blocking calls did not finish in 10 s. They wait for tick \
             {TICKS} of a ticker task on the runtime's only thread, and the ticker never \
             got to tick: that thread was blocked while the calls ran (by a call itself, or by \
             waiting for them in a blocking way, such as joining a thread). Hand the calls to \
             the runtime's pool for blocking work and await them\n    reread: {REREAD}"
        ),
    }
}

#[test]
fn the_executor_keeps_ticking_while_tokio_runs_the_calls() {
    let gauge = Arc::new(Gauge::closed());
    let (sums, ticks) = with_watchdog("tokio", move || {
        one_thread().block_on(async {
            // Both futures on the runtime's one thread: the ticker moves only while
            // `checksums_tokio` waits without blocking.
            futures::join!(
                checksums_tokio(items(), Arc::clone(&gauge)),
                ticker(Arc::clone(&gauge), tokio::time::sleep),
            )
        })
    });
    check("the checksums, in the order of the items", sums, expected());
    check("ticks", ticks, TICKS);
}

#[test]
fn the_executor_keeps_ticking_while_smol_runs_the_calls() {
    let gauge = Arc::new(Gauge::closed());
    let (sums, ticks) = with_watchdog("smol", move || {
        smol::block_on(async {
            futures::join!(
                checksums_smol(items(), Arc::clone(&gauge)),
                ticker(Arc::clone(&gauge), smol::Timer::after),
            )
        })
    });
    check("the checksums, in the order of the items", sums, expected());
    check("ticks", ticks, TICKS);
}
