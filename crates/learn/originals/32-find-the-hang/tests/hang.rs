//! Tests of exercise 32: `convert_all` returns; it converts every reading once; its workers
//! convert side by side; its queues stay bounded.
//!
//! Each test runs `convert_all` on tokio's paused clock under a timeout of an hour. The work
//! takes seconds of that clock, so a run that is still going after an hour is a hang: every
//! task waits, no timer is left but the timeout's, and the clock jumps to it at once. The test
//! then fails with the trace of the run.
//!
//! Shortcuts that fail here:
//! - dropping work to get unstuck (`try_send`, collecting only some results, not waiting for
//!   the producer): `every_reading_is_converted_once`;
//! - converting in the producer or the coordinator, or with one worker: the workers' test
//!   (never more than one conversion at once, and twice the time);
//! - a task per reading instead of the workers: the workers' test (more conversions at once
//!   than workers) and the queues' test (every reading taken at once); a task per `send`, so
//!   that the producer never waits: the queues' test;
//! - an unbounded queue, or one as large as the batch, so that the producer never waits: the
//!   queues' test (the producer runs ahead of the report by the whole batch).

use std::fmt::Debug;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use find_the_hang::{CONVERSION, Converted, Limits, Probe, Readings, convert_all};
use tokio::time::{Instant, timeout};
use tracing::info;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Where to read about this exercise.
const REREAD: &str = "chapter 13.1, Testing and debugging async code (book/src/testing.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// A run that is still going after this long (of the paused clock) hangs.
const PATIENCE: Duration = Duration::from_secs(3600);

/// The trace of a run, as the `fmt` subscriber writes it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Captured {
    type Writer = Captured;

    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

/// What a run did.
struct Run {
    /// The report's readings, by id.
    converted: Vec<Converted>,
    /// What the probe measured.
    probe: Arc<Probe>,
    /// How long the run took on the paused clock.
    took: Duration,
}

/// Runs `convert_all` on `count` readings with `limits`; fails the test with the run's trace
/// if it has not returned after [`PATIENCE`].
async fn run(count: u32, limits: Limits) -> Run {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        // A line when a span starts (a wait begins) and one when it closes (the wait is over).
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        // No real time in the trace: it is the same on every run.
        .without_time()
        .with_ansi(false)
        .with_level(false)
        .with_target(false)
        .finish();
    let trace = tracing::subscriber::set_default(subscriber);

    let probe = Arc::new(Probe::default());
    let start = Instant::now();
    let mut converting = Box::pin(convert_all(
        Readings::new(count, Arc::clone(&probe)),
        limits,
    ));
    let finished = timeout(PATIENCE, &mut converting).await;
    let took = start.elapsed();
    let Ok(report) = finished else {
        info!(
            "timed out: still running after {} s; the spans that close below are the \
             waits the timeout cancelled",
            PATIENCE.as_secs()
        );
        drop(converting);
        drop(trace);
        panic!(
            "`convert_all` with {count} readings and {limits:?} hangs: it had not returned \
             after an hour (of tokio's paused clock: the work takes seconds). Its trace:\n\
             \n{}\n\
             Each wait is a span: `new` when it starts, `close` when it ends. Which waits \
             never end, and what is each one waiting for?\n    reread: {REREAD}",
            captured.text()
        );
    };
    drop(trace);
    Run {
        converted: report.into_sorted(),
        probe,
        took,
    }
}

const SMALL_QUEUES: Limits = Limits {
    queue: 2,
    results: 2,
    workers: 2,
};

const TINY_QUEUES: Limits = Limits {
    queue: 1,
    results: 1,
    workers: 3,
};

/// Reading `id` is `id` degrees Celsius.
fn expected(count: u32) -> Vec<Converted> {
    (0..count)
        .map(|id| Converted {
            id,
            celsius_tenths: 10 * i64::from(id),
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn every_reading_is_converted_once() {
    for (count, limits) in [(20, SMALL_QUEUES), (30, TINY_QUEUES), (1, SMALL_QUEUES)] {
        let run = run(count, limits).await;
        check(
            &format!("the report of {count} readings with {limits:?}: each reading once"),
            run.converted,
            expected(count),
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_workers_convert_side_by_side() {
    for (count, limits) in [(20, SMALL_QUEUES), (30, TINY_QUEUES)] {
        let run = run(count, limits).await;
        check(
            &format!(
                "{count} readings with {limits:?}: the most conversions at once (one per worker)"
            ),
            run.probe.most_converting(),
            limits.workers as u32,
        );
        // The paused clock makes this exact: each round of conversions takes one second of it,
        // and the workers never wait for one another.
        let rounds = count.div_ceil(limits.workers as u32);
        check(
            &format!(
                "{count} readings with {limits:?}: how long the batch takes ({rounds} rounds of \
                 {CONVERSION:?}, all workers busy)"
            ),
            run.took,
            CONVERSION * rounds,
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_queues_stay_bounded() {
    for (count, limits) in [(20, SMALL_QUEUES), (30, TINY_QUEUES)] {
        let run = run(count, limits).await;
        // One reading in the producer's hands, a full job queue, one in each worker's, and a
        // full result queue: the most that may be taken and not yet reported.
        let bound = 1 + limits.queue + limits.workers + limits.results;
        let ahead = run.probe.most_ahead();
        assert!(
            ahead as usize <= bound,
            "{count} readings with {limits:?}: the producer ran {ahead} readings ahead of the \
             report, but the queues allow {bound} (1 + queue + workers + results). Keep both \
             queues bounded, with their sizes from `limits`: a queue that never fills hides \
             the hang, it does not fix it\n    reread: {REREAD}"
        );
    }
}
