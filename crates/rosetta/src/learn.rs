//! `rosetta learn`: the exercise runner (list, check, hint, watch, reset).
//!
//! Not written yet: the exercises land with their own issue.

use std::process::ExitCode;

/// The arguments of `rosetta learn`.
#[derive(Debug, clap::Args)]
pub struct LearnArgs {}

/// Runs `rosetta learn`.
pub fn run(_args: &LearnArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the exercises are not written yet")
}
