//! # Exercise 16: bounded concurrency, two ways
//!
//! Chapter 11, Data management (`book/src/data-management.md`). About 15 minutes.
//!
//! Starting ten thousand fetches at once is easy in async Rust, and usually wrong: the server
//! (or your file descriptors, or your memory) will not take it. The pipeline's `concurrency`
//! setting says "at most this many in flight". Write it two ways:
//!
//! 1. [`fetch_all_buffered`]: inside the calling task, with a stream. `stream::iter(0..feeds)
//!    .map(|index| fetch(index, gauge))` is a stream of *lazy* fetches; `.buffer_unordered(limit)`
//!    polls at most `limit` of them at once, starting the next one (in order) as soon as one
//!    finishes; `.collect()` gathers the bodies in the order they arrive.
//! 2. [`fetch_all_spawned`]: one `tokio::spawn`ed task per feed, so that fetches can run on
//!    several threads, and a `tokio::sync::Semaphore` with `limit` permits: each task holds a
//!    permit while it fetches (`acquire_owned` gives a permit that can move into the task; it
//!    is released when dropped). Await the tasks' handles in order, so that the bodies come in
//!    the order of the feeds.
//!
//! The tests count fetches in flight with the [`Gauge`]: never more than `limit`, and `limit`
//! reached (running them one by one would pass the first check and fail the second).
//!
//! Check your work with `cargo run -- learn check 16`. Stuck? `cargo run -- learn hint 16`.

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
    // TODO: `stream::iter`, `.map(...)`, `.buffer_unordered(limit)`, `.collect().await`.
    todo!("a stream of fetches, at most `limit` polled at once")
}

/// Fetches feeds `0..feeds` in tasks of their own, at most `limit` at a time; returns the bodies
/// in the order of the feeds.
pub async fn fetch_all_spawned(feeds: usize, limit: usize, gauge: Arc<Gauge>) -> Vec<String> {
    // TODO: an `Arc<Semaphore>` with `limit` permits; for each feed, `tokio::spawn` a task
    // (`async move`, with its own clones of the two `Arc`s) that takes a permit with
    // `acquire_owned().await`, then fetches. Then await every handle, in order.
    todo!("one task per feed, a semaphore to limit them")
}
