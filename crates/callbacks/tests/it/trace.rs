//! What the trace proves about the callbacks style: every attempt ended, never more than
//! `concurrency` attempts at once, one lookup per station, and everything on one thread.

use std::collections::{HashMap, HashSet};

use rosetta_pipeline::Scenario;
use rosetta_pipeline::trace::{EventKind, Trace};

use crate::{builtin, run_callbacks};

/// Checks the invariants every run must show, whatever the scenario.
fn check_invariants(scenario: &Scenario, report_lookups: u64, trace: &Trace) {
    let events = trace.events();
    let summary = trace.summary();
    // Every AttemptStarted has exactly one matching AttemptFinished, after it.
    let mut open: HashMap<(usize, u32), ()> = HashMap::new();
    for event in &events {
        match event.kind {
            EventKind::AttemptStarted { source, attempt } => {
                assert!(
                    open.insert((source, attempt), ()).is_none(),
                    "attempt started twice"
                );
            }
            EventKind::AttemptFinished {
                source, attempt, ..
            } => {
                assert!(
                    open.remove(&(source, attempt)).is_some(),
                    "attempt {attempt} of source {source} finished without starting"
                );
            }
            _ => {}
        }
    }
    assert!(open.is_empty(), "attempts never finished: {open:?}");
    assert!(summary.peak_attempts <= scenario.settings.concurrency);
    assert_eq!(summary.lookups as u64, report_lookups);
    // Each station is looked up at most once: single-flight.
    let mut looked_up = HashSet::new();
    for event in &events {
        if let EventKind::LookupStarted { station } = &event.kind {
            assert!(
                looked_up.insert(station.clone()),
                "{station} looked up twice"
            );
        }
    }
}

#[test]
fn classroom_trace_keeps_the_promises() {
    let scenario = builtin("classroom");
    let (report, trace) = run_callbacks(&scenario, 0.25);
    check_invariants(&scenario, report.lookups, &trace);
    // With four slots and twelve sources, all four slots were used at once.
    assert_eq!(trace.summary().peak_attempts, scenario.settings.concurrency);
}

#[test]
fn generated_traces_keep_the_promises() {
    for (sources, seed) in [(40, 11), (60, 12)] {
        let mut scenario = Scenario::generate(sources, seed);
        // Fewer slots than sources, so that slots are reused.
        scenario.settings.concurrency = 7;
        let (report, trace) = run_callbacks(&scenario, 0.2);
        check_invariants(&scenario, report.lookups, &trace);
    }
}

#[test]
fn the_whole_run_uses_one_thread() {
    let scenario = builtin("classroom");
    let trace = Trace::new();
    // Record the run's start and end here, as the harness does, so that the test's own thread
    // counts too: every event must come from it.
    trace.record(EventKind::RunStarted);
    let opts = rosetta_pipeline::RunOptions::with_time_scale(0.25);
    rosetta_callbacks::run(&scenario, &opts, &trace).unwrap();
    trace.record(EventKind::RunFinished);
    assert!(trace.events().len() > 2);
    assert_eq!(trace.summary().threads, 1);
}
