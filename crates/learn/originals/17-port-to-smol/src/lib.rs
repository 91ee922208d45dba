//! # Exercise 17: port a tokio program to smol
//!
//! Chapter 8, Runtimes (`book/src/runtimes.md`). About 20 minutes.
//!
//! [`tokio_version::fetch_all`] (in `src/tokio_version.rs`) fetches feeds in tasks, each with a
//! timeout, and collects the outcomes over a channel. It works, on tokio, and only on tokio:
//! every line that waits names it.
//!
//! **Goal:** [`fetch_all`], the same program generic over the project's `Runtime` trait
//! (`crates/async-await/src/runtime.rs`), so that it runs on smol, on tokio and on async-std.
//!
//! **Contract**, checked by the tests on all three runtimes:
//!
//! - the outcomes are the tokio original's, in the order of `feeds`;
//! - every feed is fetched at the same time as the others, each limited to `limit` (a feed
//!   behind a [`Batch`] answers only once its whole batch has been asked);
//! - it finishes whatever the number of feeds, also when they are more than a small channel
//!   holds (the original's channel has room for [`tokio_version::MAILBOX`]);
//! - no `tokio::` in this file (`src/tokio_version.rs` keeps it).
//!
//! What you have: the trait's `spawn` and `sleep`, `with_timeout` (a timeout on any runtime),
//! [`call`] (the network, already ported), and `async_channel` if you want a channel. Some
//! things behave differently from one runtime to another without any compiler noticing:
//! chapter 8's "What ports, and what does not" lists them. Find the one this program relies
//! on.
//!
//! Check your work with `cargo run -- learn check 17`. Stuck? `cargo run -- learn hint 17`.

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

/// Fetches every feed at once, each limited to `limit`; returns the outcomes in the order of
/// `feeds`. Runs on any runtime.
pub async fn fetch_all<R: Runtime>(runtime: &R, feeds: &[Feed], limit: Duration) -> Vec<Outcome> {
    // TODO: what `tokio_version::fetch_all` does, on any runtime: every feed fetched at the
    // same time, each within `limit`, every outcome kept, whatever the runtime does with a
    // dropped task handle and however many feeds there are.
    todo!("the tokio program, through the Runtime trait")
}
