//! Solution of exercise 27: at most `limit` fetches at a time, with `buffer_unordered` in one
//! task, and with a semaphore across spawned tasks.
//!
//! The exercise (`exercises/27-bounded-concurrency/src/lib.rs`) explains the task; chapter 11
//! of the book (`book/src/data-management.md`) explains the trade-offs. `crates/combinators`
//! uses `buffer_unordered`; `crates/async-await` uses a semaphore.

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

// ANCHOR: buffered
/// Fetches feeds `0..feeds`, at most `limit` at a time, all inside the calling task; returns the
/// bodies in the order they arrived.
pub async fn fetch_all_buffered(feeds: usize, limit: usize, gauge: &Gauge) -> Vec<String> {
    // A stream of lazy fetches; `buffer_unordered` polls at most `limit` of them at once and
    // takes the next one (in order) the moment one finishes.
    stream::iter(0..feeds)
        .map(|index| fetch(index, gauge))
        .buffer_unordered(limit)
        .collect()
        .await
}
// ANCHOR_END: buffered

// ANCHOR: spawned
/// Fetches feeds `0..feeds` in tasks of their own, at most `limit` at a time; returns the bodies
/// in the order of the feeds.
pub async fn fetch_all_spawned(feeds: usize, limit: usize, gauge: Arc<Gauge>) -> Vec<String> {
    let slots = Arc::new(Semaphore::new(limit));
    // Every task starts now, and waits for a slot inside. (Acquiring *before* spawning, as
    // `crates/async-await` does, would also keep the number of tasks alive at `limit`.)
    let tasks: Vec<_> = (0..feeds)
        .map(|index| {
            let (slots, gauge) = (Arc::clone(&slots), Arc::clone(&gauge));
            tokio::spawn(async move {
                // The permit is the slot: held until it is dropped, at the end of the task.
                let _slot = slots.acquire_owned().await.expect("never closed");
                fetch(index, &gauge).await
            })
        })
        .collect();
    let mut bodies = Vec::with_capacity(feeds);
    for task in tasks {
        // Awaiting in order is fine: every task is already running.
        bodies.push(task.await.expect("a fetch task panicked"));
    }
    bodies
}
// ANCHOR_END: spawned
