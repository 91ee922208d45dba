//! # Exercise 18: a blocking call inside async code
//!
//! Chapter 8, Runtimes (`book/src/runtimes.md`). About 15 minutes.
//!
//! [`checksum_blocking`] blocks its thread for 50 ms, like a synchronous file read, a database
//! driver without async support, or a long computation. Called inside a task, it blocks the
//! executor's thread: no other task on that thread runs, no timer fires, until it returns.
//! [`checksums_blocking_the_executor`] does exactly that; on a one-thread runtime its calls run
//! one after the other, though each is in a task of its own (a test shows it).
//!
//! **Goal:** [`checksums_tokio`] and [`checksums_smol`] compute the same checksums without
//! blocking the executor, each with its runtime's own way of running blocking code.
//!
//! **Contract**, checked by the tests on a runtime with a single thread:
//!
//! - the checksums come in the order of the items;
//! - the blocking calls run at the same time (all four on tokio; more than one on smol);
//! - the executor stays free while they run: a ticker task on the same thread keeps ticking,
//!   and the calls cannot finish before its third tick (the tests hold them with
//!   [`Gauge::closed`]). Blocking the thread in any other way (joining a thread, waiting on a
//!   channel) stops the ticker just the same.
//!
//! Check your work with `cargo run -- learn check 18`. Stuck? `cargo run -- learn hint 18`.

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

/// The checksums of `items`, in order, each computed on tokio's blocking pool, so that the
/// executor's threads stay free and the calls run at the same time.
pub async fn checksums_tokio(items: Vec<String>, gauge: Arc<Gauge>) -> Vec<u32> {
    // TODO: every item's `checksum_blocking`, all running at the same time, none on the
    // executor's threads; this future waits for them without blocking; sums in item order.
    todo!("the blocking calls off tokio's executor")
}

/// The same with smol, whose pool of threads for blocking calls works under any executor.
pub async fn checksums_smol(items: Vec<String>, gauge: Arc<Gauge>) -> Vec<u32> {
    // TODO: the same contract, with smol's way of running blocking code (which works under
    // any executor).
    todo!("the blocking calls off smol's executor")
}
