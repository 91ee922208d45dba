//! Integration tests of the async/await styles: one binary, one module per concern.
//!
//! - `conformance`: each runtime's report equals the sequential reference's, on the built-in
//!   scenarios and on generated ones;
//! - `traces`: what each runtime's trace must show (slots respected, every attempt finished,
//!   one lookup per station, several threads);
//! - `runtimes`: the adapters side by side: what they share, and where they differ.

mod conformance;
mod runtimes;
mod traces;

use rosetta_async_await::{async_std_style, smol_style, tokio_style};
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

/// A style's entry point.
type RunFn = fn(&Scenario, &RunOptions, &Trace) -> Result<Report, RunError>;

/// The three styles of this crate, by name, as the lead's style registry lists them.
const STYLES: [(&str, RunFn); 3] = [
    (tokio_style::NAME, tokio_style::run),
    (async_std_style::NAME, async_std_style::run),
    (smol_style::NAME, smol_style::run),
];

/// The reference report of `scenario`, computed without sleeping.
fn expected(scenario: &Scenario) -> Report {
    let instant = RunOptions::with_time_scale(0.0);
    rosetta_pipeline::reference::run(scenario, &instant, &Trace::new()).expect("the reference run")
}

/// Runs `style` on `scenario` at `time_scale`, and returns its report and trace.
fn run_style(style: RunFn, scenario: &Scenario, time_scale: f64) -> (Report, Trace) {
    let trace = Trace::new();
    let report = style(scenario, &RunOptions::with_time_scale(time_scale), &trace)
        .unwrap_or_else(|error| panic!("the run failed: {error}"));
    (report, trace)
}
