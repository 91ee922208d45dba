//! # Exercise 26: graceful shutdown
//!
//! Chapter 10.2, Cancellation and graceful shutdown (`book/src/shutdown.md`). About 25 minutes.
//!
//! A server that is asked to stop should not just drop everything: it stops taking new work,
//! lets the work under way finish if it can (a *grace period*), gives up on what cannot, and
//! only then returns, saying what happened to every job.
//!
//! **Goal:** [`serve`], a job runner with a graceful shutdown. Jobs arrive on a channel; each
//! runs in a task of its own; a [`CancellationToken`] asks for the shutdown.
//!
//! **Contract**, checked by the tests (on tokio's paused clock, so every time is exact):
//!
//! - **Running.** Each job taken from `jobs` runs as a task of its own ([`Job::run`]), at most
//!   `limit` at a time; the next job starts as soon as a running one ends. When `jobs` is
//!   closed and empty, `serve` waits for the jobs still running and returns.
//! - **Shutdown.** Once `token` is cancelled, `serve` starts no job at all, not even one that is
//!   waiting in `jobs` at that very moment. The jobs already running get `grace` to finish;
//!   those still running then are aborted. `serve` returns as soon as no job of it is running:
//!   at once if none is, when the last one finishes if they all fit in `grace`, and at the
//!   latest `grace` after the cancellation. Nothing of it runs after it has returned, and it
//!   does not wait for `jobs` to be closed (its senders may live on).
//! - **Summary.** `completed` counts the jobs that finished (before or after the
//!   cancellation), `aborted` those stopped at the end of the grace period, and `never_started`
//!   the jobs still in `jobs` after the cancellation (and any job taken but not started), none
//!   of which may start.
//!
//! The tests watch the jobs through a [`Probe`]: which started, which finished, which were
//! dropped unfinished, and how many run at once.
//!
//! Check your work with `cargo run -- learn check 26`. Stuck? `cargo run -- learn hint 26`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
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

/// Runs the jobs of `jobs`, at most `limit` at a time, each in a task of its own, until `jobs`
/// is closed and empty or `token` is cancelled; then shuts down gracefully, giving the jobs
/// running `grace` to finish. Returns what happened to every job (see the crate's contract).
pub async fn serve(
    mut jobs: mpsc::Receiver<Job>,
    token: CancellationToken,
    grace: Duration,
    limit: usize,
) -> Summary {
    // TODO: run the jobs, then shut down gracefully when the token says so.
    todo!("a job runner with a graceful shutdown")
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
