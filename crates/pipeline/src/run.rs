//! What every style's entry point takes and returns.
//!
//! Every style exposes one function of the same shape:
//!
//! ```text
//! pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError>
//! ```
//!
//! and fills in the same small summaries ([`FetchSummary`] per source), so that the report is
//! assembled by one function, [`crate::Report::assemble`], whatever the style.

use std::time::Duration;

use serde::Serialize;

use crate::{Report, Scenario, Trace};

/// The entry point every style implements: `run(scenario, options, trace)`.
pub type StyleFn = fn(&Scenario, &RunOptions, &Trace) -> Result<Report, RunError>;

/// The largest time scale: a thousand times slower than the scenario says. Far more than a
/// classroom needs, and small enough that the longest wait a scenario may hold (an hour) scaled
/// by it still fits a [`Duration`] many times over.
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// A time scale that is not a number from 0 to [`MAX_TIME_SCALE`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the time scale must be a number from 0 to {MAX_TIME_SCALE}, not {0}")]
pub struct TimeScaleError(pub f64);

/// Options that change how a run waits, never what it reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOptions {
    /// Multiplies every latency, timeout and lookup time. `1.0` is real time; tests use a smaller
    /// scale to run faster, the classroom mode a larger one to be watchable. The report cannot
    /// change with the scale (scenario validation keeps latencies far from timeouts, and
    /// [`Scenario::check_time_scale`] keeps them far enough apart in real time); the trace does.
    /// `0.0` is logical time: nothing waits (the tests' reference runs).
    pub time_scale: f64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { time_scale: 1.0 }
    }
}

impl RunOptions {
    /// Options with the given time scale.
    pub fn with_time_scale(time_scale: f64) -> Self {
        RunOptions { time_scale }
    }

    /// Options with the given time scale, if it is a number from 0 to [`MAX_TIME_SCALE`].
    pub fn checked(time_scale: f64) -> Result<Self, TimeScaleError> {
        if (0.0..=MAX_TIME_SCALE).contains(&time_scale) {
            Ok(RunOptions { time_scale })
        } else {
            // NaN, infinities and negative numbers all land here: `contains` is false for NaN.
            Err(TimeScaleError(time_scale))
        }
    }

    /// A scenario duration in milliseconds, scaled into the real time to wait.
    ///
    /// Saturates rather than panics: `Duration::from_secs_f64` panics on a value too large
    /// for a `Duration` (a time scale of `1e308`), and a model figure scaled for display can be
    /// large; a wait that long is "forever" either way.
    pub fn scaled(&self, ms: u64) -> Duration {
        Duration::try_from_secs_f64(ms as f64 / 1000.0 * self.time_scale.max(0.0))
            .unwrap_or(Duration::MAX)
    }
}

/// How one fetch attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

/// A run that could not produce a report at all. (A failed source or a malformed line is not an
/// error of the run: the report lists them.)
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A thread or task of the style panicked.
    #[error("a {what} of the {style} style panicked: {message}")]
    Panicked {
        /// The style's name.
        style: &'static str,
        /// What panicked (`worker`, `fetch thread`, ...).
        what: &'static str,
        /// The panic message, if it was a string.
        message: String,
    },
    /// The style's machinery broke an invariant (a channel closed early, a task lost).
    #[error("the {style} style failed: {message}")]
    Internal {
        /// The style's name.
        style: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl RunError {
    /// Turns a panic payload (from `JoinHandle::join` and friends) into a [`RunError`].
    pub fn from_panic(
        style: &'static str,
        what: &'static str,
        payload: Box<dyn std::any::Any + Send>,
    ) -> Self {
        let message = if let Some(text) = payload.downcast_ref::<&str>() {
            (*text).to_string()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            "(not a string)".to_string()
        };
        RunError::Panicked {
            style,
            what,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_scale_out_of_range_is_refused() {
        for scale in [-1.0, f64::NAN, f64::INFINITY, 1000.5, 1e308] {
            let err = RunOptions::checked(scale).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("the time scale must be a number from 0 to 1000")
            );
        }
        for scale in [0.0, 0.05, 1.0, MAX_TIME_SCALE] {
            RunOptions::checked(scale).unwrap();
        }
    }

    #[test]
    fn scaling_saturates_instead_of_panicking() {
        let huge = RunOptions::with_time_scale(1e308);
        assert_eq!(huge.scaled(u64::MAX), Duration::MAX);
        assert_eq!(
            RunOptions::with_time_scale(f64::NAN).scaled(10),
            Duration::ZERO
        );
    }
}
