//! # Exercise 19: port a tokio program to smol
//!
//! Chapter 8, Runtimes (`book/src/runtimes.md`). About 20 minutes.
//!
//! [`tokio_version::fetch_all`] (in `src/tokio_version.rs`) fetches feeds in tasks, each with a
//! timeout, and collects the outcomes over a channel. It works, on tokio. Port it, here, to a
//! [`fetch_all`] generic over the project's `Runtime` trait
//! (`crates/async-await/src/runtime.rs`), so that it runs on smol, on tokio and on async-std
//! alike. The tests run it on all three and compare with the original.
//!
//! Replace each tokio API with a neutral one:
//!
//! | tokio                              | portable                                             |
//! |------------------------------------|------------------------------------------------------|
//! | `tokio::spawn(future)`             | `runtime.spawn(future)` (the handle gives `Result`)  |
//! | `tokio::time::sleep(d)`            | `runtime.sleep(d)`                                   |
//! | `tokio::time::timeout(d, f)`       | `with_timeout(runtime, d, f)` (gives an `Option`)    |
//! | `tokio::sync::mpsc::channel(n)`    | `async_channel::bounded(n)` (`recv` gives `Result`)  |
//!
//! Then look for what behaves differently, which no compiler will point out: the original
//! drops each task's handle. On tokio (and async-std) that *detaches* the task; on smol it
//! *cancels* it. A line-by-line port runs on tokio and loses every outcome on smol.
//!
//! A task must own what it uses (`'static`): give it a clone of the runtime handle (`R:
//! Clone`), a copy of the feed, and a clone of the sender. No `tokio::` in this file (a test
//! checks); `src/tokio_version.rs` keeps it.
//!
//! Check your work with `cargo run -- learn check 19`. Stuck? `cargo run -- learn hint 19`.

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

/// Fetches every feed at once, each limited to `limit`; returns the outcomes in the order of
/// `feeds`. Runs on any runtime.
pub async fn fetch_all<R: Runtime>(runtime: &R, feeds: &[Feed], limit: Duration) -> Vec<Outcome> {
    // TODO: the body of `tokio_version::fetch_all`, with the replacements in the table above.
    // Keep every task's handle in a `Vec`, and await them all (after dropping your own sender)
    // before you read the outcomes. The "network" (`call` in the original) needs the runtime
    // for its sleep: write it as `async fn call<R: Runtime>(runtime: &R, feed: Feed)`.
    todo!("the tokio program, through the Runtime trait")
}
