//! Tests of exercise 20: on a runtime with one thread, the blocking calls still run at the same
//! time once they are off the executor, and give the right results in order.

use std::fmt::Debug;
use std::sync::Arc;

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
