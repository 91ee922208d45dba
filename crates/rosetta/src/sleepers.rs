//! `rosetta bench --sleepers`: what one sleeping task costs, on each runtime, with nothing else
//! in it.
//!
//! The pipeline's task-scale run (`bench --tasks`) measures a *source*: two timers raced with
//! `select`, a trace, parsed records, channel hand-offs. To compare with figures published for
//! "N sleeping tasks" (about 440 MB for a million tokio tasks is the one people quote), this
//! measures exactly that: N units that each wait the same time and do nothing else, as
//!
//! - a task awaiting its runtime's sleep, on tokio, async-std and smol (through the same
//!   `Runtime` trait as the pipeline);
//! - a task holding our hand-written `Sleep`, on our executor (`state-machines`);
//! - a timer callback on our event loop (`callbacks`);
//! - an OS thread in `std::thread::sleep` (`threads`), where the machine allows that many.
//!
//! Each measurement runs in a process of its own (`rosetta bench-sleepers-one`, hidden) so that
//! its peak memory is its own.

use std::cell::Cell;
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};
use serde::{Deserialize, Serialize};

use crate::bench::status_kib;
use crate::table;

/// The kinds of sleeper, by name.
pub const KINDS: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "state-machines",
    "callbacks",
    "threads",
];

/// How long each sleeper waits.
pub const WAIT: Duration = Duration::from_millis(500);

/// One measurement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SleeperRow {
    /// The kind of sleeper (see [`KINDS`]).
    pub kind: String,
    /// How many slept at once.
    pub count: usize,
    /// `ok` or `skipped`.
    pub status: String,
    /// Why it was skipped, or empty.
    pub note: String,
    /// From the first spawn to the last wake-up, in milliseconds (the ideal is [`WAIT`]).
    pub wall_ms: f64,
    /// Peak resident memory of the process, in MiB.
    pub peak_rss_mib: Option<f64>,
    /// Peak memory above the baseline, per sleeper, in bytes.
    pub bytes_per_sleeper: Option<f64>,
}

impl SleeperRow {
    /// A row with no figures: skipped or failed, and why.
    fn unmeasured(kind: &str, count: usize, status: &str, note: String) -> Self {
        SleeperRow {
            kind: kind.to_string(),
            count,
            status: status.to_string(),
            note,
            wall_ms: 0.0,
            peak_rss_mib: None,
            bytes_per_sleeper: None,
        }
    }
}

/// `count` tasks sleeping [`WAIT`] on runtime `R`, all spawned before any is awaited.
fn on_runtime<R: Runtime>(count: usize) -> anyhow::Result<()> {
    R::block_on(|runtime| async move {
        let tasks: Vec<_> = (0..count)
            .map(|_| runtime.spawn(runtime.sleep(WAIT)))
            .collect();
        for task in tasks {
            task.await
                .map_err(|_| anyhow::anyhow!("a sleeping task panicked"))?;
        }
        Ok(())
    })?
}

/// `count` tasks holding our hand-written `Sleep`, on our executor.
fn on_our_executor(count: usize) {
    let executor = rosetta_state_machines::executor::Executor::new();
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            executor.spawn(rosetta_state_machines::reactor::sleep(
                executor.reactor(),
                WAIT,
            ))
        })
        .collect();
    // Every task is already running: waiting for each in turn waits for all.
    for task in tasks {
        executor.block_on(task);
    }
}

/// `count` timer callbacks on our event loop.
fn on_our_event_loop(count: usize) -> anyhow::Result<()> {
    let event_loop = rosetta_callbacks::event_loop::EventLoop::new();
    let fired = Rc::new(Cell::new(0));
    for _ in 0..count {
        let fired = Rc::clone(&fired);
        event_loop.set_timeout(WAIT, move || fired.set(fired.get() + 1));
    }
    event_loop.run();
    if fired.get() != count {
        bail!("{} of {count} timers fired", fired.get());
    }
    Ok(())
}

/// `count` OS threads in `std::thread::sleep`.
fn on_threads(count: usize) -> anyhow::Result<()> {
    std::thread::scope(|scope| {
        for _ in 0..count {
            std::thread::Builder::new()
                .spawn_scoped(scope, || std::thread::sleep(WAIT))
                .context("the kernel refused another thread")?;
        }
        Ok(())
    })
}

/// Measures `count` sleepers of `kind` in this process: what `bench-sleepers-one` prints.
pub fn measure(kind: &str, count: usize) -> anyhow::Result<SleeperRow> {
    let baseline = status_kib("VmRSS");
    let start = Instant::now();
    match kind {
        "tokio" => on_runtime::<Tokio>(count)?,
        "async-std" => on_runtime::<AsyncStd>(count)?,
        "smol" => on_runtime::<Smol>(count)?,
        "state-machines" => on_our_executor(count),
        "callbacks" => on_our_event_loop(count)?,
        "threads" => on_threads(count)?,
        other => bail!("no sleeper kind `{other}` (kinds: {})", KINDS.join(", ")),
    }
    let wall = start.elapsed();
    let peak = status_kib("VmHWM");
    Ok(SleeperRow {
        kind: kind.to_string(),
        count,
        status: "ok".into(),
        note: String::new(),
        wall_ms: wall.as_secs_f64() * 1000.0,
        peak_rss_mib: peak.map(|kib| kib as f64 / 1024.0),
        bytes_per_sleeper: baseline
            .zip(peak)
            .map(|(base, peak)| peak.saturating_sub(base) as f64 * 1024.0 / count.max(1) as f64),
    })
}

/// Measures every kind at every size, each in a child process of `exe`, calling `progress`
/// after each.
pub fn run(
    exe: &std::path::Path,
    sizes: &[usize],
    mut progress: impl FnMut(&SleeperRow),
) -> Vec<SleeperRow> {
    let threads_allowed = crate::bench::threads_allowed();
    let mut rows = Vec::new();
    for &count in sizes {
        for kind in KINDS {
            let row = match threads_allowed {
                Some(limit) if *kind == "threads" && count > limit / 2 => SleeperRow::unmeasured(
                    kind,
                    count,
                    "skipped",
                    format!(
                        "{count} OS threads at once is more than half of what this machine \
                         allows ({limit})"
                    ),
                ),
                _ => measure_in_child(exe, kind, count).unwrap_or_else(|error| {
                    SleeperRow::unmeasured(kind, count, "failed", format!("{error:#}"))
                }),
            };
            progress(&row);
            rows.push(row);
        }
    }
    rows
}

fn measure_in_child(exe: &std::path::Path, kind: &str, count: usize) -> anyhow::Result<SleeperRow> {
    let mut command = Command::new(exe);
    command.args(["bench-sleepers-one", kind, &count.to_string()]);
    crate::bench::run_measuring_child(command)
}

/// The table's columns; the status after them takes what room it needs.
const COLUMNS: [table::Column; 5] = [
    table::right(8),
    table::left(14),
    table::right(9),
    table::right(8),
    table::right(10),
];

/// The header of the table.
pub fn render_header() -> String {
    table::line(
        &COLUMNS,
        &[
            "count",
            "sleeper",
            "wall ms",
            "peak MiB",
            "bytes each",
            "status",
        ],
    )
}

/// One row of the table.
pub fn render_row(row: &SleeperRow) -> String {
    let optional =
        |value: Option<f64>| value.map_or_else(|| "-".to_string(), |v| format!("{v:.0}"));
    let status = if row.note.is_empty() {
        row.status.clone()
    } else {
        format!("{}: {}", row.status, row.note)
    };
    // A skipped or failed row has no figures: each shows as `-`, as in the other tables, so
    // that nobody reads a 0.0 ms wall time as a measurement.
    let wall = if row.status == "ok" {
        format!("{:.1}", row.wall_ms)
    } else {
        "-".to_string()
    };
    table::line(
        &COLUMNS,
        &[
            row.count.to_string(),
            row.kind.to_string(),
            wall,
            row.peak_rss_mib
                .map_or_else(|| "-".to_string(), |v| format!("{v:.1}")),
            optional(row.bytes_per_sleeper),
            status,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_wakes_every_sleeper() {
        for kind in KINDS {
            let row = measure(kind, 50).unwrap();
            assert_eq!(row.status, "ok", "{kind}");
            // Every sleeper waited its turn: the run cannot end before the wait is over.
            assert!(
                row.wall_ms >= WAIT.as_secs_f64() * 1000.0,
                "{kind}: {row:?}"
            );
        }
        assert!(measure("fibers", 1).is_err());
    }

    #[test]
    fn an_unmeasured_row_shows_dashes_not_zeros() {
        // Like every other table of the tool: a figure that was not measured is `-`, never 0.
        for status in ["skipped", "failed"] {
            let row = SleeperRow::unmeasured("threads", 1_000_000, status, "why".into());
            let line = render_row(&row);
            let figures: Vec<&str> = line.split_whitespace().skip(2).take(3).collect();
            assert_eq!(figures, ["-", "-", "-"], "{line}");
            assert!(line.ends_with(&format!("{status}: why")), "{line}");
        }
        let mut measured = SleeperRow::unmeasured("smol", 10, "ok", String::new());
        measured.wall_ms = 501.25;
        assert!(render_row(&measured).contains("501.2"));
    }
}
