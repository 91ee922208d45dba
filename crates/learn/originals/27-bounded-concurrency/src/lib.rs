//! # Exercise 27: bounded concurrency, two ways
//!
//! Chapter 11, Data management (`book/src/data-management.md`). About 15 minutes.
//!
//! Starting ten thousand fetches at once is easy in async Rust, and usually wrong: the server
//! (or your file descriptors, or your memory) will not take it. The pipeline's `concurrency`
//! setting says "at most this many in flight".
//!
//! **Goal:** fetch feeds `0..feeds` with [`fetch`], at most `limit` at a time, two ways:
//!
//! 1. [`fetch_all_buffered`]: all inside the calling task, no task spawned: the caller's own
//!    future drives the fetches.
//! 2. [`fetch_all_spawned`]: each fetch in a task of its own (`tokio::spawn`), so that the
//!    fetches can run on several threads and go on without the caller polling them.
//!
//! **Contract**, checked by the tests with the [`Gauge`]:
//!
//! - every feed is fetched once; never more than `limit` fetches are in flight, and `limit` is
//!   reached (one by one would keep the first rule and break the second);
//! - buffered: fetches start in the order of the feeds; the bodies come in the order they
//!   arrive;
//! - spawned: every fetch runs in a spawned task, a different one for each feed; the bodies
//!   come in the order of the feeds, whatever order they arrive in.
//!
//! Check your work with `cargo run -- learn check 27`. Stuck? `cargo run -- learn hint 27`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use tokio::sync::Semaphore;

/// Counts the fetches in flight, and remembers the most there ever were.
#[derive(Debug, Default)]
pub struct Gauge {
    /// Fetches in flight now.
    in_flight: AtomicUsize,
    /// The most fetches in flight at any moment.
    peak: AtomicUsize,
    /// The feeds whose fetch has started, in the order they started.
    started: Mutex<Vec<usize>>,
    /// The tokio task each fetch ran in (`None` for a fetch outside any task, inside a
    /// `block_on`), in the order they started.
    tasks: Mutex<Vec<Option<tokio::task::Id>>>,
}

impl Gauge {
    /// The most fetches that were ever in flight at the same time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// The feeds whose fetch has started, in the order they started.
    pub fn started(&self) -> Vec<usize> {
        self.started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many fetches ran outside any spawned task (polled by a `block_on` directly), and in
    /// how many different tasks the others ran. One task per fetch is `(0, fetches)`; a stream
    /// polled by the caller is `(fetches, 0)`.
    pub fn tasks(&self) -> (usize, usize) {
        let tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        let outside = tasks.iter().filter(|task| task.is_none()).count();
        let distinct: HashSet<_> = tasks.iter().flatten().collect();
        (outside, distinct.len())
    }
}

/// One fetch in flight: counted in the gauge from its creation to its drop.
struct InFlight<'a>(&'a Gauge);

impl<'a> InFlight<'a> {
    fn start(gauge: &'a Gauge, index: usize) -> Self {
        gauge
            .started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(index);
        // Which task is running this fetch: a task spawned with `tokio::spawn` has an id; the
        // future given to `block_on` (a `#[tokio::test]`'s body) is not a task and has none.
        gauge
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tokio::task::try_id());
        let now = gauge.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        gauge.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How long feed `index` takes to answer: 50, 65 or 80 ms, so that feeds finish in another
/// order than they start.
pub fn latency(index: usize) -> Duration {
    Duration::from_millis(50 + 15 * (index as u64 % 3))
}

/// Fetches feed `index` (on tokio's timer), counted in `gauge` while it is in flight.
pub async fn fetch(index: usize, gauge: &Gauge) -> String {
    let _in_flight = InFlight::start(gauge, index);
    tokio::time::sleep(latency(index)).await;
    format!("body of feed {index}")
}

/// Fetches feeds `0..feeds`, at most `limit` at a time, all inside the calling task; returns the
/// bodies in the order they arrived.
pub async fn fetch_all_buffered(feeds: usize, limit: usize, gauge: &Gauge) -> Vec<String> {
    // TODO: at most `limit` fetches in flight, started in the order of the feeds, all driven
    // by this one future (no task spawned); the bodies in the order they arrive.
    todo!("at most `limit` fetches at once, inside this task")
}

/// Fetches feeds `0..feeds` in tasks of their own, at most `limit` at a time; returns the bodies
/// in the order of the feeds.
pub async fn fetch_all_spawned(feeds: usize, limit: usize, gauge: Arc<Gauge>) -> Vec<String> {
    // TODO: each fetch in a spawned task of its own, at most `limit` of them fetching at any
    // moment; the bodies in the order of the feeds.
    todo!("one task per feed, at most `limit` fetching at once")
}
