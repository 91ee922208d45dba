//! Solution of exercise 19: a fan-out that owns its tasks.
//!
//! The tasks go into a `JoinSet`, a local of [`fetch_all`]'s future. Every way out of that
//! future passes through the set's `Drop`, which aborts every task still in it: a return, an
//! early return on an error, a panic that unwinds through it, and the caller dropping the
//! future half-way. So no fetch outlives `fetch_all`, and no line of code has to remember it.

use std::fmt;
use std::future::Future;

use tokio::task::JoinSet;

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
/// in the order of `names`, or the first error; see the exercise's contract.
pub async fn fetch_all<F, Fut>(names: &[&str], fetch: F) -> Result<Vec<String>, FetchError>
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<String, FetchError>> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    for (index, name) in names.iter().enumerate() {
        let fetching = fetch(name.to_string());
        // Each task says which name it fetched: `join_next` yields results in the order the
        // tasks finish, not the order they were spawned.
        tasks.spawn(async move { (index, fetching.await) });
    }

    let mut bodies = vec![None; names.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, Ok(body))) => bodies[index] = Some(body),
            Ok((_, Err(error))) => {
                // Dropping `tasks` would abort the others too; `shutdown` also waits until
                // each is gone, so that none is still running when the error reaches the
                // caller.
                tasks.shutdown().await;
                return Err(error);
            }
            // No one else holds an `AbortHandle` to these tasks, so a task can only fail by
            // panicking. Raise its panic again here, with its own payload; unwinding drops
            // `tasks`, which aborts the others.
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    // The loop ends when the set is empty: every task answered.
    Ok(bodies.into_iter().flatten().collect())
}
