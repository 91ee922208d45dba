//! Solution of exercise 18: a blocking call moved off the executor's threads, with tokio's
//! `spawn_blocking` and with smol's `unblock`.
//!
//! The exercise (`exercises/18-blocking-in-async/src/lib.rs`) explains the task; chapter 8 of
//! the book (`book/src/runtimes.md`) explains blocking pools. `crates/async-await/src/pitfalls.rs`
//! shows what blocking the executor does to a trace.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use futures::future::join_all;
use rosetta_pipeline::partition::fnv1a32;

/// How long one blocking call takes.
pub const BLOCKING_TIME: Duration = Duration::from_millis(50);

/// Counts the blocking calls running at once, and remembers the most there ever were; for the
/// tests, it can also hold the calls until it is opened.
#[derive(Debug, Default)]
pub struct Gauge {
    /// Calls running now.
    running: AtomicUsize,
    /// The most calls that ever ran at the same time.
    peak: AtomicUsize,
    /// Whether the calls must wait for [`Gauge::open`] before they return.
    closed: Mutex<bool>,
    /// Signalled by [`Gauge::open`].
    opened: Condvar,
}

impl Gauge {
    /// A gauge whose calls, once their work is done, wait until [`Gauge::open`] is called. A
    /// test opens it from a task on the runtime: the calls can only finish if that task runs
    /// while they block, that is, if they do not block the runtime's thread.
    pub fn closed() -> Self {
        Gauge {
            closed: Mutex::new(true),
            ..Gauge::default()
        }
    }

    /// Lets every call waiting on this gauge return (and every later one, at once).
    pub fn open(&self) {
        *self.closed.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.opened.notify_all();
    }

    /// The most blocking calls that ever ran at the same time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Blocks the calling thread until the gauge is open.
    fn wait_until_open(&self) {
        let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        while *closed {
            closed = self
                .opened
                .wait(closed)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The checksum of `data`, computed slowly: it blocks its thread for [`BLOCKING_TIME`], the way
/// a synchronous file read, a database driver without async support, or a long computation
/// does. Counted in `gauge` while it runs; a [closed](Gauge::closed) gauge holds it until it
/// opens.
pub fn checksum_blocking(data: &str, gauge: &Gauge) -> u32 {
    let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
    gauge.peak.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(BLOCKING_TIME);
    gauge.wait_until_open();
    gauge.running.fetch_sub(1, Ordering::SeqCst);
    fnv1a32(data.as_bytes())
}

/// The mistake, for comparison: one task per item, each calling the blocking function right on
/// the executor's thread. On a one-thread runtime the calls run one after the other, and
/// nothing else on that runtime runs meanwhile (no timer fires, no other task moves).
pub async fn checksums_blocking_the_executor(items: Vec<String>, gauge: Arc<Gauge>) -> Vec<u32> {
    let tasks: Vec<_> = items
        .into_iter()
        .map(|item| {
            let gauge = Arc::clone(&gauge);
            tokio::spawn(async move { checksum_blocking(&item, &gauge) })
        })
        .collect();
    let mut sums = Vec::with_capacity(tasks.len());
    for task in tasks {
        sums.push(task.await.expect("a task panicked"));
    }
    sums
}

// ANCHOR: tokio
/// The checksums of `items`, in order, each computed on tokio's blocking pool, so that the
/// executor's threads stay free and the calls run at the same time.
pub async fn checksums_tokio(items: Vec<String>, gauge: Arc<Gauge>) -> Vec<u32> {
    let calls: Vec<_> = items
        .into_iter()
        .map(|item| {
            let gauge = Arc::clone(&gauge);
            // The closure runs on a thread of the blocking pool (started as needed, up to 512
            // by default); awaiting its handle waits without blocking.
            tokio::task::spawn_blocking(move || checksum_blocking(&item, &gauge))
        })
        .collect();
    let mut sums = Vec::with_capacity(calls.len());
    for call in calls {
        sums.push(call.await.expect("a blocking call panicked"));
    }
    sums
}
// ANCHOR_END: tokio

// ANCHOR: smol
/// The same with smol: `unblock` runs the closure on the `blocking` crate's thread pool, under
/// any executor.
pub async fn checksums_smol(items: Vec<String>, gauge: Arc<Gauge>) -> Vec<u32> {
    let calls = items.into_iter().map(|item| {
        let gauge = Arc::clone(&gauge);
        // `unblock` starts the call at once, and gives a future of its result.
        smol::unblock(move || checksum_blocking(&item, &gauge))
    });
    join_all(calls).await
}
// ANCHOR_END: smol
