//! # Exercise 20: a blocking call inside async code
//!
//! Chapter 8, Runtimes (`book/src/runtimes.md`). About 15 minutes.
//!
//! [`checksum_blocking`] blocks its thread for 50 ms, like a synchronous file read, a database
//! driver without async support, or a long computation. Called inside a task, it blocks the
//! executor's thread: no other task on that thread runs, no timer fires, until it returns.
//! [`checksums_blocking_the_executor`] does exactly that; on a one-thread runtime its calls run
//! one after the other, though each is in a task of its own (a test shows it).
//!
//! The fix is to run blocking code on threads that are *meant* to block, and to await the
//! result. Every runtime keeps a pool of such threads:
//!
//! 1. [`checksums_tokio`]: `tokio::task::spawn_blocking(move || ...)` for each item, then await
//!    the handles in order;
//! 2. [`checksums_smol`]: `smol::unblock(move || ...)` for each item (it works under any
//!    executor), then `join_all`.
//!
//! Start every call before awaiting the first, so that they run at the same time: the tests
//! check that, on a runtime with a single thread, the four calls overlap.
//!
//! Check your work with `cargo run -- learn check 20`. Stuck? `cargo run -- learn hint 20`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use rosetta_pipeline::partition::fnv1a32;

/// How long one blocking call takes.
pub const BLOCKING_TIME: Duration = Duration::from_millis(50);

/// Counts the blocking calls running at once, and remembers the most there ever were.
#[derive(Debug, Default)]
pub struct Gauge {
    /// Calls running now.
    running: AtomicUsize,
    /// The most calls that ever ran at the same time.
    peak: AtomicUsize,
}

impl Gauge {
    /// The most blocking calls that ever ran at the same time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// The checksum of `data`, computed slowly: it blocks its thread for [`BLOCKING_TIME`], the way
/// a synchronous file read, a database driver without async support, or a long computation
/// does. Counted in `gauge` while it runs.
pub fn checksum_blocking(data: &str, gauge: &Gauge) -> u32 {
    let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
    gauge.peak.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(BLOCKING_TIME);
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

/// The checksums of `items`, in order, each computed on tokio's blocking pool, so that the
/// executor's threads stay free and the calls run at the same time.
pub async fn checksums_tokio(items: Vec<String>, gauge: Arc<Gauge>) -> Vec<u32> {
    // TODO: like `checksums_blocking_the_executor`, with `tokio::task::spawn_blocking(move ||
    // checksum_blocking(&item, &gauge))` instead of `tokio::spawn(async move { ... })`.
    todo!("the blocking calls on tokio's blocking pool")
}

/// The same with smol: `unblock` runs the closure on the `blocking` crate's thread pool, under
/// any executor.
pub async fn checksums_smol(items: Vec<String>, gauge: Arc<Gauge>) -> Vec<u32> {
    // TODO: one `smol::unblock(move || ...)` per item, then `join_all(...).await`.
    todo!("the blocking calls on smol's blocking pool")
}
