//! The threads style's report equals the reference's, byte for byte.

use rosetta_pipeline::Scenario;

use crate::{builtin, expected, run_threads};

#[test]
fn classroom_matches_the_reference() {
    let scenario = builtin("classroom");
    let (report, _) = run_threads(&scenario, 0.25);
    assert_eq!(report, expected(&scenario));
    assert_eq!(report.to_string(), expected(&scenario).to_string());
}

#[test]
fn faults_matches_the_reference() {
    // Timeout 100 ms -> 50 ms; the closest latency (30 ms -> 15 ms) is 35 ms away.
    let scenario = builtin("faults");
    let (report, _) = run_threads(&scenario, 0.5);
    assert_eq!(report, expected(&scenario));
}

#[test]
fn generated_scenarios_match_the_reference() {
    for (sources, seed) in [(1, 1), (9, 2), (33, 3), (60, 4), (60, 5)] {
        let scenario = Scenario::generate(sources, seed);
        let (report, _) = run_threads(&scenario, 0.2);
        assert_eq!(report, expected(&scenario), "{}", scenario.name);
    }
}

#[test]
fn one_slot_and_one_worker_still_match() {
    // The smallest settings: one fetch thread, one worker, a one-record queue.
    let mut scenario = Scenario::generate(12, 6);
    scenario.settings.concurrency = 1;
    scenario.settings.workers = 1;
    scenario.settings.channel_capacity = 1;
    let (report, _) = run_threads(&scenario, 0.2);
    assert_eq!(report, expected(&scenario));
}

#[test]
fn a_scenario_without_sources_gives_an_empty_report() {
    let scenario = Scenario::from_toml("name = \"empty\"", "empty.toml").unwrap();
    let (report, trace) = run_threads(&scenario, 1.0);
    assert_eq!(report, expected(&scenario));
    assert!(trace.events().is_empty());
}
