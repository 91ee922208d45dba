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
//! - [`tcp`]: the same battery over the `tcp` transport, against a feed server on loopback
//!   ([`tcp::check_style_on_tcp`]), and the proof that a run leaves no socket open
//!   ([`tcp::check_sockets_closed`]).
//! - [`canned`]: canned feed servers on loopback that do what a unit test of one tcp attempt
//!   scripts (answer, answer in pieces, trickle, hang, reset), and report what they saw.
//! - [`crowded_scenario`] and [`tight_scenario`]: scenarios whose timing is as tight as the
//!   specification allows, for the tests that prove a report never changes with load or with
//!   the time scale.
//!
//! Timing: the standard battery's time scales keep every answer at least ~20 ms of real time
//! away from its timeout ([`time_scale_for`]), so that a busy two-core CI machine cannot change
//! an outcome there. The tight scenarios go down to the specification's own margin (5 ms,
//! [`MIN_REAL_GAP_MS`]) on purpose: a style that is right only with room to spare is wrong, and
//! those are the tests that say so. No check here looks at a wall-clock time.

use std::collections::{BTreeSet, HashMap};

use rosetta_pipeline::scenario::{Fault, MIN_REAL_GAP_MS};
use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::{Report, RunOptions, Scenario, Trace, reference};
use similar::TextDiff;

pub use rosetta_pipeline::run::StyleFn;

pub mod canned;
pub mod tcp;

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

/// The time scale of [`crowded_scenario`]: real time, the only scale at which it is valid.
pub const CROWDED_TIME_SCALE: f64 = 1.0;

/// `sources` generated feeds, all in flight at once, with timing as tight as the specification
/// allows at time scale 1 ([`CROWDED_TIME_SCALE`]).
///
/// The timeout is 10 ms. Nine feeds in ten answer after 0 to 4 ms: under half the timeout, and
/// at least 6 ms before it. The tenth answers after 21 ms: past twice the timeout, 11 ms after
/// it. Both are just outside the specification's margins, so no outcome is ambiguous. But with
/// a few thousand attempts in flight on two cores, everything runs late, and two kinds of style
/// get it wrong: one whose timeout clock starts before its attempt really runs (a thread not
/// yet scheduled) times out fast feeds that answered in time; one that, polled late, finds both
/// the answer and the timeout due and lets whichever it looks at first win, accepts slow feeds
/// that answered after their timeout. The rule that is right is the event loop's: when both
/// are due, the earlier deadline wins.
///
/// Panics if the scenario breaks the specification's rules (a test would then prove nothing).
pub fn crowded_scenario(sources: usize, seed: u64) -> Scenario {
    let mut scenario = Scenario::generate(sources, seed);
    scenario.name = format!("crowded-{sources}-{seed}");
    scenario.settings.timeout_ms = 10;
    scenario.settings.concurrency = sources.max(1);
    for (index, source) in scenario.sources.iter_mut().enumerate() {
        source.latency_ms = if index % 10 == 9 {
            21
        } else {
            index as u64 % 5
        };
    }
    assert_tight_but_valid(&scenario, &[CROWDED_TIME_SCALE]);
    scenario
}

/// The time scales [`tight_scenario`] runs at: at the smallest, its closest latency is just
/// over [`MIN_REAL_GAP_MS`] from the timeout in real time.
pub const TIGHT_TIME_SCALES: [f64; 3] = [0.1, 0.25, 0.5];

/// Forty generated feeds, twenty in flight, with a 100 ms timeout and latencies just outside
/// the margins at the smallest of [`TIGHT_TIME_SCALES`]: fast feeds answer after 40 to 49 ms
/// (under half the timeout; at scale 0.1, 5.1 to 6 ms before it in real time), slow ones after
/// 201 to 210 ms (past twice the timeout; at scale 0.1, 10.1 to 11 ms after it). Every fault
/// kind occurs, with fast and slow latencies.
///
/// Its report must be the reference's at every one of those scales: a report never depends on
/// the time scale. Panics if the scenario breaks the specification's rules.
pub fn tight_scenario() -> Scenario {
    let mut scenario = Scenario::generate(40, 11);
    scenario.name = "tight".into();
    scenario.settings.timeout_ms = 100;
    scenario.settings.concurrency = 20;
    for (index, source) in scenario.sources.iter_mut().enumerate() {
        let index = index as u64;
        source.latency_ms = if index % 4 == 3 {
            201 + index % 10
        } else {
            40 + index % 10
        };
        // The generator makes about one feed in fifty faulty; here every kind occurs, on fast
        // feeds and on slow ones.
        source.fault = match index % 16 {
            1 | 3 => Fault::First,
            2 | 7 => Fault::Always,
            5 => Fault::Hang,
            11 | 15 => Fault::None,
            _ => source.fault,
        };
    }
    assert_tight_but_valid(&scenario, &TIGHT_TIME_SCALES);
    scenario
}

/// Panics unless `scenario` is valid and every one of `time_scales` keeps each latency at
/// least [`MIN_REAL_GAP_MS`] from the timeout in real time: the rules a run is refused by.
fn assert_tight_but_valid(scenario: &Scenario, time_scales: &[f64]) {
    if let Err((key, problem)) = scenario.validate() {
        panic!(
            "`{}` is not a valid scenario: {key}: {problem}",
            scenario.name
        );
    }
    for &time_scale in time_scales {
        if let Err(error) = scenario.check_time_scale(time_scale, &scenario.name) {
            panic!(
                "`{}` cannot run at time scale {time_scale}: {error}",
                scenario.name
            );
        }
    }
    // Tight, not loose: the smallest scale brings some latency within twice the margin.
    let smallest = time_scales.iter().copied().fold(f64::INFINITY, f64::min);
    let (_, gap_ms) = scenario
        .tightest_source()
        .expect("a tight scenario has sources");
    assert!(
        gap_ms as f64 * smallest < 2.0 * MIN_REAL_GAP_MS,
        "`{}` is not tight: its closest latency is {} ms from the timeout at time scale {smallest}",
        scenario.name,
        gap_ms as f64 * smallest
    );
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

    // One hand-off per accepted record, to a worker that exists. (Hand-offs close together
    // share an event: see `Trace::hand_off`.)
    let mut handed_off = 0;
    for event in &events {
        if let EventKind::HandedOff { worker, records } = event.kind {
            assert!(
                worker < scenario.settings.workers,
                "{at}: no worker {worker}"
            );
            assert!(records >= 1, "{at}: a hand-off event of no record");
            handed_off += u64::from(records);
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_tight_scenarios_obey_the_rules_and_sit_at_their_edge() {
        // Both constructors panic otherwise.
        let crowded = crowded_scenario(100, 1);
        assert_eq!(crowded.settings.concurrency, 100);
        let tight = tight_scenario();
        // Every fault kind, with a fast and (but for `hang`, where latency does not matter)
        // a slow latency.
        let kinds: HashSet<(Fault, bool)> = tight
            .sources
            .iter()
            .map(|source| (source.fault, source.latency_ms > tight.settings.timeout_ms))
            .collect();
        for fault in [Fault::None, Fault::First, Fault::Always] {
            assert!(kinds.contains(&(fault, false)), "{fault:?}, fast");
            assert!(kinds.contains(&(fault, true)), "{fault:?}, slow");
        }
        assert!(kinds.contains(&(Fault::Hang, false)));
    }

    #[test]
    #[should_panic(expected = "is not tight")]
    fn a_loose_scenario_is_refused() {
        // At time scale 1 and above, the tight scenario's closest latency is 51 ms from the
        // timeout: valid, but far from the edge.
        assert_tight_but_valid(&tight_scenario(), &[1.0, 2.0]);
    }
}
