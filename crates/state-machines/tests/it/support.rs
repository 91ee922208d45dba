//! Helpers shared by the tests: run a style against the reference, check trace invariants.

use std::collections::{BTreeSet, HashMap};

use rosetta_pipeline::trace::{EventKind, Trace};
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, reference};

/// The entry point every style exposes.
pub type Run = fn(&Scenario, &RunOptions, &Trace) -> Result<Report, RunError>;

/// Runs `run` at `time_scale` and asserts that its report equals the reference's. Returns the
/// report and the trace for further checks.
pub fn check_against_reference(run: Run, scenario: &Scenario, time_scale: f64) -> (Report, Trace) {
    let expected = reference::run(scenario, &RunOptions::with_time_scale(0.0), &Trace::new())
        .expect("the reference run cannot fail");
    let trace = Trace::new();
    let report = run(scenario, &RunOptions::with_time_scale(time_scale), &trace)
        .unwrap_or_else(|err| panic!("{}: {err}", scenario.name));
    assert_eq!(
        report.to_string(),
        expected.to_string(),
        "{}: the report differs from the reference",
        scenario.name
    );
    assert_eq!(report, expected, "{}", scenario.name);
    (report, trace)
}

/// Checks what the trace of a run must show, whatever the timing.
pub fn check_trace(scenario: &Scenario, report: &Report, trace: &Trace) {
    let name = &scenario.name;
    let events = trace.events();
    let summary = trace.summary();

    // Every attempt that started also finished (none was abandoned without a record), and
    // never more than `concurrency` were in flight.
    let mut open: HashMap<(usize, u32), usize> = HashMap::new();
    for event in &events {
        match event.kind {
            EventKind::AttemptStarted { source, attempt } => {
                *open.entry((source, attempt)).or_default() += 1;
            }
            EventKind::AttemptFinished {
                source, attempt, ..
            } => {
                let count = open.get_mut(&(source, attempt));
                let count = count.unwrap_or_else(|| panic!("{name}: finished before started"));
                *count -= 1;
            }
            _ => {}
        }
    }
    assert!(
        open.values().all(|count| *count == 0),
        "{name}: some attempts never finished"
    );
    assert_eq!(summary.attempts as u64, report.attempts, "{name}");
    assert!(
        summary.peak_attempts <= scenario.settings.concurrency,
        "{name}: {} attempts in flight, concurrency is {}",
        summary.peak_attempts,
        scenario.settings.concurrency
    );

    // Single flight: one `LookupStarted` per lookup the report counts, each for another station,
    // and each finished.
    let started: Vec<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::LookupStarted { station } => Some(station.as_str()),
            _ => None,
        })
        .collect();
    let distinct: BTreeSet<&str> = started.iter().copied().collect();
    assert_eq!(started.len() as u64, report.lookups, "{name}");
    assert_eq!(
        distinct.len(),
        started.len(),
        "{name}: a station was looked up twice"
    );
    let finished = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::LookupFinished { .. }))
        .count();
    assert_eq!(
        finished,
        started.len(),
        "{name}: some lookups never finished"
    );

    // One hand-off per accepted record.
    let handed_off = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::HandedOff { .. }))
        .count();
    assert_eq!(handed_off as u64, report.accepted, "{name}");
}
