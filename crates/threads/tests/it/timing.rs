//! Timing as tight as the specification allows, where the threads style is most
//! exposed: with a thread per attempt, thousands of attempts in flight mean
//! thousands of threads competing for the cores, and any of them can run late.

use rosetta_conformance::{
    CROWDED_TIME_SCALE, TIGHT_TIME_SCALES, check_against_reference,
    check_trace, crowded_scenario, tight_scenario,
};

/// Regression test: the timeout clock used to start when the fetch thread
/// *asked* for the attempt's network thread, not when that thread ran. Two
/// thousand attempts in flight on a two-core machine delay a new thread's first
/// run past the 6 ms between a fast feed's answer and its timeout, and the
/// report listed feeds that had answered in time as timed out.
#[test]
fn thousands_of_attempts_in_flight_change_nothing() {
    let scenario = crowded_scenario(2_000, 1);
    let (report, trace) = check_against_reference(
        rosetta_threads::NAME,
        rosetta_threads::run,
        &scenario,
        CROWDED_TIME_SCALE,
    );
    check_trace(rosetta_threads::NAME, &scenario, &report, &trace);
}

#[test]
fn the_time_scale_changes_nothing() {
    let scenario = tight_scenario();
    for time_scale in TIGHT_TIME_SCALES {
        let (report, trace) = check_against_reference(
            rosetta_threads::NAME,
            rosetta_threads::run,
            &scenario,
            time_scale,
        );
        check_trace(rosetta_threads::NAME, &scenario, &report, &trace);
    }
}
