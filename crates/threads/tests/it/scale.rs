//! A big body costs threads per *station*, not per record: the enrich step
//! surveys the body, looks up its few distinct stations (a thread each), then
//! streams the records to the workers.

use std::fmt::Write;

use rosetta_conformance::{check_against_reference, check_trace};
use rosetta_pipeline::Scenario;

/// Two sources of 10,000 records each over the same three stations (one of them
/// unknown to the registry), with small queues so that backpressure holds the
/// enrich threads back.
fn two_big_sources() -> Scenario {
    let mut body = String::new();
    for line in 0..10_000 {
        let station = ["Oslo", "Bergen", "Atlantis"][line % 3];
        writeln!(body, "{station};{}.{}", line % 40, line % 10).unwrap();
    }
    let mut scenario = Scenario::from_toml(
        "name = \"big\"\n\
         [settings]\nworkers = 2\nchannel_capacity = 4\nlookup_ms = 1\n\
         [registry]\nOslo = \"west\"\nBergen = \"west\"\n",
        "big.toml",
    )
    .unwrap();
    let source = |name: &str, latency_ms| rosetta_pipeline::scenario::Source {
        name: name.into(),
        latency_ms,
        fault: Default::default(),
        body: body.clone(),
    };
    scenario.sources = vec![source("first", 1), source("second", 2)];
    scenario
}

#[test]
fn a_big_body_starts_threads_per_station_not_per_record() {
    let scenario = two_big_sources();
    let (report, trace) = check_against_reference(
        rosetta_threads::NAME,
        rosetta_threads::run,
        &scenario,
        0.0,
    );
    check_trace(rosetta_threads::NAME, &scenario, &report, &trace);
    let names = trace.thread_names();
    let count = |prefix: &str| {
        names
            .values()
            .filter(|name| name.starts_with(prefix))
            .count()
    };
    // One enrich thread per source, and at most one lookup thread per distinct
    // station and source (a station already cached needs none): 6, whatever the
    // number of records.
    assert_eq!(count("enrich-"), 2, "{names:?}");
    assert!(count("lookup-") <= 6, "{names:?}");
    assert!(names.len() <= 2 + 2 + 6 + 2, "{names:?}");
    assert_eq!(trace.summary().handed_off, 2 * 6_667);
}
