//! # Exercise 31: cancellation safety
//!
//! Chapter 13, Pitfalls (`book/src/pitfalls.md`). About 20 minutes.
//!
//! `tokio::select!` polls several futures and runs the branch of the first one to finish; the
//! others are **dropped**, wherever they stood. Dropping a future is how Rust cancels it, and it
//! is safe for a future that has done nothing irreversible yet. A future is *cancellation-safe*
//! if dropping it at any `.await` loses nothing. `mpsc::Receiver::recv()` is: until it returns a
//! message, it has taken none. A future that has taken a message and is still working on it is
//! not: drop it and the message is gone.
//!
//! 1. [`drain`] has that bug. It races `receive_and_handle` (take a message, then spend
//!    `handling` on it) against a ticker. Whenever the tick comes while a message is being
//!    handled, the message is lost. Run the tests: with ticks more frequent than the handling,
//!    every message is. Fix it, so that every message is handled exactly once, however often
//!    the ticks come, and the ticks are still counted.
//! 2. Write [`fetch_with_progress`]: wait for `fetch`, counting a progress report every `every`
//!    meanwhile. The fetch must run once, from start to end, whatever the ticks do. (Racing
//!    `fetch` itself in a loop moves it into the first `select!`: the compiler refuses.)
//!
//! Check your work with `cargo run -- learn check 31`. Stuck? `cargo run -- learn hint 31`.

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

/// Handles every message from `inbox` (handling one takes `handling`), and every `tick` does
/// some housekeeping (here: counts it). Returns once the inbox is closed and empty.
pub async fn drain(mut inbox: Receiver<u32>, handling: Duration, tick: Duration) -> Drained {
    let mut drained = Drained::default();
    let mut ticker = interval(tick);
    loop {
        // TODO: this loses messages: a tick that wins the race while a message is being handled
        // drops it. Every message must be handled exactly once, whenever the ticks come.
        tokio::select! {
            handled = receive_and_handle(&mut inbox, handling) => match handled {
                Some(message) => drained.handled.push(message),
                None => return drained, // Closed and empty.
            },
            _ = ticker.tick() => drained.ticks += 1,
        }
    }
}

/// Takes the next message from `inbox` and handles it (which takes `handling`); `None` once the
/// inbox is closed and empty.
async fn receive_and_handle(inbox: &mut Receiver<u32>, handling: Duration) -> Option<u32> {
    let message = inbox.recv().await?;
    tokio::time::sleep(handling).await; // If the tick wins now, `message` is dropped with us.
    Some(message)
}

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

/// Waits for `fetch`, and every `every` meanwhile reports progress (here: counts a report).
/// Returns the fetch's output and the number of reports. The fetch runs once, from start to
/// end, however many reports interrupt the wait.
pub async fn fetch_with_progress<F: Future>(fetch: F, every: Duration) -> (F::Output, u32) {
    // TODO: the fetch's output, and how many reports came while it ran: one every `every`,
    // the first after `every` (not at once); the fetch runs once, to its end.
    todo!("race the same fetch against a ticker, again and again")
}
