//! Tests of exercise 29: the conformance suite, for your style. On every built-in scenario,
//! `whole_style::run` must produce the reference's report, byte for byte, and a trace that
//! shows the rules were kept (every slot used and never more, every attempt ended, one lookup
//! per station, one hand-off per accepted record) and that the work ran concurrently, in the
//! style's own tasks (the reference itself, which fetches one source at a time on the calling
//! thread, gives the right report and fails here).
//!
//! These are the checks `crates/conformance` applies to every style of the project
//! (`check_style`), with the same time scales.

use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::{Report, RunOptions, Scenario, Trace};

/// Where to read about this exercise.
const REREAD: &str =
    "chapter 11, Async data management (book/src/data-management.md), and `crates/pipeline`";

/// Time scales that keep every latency at least ~25 ms of real time from its timeout, so that a
/// busy machine cannot change an outcome (the same as the project's conformance suite).
fn time_scale_for(scenario: &str) -> f64 {
    match scenario {
        "classroom" => 0.25,
        "faults" => 0.5,
        other => panic!("no time scale for the built-in scenario `{other}`"),
    }
}

/// The lines of `expected` and `got` that differ, `-` for expected and `+` for got.
fn diff(expected: &str, got: &str) -> String {
    let (expected, got): (Vec<_>, Vec<_>) = (expected.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for line in &expected {
        if !got.contains(line) {
            out += &format!("  - {line}\n");
        }
    }
    for line in &got {
        if !expected.contains(line) {
            out += &format!("  + {line}\n");
        }
    }
    out
}

fn run_style(name: &str) -> (Scenario, Report, Report, Trace) {
    let scenario = Scenario::builtin(name).unwrap();
    let expected = rosetta_pipeline::reference::run(
        &scenario,
        &RunOptions::with_time_scale(0.0),
        &Trace::new(),
    )
    .expect("the reference cannot fail");
    let trace = Trace::new();
    let opts = RunOptions::with_time_scale(time_scale_for(name));
    let report = whole_style::run(&scenario, &opts, &trace).unwrap_or_else(|error| {
        panic!("your style failed on `{name}`: {error}\n    reread: {REREAD}")
    });
    (scenario, expected, report, trace)
}

/// The number the traces give the calling thread (`Event::thread`): numbers are given in the
/// order threads first record an event in any trace, so a scratch trace tells.
fn this_thread_in_traces() -> u64 {
    let scratch = Trace::new();
    scratch.record(EventKind::RunStarted);
    scratch.events()[0].thread
}

fn check_scenario(name: &str) {
    let caller = this_thread_in_traces();
    let (scenario, expected, report, trace) = run_style(name);
    let (expected, got) = (expected.to_string(), report.to_string());
    assert!(
        got == expected,
        "on `{name}`, your report differs from the reference's (`-` expected, `+` yours):\n\
         {}\n  whole reports: `cargo run -- run reference --scenario {name}`\n    reread: {REREAD}",
        diff(&expected, &got)
    );
    check_trace(name, &scenario, &report, &trace);
    check_concurrency(name, &scenario, &trace, caller);
}

/// What shows that the style is concurrent, and that the concurrency is its own: a report can
/// be right without either.
fn check_concurrency(name: &str, scenario: &Scenario, trace: &Trace, caller: u64) {
    let concurrency = scenario.settings.concurrency;
    let peak = trace.summary().peak_attempts;
    // The built-in scenarios have more sources than slots: at the start, every slot is busy.
    assert!(
        scenario.sources.len() > concurrency,
        "the built-in scenario `{name}` should have more sources than slots"
    );
    assert!(
        peak == concurrency,
        "on `{name}`: at most {peak} fetch attempt(s) were in flight at once, but `concurrency` \
         is {concurrency} and there are more sources than that: every slot should be busy at \
         the start of the run (the sources fetched at the same time, each taking a slot, not \
         one after another)\n    reread: {REREAD}"
    );
    let events = trace.events();
    let on_caller = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::AttemptStarted { .. }))
        .filter(|event| event.thread == caller)
        .count();
    assert!(
        on_caller == 0,
        "on `{name}`: {on_caller} attempt(s) ran on the thread that called `run`: each source \
         should be processed in a task of its own (`tokio::spawn`), which the runtime runs on \
         its worker threads, not inside the future `block_on` runs\n    reread: {REREAD}"
    );
}

/// What every style's trace must show, whatever its timing.
fn check_trace(name: &str, scenario: &Scenario, report: &Report, trace: &Trace) {
    let summary = trace.summary();
    let events = trace.events();
    let count =
        |matches: fn(&EventKind) -> bool| events.iter().filter(|e| matches(&e.kind)).count();
    let concurrency = scenario.settings.concurrency;
    assert!(
        summary.peak_attempts <= concurrency,
        "on `{name}`: {} fetch attempts were in flight at once, but `concurrency` is \
         {concurrency} (take a slot before each source's task, release it after the fetch)\
         \n    reread: {REREAD}",
        summary.peak_attempts
    );
    let started = count(|kind| matches!(kind, EventKind::AttemptStarted { .. }));
    let finished = count(|kind| matches!(kind, EventKind::AttemptFinished { .. }));
    assert!(
        started as u64 == report.attempts && finished == started,
        "on `{name}`: the report counts {} attempts; the trace has {started} \
         `AttemptStarted` and {finished} `AttemptFinished` events. Record one of each per \
         attempt, in `fetch_with_retry`\n    reread: {REREAD}",
        report.attempts
    );
    assert!(
        summary.lookups as u64 == report.lookups,
        "on `{name}`: the report counts {} lookups, the trace {} (`lookup` records them; is \
         every lookup made through the cache?)\n    reread: {REREAD}",
        report.lookups,
        summary.lookups
    );
    let handed = summary.handed_off;
    assert!(
        handed as u64 == report.accepted,
        "on `{name}`: {} records accepted, {handed} hand-offs in the trace (one per accepted \
         record)\n    reread: {REREAD}",
        report.accepted
    );
}

#[test]
fn the_classroom_scenario_gives_the_reference_report() {
    check_scenario("classroom");
}

#[test]
fn the_faults_scenario_gives_the_reference_report() {
    check_scenario("faults");
}

#[test]
fn every_built_in_scenario_is_covered() {
    for name in Scenario::builtin_names() {
        time_scale_for(name); // Panics for a scenario without a test above.
    }
}
