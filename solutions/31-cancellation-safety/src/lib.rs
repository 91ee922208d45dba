//! Solution of exercise 31: a consumer loop that loses no message to `select!`, and a future
//! raced again and again without being restarted.
//!
//! The exercise (`exercises/31-cancellation-safety/src/lib.rs`) explains the task; chapter 13 of
//! the book (`book/src/pitfalls.md`) explains cancellation safety.
//! `crates/async-await/src/pitfalls.rs` shows the same bug and fix on every runtime.

use std::cell::Cell;
use std::pin::pin;
use std::time::Duration;

use tokio::sync::mpsc::Receiver;
use tokio::time::{Instant, interval, interval_at};

/// What [`drain`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    /// The messages handled, in the order they were handled.
    pub handled: Vec<u32>,
    /// How many times housekeeping ran.
    pub ticks: u32,
}

// ANCHOR: drain
/// Handles every message from `inbox` (handling one takes `handling`), and every `tick` does
/// some housekeeping (here: counts it). Returns once the inbox is closed and empty.
pub async fn drain(mut inbox: Receiver<u32>, handling: Duration, tick: Duration) -> Drained {
    let mut drained = Drained::default();
    let mut ticker = interval(tick);
    loop {
        tokio::select! {
            // Only `recv` is raced, and it is cancellation-safe: if the tick wins, it has taken
            // nothing from the channel. The handling runs in the branch, after the race, where
            // no tick can interrupt it.
            message = inbox.recv() => match message {
                Some(message) => {
                    tokio::time::sleep(handling).await;
                    drained.handled.push(message);
                }
                None => return drained, // Closed and empty.
            },
            _ = ticker.tick() => drained.ticks += 1,
        }
    }
}
// ANCHOR_END: drain

thread_local! {
    /// How many fetches [`slow_fetch`] started on this thread.
    static FETCHES_STARTED: Cell<u32> = const { Cell::new(0) };
}

/// How many fetches [`slow_fetch`] has started on this thread (each test has its own thread);
/// resets the count.
pub fn take_fetches_started() -> u32 {
    FETCHES_STARTED.with(|started| started.replace(0))
}

/// A fetch that takes `latency` and answers `body`; counts itself as started at its first poll.
pub async fn slow_fetch(latency: Duration, body: &'static str) -> &'static str {
    FETCHES_STARTED.with(|started| started.set(started.get() + 1));
    tokio::time::sleep(latency).await;
    body
}

// ANCHOR: progress
/// Waits for `fetch`, and every `every` meanwhile reports progress (here: counts a report).
/// Returns the fetch's output and the number of reports. The fetch runs once, from start to
/// end, however many reports interrupt the wait.
pub async fn fetch_with_progress<F: Future>(fetch: F, every: Duration) -> (F::Output, u32) {
    // Pinned once, outside the loop: each `select!` polls the *same* future through `&mut`,
    // and a lost race drops only the reference, never the fetch.
    let mut fetch = pin!(fetch);
    let mut ticker = interval_at(Instant::now() + every, every);
    let mut reports = 0;
    loop {
        tokio::select! {
            output = &mut fetch => return (output, reports),
            _ = ticker.tick() => reports += 1,
        }
    }
}
// ANCHOR_END: progress
