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
//! its peak memory is its own (see [`crate::measure`]).

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};
use serde::{Deserialize, Serialize};

use crate::measure::{self, Status};
use rosetta_views::table::{self, Table, figure};

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
    /// `ok`, or why there are no figures: `skipped` or `failed`.
    pub status: Status,
    /// Why it was skipped or failed, or empty.
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
    pub fn unmeasured(kind: &str, count: usize, status: Status, note: String) -> Self {
        SleeperRow {
            kind: kind.to_string(),
            count,
            status,
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
    let ((slept, wall), memory) = measure::peak_memory(|| {
        let start = Instant::now();
        let slept = match kind {
            "tokio" => on_runtime::<Tokio>(count),
            "async-std" => on_runtime::<AsyncStd>(count),
            "smol" => on_runtime::<Smol>(count),
            "state-machines" => {
                on_our_executor(count);
                Ok(())
            }
            "callbacks" => on_our_event_loop(count),
            "threads" => on_threads(count),
            other => Err(anyhow::anyhow!(
                "no sleeper kind `{other}` (kinds: {})",
                KINDS.join(", ")
            )),
        };
        (slept, start.elapsed())
    });
    slept?;
    Ok(SleeperRow {
        wall_ms: wall.as_secs_f64() * 1000.0,
        peak_rss_mib: memory.map(|memory| memory.peak_mib()),
        bytes_per_sleeper: memory
            .map(|memory| memory.grown_kib as f64 * 1024.0 / count.max(1) as f64),
        ..SleeperRow::unmeasured(kind, count, Status::Ok, String::new())
    })
}

/// Measures every kind at every size, each in a child process of `exe`, calling `progress`
/// after each.
pub fn run(exe: &Path, sizes: &[usize], mut progress: impl FnMut(&SleeperRow)) -> Vec<SleeperRow> {
    let threads_allowed = measure::threads_allowed();
    let mut rows = Vec::new();
    for &count in sizes {
        for kind in KINDS {
            let row = match threads_allowed {
                Some(limit) if *kind == "threads" && count > limit / 2 => SleeperRow::unmeasured(
                    kind,
                    count,
                    Status::Skipped,
                    format!(
                        "{count} OS threads at once is more than half of what this machine \
                         allows ({limit})"
                    ),
                ),
                _ => {
                    let args = [
                        "bench-sleepers-one".to_string(),
                        kind.to_string(),
                        count.to_string(),
                    ];
                    measure::in_child(exe, &args).unwrap_or_else(|error| {
                        SleeperRow::unmeasured(kind, count, Status::Failed, format!("{error:#}"))
                    })
                }
            };
            progress(&row);
            rows.push(row);
        }
    }
    rows
}

impl Table for SleeperRow {
    const COLUMNS: &'static [table::Column] = &[
        table::right(8),
        table::left(14),
        table::right(9),
        table::right(8),
        table::right(10),
    ];
    const HEADER: &'static [&'static str] = &[
        "count",
        "sleeper",
        "wall ms",
        "peak MiB",
        "bytes each",
        "status",
    ];

    fn cells(&self) -> Vec<String> {
        // A skipped or failed row has no figures: each shows as `-`, as in the other tables, so
        // that nobody reads a 0.0 ms wall time as a measurement.
        let wall = (self.status == Status::Ok).then_some(self.wall_ms);
        vec![
            self.count.to_string(),
            self.kind.to_string(),
            figure(wall, 1),
            figure(self.peak_rss_mib, 1),
            figure(self.bytes_per_sleeper, 0),
            self.status.with_note(&self.note),
        ]
    }
}
