//! The bench's measurements and tables, in this process: a style whose report differs is named
//! with the command that shows the difference, every kind of sleeper wakes, and a figure that
//! was not measured shows as `-`.

use std::time::Duration;

use rosetta::bench::{self, BenchRow};
use rosetta::measure::Status;
use rosetta::memory::{self, MemoryRow};
use rosetta::sleepers::{self, SleeperRow};
use rosetta::styles::{self, Style};
use rosetta::table::Table;
use rosetta_pipeline::{RunOptions, Scenario};

/// A style that is wrong on purpose: it runs the reference without the last source.
fn forgets_the_last_source(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &rosetta_pipeline::Trace,
) -> Result<rosetta_pipeline::Report, rosetta_pipeline::RunError> {
    let mut fewer = scenario.clone();
    fewer.sources.pop();
    rosetta_pipeline::reference::run(&fewer, opts, trace)
}

static FORGETFUL: Style = Style {
    name: "forgetful",
    model: "broken on purpose",
    runtime: "none",
    run: forgets_the_last_source,
    program: None,
};

#[test]
fn a_differing_row_says_which_command_shows_the_difference() {
    // Logical time is enough for the broken style (the reference waits for nothing).
    let spec = |concurrency| bench::BenchSpec {
        sizes: vec![20],
        seed: 7,
        concurrency,
        time_scale: 0.001,
        budget: Duration::from_secs(60),
        child: None,
        tcp: false,
    };
    let rows = bench::run(&spec(Some(100)), &[&FORGETFUL, styles::reference()], |_| {}).unwrap();
    assert_eq!(rows[0].status, Status::Differs);
    assert_eq!(
        rows[1].status,
        Status::Ok,
        "the reference agrees with itself"
    );
    // The generated scenario already has concurrency 100: `compare` gets the very same one,
    // runs only the style at the bench's time scale, and the reference at time scale 0.
    assert!(
        rows[0]
            .note
            .contains("rosetta compare --sources 20 --seed 7 --time-scale 0.001 --style forgetful"),
        "{}",
        rows[0].note
    );
    assert!(!rows[0].note.contains("--concurrency"), "{}", rows[0].note);
    // A task-scale run (every source in flight) needs the concurrency said.
    let rows = bench::run(&spec(None), &[&FORGETFUL], |_| {}).unwrap();
    assert!(
        rows[0].note.contains(
            "rosetta compare --sources 20 --seed 7 --concurrency 20 --time-scale 0.001 \
             --style forgetful"
        ),
        "{}",
        rows[0].note
    );
}

#[test]
fn every_kind_wakes_every_sleeper() {
    for kind in sleepers::KINDS {
        let row = sleepers::measure(kind, 50).unwrap();
        assert_eq!(row.status, Status::Ok, "{kind}");
        // Every sleeper waited its turn: the run cannot end before the wait is over.
        assert!(
            row.wall_ms >= sleepers::WAIT.as_secs_f64() * 1000.0,
            "{kind}: {row:?}"
        );
    }
    assert!(sleepers::measure("fibers", 1).is_err());
}

#[test]
fn only_the_threads_style_is_limited_by_the_thread_limit() {
    let scenario = bench::scenario(500, 1, None); // every source in flight at once
    let threads = styles::find("threads").unwrap();
    let reason = bench::cannot_hold_within(threads, &scenario, 1_000).expect("1,100 threads > 500");
    assert!(
        reason.contains("about 1104 OS threads") && reason.contains("allows 1000"),
        "{reason}"
    );
    assert_eq!(bench::cannot_hold_within(threads, &scenario, 100_000), None);
    for style in styles::ALL.iter().filter(|style| style.name != "threads") {
        assert_eq!(
            bench::cannot_hold_within(style, &scenario, 1_000),
            None,
            "{}",
            style.name
        );
    }
}

#[test]
fn a_program_in_another_language_is_skipped_where_its_thread_cannot_keep_up() {
    let node = styles::find("node-async").unwrap();
    // 1,000 in flight at 1.5 ms each: 1.5 s of one thread against a 400 ms timeout.
    let crowded = bench::scenario(10_000, 1, Some(1_000));
    let reason = bench::cannot_keep_up(node, &crowded, 1.0).expect("too many at once");
    assert!(
        reason.contains("1000 attempts") && reason.contains("400 ms timeout"),
        "{reason}"
    );
    // The same at eight times the scale, or 100 in flight, is within reach.
    assert_eq!(bench::cannot_keep_up(node, &crowded, 8.0), None);
    let bench_size = bench::scenario(1_000, 1, Some(100));
    assert_eq!(bench::cannot_keep_up(node, &bench_size, 1.0), None);
    for style in styles::ALL {
        assert_eq!(
            bench::cannot_keep_up(style, &crowded, 1.0),
            None,
            "{}",
            style.name
        );
    }
}

#[test]
fn csv_and_svg_carry_every_measured_row() {
    let mut row = BenchRow::new(100, 100, "smol", 120.0);
    row.wall_ms = 126.0;
    row.ratio = 1.05;
    row.note = "a \"quoted\" note".into();
    let mut other = row.clone();
    other.sources = 1000;
    let csv = bench::render_csv(&[row.clone(), other.clone()]);
    assert_eq!(csv.lines().count(), 3);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("100,100,smol,ok,126.0,120.0,1.0500,")
    );
    assert!(csv.contains("\"a \"\"quoted\"\" note\""), "{csv}");
    let svg = bench::render_svg(&[row, other], "made by a test");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 1);
    assert_eq!(svg.matches("<circle").count(), 2);
    assert!(svg.contains("made by a test"));
}

#[test]
fn rows_show_dashes_for_what_was_not_measured() {
    let failed = MemoryRow {
        row: BenchRow::new(1, 1, "tokio", 0.0).marked(Status::Failed, "no luck"),
        times_input: None,
    };
    let line = failed.line();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words[..5], ["tokio", "-", "-", "-", "failed"], "{line}");
    assert!(line.ends_with("failed (no luck)"), "{line}");
}

#[test]
fn the_built_in_scenarios_have_a_size() {
    assert!(memory::input_bytes("classroom").is_some_and(|bytes| bytes > 100));
    assert_eq!(memory::input_bytes("/no/such/file.toml"), None);
}

#[test]
fn an_unmeasured_row_shows_dashes_not_zeros() {
    // Like every other table of the tool: a figure that was not measured is `-`, never 0.
    for status in [Status::Skipped, Status::Failed] {
        let row = SleeperRow::unmeasured("threads", 1_000_000, status, "why".into());
        let line = row.line();
        let figures: Vec<&str> = line.split_whitespace().skip(2).take(3).collect();
        assert_eq!(figures, ["-", "-", "-"], "{line}");
        assert!(line.ends_with(&format!("{status}: why")), "{line}");
    }
    let mut measured = SleeperRow::unmeasured("smol", 10, Status::Ok, String::new());
    measured.wall_ms = 501.25;
    assert!(measured.line().contains("501.2"));
}

#[test]
fn on_tcp_every_size_gets_a_raw_baseline_that_fetches_what_the_reference_fetches() {
    let spec = bench::BenchSpec {
        sizes: vec![30],
        seed: 3,
        concurrency: Some(10),
        time_scale: 0.2,
        budget: Duration::from_secs(60),
        child: None,
        tcp: true,
    };
    let rows = bench::run(&spec, &[styles::find("tokio").unwrap()], |_| {}).unwrap();
    let styles: Vec<&str> = rows.iter().map(|row| row.style.as_str()).collect();
    assert_eq!(styles, ["tokio", bench::RAW]);
    for row in &rows {
        assert_eq!(row.status, Status::Ok, "{row:?}");
        assert!(row.wall_ms > 0.0 && row.peak_in_flight >= 1, "{row:?}");
    }
    assert!(rows[1].peak_in_flight <= 10, "{:?}", rows[1]);
}

#[test]
fn a_raw_baseline_that_fetched_something_else_is_marked() {
    let row = bench::BenchRow::new(4, 2, bench::RAW, 10.0);
    let output = |ok| bench::ChildOutput {
        row: row.clone(),
        report: None,
        sources_ok: Some(ok),
    };
    assert_eq!(output(3).checked_raw(3).status, Status::Ok);
    let differs = output(2).checked_raw(3);
    assert_eq!(differs.status, Status::Differs);
    assert!(
        differs
            .note
            .contains("2 sources answered, the reference says 3")
    );
}
