//! `rosetta bench`: scale runs of the generated scenario against the model's ideal time.
//!
//! A benchmark, not a test: it prints figures (wall time, the model's ideal, their ratio, peak
//! attempts in flight, threads, peak memory) and checks that every report still equals the
//! reference's, but it asserts nothing about speed. The figures go into the book's performance
//! chapter with the command that produced them.
//!
//! Two kinds of run:
//!
//! - **scale** (the default): N sources with at most `concurrency` (100) in flight. A concurrent
//!   style should take the model's ideal time; the ratio says how close it comes.
//! - **tasks** (`--tasks`): every source in flight at once (`concurrency = N`), so a style must
//!   hold N sleeping fetches at the same moment: N tasks, N callbacks, N state machines, or N
//!   threads. The memory per source is the figure to watch.
//!
//! Each run happens in a child process (`rosetta bench-one`, hidden), so that its peak memory is
//! its own: a process's high-water mark never goes down, and the second style measured in one
//! process would inherit the first one's.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use rosetta_pipeline::model;
use rosetta_pipeline::{RunOptions, Scenario};
use serde::{Deserialize, Serialize};

use crate::styles::Style;
use crate::table;
use crate::view::xml_escape;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Numbers of sources, one scale run each.
    pub sizes: Vec<usize>,
    /// Seed of the generated scenarios.
    pub seed: u64,
    /// Attempts in flight at most; `None`: as many as there are sources (a task-scale run).
    pub concurrency: Option<usize>,
    /// Time scale of every run.
    pub time_scale: f64,
    /// A style whose *ideal* time for a size exceeds this budget is skipped (and says so).
    pub budget: Duration,
    /// The `rosetta` executable to run each measurement in, as `rosetta bench-one`; `None` runs
    /// in this process (no memory figures).
    pub child: Option<PathBuf>,
}

/// One style at one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    /// Number of sources.
    pub sources: usize,
    /// Attempts in flight at most.
    pub concurrency: usize,
    /// Style name.
    pub style: String,
    /// `ok`, `differs`, `failed` or `skipped`.
    pub status: String,
    /// Why it was skipped or failed, or empty.
    pub note: String,
    /// Wall time in milliseconds.
    pub wall_ms: f64,
    /// The model's ideal for a concurrent style (the sequential time for the reference), in ms.
    pub ideal_ms: f64,
    /// `wall_ms / ideal_ms`.
    pub ratio: f64,
    /// Peak fetch attempts in flight.
    pub peak_in_flight: usize,
    /// Threads that recorded events.
    pub threads: usize,
    /// Peak resident memory of the measuring process, in MiB (Linux only).
    pub peak_rss_mib: Option<f64>,
    /// Peak resident memory above what the process held before the run, per source, in KiB.
    /// Includes the trace (about a dozen events per source, the same for every style).
    pub kib_per_source: Option<f64>,
}

impl BenchRow {
    /// The row with another status and its reason.
    pub(crate) fn marked(mut self, status: &str, note: impl Into<String>) -> Self {
        self.status = status.to_string();
        self.note = note.into();
        self
    }

    pub(crate) fn new(sources: usize, concurrency: usize, style: &str, ideal_ms: f64) -> Self {
        BenchRow {
            sources,
            concurrency,
            style: style.to_string(),
            status: "ok".into(),
            note: String::new(),
            wall_ms: 0.0,
            ideal_ms,
            ratio: 0.0,
            peak_in_flight: 0,
            threads: 0,
            peak_rss_mib: None,
            kib_per_source: None,
        }
    }
}

/// The scenario of one scale run.
pub fn scenario(sources: usize, seed: u64, concurrency: Option<usize>) -> Scenario {
    let mut scenario = Scenario::generate(sources, seed);
    scenario.settings.concurrency = concurrency.unwrap_or(sources).max(1);
    scenario
}

/// Why `style` cannot hold `scenario` on this machine, if it cannot.
///
/// Only the threads style has a hard limit: it keeps about two OS threads per attempt in flight
/// (the fetch thread and the simulated network), and the kernel caps the number of threads.
pub fn cannot_hold(style: &Style, scenario: &Scenario) -> Option<String> {
    cannot_hold_within(style, scenario, threads_allowed()?)
}

/// [`cannot_hold`], for a machine that allows `limit` threads in all. Half of it is left for
/// everything else the machine runs.
pub fn cannot_hold_within(style: &Style, scenario: &Scenario, limit: usize) -> Option<String> {
    if style.name != "threads" {
        return None;
    }
    let in_flight = scenario.settings.concurrency.min(scenario.sources.len());
    let needed = 2 * in_flight + scenario.settings.workers + 100;
    (needed > limit / 2).then(|| {
        format!(
            "it would start about {needed} OS threads at once (two per attempt in flight), and this \
             machine allows {limit} in all; that is the limit async tasks do not have"
        )
    })
}

/// The smaller of the kernel's `threads-max` and this user's process limit (Linux only).
pub fn threads_allowed() -> Option<usize> {
    let threads_max: usize = std::fs::read_to_string("/proc/sys/kernel/threads-max")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let processes = limits
        .lines()
        .find(|line| line.starts_with("Max processes"))
        .and_then(|line| line.split_whitespace().nth(2))
        .and_then(|soft| soft.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    Some(threads_max.min(processes))
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); `None` off Linux.
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One measurement, in this process: what `rosetta bench-one` runs and prints. Returns the row
/// and the report's text.
pub fn measure(
    style: &Style,
    scenario: &Scenario,
    opts: &RunOptions,
) -> (BenchRow, Option<String>) {
    let ideal_ms = style.ideal_ms(&model::ideal(scenario));
    let mut row = BenchRow::new(
        scenario.sources.len(),
        scenario.settings.concurrency,
        style.name,
        opts.scaled(ideal_ms).as_secs_f64() * 1000.0,
    );
    let baseline = status_kib("VmRSS");
    let outcome = style.run_traced(scenario, opts);
    row.wall_ms = outcome.summary.wall.as_secs_f64() * 1000.0;
    row.ratio = if row.ideal_ms > 0.0 {
        row.wall_ms / row.ideal_ms
    } else {
        0.0
    };
    row.peak_in_flight = outcome.summary.peak_attempts;
    row.threads = outcome.summary.threads;
    if let (Some(baseline), Some(peak)) = (baseline, status_kib("VmHWM")) {
        row.peak_rss_mib = Some(peak as f64 / 1024.0);
        row.kib_per_source =
            Some(peak.saturating_sub(baseline) as f64 / scenario.sources.len().max(1) as f64);
    }
    match outcome.report {
        Ok(report) => (row, Some(report.to_string())),
        Err(error) => (row.marked("failed", error.to_string()), None),
    }
}

/// What `rosetta bench-one` prints: one row and the report, as one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildOutput {
    /// The measurement.
    pub row: BenchRow,
    /// The report's text, to compare with the reference's.
    pub report: Option<String>,
}

fn measure_in_child(
    exe: &PathBuf,
    style: &Style,
    spec: &BenchSpec,
    sources: usize,
) -> anyhow::Result<ChildOutput> {
    let mut command = Command::new(exe);
    command.args([
        "bench-one",
        style.name,
        "--sources",
        &sources.to_string(),
        "--seed",
        &spec.seed.to_string(),
    ]);
    command.args(["--time-scale", &spec.time_scale.to_string()]);
    if let Some(concurrency) = spec.concurrency {
        command.args(["--concurrency", &concurrency.to_string()]);
    }
    run_measuring_child(command)
}

/// Runs a measuring child process (`rosetta bench-one`, `bench-sleepers-one`) and reads the one
/// JSON value it prints. Every kind of bench measures this way, so that a process's peak memory
/// is its own run's.
pub fn run_measuring_child<T: serde::de::DeserializeOwned>(
    mut command: Command,
) -> anyhow::Result<T> {
    let output = command
        .output()
        .with_context(|| format!("cannot run {}", command.get_program().to_string_lossy()))?;
    if !output.status.success() {
        bail!(
            "the measuring process failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("the measuring process printed no result")
}

/// The command that shows why `style`'s report differed on `scenario` (one size of `spec`):
/// `rosetta compare` on the same generated scenario, running only that style, at the bench's
/// time scale.
///
/// `compare` runs the reference too, but an unlisted reference runs at time scale 0 (logical
/// time: it decides each attempt from the specification and never waits), so the command takes
/// the style's time only, not the sequential minutes a large scenario would cost. The
/// concurrency is given only when it is not the generated scenario's own; a task-scale run
/// (every source in flight) always gives it.
pub fn reproduce_command(style: &Style, scenario: &Scenario, spec: &BenchSpec) -> String {
    let sources = scenario.sources.len();
    let mut command = format!("rosetta compare --sources {sources} --seed {}", spec.seed);
    let generated = Scenario::generate(0, spec.seed).settings.concurrency;
    if scenario.settings.concurrency != generated {
        command.push_str(&format!(" --concurrency {}", scenario.settings.concurrency));
    }
    command.push_str(&format!(
        " --time-scale {} --style {}",
        spec.time_scale, style.name
    ));
    command
}

/// Runs every style in `styles` at every size, calling `progress` after each run.
pub fn run(
    spec: &BenchSpec,
    styles: &[&'static Style],
    mut progress: impl FnMut(&BenchRow),
) -> Vec<BenchRow> {
    let opts = RunOptions::with_time_scale(spec.time_scale);
    let mut rows = Vec::new();
    for &size in &spec.sizes {
        let scenario = scenario(size, spec.seed, spec.concurrency);
        let ideal = model::ideal(&scenario);
        // The expected report, computed without waiting (the reference at time scale 0).
        let expected = Some(rosetta_conformance::expected_report(&scenario).to_string());
        for style in styles {
            let ideal_wall = opts.scaled(style.ideal_ms(&ideal));
            let unmeasured = BenchRow::new(
                size,
                scenario.settings.concurrency,
                style.name,
                ideal_wall.as_secs_f64() * 1000.0,
            );
            let skip = if ideal_wall > spec.budget {
                Some(format!(
                    "its ideal time alone is {:.1} s, over the {} s budget (raise --budget)",
                    ideal_wall.as_secs_f64(),
                    spec.budget.as_secs()
                ))
            } else {
                cannot_hold(style, &scenario)
            };
            let row = if let Some(reason) = skip {
                unmeasured.marked("skipped", reason)
            } else {
                let (row, report) = match &spec.child {
                    Some(exe) => match measure_in_child(exe, style, spec, size) {
                        Ok(child) => (child.row, child.report),
                        Err(error) => (unmeasured.marked("failed", format!("{error:#}")), None),
                    },
                    None => measure(style, &scenario, &opts),
                };
                if row.status == "ok" && report != expected {
                    let command = reproduce_command(style, &scenario, spec);
                    row.marked(
                        "differs",
                        format!("report differs from the reference; see the diff: {command}"),
                    )
                } else {
                    row
                }
            };
            progress(&row);
            rows.push(row);
        }
    }
    rows
}

/// The table's columns; the status after them takes what room it needs.
const COLUMNS: [table::Column; 10] = [
    table::right(7),
    table::right(7),
    table::left(14),
    table::right(9),
    table::right(9),
    table::right(6),
    table::right(9),
    table::right(7),
    table::right(8),
    table::right(8),
];

/// The header of the table.
pub fn render_header() -> String {
    table::line(
        &COLUMNS,
        &[
            "sources",
            "conc.",
            "style",
            "wall ms",
            "ideal ms",
            "ratio",
            "in flight",
            "threads",
            "peak MiB",
            "KiB/src",
            "status",
        ],
    )
}

/// One row of the table.
pub fn render_row(row: &BenchRow) -> String {
    let status = if row.note.is_empty() {
        row.status.clone()
    } else {
        format!("{}: {}", row.status, row.note)
    };
    let optional =
        |value: Option<f64>| value.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
    // A skipped row has only its ideal time; every measured figure shows as `-`.
    let measured = row.status != "skipped";
    let figure = |text: String| if measured { text } else { "-".to_string() };
    table::line(
        &COLUMNS,
        &[
            row.sources.to_string(),
            row.concurrency.to_string(),
            row.style.to_string(),
            figure(format!("{:.1}", row.wall_ms)),
            format!("{:.1}", row.ideal_ms),
            figure(format!("{:.3}", row.ratio)),
            figure(row.peak_in_flight.to_string()),
            figure(row.threads.to_string()),
            optional(row.peak_rss_mib),
            optional(row.kib_per_source),
            status,
        ],
    )
}

/// The rows as CSV, with a header line.
pub fn render_csv(rows: &[BenchRow]) -> String {
    let mut out = String::from(
        "sources,concurrency,style,status,wall_ms,ideal_ms,ratio,peak_in_flight,threads,peak_rss_mib,kib_per_source,note\n",
    );
    let optional = |value: Option<f64>| value.map_or_else(String::new, |v| format!("{v:.1}"));
    for row in rows {
        out.push_str(&format!(
            "{},{},{},{},{:.1},{:.1},{:.4},{},{},{},{},\"{}\"\n",
            row.sources,
            row.concurrency,
            row.style,
            row.status,
            row.wall_ms,
            row.ideal_ms,
            row.ratio,
            row.peak_in_flight,
            row.threads,
            optional(row.peak_rss_mib),
            optional(row.kib_per_source),
            row.note.replace('"', "\"\"")
        ));
    }
    out
}

/// Ratio to the ideal against the number of sources, one line per style, as a standalone SVG.
pub fn render_svg(rows: &[BenchRow], caption: &str) -> String {
    use std::fmt::Write as _;
    let measured: Vec<&BenchRow> = rows
        .iter()
        .filter(|row| row.status == "ok" && row.ratio > 0.0)
        .collect();
    let mut styles: Vec<&str> = Vec::new();
    for row in &measured {
        if !styles.contains(&row.style.as_str()) {
            styles.push(&row.style);
        }
    }
    let (left, top, width, height) = (60.0, 30.0, 560.0, 300.0);
    let sizes: Vec<f64> = measured.iter().map(|row| row.sources as f64).collect();
    let (min_n, max_n) = sizes
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &n| (lo.min(n), hi.max(n)));
    let max_ratio = measured
        .iter()
        .map(|row| row.ratio)
        .fold(1.0f64, f64::max)
        .clamp(1.2, 20.0);
    let x_of = |n: f64| {
        if max_n <= min_n {
            left + width / 2.0
        } else {
            left + (n.log10() - min_n.log10()) / (max_n.log10() - min_n.log10()) * width
        }
    };
    let y_of =
        |ratio: f64| top + height - (ratio.min(max_ratio) - 1.0) / (max_ratio - 1.0) * height;
    const COLOURS: [&str; 8] = [
        "#444", "#c62828", "#2e7d32", "#1565c0", "#6a1b9a", "#ef6c00", "#00838f", "#8d6e63",
    ];
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="800" height="400" viewBox="0 0 800 400" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{left}" y="18" font-size="14">Wall time / ideal time, by number of sources</text>"#
    );
    for step in 0..=4 {
        let ratio = 1.0 + (max_ratio - 1.0) * f64::from(step) / 4.0;
        let y = y_of(ratio);
        let _ = writeln!(
            out,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            left + width
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{ratio:.2}</text>"#,
            left - 6.0,
            y + 4.0
        );
    }
    let mut seen = Vec::new();
    for row in &measured {
        if !seen.contains(&row.sources) {
            seen.push(row.sources);
            let x = x_of(row.sources as f64);
            let _ = writeln!(
                out,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                top + height + 18.0,
                row.sources
            );
        }
    }
    for (index, style) in styles.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let points: Vec<String> = measured
            .iter()
            .filter(|row| row.style == *style)
            .map(|row| format!("{:.1},{:.1}", x_of(row.sources as f64), y_of(row.ratio)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            points.join(" ")
        );
        for point in &points {
            let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(out, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#);
        }
        let legend_y = top + 14.0 + 16.0 * index as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="12" height="4" fill="{colour}"/>"#,
            left + width + 16.0,
            legend_y - 4.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{legend_y:.1}">{style}</text>"#,
            left + width + 34.0
        );
    }
    let _ = writeln!(
        out,
        r##"<text x="{left}" y="{:.1}" fill="#333">{}</text>"##,
        top + height + 40.0,
        xml_escape(caption)
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::styles;

    #[test]
    fn only_the_threads_style_is_limited_by_the_thread_limit() {
        let scenario = scenario(500, 1, None); // every source in flight at once
        let threads = styles::find("threads").unwrap();
        let reason = cannot_hold_within(threads, &scenario, 1_000).expect("1,100 threads > 500");
        assert!(
            reason.contains("about 1104 OS threads") && reason.contains("allows 1000"),
            "{reason}"
        );
        assert_eq!(cannot_hold_within(threads, &scenario, 100_000), None);
        for style in styles::ALL.iter().filter(|style| style.name != "threads") {
            assert_eq!(
                cannot_hold_within(style, &scenario, 1_000),
                None,
                "{}",
                style.name
            );
        }
    }

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
    };

    #[test]
    fn a_differing_row_says_which_command_shows_the_difference() {
        // Logical time is enough for the broken style (the reference waits for nothing).
        let spec = |concurrency| BenchSpec {
            sizes: vec![20],
            seed: 7,
            concurrency,
            time_scale: 0.001,
            budget: Duration::from_secs(60),
            child: None,
        };
        let rows = run(&spec(Some(100)), &[&FORGETFUL, styles::reference()], |_| {});
        assert_eq!(rows[0].status, "differs");
        assert_eq!(rows[1].status, "ok", "the reference agrees with itself");
        // The generated scenario already has concurrency 100: `compare` gets the very same one,
        // runs only the style at the bench's time scale, and the reference at time scale 0.
        assert!(
            rows[0].note.contains(
                "rosetta compare --sources 20 --seed 7 --time-scale 0.001 --style forgetful"
            ),
            "{}",
            rows[0].note
        );
        assert!(!rows[0].note.contains("--concurrency"), "{}", rows[0].note);
        // A task-scale run (every source in flight) needs the concurrency said.
        let rows = run(&spec(None), &[&FORGETFUL], |_| {});
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
    fn csv_and_svg_carry_every_measured_row() {
        let mut row = BenchRow::new(100, 100, "smol", 120.0);
        row.wall_ms = 126.0;
        row.ratio = 1.05;
        row.note = "a \"quoted\" note".into();
        let mut other = row.clone();
        other.sources = 1000;
        let csv = render_csv(&[row.clone(), other.clone()]);
        assert_eq!(csv.lines().count(), 3);
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("100,100,smol,ok,126.0,120.0,1.0500,")
        );
        assert!(csv.contains("\"a \"\"quoted\"\" note\""), "{csv}");
        let svg = render_svg(&[row, other], "made by a test");
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("made by a test"));
    }
}
