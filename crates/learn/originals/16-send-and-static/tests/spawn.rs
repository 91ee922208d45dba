//! Tests of exercise 16: every feed fetched in a spawned task of its own, all at the same time,
//! on tokio's multi-threaded runtime; the readings in the order of the names; a `Send` future;
//! and nothing left behind when `fetch_all` returns.
//!
//! [`Feeds::fetch`] answers only once every fetch has started, so a version that fetches one
//! feed after the other waits for ever: each test is bounded by [`bounded`], and fails instead.

use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use send_and_static::{Feeds, Reading, fetch_all};

/// Where to read about this exercise.
const REREAD: &str = "chapter 7.1, The first spawn (book/src/spawning.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// The feeds of a test: `count` of them, `feed-0` answering 0, `feed-1` answering 10, and so on.
fn feeds(count: usize) -> (Feeds, Vec<String>, Vec<Reading>) {
    let names: Vec<String> = (0..count).map(|n| format!("feed-{n}")).collect();
    let tenths: Vec<i32> = (0..count).map(|n| 10 * n as i32).collect();
    let pairs: Vec<(&str, i32)> = names
        .iter()
        .map(String::as_str)
        .zip(tenths.iter().copied())
        .collect();
    let expected = names
        .iter()
        .zip(&tenths)
        .map(|(name, &tenths)| Reading {
            name: name.clone(),
            tenths,
        })
        .collect();
    (Feeds::new(&pairs), names, expected)
}

/// Runs `work`, failing the test if it has not finished within 10 s (a generous bound: on
/// time, every test here finishes in milliseconds).
async fn bounded<T>(work: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(10), work).await {
        Ok(output) => output,
        Err(_) => panic!(
            "fetch_all did not finish: a fetch answers only once every fetch has started, so \
             fetching one feed after the other (awaiting each fetch before starting the next) \
             waits for ever\n    reread: {REREAD}"
        ),
    }
}

/// Every feed is fetched once, in a spawned task of its own, all at the same time.
///
/// Shortcuts this fails: awaiting each fetch in the loop, one after the other (the first fetch
/// waits for the others for ever, and the bound fails the test); spawning each task and
/// awaiting it before spawning the next (the same); joining the fetches inside the caller's
/// task without spawning (`join_all`: no fetch runs in a task of its own); a `block_on` inside
/// `fetch_all` (its fetches run in no task, or all in the caller's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fetch_runs_in_a_spawned_task_of_its_own() {
    let (feeds, names, expected) = feeds(5);
    let readings = bounded(fetch_all(&feeds, &names)).await;
    let mut got: Vec<String> = readings.iter().map(|r| r.name.clone()).collect();
    got.sort();
    check("the feeds fetched (sorted)", got, names.clone());
    let tasks = feeds.tasks();
    check("fetches made", tasks.len(), names.len());
    check(
        "fetches that ran outside any spawned task (in the caller, or in a block_on)",
        tasks.iter().filter(|task| task.is_none()).count(),
        0,
    );
    let distinct: HashSet<_> = tasks.iter().flatten().collect();
    check(
        "different tasks the fetches ran in (one task per feed)",
        distinct.len(),
        names.len(),
    );
    check("the readings", readings, expected);
}

/// The readings come in the order of the names, although the feeds answer last one first.
///
/// Shortcut this fails: each task pushing its reading into a shared `Vec` (an
/// `Arc<Mutex<Vec<_>>>`, say) as it finishes: that is the order of the answers, reversed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_come_in_the_order_of_the_names() {
    let (feeds, names, expected) = feeds(4);
    let readings = bounded(fetch_all(&feeds, &names)).await;
    check(
        "the readings, in the order of the names",
        readings,
        expected,
    );
}

/// The future `fetch_all` returns is `Send`: it can be spawned itself, like any other future a
/// multi-threaded runtime runs. (If this test does not compile, read the compiler's error as
/// you read the others: which value, held across which `.await`, is not `Send`?)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_future_of_fetch_all_is_send() {
    let (feeds, names, expected) = feeds(3);
    let spawned = tokio::spawn(async move { fetch_all(&feeds, &names).await });
    let readings = bounded(spawned)
        .await
        .expect("the spawned fetch_all panicked");
    check("the readings of a spawned fetch_all", readings, expected);
}

/// Nothing outlives the call: when `fetch_all` returns, every task that held a handle on the
/// `Feeds` has ended and dropped it, and no handle was leaked. Called again and again on fresh
/// feeds, as a program would.
///
/// Shortcuts this fails: `Box::leak`ing the `Feeds` (or a clone) to get a `&'static` to it
/// (a leaked handle is never dropped: the count stays above one, once more for every call);
/// returning without awaiting every task (a task still running holds its clone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_outlives_the_call() {
    for round in 1..=3 {
        let (feeds, names, expected) = feeds(3);
        let readings = bounded(fetch_all(&feeds, &names)).await;
        check(
            &format!("round {round}: handles on the Feeds after fetch_all returned"),
            feeds.handles(),
            1,
        );
        check(&format!("round {round}: the readings"), readings, expected);
    }
}

/// No names, no fetches: an empty list of readings, at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_names_no_readings() {
    let (feeds, names, expected) = feeds(0);
    let readings = bounded(fetch_all(&feeds, &names)).await;
    check("the readings of no feeds", readings, expected);
    check("fetches made", feeds.tasks().len(), 0);
}
