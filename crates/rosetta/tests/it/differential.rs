//! Differential testing: random scenarios, every style against the reference.
//!
//! proptest builds small scenarios with every fault kind, malformed lines, unknown stations,
//! tiny queues and one or more workers, runs every style on each, and requires each report to
//! equal the reference's. When a case fails, proptest shrinks it to a small scenario and prints
//! it: save it as a TOML file and `rosetta compare --scenario FILE` shows the disagreement.
//!
//! Each property runs twice: on the `sim` transport (64 cases) and over tcp against a feed server
//! on loopback (16 cases: real connections, every style at once).
//!
//! Timing: the timeout is 80 ms and answering latencies are at most 20 ms (or 200 ms for a slow
//! feed), so an outcome could only change if a thread were held up for 60 ms; the styles of a
//! case run at the same time on separate threads, since they mostly sleep.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use rosetta_pipeline::registry::Registry;
use rosetta_pipeline::scenario::{Fault, Settings, Source};
use rosetta_pipeline::{RunOptions, Scenario};

use rosetta_conformance::expected_report;
use rosetta_conformance::tcp::feed_server;
use rosetta_pipeline::transport::Transport;

use crate::concurrent_styles;

fn arb_line() -> impl Strategy<Value = String> {
    let station = prop::sample::select(vec!["Oslo", "Bergen", "Riga", "Nowhere", "Oslo "]);
    prop_oneof![
        8 => (station, -999i32..=999).prop_map(|(station, tenths)| {
            let sign = if tenths < 0 { "-" } else { "" };
            format!("{station};{sign}{}.{}", tenths.abs() / 10, tenths.abs() % 10)
        }),
        1 => prop::sample::select(vec!["Oslo", ";1.0", "Oslo;1", "Oslo;1.0\r", "", "Bergen;+1.0"])
            .prop_map(str::to_string),
    ]
}

fn arb_source() -> impl Strategy<Value = (u64, Fault, Vec<String>, bool)> {
    (
        prop_oneof![9 => 0u64..=20, 1 => Just(200u64)],
        prop::sample::select(vec![
            Fault::None,
            Fault::None,
            Fault::First,
            Fault::Always,
            Fault::Hang,
        ]),
        prop::collection::vec(arb_line(), 0..6),
        any::<bool>(), // CRLF line endings
    )
}

fn arb_scenario() -> impl Strategy<Value = Scenario> {
    (
        1usize..=4,
        1usize..=4,
        1usize..=3,
        0u32..=2,
        0u64..=10,
        prop::collection::vec(arb_source(), 0..7),
    )
        .prop_map(
            |(concurrency, workers, channel_capacity, retries, lookup_ms, sources)| {
                let registry: BTreeMap<String, String> =
                    [("Oslo", "north"), ("Bergen", "west"), ("Riga", "east")]
                        .into_iter()
                        .map(|(station, region)| (station.to_string(), region.to_string()))
                        .collect();
                let sources = sources
                    .into_iter()
                    .enumerate()
                    .map(|(i, (latency_ms, fault, lines, crlf))| Source {
                        name: format!("s{i}"),
                        latency_ms,
                        fault,
                        body: lines.join(if crlf { "\r\n" } else { "\n" }),
                    })
                    .collect();
                let scenario = Scenario {
                    name: "proptest".into(),
                    about: String::new(),
                    settings: Settings {
                        concurrency,
                        workers,
                        timeout_ms: 80,
                        retries,
                        lookup_ms,
                        channel_capacity,
                    },
                    registry: Registry::from(registry),
                    sources,
                };
                scenario
                    .validate()
                    .expect("the strategy builds valid scenarios");
                scenario
            },
        )
}

/// Runs every concurrent style on `scenario` at once, each on a thread of its own with options
/// from `options` (on tcp, a run of its own on the server), and requires each report to be the
/// reference's.
fn every_style_matches(
    scenario: &Scenario,
    options: impl Fn() -> RunOptions + Sync,
) -> Result<(), TestCaseError> {
    let expected = expected_report(scenario).to_string();
    let results: Vec<(&str, Result<String, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = concurrent_styles()
            .map(|style| {
                let opts = options();
                let handle = scope.spawn(move || {
                    let outcome = style.run_traced(scenario, &opts);
                    outcome
                        .report
                        .map(|r| r.to_string())
                        .map_err(|e| e.to_string())
                });
                (style.name, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| (name, handle.join().expect("a style panicked")))
            .collect()
    });
    for (name, result) in results {
        let text = result.map_err(|err| TestCaseError::fail(format!("{name} failed: {err}")))?;
        prop_assert!(
            text == expected,
            "{} disagrees with the reference on\n{}\n{}",
            name,
            scenario.to_toml(),
            rosetta::compare::diff(&expected, &text, name)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_style_matches_the_reference(scenario in arb_scenario()) {
        every_style_matches(&scenario, || RunOptions::with_time_scale(1.0))?;
    }
}

proptest! {
    // Fewer cases over tcp: each is real connections to a feed server, every style at once.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn every_style_matches_the_reference_over_tcp(scenario in arb_scenario()) {
        let shared = Arc::new(scenario.clone());
        every_style_matches(&scenario, || {
            let feeds = feed_server().host(Arc::clone(&shared), 1.0);
            RunOptions::with_time_scale(1.0).on(Transport::Tcp(feeds))
        })?;
    }
}
