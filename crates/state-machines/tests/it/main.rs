//! Integration tests of the state-machines style: its report must equal the sequential
//! reference's, and its trace must show the concurrency the specification asks for, all of it
//! on one thread.
//!
//! One test binary (`tests/it/`), as the workspace's habit is. The reference runs with time
//! scale 0 (it does not race timers, so it needs no real waits); the style runs with a scale
//! that keeps every latency at least ~20 ms away from its timeout, so that scheduling noise on a
//! busy machine cannot change an outcome. Nothing here asserts a wall-clock time.

mod support;

use rosetta_pipeline::Scenario;
use rosetta_state_machines as style;

use support::{check_against_reference, check_trace};

#[test]
fn classroom_matches_the_reference() {
    let scenario = Scenario::builtin("classroom").unwrap();
    let (report, trace) = check_against_reference(style::run, &scenario, 0.25);
    check_trace(&scenario, &report, &trace);
}

#[test]
fn faults_match_the_reference() {
    let scenario = Scenario::builtin("faults").unwrap();
    let (report, trace) = check_against_reference(style::run, &scenario, 0.5);
    check_trace(&scenario, &report, &trace);
}

#[test]
fn generated_scenarios_match_the_reference() {
    for (sources, seed) in [(1, 1), (12, 2), (40, 3), (60, 4)] {
        let scenario = Scenario::generate(sources, seed);
        let (report, trace) = check_against_reference(style::run, &scenario, 0.2);
        check_trace(&scenario, &report, &trace);
    }
}

#[test]
fn a_small_concurrency_limit_is_respected() {
    // Generated scenarios use concurrency 100, more than they have sources; squeeze it to 3.
    let mut scenario = Scenario::generate(30, 5);
    scenario.settings.concurrency = 3;
    scenario.settings.channel_capacity = 1;
    let (report, trace) = check_against_reference(style::run, &scenario, 0.2);
    check_trace(&scenario, &report, &trace);
    assert_eq!(trace.summary().peak_attempts, 3, "the slots are used");
}

#[test]
fn an_empty_scenario_gives_an_empty_report() {
    let scenario = Scenario::from_toml("name = \"empty\"", "empty.toml").unwrap();
    let (report, trace) = check_against_reference(style::run, &scenario, 1.0);
    assert_eq!(report.sources_ok, 0);
    assert!(trace.events().is_empty());
}

#[test]
fn everything_runs_on_the_calling_thread() {
    // One executor, one reactor, no helper thread: every event comes from the caller's thread.
    let scenario = Scenario::builtin("classroom").unwrap();
    let (_, trace) = check_against_reference(style::run, &scenario, 0.25);
    assert_eq!(trace.summary().threads, 1);
    let events = trace.events();
    assert!(events.iter().all(|event| event.thread == events[0].thread));
}

#[test]
fn every_hand_written_future_has_a_size() {
    let sizes = style::future_sizes();
    assert!(sizes.len() >= 10);
    assert!(sizes.iter().all(|(_, size)| *size > 0));
}
