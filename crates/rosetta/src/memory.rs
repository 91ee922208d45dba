//! `rosetta bench --scenario FILE`: each style's peak memory on one scenario, against its size.
//!
//! The scale runs of [`crate::bench`] grow the number of sources; this grows the other way: one
//! scenario, usually one huge body (a feed of millions of lines), and the question is what a
//! style holds *per record*. The answer should be nothing: a style that keeps a task, a future,
//! a callback or a trace event per record needs memory in proportion to the feed, while one that
//! enriches in two passes (`rosetta_pipeline::enrich`) needs a queue's worth. The figure is the
//! peak resident memory over the scenario file's size.
//!
//! Every run happens in a process of its own (`rosetta bench-one --scenario FILE`, see
//! [`crate::measure`]), and the first row is a process that only loads the scenario and computes
//! its model: the floor every style stands on, measured in the same run.

use std::path::Path;

use rosetta_pipeline::model;

use crate::bench::{BenchRow, ChildOutput};
use crate::measure::{self, Status};
use crate::select;
use crate::styles::Style;
use crate::table::{self, Table, figure};

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
    let (loaded, memory) = measure::peak_memory(|| {
        let scenario = select::scenario(Some(name), None, 0)?;
        let ideal = model::ideal(&scenario);
        anyhow::Ok((scenario, ideal))
    });
    let (scenario, ideal) = loaded?;
    let mut row = BenchRow::new(
        scenario.sources.len(),
        scenario.settings.concurrency,
        LOAD_ONLY,
        ideal.total_ms as f64,
    );
    row.peak_rss_mib = memory.map(|memory| memory.peak_mib());
    Ok(row)
}

/// Measures loading `name`, then every style in `styles` on it, each in a child process of
/// `exe`; checks every report against the reference's. Calls `progress` after each row.
pub fn run(
    exe: &Path,
    name: &str,
    styles: &[&'static Style],
    time_scale: f64,
    mut progress: impl FnMut(&MemoryRow),
) -> anyhow::Result<Vec<MemoryRow>> {
    let scenario = select::scenario(Some(name), None, 0)?;
    scenario.check_time_scale(time_scale, &select::origin(Some(name), None, 0))?;
    let expected = rosetta_conformance::expected_report(&scenario).to_string();
    let input = input_bytes(name);
    let mut rows = Vec::new();
    // The floor first: a process that loads the scenario and runs no style.
    for style in std::iter::once(None).chain(styles.iter().map(Some)) {
        let (first_arg, label) = style.map_or(("--load-only", LOAD_ONLY), |s| (s.name, s.name));
        let args = [
            first_arg,
            "--scenario",
            name,
            "--time-scale",
            &time_scale.to_string(),
        ]
        .map(String::from);
        let child = ChildOutput::in_child(exe, &args, BenchRow::new(0, 0, label, 0.0));
        let row = match style {
            None => child.row,
            Some(_) => child.checked(&expected, || "report differs from the reference's".into()),
        };
        let times_input = match (row.peak_rss_mib, input) {
            (Some(peak), Some(bytes)) if bytes > 0 => Some(peak * 1024.0 * 1024.0 / bytes as f64),
            _ => None,
        };
        let row = MemoryRow { row, times_input };
        progress(&row);
        rows.push(row);
    }
    Ok(rows)
}

impl Table for MemoryRow {
    const COLUMNS: &'static [table::Column] = &[
        table::left(16),
        table::right(9),
        table::right(9),
        table::right(9),
    ];
    const HEADER: &'static [&'static str] = &["style", "wall ms", "peak MiB", "× input", "status"];

    fn cells(&self) -> Vec<String> {
        let row = &self.row;
        let measured = matches!(row.status, Status::Ok | Status::Differs);
        let wall = (measured && row.style != LOAD_ONLY).then_some(row.wall_ms);
        let status = if row.note.is_empty() {
            row.status.to_string()
        } else {
            format!("{} ({})", row.status, row.note)
        };
        vec![
            row.style.to_string(),
            figure(wall, 1),
            figure(row.peak_rss_mib, 1),
            figure(self.times_input, 1),
            status,
        ]
    }
}
