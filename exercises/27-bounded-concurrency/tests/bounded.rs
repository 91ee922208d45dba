//! Tests of exercise 27: both versions fetch every feed once, never more than `limit` at a time,
//! and really `limit` at a time (not one by one); the spawned version runs each fetch in a task
//! of its own.
//!
//! Fetches take 50 to 80 ms, so that `limit` of them starting together are certain to overlap,
//! even on a busy machine.

use std::fmt::Debug;
use std::sync::Arc;

use bounded_concurrency::{Gauge, fetch_all_buffered, fetch_all_spawned};

/// Where to read about this exercise.
const REREAD: &str = "chapter 11, Data management (book/src/data-management.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

fn bodies(feeds: usize) -> Vec<String> {
    (0..feeds)
        .map(|index| format!("body of feed {index}"))
        .collect()
}

fn sorted(mut items: Vec<String>) -> Vec<String> {
    items.sort_by_key(|body| {
        body.split(' ')
            .next_back()
            .and_then(|n| n.parse::<usize>().ok())
    });
    items
}

#[tokio::test]
async fn buffered_fetches_every_feed_at_most_limit_at_a_time() {
    let gauge = Gauge::default();
    let got = fetch_all_buffered(10, 3, &gauge).await;
    check("every body once (sorted)", sorted(got), bodies(10));
    check(
        "most fetches in flight at once: never more than the limit, and the limit reached \
         (`buffer_unordered(limit)`)",
        gauge.peak(),
        3,
    );
    check(
        "fetches start in the order of the feeds",
        gauge.started(),
        (0..10).collect(),
    );
}

#[tokio::test]
async fn buffered_with_a_limit_of_one_is_sequential() {
    let gauge = Gauge::default();
    let got = fetch_all_buffered(4, 1, &gauge).await;
    check("every body, in order", got, bodies(4));
    check("one at a time", gauge.peak(), 1);
}

#[tokio::test]
async fn buffered_with_a_high_limit_starts_everything() {
    let gauge = Gauge::default();
    let got = fetch_all_buffered(5, 100, &gauge).await;
    check("every body once (sorted)", sorted(got), bodies(5));
    check("all five at once", gauge.peak(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_fetches_every_feed_at_most_limit_at_a_time() {
    let gauge = Arc::new(Gauge::default());
    let got = fetch_all_spawned(10, 3, Arc::clone(&gauge)).await;
    check("every body, in the order of the feeds", got, bodies(10));
    check(
        "most fetches in flight at once: never more than the limit (each task holds a \
         semaphore permit while it fetches), and the limit reached",
        gauge.peak(),
        3,
    );
    let mut started = gauge.started();
    started.sort_unstable();
    check("each feed fetched once", started, (0..10).collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_fetches_each_run_in_a_task_of_their_own() {
    // `buffer_unordered` would pass the test above: it limits fetches just as well. What it
    // cannot do is run them anywhere but inside the caller's future. The gauge notes the tokio
    // task each fetch ran in (none, for the body of this test, which is not a task).
    let gauge = Arc::new(Gauge::default());
    fetch_all_spawned(10, 3, Arc::clone(&gauge)).await;
    check(
        "fetches run outside any spawned task, and the number of different tasks they ran in \
         (each fetch should run in a `tokio::spawn`ed task of its own: a stream polled by the \
         caller runs them all in the caller's future, and one task for all of them is one task)",
        gauge.tasks(),
        (0, 10),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_with_a_limit_of_one_is_sequential() {
    let gauge = Arc::new(Gauge::default());
    let got = fetch_all_spawned(4, 1, Arc::clone(&gauge)).await;
    check("every body, in order", got, bodies(4));
    check("one at a time", gauge.peak(), 1);
}
