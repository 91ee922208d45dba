//! `rosetta bench`: scale runs of the generated scenario against the model's ideal time.
//!
//! A benchmark, not a test: it prints figures (wall time, the model's ideal, their ratio, peak
//! attempts in flight, threads) and checks that every report still equals the reference's, but it
//! asserts nothing about speed. The figures go into the book's performance chapter with the
//! command that produced them.

use std::time::Duration;

use rosetta_pipeline::model;
use rosetta_pipeline::{RunOptions, Scenario, Trace};
use serde::Serialize;

use crate::styles::Style;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchSpec {
    /// Numbers of sources, one scale run each.
    pub sizes: Vec<usize>,
    /// Seed of the generated scenarios.
    pub seed: u64,
    /// Attempts in flight at most (the generator's default is 100).
    pub concurrency: usize,
    /// Time scale of every run.
    pub time_scale: f64,
    /// A style whose *ideal* time for a size exceeds this budget is skipped (and says so).
    pub budget: Duration,
}

/// One style at one size.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Number of sources.
    pub sources: usize,
    /// Style name.
    pub style: &'static str,
    /// `ok`, `differs`, `failed` or `skipped`.
    pub status: &'static str,
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
        let mut scenario = Scenario::generate(size, spec.seed);
        scenario.settings.concurrency = spec.concurrency.max(1);
        let ideal = model::ideal(&scenario);
        // The expected report, computed without waiting (the reference at time scale 0).
        let expected = rosetta_pipeline::reference::run(
            &scenario,
            &RunOptions::with_time_scale(0.0),
            &Trace::new(),
        )
        .map(|report| report.to_string())
        .ok();
        for style in styles {
            // The reference waits for everything in turn; compare it with the sequential time.
            let sequential = style.name == crate::styles::reference().name;
            let ideal_ms = if sequential {
                ideal.sequential_ms
            } else {
                ideal.total_ms
            };
            let ideal_wall = opts.scaled(ideal_ms);
            let mut row = BenchRow {
                sources: size,
                style: style.name,
                status: "ok",
                note: String::new(),
                wall_ms: 0.0,
                ideal_ms: ideal_wall.as_secs_f64() * 1000.0,
                ratio: 0.0,
                peak_in_flight: 0,
                threads: 0,
            };
            if ideal_wall > spec.budget {
                row.status = "skipped";
                row.note = format!(
                    "its ideal time alone is {:.1} s, over the {} s budget (raise --budget)",
                    ideal_wall.as_secs_f64(),
                    spec.budget.as_secs()
                );
            } else {
                let outcome = style.run_traced(&scenario, &opts);
                row.wall_ms = outcome.summary.wall.as_secs_f64() * 1000.0;
                row.ratio = if row.ideal_ms > 0.0 {
                    row.wall_ms / row.ideal_ms
                } else {
                    0.0
                };
                row.peak_in_flight = outcome.summary.peak_attempts;
                row.threads = outcome.summary.threads;
                match (&outcome.report, &expected) {
                    (Err(error), _) => {
                        row.status = "failed";
                        row.note = error.to_string();
                    }
                    (Ok(report), Some(expected)) if report.to_string() != *expected => {
                        row.status = "differs";
                        row.note = "report differs from the reference (run `rosetta compare` on this scenario)".into();
                    }
                    _ => {}
                }
            }
            progress(&row);
            rows.push(row);
        }
    }
    rows
}

/// The rows as a table.
pub fn render_table(rows: &[BenchRow]) -> String {
    let mut out = format!(
        "{:>8}  {:14}  {:>10}  {:>10}  {:>6}  {:>9}  {:>7}  status\n",
        "sources", "style", "wall ms", "ideal ms", "ratio", "in flight", "threads"
    );
    for row in rows {
        out.push_str(&render_row(row));
        out.push('\n');
    }
    out
}

/// One row of the table.
pub fn render_row(row: &BenchRow) -> String {
    let status = if row.note.is_empty() {
        row.status.to_string()
    } else {
        format!("{}: {}", row.status, row.note)
    };
    if row.status == "skipped" {
        return format!(
            "{:>8}  {:14}  {:>10}  {:>10.1}  {:>6}  {:>9}  {:>7}  {status}",
            row.sources, row.style, "-", row.ideal_ms, "-", "-", "-"
        );
    }
    format!(
        "{:>8}  {:14}  {:>10.1}  {:>10.1}  {:>6.3}  {:>9}  {:>7}  {status}",
        row.sources,
        row.style,
        row.wall_ms,
        row.ideal_ms,
        row.ratio,
        row.peak_in_flight,
        row.threads
    )
}
