//! Solution of exercise 26: a job runner with a graceful shutdown.
//!
//! The exercise (`exercises/26-graceful-shutdown/src/lib.rs`) states the contract; chapter 10.2
//! of the book (`book/src/shutdown.md`) explains the tools: `select!` with `biased;`, tokio's
//! `if` preconditions, cancellation safety, `CancellationToken`, and draining with a deadline.
//! `crates/book-examples/src/shutdown.rs` drains long-lived workers the cooperative way (each
//! watches a token); here each job is a task of a `JoinSet`, aborted from outside.

use std::panic::resume_unwind;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};
use tokio::time::timeout;
pub use tokio_util::sync::CancellationToken;

/// What happened to the jobs [`serve`] was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Jobs that ran to their end.
    pub completed: u32,
    /// Jobs still running at the end of the grace period, and aborted.
    pub aborted: u32,
    /// Jobs never started: still queued (or taken, not started) when the shutdown came.
    pub never_started: u32,
}

impl Summary {
    /// Counts a job whose task has ended: it finished, or it was aborted.
    fn count(&mut self, ended: Result<(), JoinError>) {
        match ended {
            Ok(()) => self.completed += 1,
            Err(error) if error.is_cancelled() => self.aborted += 1,
            // A job that panicked is a bug, not a shutdown: pass the panic on.
            Err(error) => resume_unwind(error.into_panic()),
        }
    }
}

/// Runs the jobs of `jobs`, at most `limit` at a time, each in a task of its own, until `jobs`
/// is closed and empty or `token` is cancelled; then shuts down gracefully, giving the jobs
/// running `grace` to finish. Returns what happened to every job (see the crate's contract).
pub async fn serve(
    mut jobs: mpsc::Receiver<Job>,
    token: CancellationToken,
    grace: Duration,
    limit: usize,
) -> Summary {
    let mut summary = Summary::default();
    // Every task `serve` starts is in this set: the set is how it waits for them, and how it
    // aborts them. (Dropping a `JoinSet` aborts its tasks too, but does not wait until they are
    // gone: `shut_down` waits.)
    let mut running = JoinSet::new();
    let mut open = true; // `jobs` may still send.
    while open || !running.is_empty() {
        tokio::select! {
            // In the order written: a cancellation wins over everything else that is ready at
            // the same turn, so no job starts after it. (Unbiased, `select!` would start at a
            // random branch, and could take a waiting job.)
            biased;
            () = token.cancelled() => return shut_down(jobs, running, grace, summary).await,
            // A task has ended: a slot is free. (On an empty set `join_next` gives `None`, the
            // pattern does not match, and the branch sits this turn out.)
            Some(ended) = running.join_next() => summary.count(ended),
            // A precondition: while every slot is taken, do not even look at the channel. The
            // jobs wait there, where a cancellation still counts them as never started.
            // `recv` is cancellation-safe: when another branch wins, it has taken nothing.
            received = jobs.recv(), if open && running.len() < limit => match received {
                Some(job) => {
                    running.spawn(job.run());
                }
                None => open = false, // Closed and empty: finish what runs, then return.
            },
        }
    }
    summary
}

/// The shutdown: start nothing more, give the jobs running `grace` to finish, abort the rest,
/// and return once every task is gone.
async fn shut_down(
    mut jobs: mpsc::Receiver<Job>,
    mut running: JoinSet<()>,
    grace: Duration,
    mut summary: Summary,
) -> Summary {
    // Closed, the channel takes no more jobs and hands back those it holds, which are dropped
    // here, unstarted. (`recv` does not wait once the channel is closed and empty.)
    jobs.close();
    while jobs.recv().await.is_some() {
        summary.never_started += 1;
    }
    // The grace period: the jobs running may finish. The deadline is what makes it a period:
    // without it, one job that never ends would keep `serve` from returning.
    let drain = async {
        while let Some(ended) = running.join_next().await {
            summary.count(ended);
        }
    };
    if timeout(grace, drain).await.is_err() {
        // Too late: abort the rest. `abort_all` only asks; each task is dropped when the runtime
        // next gets to it, so wait until `join_next` has seen every one of them go.
        running.abort_all();
        while let Some(ended) = running.join_next().await {
            summary.count(ended);
        }
    }
    summary
}

/// One job: it works for a while (here: it sleeps), or for ever.
#[derive(Debug)]
pub struct Job {
    /// Names the job in the [`Probe`].
    id: u32,
    /// How long it works; `None`: for ever.
    work: Option<Duration>,
    /// Where it reports what it does.
    probe: Probe,
}

impl Job {
    /// A job that works for `work`, reporting to `probe`.
    pub fn new(id: u32, work: Duration, probe: &Probe) -> Self {
        let probe = probe.clone();
        Job {
            id,
            work: Some(work),
            probe,
        }
    }

    /// A job that never ends: only an abort stops it.
    pub fn endless(id: u32, probe: &Probe) -> Self {
        let probe = probe.clone();
        Job {
            id,
            work: None,
            probe,
        }
    }

    /// The job's id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Does the job. The probe counts it as started at the first poll, finished when it ends,
    /// and abandoned if the future is dropped before that (an abort drops it).
    pub async fn run(self) {
        let running = Running::start(self.probe, self.id);
        match self.work {
            Some(work) => tokio::time::sleep(work).await,
            None => std::future::pending().await,
        }
        running.finish();
    }
}

/// What the jobs did, seen from the inside. Clones share the record.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Shared with every job (each may run on another thread).
    record: Arc<Mutex<Record>>,
}

/// The record a [`Probe`] keeps.
#[derive(Debug, Default)]
struct Record {
    started: Vec<u32>,
    finished: Vec<u32>,
    abandoned: Vec<u32>,
    running: usize,
    peak: usize,
}

impl Probe {
    /// A fresh probe, nothing recorded.
    pub fn new() -> Self {
        Probe::default()
    }

    /// Runs `change` on the record. (A panicking test must not hide behind a poisoned lock.)
    fn with<T>(&self, change: impl FnOnce(&mut Record) -> T) -> T {
        change(&mut self.record.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The jobs that started, in the order they started.
    pub fn started(&self) -> Vec<u32> {
        self.with(|record| record.started.clone())
    }

    /// The jobs that ran to their end, in the order they finished.
    pub fn finished(&self) -> Vec<u32> {
        self.with(|record| record.finished.clone())
    }

    /// The jobs dropped before their end (aborted), in the order they were dropped.
    pub fn abandoned(&self) -> Vec<u32> {
        self.with(|record| record.abandoned.clone())
    }

    /// How many jobs are running now (started, neither finished nor dropped).
    pub fn running(&self) -> usize {
        self.with(|record| record.running)
    }

    /// The most jobs that ever ran at the same time.
    pub fn peak(&self) -> usize {
        self.with(|record| record.peak)
    }
}

/// A job under way; dropped unfinished, it records the job as abandoned.
struct Running {
    probe: Probe,
    id: u32,
    finished: bool,
}

impl Running {
    fn start(probe: Probe, id: u32) -> Self {
        probe.with(|record| {
            record.started.push(id);
            record.running += 1;
            record.peak = record.peak.max(record.running);
        });
        Running {
            probe,
            id,
            finished: false,
        }
    }

    fn finish(mut self) {
        self.finished = true;
        let id = self.id;
        self.probe.with(|record| record.finished.push(id));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let (id, finished) = (self.id, self.finished);
        self.probe.with(|record| {
            record.running -= 1;
            if !finished {
                record.abandoned.push(id);
            }
        });
    }
}
