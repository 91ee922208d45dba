//! # Exercise 32: find the hang
//!
//! Chapter 13.1, Testing and debugging async code (`book/src/testing.md`). About 20 minutes.
//!
//! [`convert_all`] converts a batch of temperature readings from Fahrenheit to Celsius. A
//! producer takes the readings from their [`Readings`] and puts them in a bounded queue; a few
//! workers take them from it and [`convert`] them (one second each: a stand-in for a slow
//! lookup); the converted readings come back through a second bounded queue, and the
//! coordinator collects them into a [`Report`].
//!
//! It hangs. There is no `todo!()` here: the bug is the exercise. Run `cargo run -- learn check
//! 32`: each test runs `convert_all` on tokio's paused clock under a timeout, so instead of
//! hanging it fails, and prints the trace of what the program did: every wait is a `tracing`
//! span, with a line when it starts (`new`) and one when it ends (`close`). Read the trace, find
//! the waits that never end and what each one waits for, and fix the program.
//!
//! **Goal:** `convert_all` returns, having done the same work, with the same bounds.
//!
//! **Contract**, checked by the tests:
//!
//! - every reading is converted exactly once, and the report holds them all, in order;
//! - `limits.workers` workers convert side by side: never more at once, and the batch takes
//!   the time of `readings / workers` conversions, not of `readings`;
//! - the queues stay bounded: at most `limits.queue` readings wait for a worker and at most
//!   `limits.results` conversions wait for the coordinator, so the producer is never more than
//!   `1 + queue + workers + results` readings ahead of the report, however many there are;
//! - the waits keep their spans, so that the next hang is as easy to read.
//!
//! Only `convert_all` and the functions it calls (`produce`, `work`, `collect`) are yours to
//! change. [`Readings`], [`convert`], [`Report`] and [`Probe`] are the test's instruments:
//! leave them as they are.
//!
//! Check your work with `cargo run -- learn check 32`. Stuck? `cargo run -- learn hint 32`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use tracing::{Instrument, info_span};

/// How long one conversion takes.
pub const CONVERSION: Duration = Duration::from_secs(1);

/// A reading, in tenths of a degree Fahrenheit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Its place in the batch, from 0.
    pub id: u32,
    /// Tenths of a degree Fahrenheit.
    pub fahrenheit_tenths: i64,
}

/// A converted reading, in tenths of a degree Celsius.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converted {
    /// The reading's place in the batch.
    pub id: u32,
    /// Tenths of a degree Celsius.
    pub celsius_tenths: i64,
}

/// What the tests measure, shared by the instruments below.
#[derive(Debug, Default)]
pub struct Probe {
    /// Readings taken from [`Readings`].
    taken: AtomicU32,
    /// Converted readings added to a [`Report`].
    reported: AtomicU32,
    /// The most readings ever taken and not yet reported.
    most_ahead: AtomicU32,
    /// Conversions in progress now.
    converting: AtomicU32,
    /// The most conversions ever in progress at once.
    most_converting: AtomicU32,
}

impl Probe {
    /// The most readings the producer was ever ahead of the report: taken, not yet reported.
    pub fn most_ahead(&self) -> u32 {
        self.most_ahead.load(Ordering::Relaxed)
    }

    /// The most conversions that were ever in progress at once.
    pub fn most_converting(&self) -> u32 {
        self.most_converting.load(Ordering::Relaxed)
    }
}

/// The batch: readings `0..count`, each taken once. An iterator, so that taking a reading is
/// what the [`Probe`] counts.
#[derive(Debug)]
pub struct Readings {
    /// The next reading's id.
    next: u32,
    /// How many readings there are.
    count: u32,
    /// Where taking is counted.
    probe: Arc<Probe>,
}

impl Readings {
    /// A batch of `count` readings, measured by `probe`. Reading `id` is `id` degrees Celsius,
    /// in Fahrenheit.
    pub fn new(count: u32, probe: Arc<Probe>) -> Self {
        Readings {
            next: 0,
            count,
            probe,
        }
    }

    /// The probe that measures this batch.
    pub fn probe(&self) -> Arc<Probe> {
        Arc::clone(&self.probe)
    }
}

impl Iterator for Readings {
    type Item = Reading;

    fn next(&mut self) -> Option<Reading> {
        if self.next == self.count {
            return None;
        }
        let id = self.next;
        self.next += 1;
        let taken = self.probe.taken.fetch_add(1, Ordering::Relaxed) + 1;
        let ahead = taken - self.probe.reported.load(Ordering::Relaxed);
        self.probe.most_ahead.fetch_max(ahead, Ordering::Relaxed);
        Some(Reading {
            id,
            fahrenheit_tenths: 320 + 18 * i64::from(id),
        })
    }
}

/// Converts `reading` to Celsius; takes [`CONVERSION`].
pub async fn convert(reading: Reading, probe: &Probe) -> Converted {
    let now = probe.converting.fetch_add(1, Ordering::Relaxed) + 1;
    probe.most_converting.fetch_max(now, Ordering::Relaxed);
    tokio::time::sleep(CONVERSION).await;
    probe.converting.fetch_sub(1, Ordering::Relaxed);
    Converted {
        id: reading.id,
        celsius_tenths: (reading.fahrenheit_tenths - 320) * 5 / 9,
    }
}

/// The converted readings, as the coordinator collects them.
#[derive(Debug)]
pub struct Report {
    /// What was collected, in the order it came.
    converted: Vec<Converted>,
    /// Where reporting is counted.
    probe: Arc<Probe>,
}

impl Report {
    /// An empty report, measured by `probe`.
    pub fn new(probe: Arc<Probe>) -> Self {
        Report {
            converted: Vec::new(),
            probe,
        }
    }

    /// Adds a converted reading.
    pub fn add(&mut self, converted: Converted) {
        self.probe.reported.fetch_add(1, Ordering::Relaxed);
        self.converted.push(converted);
    }

    /// Every converted reading, by id.
    pub fn into_sorted(mut self) -> Vec<Converted> {
        self.converted.sort_by_key(|converted| converted.id);
        self.converted
    }
}

/// The sizes of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How many readings may wait for a worker.
    pub queue: usize,
    /// How many converted readings may wait for the coordinator.
    pub results: usize,
    /// How many workers convert side by side.
    pub workers: usize,
}

/// Converts every reading of `readings`, with `limits.workers` workers fed through a queue of
/// `limits.queue`, and collects the results through a queue of `limits.results`.
#[tracing::instrument(skip_all)]
pub async fn convert_all(readings: Readings, limits: Limits) -> Report {
    let probe = readings.probe();
    let (jobs, job_queue) = async_channel::bounded(limits.queue);
    let (results, result_queue) = async_channel::bounded(limits.results);
    let workers: Vec<_> = (0..limits.workers)
        .map(|worker| {
            let job_queue = job_queue.clone();
            tokio::spawn(work(worker, job_queue, results.clone(), Arc::clone(&probe)))
        })
        .collect();
    // The workers hold the other ends now: once they are gone, each queue is closed.
    drop((job_queue, results));

    produce(readings, jobs).await;
    let report = collect(result_queue, Report::new(probe)).await;
    for worker in workers {
        worker
            .instrument(info_span!("join worker"))
            .await
            .expect("a worker does not panic");
    }
    report
}

/// Puts every reading in the queue of `jobs`; returns when the last one is in it.
#[tracing::instrument(skip_all)]
async fn produce(readings: Readings, jobs: Sender<Reading>) {
    for reading in readings {
        jobs.send(reading)
            .instrument(info_span!("send job", reading = reading.id))
            .await
            .expect("the workers take jobs until the queue is closed");
    }
    // `jobs` is dropped here: the queue closes, and each worker ends once it is empty.
}

/// One worker: converts readings from `job_queue` until it is closed and empty, and sends each
/// result to `results`.
#[tracing::instrument(skip(job_queue, results, probe))]
async fn work(
    worker: usize,
    job_queue: Receiver<Reading>,
    results: Sender<Converted>,
    probe: Arc<Probe>,
) {
    while let Ok(reading) = job_queue.recv().instrument(info_span!("recv job")).await {
        let converted = convert(reading, &probe)
            .instrument(info_span!("convert", reading = reading.id))
            .await;
        results
            .send(converted)
            .instrument(info_span!("send result", reading = reading.id))
            .await
            .expect("the coordinator collects until the workers are done");
    }
}

/// Adds every converted reading from `result_queue` to `report`, until the queue is closed
/// and empty.
#[tracing::instrument(skip_all)]
async fn collect(result_queue: Receiver<Converted>, mut report: Report) -> Report {
    while let Ok(converted) = result_queue
        .recv()
        .instrument(info_span!("recv result"))
        .await
    {
        report.add(converted);
    }
    report
}
