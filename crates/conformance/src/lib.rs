//! What it means for a style to conform, written once for every test that checks one.
//!
//! Every style's own tests, and the `rosetta` conformance suite that runs all styles together,
//! ask the same questions of a run: is the report the reference's, byte for byte? Does the
//! trace show what the specification promises, whatever the timing (every attempt ended, never
//! more than `concurrency` attempts in flight, one lookup per station, one hand-off per accepted
//! record)? This crate holds those questions, so that there is one answer to each.
//!
//! - [`expected_report`]: the reference's report, computed without waiting.
//! - [`check_against_reference`]: runs a style and asserts its report equals the reference's,
//!   showing a [`diff`] when it does not.
//! - [`check_trace`]: the trace invariants.
//! - [`check_style`]: the standard battery a style crate runs on itself: the built-in scenarios,
//!   generated ones, the smallest settings, and an empty scenario.
//!
//! Timing: the time scales here keep every answer at least ~20 ms of real time away from its
//! timeout ([`time_scale_for`]), so that a busy two-core CI machine cannot change an outcome. No
//! check here looks at a wall-clock time.

use std::collections::{BTreeSet, HashMap};

use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::{Report, RunOptions, Scenario, Trace, reference};
use similar::TextDiff;

pub use rosetta_pipeline::run::StyleFn;

/// The reference's report of `scenario`, computed at time scale 0: the reference decides every
/// attempt from the specification, so its report cannot depend on time, and it need not wait.
pub fn expected_report(scenario: &Scenario) -> Report {
    reference::run(scenario, &RunOptions::with_time_scale(0.0), &Trace::new())
        .expect("the reference run cannot fail")
}

/// The time scale at which the tests run a built-in scenario.
///
/// Panics for a built-in scenario that has none, so that adding a scenario without choosing its
/// scale fails a test rather than running it at a scale that could be flaky.
pub fn time_scale_for(builtin: &str) -> f64 {
    match builtin {
        "classroom" => 0.25, // timeout 100 ms; answers at most 45 ms or at least 225 ms
        "faults" => 0.5,     // timeout 50 ms; answers at most 20 ms or at least 125 ms
        other => panic!("no test time scale chosen for the built-in scenario `{other}`"),
    }
}

/// A unified diff from `expected` (the reference's report) to `actual` (`style`'s report).
pub fn diff(expected: &str, actual: &str, style: &str) -> String {
    TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(2)
        .header("reference", style)
        .to_string()
}

/// Runs `style` on `scenario` at `time_scale` with a fresh trace; panics if the run fails.
pub fn run(name: &str, style: StyleFn, scenario: &Scenario, time_scale: f64) -> (Report, Trace) {
    let trace = Trace::new();
    let report = style(scenario, &RunOptions::with_time_scale(time_scale), &trace)
        .unwrap_or_else(|error| panic!("{name} failed on `{}`: {error}", scenario.name));
    (report, trace)
}

/// Runs `style` and asserts that its report equals the reference's, byte for byte; on a
/// difference, the panic message is the diff. Returns the report and the trace.
pub fn check_against_reference(
    name: &str,
    style: StyleFn,
    scenario: &Scenario,
    time_scale: f64,
) -> (Report, Trace) {
    let expected = expected_report(scenario).to_string();
    let (report, trace) = run(name, style, scenario, time_scale);
    let actual = report.to_string();
    assert!(
        actual == expected,
        "{name} disagrees with the reference on `{}`:\n{}",
        scenario.name,
        diff(&expected, &actual, name)
    );
    (report, trace)
}

/// Asserts what the trace of any run must show, whatever its timing.
pub fn check_trace(name: &str, scenario: &Scenario, report: &Report, trace: &Trace) {
    let events = trace.events();
    let summary = trace.summary();
    let at = format!("{name} on `{}`", scenario.name);

    // Every attempt started once and finished once, after it started.
    let mut open: HashMap<(usize, u32), bool> = HashMap::new();
    for event in &events {
        match event.kind {
            EventKind::AttemptStarted { source, attempt } => {
                let before = open.insert((source, attempt), true);
                assert!(
                    before.is_none(),
                    "{at}: attempt {attempt} of source {source} started twice"
                );
            }
            EventKind::AttemptFinished {
                source, attempt, ..
            } => {
                let running = open.insert((source, attempt), false);
                assert_eq!(
                    running,
                    Some(true),
                    "{at}: attempt {attempt} of source {source} finished without running"
                );
            }
            _ => {}
        }
    }
    assert!(
        !open.values().any(|running| *running),
        "{at}: some attempts never finished"
    );
    assert_eq!(
        summary.attempts as u64, report.attempts,
        "{at}: attempts in the trace"
    );
    assert!(
        summary.peak_attempts <= scenario.settings.concurrency,
        "{at}: {} attempts in flight, concurrency is {}",
        summary.peak_attempts,
        scenario.settings.concurrency
    );

    // Single flight: one lookup per station the report counts, each finished.
    let started: Vec<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::LookupStarted { station } => Some(station.as_str()),
            _ => None,
        })
        .collect();
    let distinct: BTreeSet<&str> = started.iter().copied().collect();
    assert_eq!(
        started.len() as u64,
        report.lookups,
        "{at}: lookups in the trace"
    );
    assert_eq!(
        distinct.len(),
        started.len(),
        "{at}: a station was looked up twice"
    );
    let finished = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::LookupFinished { .. }))
        .count();
    assert_eq!(finished, started.len(), "{at}: some lookups never finished");

    // One hand-off per accepted record, to a worker that exists.
    let mut handed_off = 0;
    for event in &events {
        if let EventKind::HandedOff { worker } = event.kind {
            assert!(
                worker < scenario.settings.workers,
                "{at}: no worker {worker}"
            );
            handed_off += 1;
        }
    }
    assert_eq!(
        handed_off, report.accepted,
        "{at}: one hand-off per accepted record"
    );
}

/// The standard battery every style crate runs on itself: the built-in scenarios, generated
/// ones, the smallest settings (one slot, one worker, a one-record queue), squeezed concurrency,
/// and an empty scenario, each checked against the reference and for the trace invariants.
pub fn check_style(name: &str, style: StyleFn) {
    for builtin in Scenario::builtin_names() {
        let scenario = Scenario::builtin(builtin).expect("a built-in scenario");
        let (report, trace) =
            check_against_reference(name, style, &scenario, time_scale_for(builtin));
        check_trace(name, &scenario, &report, &trace);
        // The built-in scenarios have more sources than slots: every slot gets used.
        assert_eq!(
            trace.summary().peak_attempts,
            scenario.settings.concurrency,
            "{name} on {builtin}"
        );
    }
    for (sources, seed) in [(1, 1), (12, 2), (40, 3), (60, 4)] {
        let scenario = Scenario::generate(sources, seed);
        let (report, trace) = check_against_reference(name, style, &scenario, 0.2);
        check_trace(name, &scenario, &report, &trace);
    }
    let mut smallest = Scenario::generate(12, 6);
    smallest.settings.concurrency = 1;
    smallest.settings.workers = 1;
    smallest.settings.channel_capacity = 1;
    let (report, trace) = check_against_reference(name, style, &smallest, 0.2);
    check_trace(name, &smallest, &report, &trace);

    let mut squeezed = Scenario::generate(30, 5);
    squeezed.settings.concurrency = 3;
    let (report, trace) = check_against_reference(name, style, &squeezed, 0.2);
    check_trace(name, &squeezed, &report, &trace);
    assert_eq!(
        trace.summary().peak_attempts,
        3,
        "{name}: the three slots are used"
    );

    let empty = Scenario::from_toml("name = \"empty\"", "empty.toml").expect("a valid scenario");
    let (report, trace) = check_against_reference(name, style, &empty, 1.0);
    assert_eq!((report.sources_ok, report.attempts), (0, 0));
    assert!(
        trace.events().is_empty(),
        "{name}: an empty scenario records nothing"
    );
}
