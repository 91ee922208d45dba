//! # Exercise 20: a trait with an async method, and a retry that takes an async closure
//!
//! Chapter 8.2, Async functions in traits, and async closures
//! (`book/src/async-traits.md`). About 25 minutes.
//!
//! A [`FeedSource`] fetches a feed's body by name. Two sources are declared here: [`Library`],
//! bodies held in memory, and [`Flaky`], a feed across a network that fails its first few
//! fetches. Code that fetches many feeds should not care which source it is given, and should
//! fetch them in parallel, each on a task of its own.
//!
//! **Goal:** implement the trait for both sources, fetch many feeds from any source with one
//! tokio task per feed ([`fetch_all`]), and retry an operation given as an async closure
//! ([`retry`]).
//!
//! **Contract**, checked by the tests:
//!
//! - [`FeedSource`] keeps its supertraits and its method's name, arguments and output, and an
//!   implementation may still write the method as `async fn fetch` (the tests implement it that
//!   way). How the trait declares the method is yours to change: [`fetch_all`] has needs that
//!   the declaration below does not meet, and the compiler will say which.
//! - `Library::fetch`: the body stored under `name`, or [`FetchError::NotFound`] with that
//!   name.
//! - `Flaky::fetch`: whatever the name, each fetch waits `latency` on tokio's timer; fetch
//!   number `n`, numbered from 1 in the order the fetches start (by every caller together),
//!   fails with `FetchError::Unavailable { attempt: n }` while `n <= failures`, and answers
//!   `body` after that. [`Flaky::fetches`] counts the fetches started so far.
//! - [`fetch_all`] spawns one tokio task per name, all of them in flight at the same time, and
//!   returns their results in the order of `names`, whatever order they finish in. The future
//!   it returns is `Send` (the tests spawn it), and a fetch that panics makes it panic.
//! - [`retry`] calls `attempt` until it returns `Ok`, at most `max_attempts` times and at least
//!   once, and returns the first `Ok` or else the last `Err`. The closure it is given may
//!   borrow, and change, what it captured, from one call to the next.
//!
//! Check your work with `cargo run -- learn check 20`. Stuck? `cargo run -- learn hint 20`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Why a fetch gave no body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The source has no feed of this name.
    NotFound(String),
    /// The source did not answer this fetch (its number, from 1).
    Unavailable {
        /// Which fetch of the source failed.
        attempt: u32,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotFound(name) => write!(f, "no feed named {name:?}"),
            FetchError::Unavailable { attempt } => write!(f, "fetch {attempt} failed"),
        }
    }
}

impl std::error::Error for FetchError {}

/// Somewhere to fetch feeds from.
pub trait FeedSource: Send + Sync + 'static {
    /// The body of the feed `name`, or why there is none.
    async fn fetch(&self, name: &str) -> Result<String, FetchError>;
}

/// Feeds held in memory: every fetch answers at once.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// Name to body.
    bodies: HashMap<String, String>,
}

impl Library {
    /// A library of `(name, body)` pairs.
    pub fn new<'a>(feeds: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let bodies = feeds
            .into_iter()
            .map(|(name, body)| (name.to_string(), body.to_string()))
            .collect();
        Library { bodies }
    }
}

impl FeedSource for Library {
    async fn fetch(&self, name: &str) -> Result<String, FetchError> {
        // TODO: the body stored under `name`, or `NotFound`.
        todo!("the body stored under `name`")
    }
}

/// One feed across a network, which fails its first `failures` fetches.
#[derive(Debug)]
pub struct Flaky {
    /// What it answers once it answers.
    body: String,
    /// How many fetches fail before the first answer.
    failures: u32,
    /// How long every fetch takes.
    latency: Duration,
    /// Fetches started so far, by every caller together.
    started: AtomicU32,
}

impl Flaky {
    /// A feed that answers `body`, after `latency`, from fetch number `failures + 1` on.
    pub fn new(body: &str, failures: u32, latency: Duration) -> Self {
        Flaky {
            body: body.to_string(),
            failures,
            latency,
            started: AtomicU32::new(0),
        }
    }

    /// How many fetches have started so far.
    pub fn fetches(&self) -> u32 {
        self.started.load(Ordering::SeqCst)
    }
}

impl FeedSource for Flaky {
    async fn fetch(&self, name: &str) -> Result<String, FetchError> {
        // TODO: number this fetch as it starts, wait `latency`, then fail or answer.
        todo!("wait, then fail or answer, according to this fetch's number")
    }
}

/// Fetches every feed in `names` from `source`, one tokio task per name, all at once; the
/// results come in the order of `names`.
pub async fn fetch_all<S: FeedSource>(
    source: Arc<S>,
    names: &[&str],
) -> Vec<Result<String, FetchError>> {
    // TODO: a task of its own for every name, then every result, in the order of `names`.
    todo!("one task per name, then every result, in order")
}

/// Calls `attempt` until it succeeds, at most `max_attempts` times (at least once); returns the
/// first success, or else the last error.
pub async fn retry<T, E>(
    max_attempts: u32,
    mut attempt: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, E> {
    // TODO: call `attempt` again while it fails and attempts remain.
    todo!("call `attempt` again while it fails and attempts remain")
}
