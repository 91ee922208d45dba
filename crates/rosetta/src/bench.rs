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
//! its own (see [`crate::measure`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rosetta_feeds::{Config, FeedServer};
use rosetta_pipeline::model;
use rosetta_pipeline::transport::{Feeds, Transport};
use rosetta_pipeline::{RunOptions, Scenario};
use serde::{Deserialize, Serialize};

use crate::measure::{self, Status};
use crate::styles::Style;
use crate::svg::Svg;
use crate::table::{self, Table, figure};

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
    /// On `tcp`, every run fetches from one feed server in *this* process (the measuring
    /// children hold only the clients' sockets, and their figures only the clients' work), and
    /// each size also gets a row of the raw baseline ([`crate::raw`]).
    pub tcp: bool,
}

/// The raw baseline's name in the rows.
pub const RAW: &str = "raw hyper";

/// One style at one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchRow {
    /// Number of sources.
    pub sources: usize,
    /// Attempts in flight at most.
    pub concurrency: usize,
    /// Style name.
    pub style: String,
    /// How the measurement went.
    pub status: Status,
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
    pub fn marked(mut self, status: Status, note: impl Into<String>) -> Self {
        self.status = status;
        self.note = note.into();
        self
    }

    /// Fills in what a run measured: its wall time (and so its ratio to the ideal), the peak
    /// of attempts in flight, the threads, and the memory (per source: `self.sources`).
    fn record(
        &mut self,
        wall: Duration,
        peak_in_flight: usize,
        threads: usize,
        memory: Option<measure::PeakMemory>,
    ) {
        self.wall_ms = wall.as_secs_f64() * 1000.0;
        self.ratio = if self.ideal_ms > 0.0 {
            self.wall_ms / self.ideal_ms
        } else {
            0.0
        };
        self.peak_in_flight = peak_in_flight;
        self.threads = threads;
        if let Some(memory) = memory {
            self.peak_rss_mib = Some(memory.peak_mib());
            self.kib_per_source = Some(memory.grown_kib as f64 / self.sources.max(1) as f64);
        }
    }

    /// A row with its ideal time and nothing measured yet.
    pub fn new(sources: usize, concurrency: usize, style: &str, ideal_ms: f64) -> Self {
        BenchRow {
            sources,
            concurrency,
            style: style.to_string(),
            status: Status::Ok,
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
    cannot_hold_within(style, scenario, measure::threads_allowed()?)
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

/// Why a program in another language cannot keep up with `scenario` at `time_scale`, if it
/// cannot (see [`rosetta_other_languages::Program::cannot_keep_up`]).
pub fn cannot_keep_up(style: &Style, scenario: &Scenario, time_scale: f64) -> Option<String> {
    let in_flight = scenario.settings.concurrency.min(scenario.sources.len());
    let timeout = RunOptions::with_time_scale(time_scale).scaled(scenario.settings.timeout_ms);
    style
        .program?
        .cannot_keep_up(in_flight, timeout.as_secs_f64() * 1000.0)
}

/// One measurement, in this process: what `rosetta bench-one` runs and prints.
pub fn measure(style: &Style, scenario: &Scenario, opts: &RunOptions) -> ChildOutput {
    let ideal_ms = style.ideal_ms(&model::ideal(scenario));
    let mut row = BenchRow::new(
        scenario.sources.len(),
        scenario.settings.concurrency,
        style.name,
        opts.scaled(ideal_ms).as_secs_f64() * 1000.0,
    );
    let (outcome, memory) = measure::peak_memory(|| style.run_traced(scenario, opts));
    let summary = &outcome.summary;
    match outcome.child_peak_kib {
        // A program in another language: the memory is its interpreter's, a whole process with
        // its start-up, which cannot be divided into a figure per source.
        Some(kib) => {
            row.record(summary.wall, summary.peak_attempts, summary.threads, None);
            row.peak_rss_mib = Some(kib as f64 / 1024.0);
        }
        None => row.record(summary.wall, summary.peak_attempts, summary.threads, memory),
    }
    match outcome.report {
        Ok(report) => ChildOutput {
            row,
            report: Some(report.to_string()),
            sources_ok: None,
        },
        Err(error) => ChildOutput {
            row: row.marked(Status::Failed, error.to_string()),
            report: None,
            sources_ok: None,
        },
    }
}

/// What `rosetta bench-one` prints: one row and the report, as one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildOutput {
    /// The measurement.
    pub row: BenchRow,
    /// The report's text, to compare with the reference's.
    pub report: Option<String>,
    /// For the raw baseline, which makes no report: the sources whose feed answered, to
    /// compare with the reference's `sources_ok`.
    #[serde(default)]
    pub sources_ok: Option<usize>,
}

/// The raw baseline's measurement, in this process: what `rosetta bench-one --raw` runs.
pub fn measure_raw(scenario: &Scenario, feeds: Feeds, time_scale: f64) -> ChildOutput {
    let ideal = model::ideal(scenario);
    let opts = RunOptions::with_time_scale(time_scale);
    let mut row = BenchRow::new(
        scenario.sources.len(),
        scenario.settings.concurrency,
        RAW,
        opts.scaled(ideal.fetch_ms).as_secs_f64() * 1000.0,
    );
    let (run, memory) = measure::peak_memory(|| crate::raw::fetch_all(scenario, feeds, time_scale));
    let run = match run {
        Ok(run) => run,
        Err(error) => {
            return ChildOutput {
                row: row.marked(Status::Failed, error.to_string()),
                report: None,
                sources_ok: None,
            };
        }
    };
    row.record(run.wall, run.peak_in_flight, run.threads, memory);
    row.note =
        "fetches only: hyper's client on tokio, buffer_unordered; ideal = the fetches' own".into();
    ChildOutput {
        row,
        report: None,
        sources_ok: Some(run.sources_ok),
    }
}

impl ChildOutput {
    /// `rosetta bench-one ARGS`, in a child process of `exe`. A child that cannot run or
    /// report gives `unmeasured`, marked `failed` with the reason.
    pub fn in_child(exe: &Path, args: &[String], unmeasured: BenchRow) -> Self {
        let args: Vec<String> = ["bench-one".to_string()]
            .into_iter()
            .chain(args.iter().cloned())
            .collect();
        measure::in_child(exe, &args).unwrap_or_else(|error| ChildOutput {
            row: unmeasured.marked(Status::Failed, format!("{error:#}")),
            report: None,
            sources_ok: None,
        })
    }

    /// The row, marked `differs` (saying `why`) if it was measured but its report is not
    /// `expected`, the reference's.
    pub fn checked(self, expected: &str, why: impl FnOnce() -> String) -> BenchRow {
        if self.row.status == Status::Ok && self.report.as_deref() != Some(expected) {
            self.row.marked(Status::Differs, why())
        } else {
            self.row
        }
    }

    /// The raw baseline's row, marked `differs` if a different number of sources answered
    /// than the reference's `sources_ok`: the baseline fetched something else.
    pub fn checked_raw(self, expected_ok: usize) -> BenchRow {
        match self.sources_ok {
            Some(ok) if self.row.status == Status::Ok && ok != expected_ok => self.row.marked(
                Status::Differs,
                format!("{ok} sources answered, the reference says {expected_ok}"),
            ),
            _ => self.row,
        }
    }
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
) -> anyhow::Result<Vec<BenchRow>> {
    let opts = RunOptions::with_time_scale(spec.time_scale);
    let server = if spec.tcp {
        Some(FeedServer::start(Config::default()).context("cannot start a feed server")?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for &size in &spec.sizes {
        let scenario = scenario(size, spec.seed, spec.concurrency);
        let shared = Arc::new(scenario.clone());
        let ideal = model::ideal(&scenario);
        // The expected report, computed without waiting (the reference at time scale 0).
        let expected_report = rosetta_conformance::expected_report(&scenario);
        let expected = expected_report.to_string();
        // A run of its own on the server for each measurement, forgotten once measured.
        let host = || {
            server
                .as_ref()
                .map(|server| server.host(Arc::clone(&shared), spec.time_scale))
        };
        let retire = |feeds: Option<Feeds>| {
            if let (Some(server), Some(feeds)) = (&server, feeds) {
                server.retire(feeds);
            }
        };
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
                    .or_else(|| cannot_keep_up(style, &scenario, spec.time_scale))
            };
            let row = if let Some(reason) = skip {
                unmeasured.marked(Status::Skipped, reason)
            } else {
                let feeds = host();
                let measured = match &spec.child {
                    Some(exe) => {
                        let args = child_args(Some(style.name), size, spec, feeds);
                        ChildOutput::in_child(exe, &args, unmeasured)
                    }
                    None => {
                        let opts = feeds.map_or(opts, |feeds| opts.on(Transport::Tcp(feeds)));
                        measure(style, &scenario, &opts)
                    }
                };
                retire(feeds);
                measured.checked(&expected, || {
                    let command = reproduce_command(style, &scenario, spec);
                    format!("report differs from the reference; see the diff: {command}")
                })
            };
            progress(&row);
            rows.push(row);
        }
        // The raw baseline, on tcp: the same fetches from the same server, without the toolkit.
        if let Some(feeds) = host() {
            let measured = match &spec.child {
                Some(exe) => {
                    let args = child_args(None, size, spec, Some(feeds));
                    let fetch_ideal = opts.scaled(ideal.fetch_ms).as_secs_f64() * 1000.0;
                    let unmeasured =
                        BenchRow::new(size, scenario.settings.concurrency, RAW, fetch_ideal);
                    ChildOutput::in_child(exe, &args, unmeasured)
                }
                None => measure_raw(&scenario, feeds, spec.time_scale),
            };
            retire(Some(feeds));
            let row = measured.checked_raw(expected_report.sources_ok);
            progress(&row);
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The arguments of `rosetta bench-one` for one measurement: `style` (`None`: the raw baseline)
/// on the generated scenario of `size` sources, fetching from `feeds` on tcp.
fn child_args(
    style: Option<&str>,
    size: usize,
    spec: &BenchSpec,
    feeds: Option<Feeds>,
) -> Vec<String> {
    let mut args = match style {
        Some(style) => vec![style.to_string()],
        None => vec!["--raw".to_string()],
    };
    args.extend(["--sources".into(), size.to_string()]);
    args.extend(["--seed".into(), spec.seed.to_string()]);
    args.extend(["--time-scale".into(), spec.time_scale.to_string()]);
    if let Some(concurrency) = spec.concurrency {
        args.extend(["--concurrency".into(), concurrency.to_string()]);
    }
    if let Some(feeds) = feeds {
        args.extend(["--feeds-addr".into(), feeds.addr.to_string()]);
        args.extend(["--feeds-run".into(), feeds.run.to_string()]);
    }
    args
}

impl Table for BenchRow {
    const COLUMNS: &'static [table::Column] = &[
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
    const HEADER: &'static [&'static str] = &[
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
    ];

    fn cells(&self) -> Vec<String> {
        // A skipped row has only its ideal time; every measured figure shows as `-`.
        let measured = |text: String| match self.status {
            Status::Skipped => "-".to_string(),
            _ => text,
        };
        vec![
            self.sources.to_string(),
            self.concurrency.to_string(),
            self.style.to_string(),
            measured(format!("{:.1}", self.wall_ms)),
            format!("{:.1}", self.ideal_ms),
            measured(format!("{:.3}", self.ratio)),
            measured(self.peak_in_flight.to_string()),
            measured(self.threads.to_string()),
            figure(self.peak_rss_mib, 1),
            figure(self.kib_per_source, 1),
            self.status.with_note(&self.note),
        ]
    }
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
    let measured: Vec<&BenchRow> = rows
        .iter()
        .filter(|row| row.status == Status::Ok && row.ratio > 0.0)
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
    let mut svg = Svg::new(800, 400, "sans-serif", 12);
    svg.text(
        format_args!(r#"x="{left}" y="18" font-size="14""#),
        "Wall time / ideal time, by number of sources",
    );
    for step in 0..=4 {
        let ratio = 1.0 + (max_ratio - 1.0) * f64::from(step) / 4.0;
        let y = y_of(ratio);
        svg.shape(
            "line",
            format_args!(
                r##"x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd""##,
                left + width
            ),
        );
        svg.text(
            format_args!(
                r#"x="{:.1}" y="{:.1}" text-anchor="end""#,
                left - 6.0,
                y + 4.0
            ),
            format_args!("{ratio:.2}"),
        );
    }
    let mut seen = Vec::new();
    for row in &measured {
        if !seen.contains(&row.sources) {
            seen.push(row.sources);
            let x = x_of(row.sources as f64);
            let y = top + height + 18.0;
            svg.text(
                format_args!(r#"x="{x:.1}" y="{y:.1}" text-anchor="middle""#),
                row.sources,
            );
        }
    }
    for (index, style) in styles.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let points: Vec<(f64, f64)> = measured
            .iter()
            .filter(|row| row.style == *style)
            .map(|row| (x_of(row.sources as f64), y_of(row.ratio)))
            .collect();
        let line: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        svg.shape(
            "polyline",
            format_args!(
                r#"points="{}" fill="none" stroke="{colour}" stroke-width="2""#,
                line.join(" ")
            ),
        );
        for (x, y) in &points {
            svg.shape(
                "circle",
                format_args!(r#"cx="{x:.1}" cy="{y:.1}" r="3" fill="{colour}""#),
            );
        }
        let (legend_x, legend_y) = (left + width + 16.0, top + 14.0 + 16.0 * index as f64);
        svg.shape(
            "rect",
            format_args!(
                r#"x="{legend_x:.1}" y="{:.1}" width="12" height="4" fill="{colour}""#,
                legend_y - 4.0
            ),
        );
        svg.text(
            format_args!(r#"x="{:.1}" y="{legend_y:.1}""#, legend_x + 18.0),
            style,
        );
    }
    svg.text(
        format_args!(r##"x="{left}" y="{:.1}" fill="#333""##, top + height + 40.0),
        caption,
    );
    svg.finish()
}
