//! The program to port: fetches feeds in tasks, with a timeout each, and collects the outcomes
//! over a channel. Written for tokio, and only for tokio: every line that waits names it.
//!
//! It is correct *on tokio*. Moving it to another runtime means replacing each tokio call with
//! the [`Runtime`](rosetta_async_await::runtime::Runtime) trait's (`spawn`, `sleep`) or with a
//! runtime-neutral crate (`async-channel`), and checking each place where the runtimes behave
//! differently: here, what dropping a task's handle does.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::{Feed, Outcome};

/// Fetches every feed at once, each limited to `limit`; returns the outcomes in the order of
/// `feeds`. Must run inside a tokio runtime.
pub async fn fetch_all(feeds: &[Feed], limit: Duration) -> Vec<Outcome> {
    let (results, mut inbox) = mpsc::channel(feeds.len().max(1));
    for (index, feed) in feeds.iter().copied().enumerate() {
        let results = results.clone();
        // Fire and forget: the `JoinHandle` is dropped at once, which on tokio *detaches* the
        // task. It runs on and reports through the channel.
        tokio::spawn(async move {
            let outcome = match tokio::time::timeout(limit, call(feed)).await {
                Ok(body) => Outcome::Answered(body),
                Err(_elapsed) => Outcome::TimedOut,
            };
            let _ = results.send((index, outcome)).await;
        });
    }
    // The tasks hold the other senders: the channel closes when the last task is done.
    drop(results);
    let mut outcomes = vec![None; feeds.len()];
    while let Some((index, outcome)) = inbox.recv().await {
        outcomes[index] = Some(outcome);
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.expect("every task reports before the channel closes"))
        .collect()
}

/// The "network": the feed answers after its latency, or never.
async fn call(feed: Feed) -> &'static str {
    tokio::time::sleep(feed.latency).await;
    if feed.hangs {
        std::future::pending::<()>().await;
    }
    feed.body
}
