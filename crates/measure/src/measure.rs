//! Measuring in a process of its own: what the three kinds of `bench` share.
//!
//! A process's peak resident memory (its high-water mark, `VmHWM`) never goes down, so the
//! second thing measured in one process would inherit the first one's peak. Every `bench`
//! measurement therefore runs in a child process (`rosetta bench-one` or
//! `rosetta bench-sleepers-one`, both hidden) that does one thing and prints one JSON value:
//! [`in_child`] starts it and reads that value, and [`peak_memory`] is what the child reads of
//! its own memory. Each row then says how its measurement went, as a [`Status`].
//!
//! Read next: `rosetta::bench`, the scale runs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// How one measurement went. Written in lower case in tables, CSV and JSON (`"ok"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured, and the report (if any) is the reference's.
    Ok,
    /// Measured, but the report is not the reference's.
    Differs,
    /// Not measured: the run (or its process) failed.
    Failed,
    /// Not measured, on purpose: over the time budget, or more threads than the machine has.
    Skipped,
}

impl Status {
    /// True for the statuses that make `bench` exit with a failure: a wrong report or a run
    /// that broke. A skipped run was a decision, not a failure.
    pub fn is_broken(self) -> bool {
        matches!(self, Status::Differs | Status::Failed)
    }

    /// The status, followed by `: note` when there is a note (the bench tables' last cell).
    pub fn with_note(self, note: &str) -> String {
        if note.is_empty() {
            self.to_string()
        } else {
            format!("{self}: {note}")
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Ok => "ok",
            Status::Differs => "differs",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        })
    }
}

/// Runs `exe` (this program) with `args`, a hidden one-measurement command, and reads the one
/// JSON value it prints. A child that fails says why on stderr, which becomes the error.
pub fn in_child<T: DeserializeOwned>(exe: &Path, args: &[String]) -> anyhow::Result<T> {
    let output = Command::new(exe)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", exe.display()))?;
    if !output.status.success() {
        bail!(
            "the measuring process failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("the measuring process printed no result")
}

/// This process's memory around a piece of work, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeakMemory {
    /// The process's peak resident memory once the work was done (`VmHWM`).
    pub peak_kib: u64,
    /// How far that peak is above what the process held just before (`VmRSS` then): what the
    /// work itself cost, at its worst moment.
    pub grown_kib: u64,
}

impl PeakMemory {
    /// The peak in MiB, as the tables print it.
    pub fn peak_mib(self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}

/// Runs `work` and reads the process's memory around it. `None` off Linux, where there is no
/// `/proc/self/status` to read.
pub fn peak_memory<T>(work: impl FnOnce() -> T) -> (T, Option<PeakMemory>) {
    let before = status_kib("VmRSS");
    let result = work();
    let memory = before
        .zip(status_kib("VmHWM"))
        .map(|(before, peak)| PeakMemory {
            peak_kib: peak,
            grown_kib: peak.saturating_sub(before),
        });
    (result, memory)
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`); `None` off Linux.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// How many threads this machine lets the user start in all: the smaller of the kernel's
/// `threads-max` and this user's process limit (Linux only). The threads style and the
/// `threads` sleepers are skipped where they would need more than half of it.
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

/// What limits a `tcp` bench on this machine, in one sentence, after raising what a process may
/// raise itself: the soft limit of open files goes up to the hard limit (what load-testing
/// tools do), and the children the bench starts inherit it.
///
/// Each connection costs a descriptor in the process holding it: the feed server's side in the
/// bench's own process, the client's side in the measuring child. And every connection to one
/// server address takes an ephemeral port of its own, for as long as it is open or lingers in
/// `TIME_WAIT` after its client closed it first (a timeout does).
pub fn tcp_limits() -> String {
    let files = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => {
            format!("{soft} open files per process (the soft limit, raised to the hard one)")
        }
        Err(error) => format!("open files per process unknown ({error})"),
    };
    let ports = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| {
            let mut range = text.split_whitespace().map(|n| n.parse::<u32>().ok());
            Some((range.next()??, range.next()??))
        })
        .map_or_else(
            || "ephemeral ports unknown".to_string(),
            |(low, high)| {
                format!(
                    "ephemeral ports {low}-{high} ({} connections to the server at once, \
                     TIME_WAIT included)",
                    high - low + 1
                )
            },
        );
    format!(
        "Limits: {files}; {ports}. The server's side of each connection is in this process, the \
         clients' in each style's."
    )
}
