//! Integration tests of the callbacks style: the report equals the reference's, the trace shows
//! the style kept its promises (bounded attempts, single-flight lookups, one thread). That the
//! crate's code uses no futures is checked with the other tidy rules, in `crates/xtask`.
//!
//! Time scales keep at least ~20 ms between every latency and its timeout in real time, so that
//! a busy CI machine cannot flip an outcome; no test asserts a wall-clock time.

mod report;
mod trace;

use rosetta_pipeline::{Report, RunOptions, Scenario, Trace, reference};

/// The reference's report, computed without sleeping (the reference decides attempts from the
/// specification, so the time scale cannot change its report).
fn expected(scenario: &Scenario) -> Report {
    reference::run(scenario, &RunOptions::with_time_scale(0.0), &Trace::new())
        .expect("the reference run does not fail")
}

/// Runs the callbacks style at `time_scale` and returns its report and trace.
fn run_callbacks(scenario: &Scenario, time_scale: f64) -> (Report, Trace) {
    let trace = Trace::new();
    let report = rosetta_callbacks::run(scenario, &RunOptions::with_time_scale(time_scale), &trace)
        .expect("the callbacks style runs");
    (report, trace)
}

fn builtin(name: &str) -> Scenario {
    Scenario::builtin(name).expect("a built-in scenario")
}
