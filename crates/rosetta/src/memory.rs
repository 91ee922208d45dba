//! `rosetta bench --scenario FILE`: each style's peak memory on one scenario, against its size.
//!
//! The scale runs of [`crate::bench`] grow the number of sources; this grows the other way: one
//! scenario, usually one huge body (a feed of millions of lines), and the question is what a
//! style holds *per record*. The answer should be nothing: a style that keeps a task, a future,
//! a callback or a trace event per record needs memory in proportion to the feed, while one that
//! enriches in two passes (`rosetta_pipeline::enrich`) needs a queue's worth. The figure is the
//! peak resident memory over the scenario file's size.
//!
//! Every run happens in a process of its own (`rosetta bench-one --scenario FILE`), and the
//! first row is a process that only loads the scenario and computes its model: the floor every
//! style stands on, measured in the same run.

use std::path::Path;
use std::process::Command;

use rosetta_pipeline::model;

use crate::bench::{BenchRow, ChildOutput, measure, run_measuring_child, status_kib};
use crate::select;
use crate::styles::Style;
use crate::table;

/// The name the loading-only row goes by.
pub const LOAD_ONLY: &str = "(loading only)";

/// One row of the memory table.
#[derive(Debug, Clone)]
pub struct MemoryRow {
    /// The measurement.
    pub row: BenchRow,
    /// Peak resident memory over the scenario's size in bytes, when both are known.
    pub times_input: Option<f64>,
}

/// The size of the scenario called `name` in bytes: its file's, or a built-in's text.
pub fn input_bytes(name: &str) -> Option<u64> {
    match rosetta_pipeline::Scenario::builtin_text(name) {
        Some(text) => Some(text.len() as u64),
        None => std::fs::metadata(Path::new(name))
            .ok()
            .map(|meta| meta.len()),
    }
}

/// What `rosetta bench-one --scenario NAME --load-only` measures: the scenario loaded and its
/// model computed, and nothing run.
pub fn measure_loading(name: &str) -> anyhow::Result<BenchRow> {
    let scenario = select::scenario(Some(name), None, 0)?;
    let ideal = model::ideal(&scenario);
    let mut row = BenchRow::new(
        scenario.sources.len(),
        scenario.settings.concurrency,
        LOAD_ONLY,
        ideal.total_ms as f64,
    );
    row.peak_rss_mib = status_kib("VmHWM").map(|kib| kib as f64 / 1024.0);
    Ok(row)
}

/// Runs `rosetta bench-one` for `style` (or the loading-only process when `None`) on the
/// scenario `name`, in a child process of `exe`.
fn measure_in_child(
    exe: &Path,
    style: Option<&Style>,
    name: &str,
    time_scale: f64,
) -> anyhow::Result<ChildOutput> {
    let mut command = Command::new(exe);
    command.arg("bench-one");
    match style {
        Some(style) => command.arg(style.name),
        None => command.arg("--load-only"),
    };
    command.args(["--scenario", name, "--time-scale", &time_scale.to_string()]);
    run_measuring_child(command)
}

/// Measures loading `name`, then every style in `styles` on it, each in a child process of
/// `exe` (or in this process when `exe` is `None`, which gives no honest memory figures and is
/// for tests); checks every report against the reference's. Calls `progress` after each row.
pub fn run(
    exe: Option<&Path>,
    name: &str,
    styles: &[&'static Style],
    time_scale: f64,
    mut progress: impl FnMut(&MemoryRow),
) -> anyhow::Result<Vec<MemoryRow>> {
    let scenario = select::scenario(Some(name), None, 0)?;
    let opts = rosetta_pipeline::RunOptions::with_time_scale(time_scale);
    scenario.check_time_scale(time_scale, &select::origin(Some(name), None, 0))?;
    let expected = rosetta_conformance::expected_report(&scenario).to_string();
    let input = input_bytes(name);
    let times_input = |row: &BenchRow| match (row.peak_rss_mib, input) {
        (Some(peak), Some(bytes)) if bytes > 0 => Some(peak * 1024.0 * 1024.0 / bytes as f64),
        _ => None,
    };
    let mut rows = Vec::new();
    let mut keep = |row: BenchRow| {
        let row = MemoryRow {
            times_input: times_input(&row),
            row,
        };
        progress(&row);
        rows.push(row);
    };
    let loading = match exe {
        Some(exe) => measure_in_child(exe, None, name, time_scale).map(|child| child.row),
        None => measure_loading(name),
    };
    keep(loading.unwrap_or_else(|error| {
        BenchRow::new(0, 0, LOAD_ONLY, 0.0).marked("failed", format!("{error:#}"))
    }));
    for style in styles {
        let (row, report) = match exe {
            Some(exe) => match measure_in_child(exe, Some(style), name, time_scale) {
                Ok(child) => (child.row, child.report),
                Err(error) => (
                    BenchRow::new(0, 0, style.name, 0.0).marked("failed", format!("{error:#}")),
                    None,
                ),
            },
            None => measure(style, &scenario, &opts),
        };
        let row = if row.status == "ok" && report.as_deref() != Some(expected.as_str()) {
            row.marked("differs", "report differs from the reference's")
        } else {
            row
        };
        keep(row);
    }
    Ok(rows)
}

/// The table's columns; the status after them takes what room it needs.
const COLUMNS: [table::Column; 4] = [
    table::left(16),
    table::right(9),
    table::right(9),
    table::right(9),
];

/// The table's header.
pub fn render_header() -> String {
    table::line(
        &COLUMNS,
        &["style", "wall ms", "peak MiB", "× input", "status"],
    )
}

/// One line of the table.
pub fn render_row(row: &MemoryRow) -> String {
    let figure = |value: Option<f64>, decimals: usize| {
        value.map_or_else(|| "-".to_string(), |value| format!("{value:.decimals$}"))
    };
    let measured = row.row.status == "ok" || row.row.status == "differs";
    let wall = (measured && row.row.style != LOAD_ONLY).then_some(row.row.wall_ms);
    let mut line = table::line(
        &COLUMNS,
        &[
            row.row.style.to_string(),
            figure(wall, 1),
            figure(row.row.peak_rss_mib, 1),
            figure(row.times_input, 1),
            row.row.status.to_string(),
        ],
    );
    if !row.row.note.is_empty() {
        line.push_str(&format!(" ({})", row.row.note));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_show_dashes_for_what_was_not_measured() {
        let failed = MemoryRow {
            row: BenchRow::new(1, 1, "tokio", 0.0).marked("failed", "no luck"),
            times_input: None,
        };
        let line = render_row(&failed);
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[..5], ["tokio", "-", "-", "-", "failed"], "{line}");
        assert!(line.ends_with("failed (no luck)"), "{line}");
    }

    #[test]
    fn the_built_in_scenarios_have_a_size() {
        assert!(input_bytes("classroom").is_some_and(|bytes| bytes > 100));
        assert_eq!(input_bytes("/no/such/file.toml"), None);
    }
}
