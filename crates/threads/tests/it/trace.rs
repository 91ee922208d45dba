//! What the trace proves about the threads style: every attempt ended, never more than
//! `concurrency` attempts at once, one lookup per station, and threads named after their job.

use std::collections::HashMap;

use rosetta_pipeline::Scenario;
use rosetta_pipeline::trace::{EventKind, Trace};

use crate::{builtin, run_threads};

/// Checks the invariants every run must show, whatever the scenario.
fn check_invariants(scenario: &Scenario, report_lookups: u64, trace: &Trace) {
    let events = trace.events();
    let summary = trace.summary();
    // Every AttemptStarted has exactly one matching AttemptFinished, after it.
    let mut open: HashMap<(usize, u32), usize> = HashMap::new();
    for event in &events {
        match event.kind {
            EventKind::AttemptStarted { source, attempt } => {
                assert!(
                    open.insert((source, attempt), 1).is_none(),
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
    let mut looked_up = std::collections::HashSet::new();
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
    let (report, trace) = run_threads(&scenario, 0.25);
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
        let (report, trace) = run_threads(&scenario, 0.2);
        check_invariants(&scenario, report.lookups, &trace);
    }
}

#[test]
fn threads_are_named_after_their_job() {
    let scenario = builtin("classroom");
    let (_, trace) = run_threads(&scenario, 0.25);
    let names: Vec<String> = trace.thread_names().into_values().collect();
    let has = |prefix: &str| names.iter().any(|name| name.starts_with(prefix));
    assert!(has("fetch-"), "{names:?}");
    assert!(has("enrich-"), "{names:?}");
    assert!(has("lookup-"), "{names:?}");
    // Attempts run on fetch threads only, and never on more of them than there are slots.
    let fetch_threads: std::collections::HashSet<u64> = trace
        .events()
        .iter()
        .filter(|event| matches!(event.kind, EventKind::AttemptStarted { .. }))
        .map(|event| event.thread)
        .collect();
    let thread_names = trace.thread_names();
    assert!(fetch_threads.len() <= scenario.settings.concurrency);
    assert!(
        fetch_threads
            .iter()
            .all(|t| thread_names[t].starts_with("fetch-"))
    );
}
