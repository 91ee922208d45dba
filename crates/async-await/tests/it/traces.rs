//! What each runtime's trace must show. Figures only, never wall-clock times: the tests share a
//! two-core machine with everything else.

use std::collections::HashSet;

use rosetta_pipeline::trace::{Event, EventKind, TraceSummary};
use rosetta_pipeline::{Report, Scenario};

use crate::{STYLES, run_style, smol_style};

/// Checks the invariants every run's trace must satisfy.
fn assert_trace_invariants(name: &str, scenario: &Scenario, report: &Report, events: &[Event]) {
    let summary = TraceSummary::of(events);
    let (mut started, mut finished) = (HashSet::new(), HashSet::new());
    let mut looked_up = Vec::new();
    let mut handed_off = 0;
    for event in events {
        match &event.kind {
            EventKind::AttemptStarted { source, attempt } => {
                assert!(started.insert((*source, *attempt)), "{name}: started twice")
            }
            EventKind::AttemptFinished {
                source, attempt, ..
            } => {
                assert!(
                    started.contains(&(*source, *attempt)),
                    "{name}: finished before it started"
                );
                assert!(
                    finished.insert((*source, *attempt)),
                    "{name}: finished twice"
                );
            }
            EventKind::LookupStarted { station } => looked_up.push(station.clone()),
            EventKind::HandedOff { worker } => {
                assert!(
                    *worker < scenario.settings.workers,
                    "{name}: no such worker"
                );
                handed_off += 1;
            }
            _ => {}
        }
    }
    assert_eq!(started, finished, "{name}: every attempt finished");
    assert_eq!(started.len() as u64, report.attempts, "{name}: attempts");
    assert!(
        summary.peak_attempts <= scenario.settings.concurrency,
        "{name}: {} attempts in flight, concurrency is {}",
        summary.peak_attempts,
        scenario.settings.concurrency
    );
    assert_eq!(looked_up.len() as u64, report.lookups, "{name}: lookups");
    let distinct: HashSet<_> = looked_up.iter().collect();
    assert_eq!(
        distinct.len(),
        looked_up.len(),
        "{name}: a station looked up twice"
    );
    assert_eq!(handed_off, report.accepted, "{name}: hand-offs");
}

#[test]
fn traces_keep_the_invariants() {
    let scenarios = [
        (Scenario::builtin("classroom").unwrap(), 0.25),
        (Scenario::generate(150, 9), 0.2),
    ];
    for (scenario, time_scale) in &scenarios {
        for (name, style) in STYLES {
            let (report, trace) = run_style(style, scenario, *time_scale);
            assert_trace_invariants(name, scenario, &report, &trace.events());
        }
    }
}

#[test]
fn slots_fill_up_when_there_are_enough_sources() {
    // `classroom` has 12 sources for 4 slots: at some point all 4 are busy. (A style that
    // fetched one source at a time would pass every other trace test.)
    let classroom = Scenario::builtin("classroom").unwrap();
    for (name, style) in STYLES {
        let (_, trace) = run_style(style, &classroom, 0.25);
        assert_eq!(trace.summary().peak_attempts, 4, "{name}");
    }
}

#[test]
fn every_runtime_runs_tasks_on_several_threads() {
    // 200 sources, 100 in flight: plenty of tasks for every thread of every runtime. Each runs
    // one executor thread per core (smol: at least two), so on a single-core machine tokio and
    // async-std have one thread, and there is nothing to check for them.
    let scenario = Scenario::generate(200, 11);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (name, style) in STYLES {
        let (_, trace) = run_style(style, &scenario, 0.2);
        let threads = trace.summary().threads;
        if cores > 1 || name == smol_style::NAME {
            assert!(threads > 1, "{name} recorded events on {threads} thread(s)");
        }
    }
}
