//! Integration tests of the threads style: the report equals the reference's, and the trace
//! shows the style kept its promises (bounded attempts, single-flight lookups, named threads).
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

/// Runs the threads style at `time_scale` and returns its report and trace.
fn run_threads(scenario: &Scenario, time_scale: f64) -> (Report, Trace) {
    let trace = Trace::new();
    let report = rosetta_threads::run(scenario, &RunOptions::with_time_scale(time_scale), &trace)
        .expect("the threads style runs");
    (report, trace)
}

fn builtin(name: &str) -> Scenario {
    Scenario::builtin(name).expect("a built-in scenario")
}
