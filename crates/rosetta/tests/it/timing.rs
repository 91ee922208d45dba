//! Reports never change with load or with the time scale, on scenarios whose timing is as tight
//! as the specification allows.
//!
//! The specification keeps every latency out of the range from half to twice the timeout, and
//! at least 5 ms of real time away from it after scaling. Within those rules, a report must be
//! the reference's whatever the machine does. The scenarios come from `rosetta-conformance`
//! (`crowded_scenario`, `tight_scenario`), which checks that they obey the rules and sit close
//! to their edge: a style that is right only with room to spare fails here.
//!
//! The reference is left out of the runs: it decides every attempt from the specification, and
//! its report is what the others are compared with (`expected_report`, at time scale 0).

use std::sync::{Mutex, PoisonError};

use rosetta_conformance::{
    CROWDED_TIME_SCALE, TIGHT_TIME_SCALES, check_against_reference, check_trace, crowded_scenario,
    expected_report, tight_scenario,
};
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace, reference};

use crate::concurrent_styles;

/// One of these tests at a time: the crowded one puts thousands of threads on the machine,
/// which is its point, and would otherwise be the load of the others too, making what they
/// test (the time scale) hard to tell from what it tests (load).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Regression test: two thousand attempts in flight at once, in real time, with fast feeds 6 ms
/// inside a 10 ms timeout and slow ones 11 ms past it, for every concurrent style. Thousands of
/// attempts on two cores make every clock run late, and each style once let that change its
/// report:
///
/// - `threads` started its timeout clock when a fetch thread *asked* for the attempt's network
///   thread, not when that thread ran; a new thread can wait longer than 6 ms to run, and feeds
///   that answered in time were reported as timed out.
/// - `combinators`, `tokio`, `async-std` and `smol` raced the two timers with `select`, which
///   polls its first argument first: a task polled late found both due, and slow feeds were
///   reported as answered. Now the deadlines decide.
/// - `state-machines` did the same in its hand-written `Timeout<F>`, which polled the feed first.
#[test]
fn every_style_agrees_with_thousands_of_attempts_in_flight() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let scenario = crowded_scenario(2_000, 1);
    for style in concurrent_styles() {
        let (report, trace) =
            check_against_reference(style.name, style.run, &scenario, CROWDED_TIME_SCALE);
        check_trace(style.name, &scenario, &report, &trace);
    }
}

/// Every style, on the same tight scenario at several time scales, down to the smallest at
/// which it is valid: the report is the reference's at each of them.
#[test]
fn every_style_agrees_at_every_time_scale() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let scenario = tight_scenario();
    for time_scale in TIGHT_TIME_SCALES {
        for style in concurrent_styles() {
            let (report, trace) =
                check_against_reference(style.name, style.run, &scenario, time_scale);
            check_trace(style.name, &scenario, &report, &trace);
        }
    }
}

/// Head start, in real milliseconds, of the broken style's timeout clock.
const HEAD_START_MS: f64 = 6.0;

/// A deliberately broken style: its timeout clock starts [`HEAD_START_MS`] of real time before
/// its attempts do, which comes to the same as every feed answering that much later. It runs
/// the reference, in logical time, on a scenario with latencies lengthened accordingly.
fn early_clock(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
    let head_start_ms = (HEAD_START_MS / opts.time_scale).ceil() as u64;
    let mut late = scenario.clone();
    for source in &mut late.sources {
        source.latency_ms += head_start_ms;
    }
    reference::run(&late, &RunOptions::with_time_scale(0.0), trace)
}

/// The tight scenario is tight enough: at its smallest time scale, a timeout clock a few
/// milliseconds early changes the report, so `every_style_agrees_at_every_time_scale` would
/// catch it.
#[test]
fn a_timeout_clock_that_starts_early_is_caught() {
    let scenario = tight_scenario();
    let smallest = TIGHT_TIME_SCALES[0];
    let expected = expected_report(&scenario).to_string();
    let opts = RunOptions::with_time_scale(smallest);
    let broken = early_clock(&scenario, &opts, &Trace::new()).unwrap();
    assert_ne!(
        broken.to_string(),
        expected,
        "a clock {HEAD_START_MS} ms early went unnoticed at time scale {smallest}"
    );
}
