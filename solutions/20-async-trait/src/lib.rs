//! Solution of exercise 20: a trait whose async method returns `impl Future + Send`, so that
//! generic code can spawn its futures, and a retry that takes an async closure.
//!
//! The exercise (`exercises/20-async-trait/src/lib.rs`) states the task; chapter 8.2 of the book
//! (`book/src/async-traits.md`) explains why a bare `async fn` in the trait is not enough, and
//! what `AsyncFnMut` allows that `FnMut() -> Fut` does not.

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
///
/// The method is written out, not as `async fn`, to promise every caller that its future is
/// `Send`: [`fetch_all`] spawns it on tokio, which may move it to another thread. A bare
/// `async fn` promises nothing about `Send`, and a generic caller could not spawn it.
/// Implementations may still write `async fn fetch`; the compiler checks that theirs is `Send`.
pub trait FeedSource: Send + Sync + 'static {
    /// The body of the feed `name`, or why there is none.
    fn fetch(&self, name: &str) -> impl Future<Output = Result<String, FetchError>> + Send;
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
        self.bodies
            .get(name)
            .cloned()
            .ok_or_else(|| FetchError::NotFound(name.to_string()))
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
    async fn fetch(&self, _name: &str) -> Result<String, FetchError> {
        // The number is taken when the fetch starts, before the wait: fetches in flight at the
        // same time get different numbers, in the order they started.
        let attempt = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.latency).await;
        if attempt <= self.failures {
            Err(FetchError::Unavailable { attempt })
        } else {
            Ok(self.body.clone())
        }
    }
}

/// Fetches every feed in `names` from `source`, one tokio task per name, all at once; the
/// results come in the order of `names`.
pub async fn fetch_all<S: FeedSource>(
    source: Arc<S>,
    names: &[&str],
) -> Vec<Result<String, FetchError>> {
    // Every task is spawned before any is awaited, so all the fetches are in flight at once.
    // Each task owns what it uses: a clone of the `Arc` and its own copy of the name.
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let source = Arc::clone(&source);
            let name = name.to_string();
            tokio::spawn(async move { source.fetch(&name).await })
        })
        .collect();
    // Awaiting the handles in the order of `names` puts the results in that order, whatever
    // order the tasks finish in.
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(result) => results.push(result),
            // A fetch panicked: tokio caught the panic; raise it again here. (No task is ever
            // cancelled: `fetch_all` keeps every handle and awaits it.)
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    results
}

/// Calls `attempt` until it succeeds, at most `max_attempts` times (at least once); returns the
/// first success, or else the last error.
pub async fn retry<T, E>(
    max_attempts: u32,
    mut attempt: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut calls = 1;
    loop {
        // Each call's future may borrow the closure's captures (and change them: `AsyncFnMut`),
        // which is why the future is awaited before the next call.
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if calls >= max_attempts => return Err(error),
            Err(_) => calls += 1,
        }
    }
}
