//! Solution of exercise 19: a tokio program ported to any runtime through the `Runtime` trait.
//!
//! The exercise (`exercises/19-port-to-smol/src/lib.rs`) explains the task; chapter 8 of the
//! book (`book/src/runtimes.md`) explains what does and does not port between runtimes.
//! `crates/async-await/src/runtime.rs` defines the trait and its three adapters.

use std::time::Duration;

use rosetta_async_await::fetch::with_timeout;
use rosetta_async_await::runtime::Runtime;

pub mod tokio_version;

/// A feed: after `latency`, it answers `body`, unless it `hangs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// How long it takes to answer.
    pub latency: Duration,
    /// Never answers.
    pub hangs: bool,
    /// What it answers.
    pub body: &'static str,
}

/// How fetching one feed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The feed answered this, in time.
    Answered(&'static str),
    /// The limit came first.
    TimedOut,
}

// ANCHOR: fetch_all
/// Fetches every feed at once, each limited to `limit`; returns the outcomes in the order of
/// `feeds`. Runs on any runtime.
pub async fn fetch_all<R: Runtime>(runtime: &R, feeds: &[Feed], limit: Duration) -> Vec<Outcome> {
    // `async-channel` instead of `tokio::sync::mpsc`: it works under any runtime. (Its `recv`
    // returns a `Result`, tokio's an `Option`.)
    let (results, inbox) = async_channel::bounded(feeds.len().max(1));
    let mut tasks = Vec::with_capacity(feeds.len());
    for (index, feed) in feeds.iter().copied().enumerate() {
        let (results, runtime_in_task) = (results.clone(), runtime.clone());
        tasks.push(runtime.spawn(async move {
            let outcome =
                match with_timeout(&runtime_in_task, limit, call(&runtime_in_task, feed)).await {
                    Some(body) => Outcome::Answered(body),
                    None => Outcome::TimedOut,
                };
            let _ = results.send((index, outcome)).await;
        }));
    }
    drop(results);
    // Keep and await every handle. On tokio and async-std, a dropped handle detaches its task;
    // on smol, it *cancels* it, and the tokio version's fire-and-forget loses every outcome.
    for task in tasks {
        task.await.expect("a fetch task panicked");
    }
    let mut outcomes = vec![None; feeds.len()];
    while let Ok((index, outcome)) = inbox.recv().await {
        outcomes[index] = Some(outcome);
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every task reports before the channel closes"))
        .collect()
}

/// The "network", on the runtime's timer.
async fn call<R: Runtime>(runtime: &R, feed: Feed) -> &'static str {
    runtime.sleep(feed.latency).await;
    if feed.hangs {
        std::future::pending::<()>().await;
    }
    feed.body
}
// ANCHOR_END: fetch_all
