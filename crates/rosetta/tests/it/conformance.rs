//! Every style, every built-in scenario, on both transports: the identical report, proven two
//! ways.
//!
//! `insta::allow_duplicates!` lets one named snapshot be asserted once per style: the first
//! assertion compares against the committed, reviewed `.snap` file, and every later one must
//! equal it. Plain equality with the reference's report follows, so that a failure names the
//! style even when the snapshot itself has to change.

use rosetta::compare::{self, Verdict};
use rosetta::network::Network;
use rosetta::styles::{self, Style};
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::parse::{Reason, Rejection, parse_body};
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::run::FetchSummary;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace, model};

use rosetta_conformance::tcp::{TCP_SLOWDOWN, check_on_tcp, feed_server};
use rosetta_conformance::{check_trace, expected_report, time_scale_for};

fn check_builtin(name: &str) {
    let scenario = Scenario::builtin(name).unwrap();
    let opts = RunOptions::with_time_scale(time_scale_for(name));
    let expected = expected_report(&scenario).to_string();
    insta::allow_duplicates! {
        for style in styles::ALL {
            let outcome = style.run_traced(&scenario, &opts);
            let report = outcome
                .report
                .unwrap_or_else(|err| panic!("{} failed on {name}: {err}", style.name));
            let text = report.to_string();
            insta::assert_snapshot!(format!("report-{name}"), text);
            assert!(
                text == expected,
                "{} disagrees with the reference on {name}:\n{}",
                style.name,
                compare::diff(&expected, &text, style.name)
            );
            check_trace(style.name, &scenario, &report, &outcome.trace);
        }
    }
}

#[test]
fn every_style_agrees_on_classroom() {
    check_builtin("classroom");
}

#[test]
fn every_style_agrees_on_faults() {
    check_builtin("faults");
}

/// The same over the `tcp` transport: every style fetches from one feed server on loopback (a
/// run of its own per style), and the report is the one the snapshots hold.
fn check_builtin_over_tcp(name: &str) {
    let scenario = Scenario::builtin(name).unwrap();
    let time_scale = TCP_SLOWDOWN * time_scale_for(name);
    for style in styles::ALL {
        check_on_tcp(style.name, style.run, &scenario, time_scale, feed_server());
    }
}

#[test]
fn every_style_agrees_on_classroom_over_tcp() {
    check_builtin_over_tcp("classroom");
}

#[test]
fn every_style_agrees_on_faults_over_tcp() {
    check_builtin_over_tcp("faults");
}

#[test]
fn every_builtin_scenario_is_covered() {
    for name in Scenario::builtin_names() {
        // Panics for a built-in scenario without a chosen time scale (and so without a test).
        time_scale_for(name);
    }
}

#[test]
fn styles_have_unique_names_in_teaching_order() {
    let names = styles::names();
    assert_eq!(names[0], "reference");
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        names.len(),
        "duplicate style names: {names:?}"
    );
}

#[test]
fn the_sequential_reference_uses_one_thread_and_one_slot() {
    let scenario = Scenario::builtin("faults").unwrap();
    let outcome = styles::reference().run_traced(&scenario, &RunOptions::with_time_scale(0.0));
    assert_eq!(outcome.summary.threads, 1);
    assert_eq!(outcome.summary.peak_attempts, 1);
    assert_eq!(outcome.summary.peak_lookups, 1);
}

/// A deliberately broken style: sequential, but with no cache at all, so every record is looked
/// up, the way a cache that is not single-flight looks a station up once per concurrent asker.
fn uncached(scenario: &Scenario, _opts: &RunOptions, _trace: &Trace) -> Result<Report, RunError> {
    let settings = &scenario.settings;
    let mut fetches = Vec::new();
    let mut rejected = Vec::new();
    let mut tallies = vec![WorkerTally::new(); settings.workers];
    let mut lookups = 0;
    for (index, source) in scenario.sources.iter().enumerate() {
        let mut attempt = 1;
        let (summary, answered) = loop {
            let (_, outcome) = model::attempt(source, attempt, settings);
            let answered = outcome == rosetta_pipeline::run::AttemptOutcome::Answered;
            if answered || attempt == settings.max_attempts() {
                break (FetchSummary::after(attempt, outcome), answered);
            }
            attempt += 1;
        };
        fetches.push(summary);
        if !answered {
            continue;
        }
        let parsed = parse_body(index, &source.body);
        rejected.extend(parsed.rejected);
        for record in parsed.records {
            lookups += 1; // the bug: no cache
            match scenario.registry.region_of(&record.station) {
                Some(region) => {
                    let worker = worker_for(&record.station, settings.workers);
                    tallies[worker].add(Enriched {
                        region: region.to_string(),
                        record,
                    });
                }
                None => rejected.push(Rejection {
                    source: index,
                    line: record.line,
                    reason: Reason::UnknownStation,
                }),
            }
        }
    }
    Ok(Report::assemble(
        scenario, &fetches, rejected, lookups, &tallies,
    ))
}

#[test]
fn a_style_that_differs_is_named_with_a_diff() {
    static BROKEN: Style = Style {
        name: "uncached",
        model: "broken on purpose",
        runtime: "none",
        run: uncached,
        program: None,
    };
    let scenario = Scenario::builtin("classroom").unwrap();
    let comparison = compare::compare(
        &scenario,
        &Network::sim(0.0),
        &[styles::reference(), &BROKEN],
    );
    assert!(!comparison.all_agree());
    assert_eq!(comparison.rows[0].verdict, Verdict::Agrees);
    let Verdict::Differs { diff } = &comparison.rows[1].verdict else {
        panic!(
            "the broken style was not caught: {:?}",
            comparison.rows[1].verdict
        );
    };
    // The diff names both sides and shows exactly the wrong line.
    assert!(
        diff.contains("--- reference") && diff.contains("+++ uncached"),
        "{diff}"
    );
    assert!(diff.contains("-lookups     12 (16 cache hits)"), "{diff}");
    assert!(diff.contains("+lookups     28 (0 cache hits)"), "{diff}");
    let rendered = compare::render_disagreements(&comparison);
    assert!(
        rendered.starts_with("✗ uncached produced a different report:"),
        "{rendered}"
    );
    assert!(compare::render_table(&comparison, None).contains("✗ uncached"));
}
