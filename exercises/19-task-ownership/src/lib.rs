//! # Exercise 19: a fan-out that owns its tasks
//!
//! Chapter 8.1, Who owns a task (`book/src/tasks.md`). About 20 minutes.
//!
//! [`fetch_all`] fetches several feeds at once, each in a task of its own (so that a
//! multi-threaded runtime can run them in parallel), and returns their bodies. The future it
//! returns is the only thing its caller holds: so it must own the tasks it starts. However it
//! ends (with the bodies, with an error, or dropped half-way by a caller that gave up), it
//! leaves no fetch running behind it.
//!
//! **Goal:** write [`fetch_all`], on tokio.
//!
//! **Contract**, checked by the tests (on tokio's paused clock):
//!
//! - `fetch(name)` makes the future that fetches `name`; each of those futures runs in a task
//!   of its own: the fetches go on while the caller does something else and does not poll the
//!   future `fetch_all` returned;
//! - the bodies come back in the order of `names`, whatever order the fetches finish in;
//! - the first fetch to fail *in time* (not the first in `names`) decides: `fetch_all` returns
//!   its error at once, and every other fetch is cancelled (none runs to its end);
//! - a fetch that panics makes `fetch_all` panic with the same payload, and the other fetches
//!   are cancelled;
//! - when the caller drops the future before it is done (a timeout, a lost `select!`), every
//!   fetch it started is cancelled.
//!
//! Check your work with `cargo run -- learn check 19`. Stuck? `cargo run -- learn hint 19`.

use std::fmt;
use std::future::Future;

/// A fetch that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The feed that failed.
    pub name: String,
    /// What went wrong.
    pub reason: String,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fetching {} failed: {}", self.name, self.reason)
    }
}

impl std::error::Error for FetchError {}

/// Fetches every feed of `names` at once, each in a task of its own, and returns their bodies
/// in the order of `names`, or the first error; see the contract above.
pub async fn fetch_all<F, Fut>(names: &[&str], fetch: F) -> Result<Vec<String>, FetchError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<String, FetchError>> + Send + 'static,
{
    // TODO: start every fetch, collect the bodies, and make sure that no fetch outlives this
    // function, however it ends.
    todo!("a fan-out that owns its tasks")
}
