//! What fetching a source came to: how each attempt ended, and the summary a
//! style hands to the report.
//!
//! Every style fills in one [`FetchSummary`] per source, so that the report is
//! assembled by one function whatever the style. This module imports nothing
//! from the crate: the trace, the model and the report all build on it.

use serde::{Deserialize, Serialize};

/// How one fetch attempt ended. Read back from a trace line of a program in
/// another language (`"answered"`, `"error"`, `"timeout"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    /// The feed answered with its body before the timeout.
    Answered,
    /// The feed answered with an error before the timeout.
    Error,
    /// The timeout came first; the attempt was abandoned.
    Timeout,
}

/// Why a source failed: the outcome of its last attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailReason {
    /// The last attempt timed out.
    Timeout,
    /// The last attempt answered with an error.
    Error,
}

impl FailReason {
    /// The reason as the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::Timeout => "timeout",
            FailReason::Error => "error",
        }
    }
}

/// What fetching one source came to: how many attempts, and whether it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSummary {
    /// Attempts made, from 1 to `retries + 1`.
    pub attempts: u32,
    /// `None` if the last attempt answered with the body.
    pub failure: Option<FailReason>,
}

impl FetchSummary {
    /// The summary after `attempts` attempts whose last one ended with `last`.
    pub fn after(attempts: u32, last: AttemptOutcome) -> Self {
        let failure = match last {
            AttemptOutcome::Answered => None,
            AttemptOutcome::Error => Some(FailReason::Error),
            AttemptOutcome::Timeout => Some(FailReason::Timeout),
        };
        FetchSummary { attempts, failure }
    }
}
