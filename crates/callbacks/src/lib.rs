//! The pipeline in the callbacks style (not written yet).

use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

/// The style's name, as the command line, the snapshots and the book write it.
pub const NAME: &str = "callbacks";

/// Runs the pipeline in this style.
pub fn run(_scenario: &Scenario, _opts: &RunOptions, _trace: &Trace) -> Result<Report, RunError> {
    Err(RunError::Internal {
        style: NAME,
        message: "not written yet".into(),
    })
}
