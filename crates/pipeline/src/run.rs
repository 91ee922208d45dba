//! What every style's entry point takes and returns.
//!
//! Every style exposes one function of the same shape, [`StyleFn`]:
//!
//! ```text
//! pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError>
//! ```
//!
//! and fills in the same small summaries ([`FetchSummary`] per source), so that
//! the report is assembled by one function, [`crate::Report::assemble`],
//! whatever the style.
//!
//! This module sits at the top of the crate (only [`crate::reference`] is above
//! it): it names the scenario, the report and the trace, so nothing below may
//! import it. The options and the fetch outcomes it re-exports live below, in
//! [`crate::options`] and [`crate::outcome`], which is what keeps the crate's
//! imports a straight line.

pub use crate::options::{MAX_TIME_SCALE, RunOptions, TimeScaleError};
pub use crate::outcome::{AttemptOutcome, FailReason, FetchSummary};
use crate::report::Report;
use crate::scenario::Scenario;
use crate::trace::Trace;

/// The entry point every style implements: `run(scenario, options, trace)`.
pub type StyleFn =
    fn(&Scenario, &RunOptions, &Trace) -> Result<Report, RunError>;

/// A run that could not produce a report at all. (A failed source or a
/// malformed line is not an error of the run: the report lists them.)
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
    /// The style is a program of its own that needs an interpreter this machine
    /// lacks (the JavaScript styles need Node.js, the Python one Python 3.11).
    /// Not a failure of the style: the comparison shows it as "not installed",
    /// with the command that installs it.
    #[error("{style} needs {needs}: {install}")]
    NotInstalled {
        /// The style's name.
        style: &'static str,
        /// What is missing, and what was found instead, if anything.
        needs: String,
        /// The one command that installs it, or where to get it.
        install: String,
    },
    /// The style's machinery broke an invariant (a channel closed early, a task
    /// lost).
    #[error("the {style} style failed: {message}")]
    Internal {
        /// The style's name.
        style: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl RunError {
    /// Turns a panic payload (from `JoinHandle::join` and friends) into a
    /// [`RunError`].
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
