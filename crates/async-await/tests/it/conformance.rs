//! Every runtime produces the reference report, byte for byte.
//!
//! Time scales keep at least about 20 ms of real time between a feed's answer and its timeout
//! (`classroom` at 0.25: timeout 100 ms, slowest answering feed 45 ms), so the timers decide
//! the same way as the model even on a busy two-core machine.

use rosetta_pipeline::Scenario;

use crate::{STYLES, expected, run_style};

/// Checks every style against the reference on `scenario` at `time_scale`.
fn assert_all_styles_match(scenario: &Scenario, time_scale: f64) {
    let expected = expected(scenario);
    for (name, style) in STYLES {
        let (report, _) = run_style(style, scenario, time_scale);
        assert_eq!(
            report.to_string(),
            expected.to_string(),
            "style `{name}` on `{}`",
            scenario.name
        );
        assert_eq!(report, expected, "style `{name}` on `{}`", scenario.name);
    }
}

#[test]
fn classroom_matches_the_reference() {
    assert_all_styles_match(&Scenario::builtin("classroom").unwrap(), 0.25);
}

#[test]
fn faults_matches_the_reference() {
    assert_all_styles_match(&Scenario::builtin("faults").unwrap(), 0.5);
}

#[test]
fn generated_scenarios_match_the_reference() {
    for (sources, seed) in [(1, 1), (7, 2), (25, 3), (60, 4), (60, 5)] {
        assert_all_styles_match(&Scenario::generate(sources, seed), 0.2);
    }
}

#[test]
fn an_empty_scenario_gives_an_empty_report() {
    let empty = Scenario::from_toml("name = \"empty\"", "empty.toml").unwrap();
    assert_all_styles_match(&empty, 0.2);
}
