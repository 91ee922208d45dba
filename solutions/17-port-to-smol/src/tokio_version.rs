//! The program to port: fetches feeds in tasks, with a timeout each, and collects the outcomes
//! over a channel. Written for tokio, and only for tokio: every line that waits names it.
//!
//! It is correct *on tokio*. Moving it to another runtime means replacing each tokio call with
//! the [`Runtime`](rosetta_async_await::runtime::Runtime) trait's (`spawn`, `sleep`) or with a
//! runtime-neutral crate (`async-channel`), and checking each place where the runtimes behave
//! differently.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::{Feed, Outcome};

/// Room in the channel of outcomes. Small on purpose: a bounded channel's capacity is how much
/// may wait unread, not how many tasks send into it, and this program reads while its tasks
/// run, so a task never waits long for room.
pub const MAILBOX: usize = 2;

/// Fetches every feed at once, each limited to `limit`; returns the outcomes in the order of
/// `feeds`. Must run inside a tokio runtime.
pub async fn fetch_all(feeds: &[Feed], limit: Duration) -> Vec<Outcome> {
    let (results, mut inbox) = mpsc::channel(MAILBOX);
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

/// The "network": the feed answers after its latency (and, behind a batch, not before its batch
/// is full), or never.
async fn call(feed: Feed) -> &'static str {
    if let Some(batch) = feed.batch {
        batch.join().await;
    }
    tokio::time::sleep(feed.latency).await;
    if feed.hangs {
        std::future::pending::<()>().await;
    }
    feed.body
}
