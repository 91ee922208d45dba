//! Solution of exercise 17: a tokio program ported to any runtime through the `Runtime` trait.
//!
//! The exercise (`exercises/17-port-to-smol/src/lib.rs`) explains the task; chapter 8 of the
//! book (`book/src/runtimes.md`) explains what does and does not port between runtimes.
//! `crates/async-await/src/runtime.rs` defines the trait and its three adapters.

use std::sync::{Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use rosetta_async_await::fetch::with_timeout;
use rosetta_async_await::runtime::Runtime;

pub mod tokio_version;

/// A feed: after `latency`, it answers `body`, unless it `hangs`.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    /// How long it takes to answer.
    pub latency: Duration,
    /// Never answers.
    pub hangs: bool,
    /// What it answers.
    pub body: &'static str,
    /// The batch it belongs to, if its server answers in batches (see [`Batch`]).
    pub batch: Option<&'static Batch>,
}

/// How fetching one feed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The feed answered this, in time.
    Answered(&'static str),
    /// The limit came first.
    TimedOut,
}

/// A server that answers its requests in batches: no request is answered before `size` of them
/// have arrived. Fetches made one after another never fill a batch (the first waits for the
/// others, which are not asked until it ends); fetches made at the same time fill it at once.
/// The tests use it to see whether the feeds are fetched at the same time, without a clock.
#[derive(Debug)]
pub struct Batch {
    /// Requests needed before any is answered.
    size: usize,
    /// Requests arrived so far, and the tasks waiting for the batch to fill.
    state: Mutex<BatchState>,
}

/// What a [`Batch`] keeps behind its lock.
#[derive(Debug, Default)]
struct BatchState {
    /// Requests arrived so far.
    arrived: usize,
    /// Wakers of the requests waiting for the batch to fill.
    waiting: Vec<Waker>,
}

impl Batch {
    /// A batch of `size` requests.
    pub fn new(size: usize) -> Self {
        Batch {
            size,
            state: Mutex::default(),
        }
    }

    /// One request arrives, then waits until the batch is full. Needs nothing from a runtime
    /// but a waker, so it works on all three.
    pub async fn join(&self) {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.arrived += 1;
            if state.arrived >= self.size {
                state.waiting.drain(..).for_each(Waker::wake);
            }
        } // The guard ends here, before the `.await`.
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            if state.arrived >= self.size {
                Poll::Ready(())
            } else {
                // Woken by the request that fills the batch. (A task polled again for another
                // reason registers its waker twice: harmless, it is woken twice.)
                state.waiting.push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

/// The "network", on any runtime's timer: the feed answers after its latency (and, behind a
/// [`Batch`], not before its batch is full), or never. Given: it is the original's `call` with
/// `runtime.sleep` for `tokio::time::sleep`.
pub async fn call<R: Runtime>(runtime: &R, feed: Feed) -> &'static str {
    if let Some(batch) = feed.batch {
        batch.join().await;
    }
    runtime.sleep(feed.latency).await;
    if feed.hangs {
        std::future::pending::<()>().await;
    }
    feed.body
}

// ANCHOR: fetch_all
/// Fetches every feed at once, each limited to `limit`; returns the outcomes in the order of
/// `feeds`. Runs on any runtime.
pub async fn fetch_all<R: Runtime>(runtime: &R, feeds: &[Feed], limit: Duration) -> Vec<Outcome> {
    // Every task starts now, and returns its outcome: no channel needed. The original sends
    // outcomes over a channel because it drops its handles (on tokio that detaches a task);
    // on smol a dropped handle *cancels* its task, so a port must keep them, and a kept handle
    // already carries the outcome. (A port that keeps the channel must read it while the tasks
    // run: awaiting the handles first deadlocks as soon as the feeds outnumber the channel's
    // room, each task waiting to send, and `fetch_all` waiting for that task.)
    let tasks: Vec<_> = feeds
        .iter()
        .copied()
        .map(|feed| {
            // A task owns what it uses (`'static`): its own handle of the runtime, a copy of
            // the feed.
            let runtime_in_task = runtime.clone();
            runtime.spawn(async move {
                match with_timeout(&runtime_in_task, limit, call(&runtime_in_task, feed)).await {
                    Some(body) => Outcome::Answered(body),
                    None => Outcome::TimedOut,
                }
            })
        })
        .collect();
    // Awaiting in order gives the outcomes in the order of the feeds; every task is already
    // running, so the order costs no time.
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.expect("a fetch task panicked"));
    }
    outcomes
}
// ANCHOR_END: fetch_all
