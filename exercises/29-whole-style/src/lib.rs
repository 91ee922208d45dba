//! # Exercise 29: a whole style
//!
//! Chapter 11, Async data management (`book/src/data-management.md`), with everything before it.
//! About 30 minutes: the capstone of Part III, which puts the exercises so far together.
//!
//! **Goal:** the pipeline, all five steps, in the async/await style on tokio: the sequential
//! reference (`crates/pipeline/src/reference.rs`, read it first) with its waiting made
//! concurrent, computing exactly what it computes.
//!
//! **Contract**, the project's conformance checks, on every built-in scenario:
//!
//! - the same report as the reference, byte for byte;
//! - concurrency: the sources are fetched at the same time, each in a task of its own (on the
//!   runtime's worker threads, not on the thread that called [`run`]), and every one of the
//!   `concurrency` slots gets used, never more: a slot is taken before a source's first
//!   attempt and given back as soon as its feed has answered or given up;
//! - every attempt has a real timeout, and is traced: an `AttemptStarted` and an
//!   `AttemptFinished` each;
//! - one lookup per station (through the cache), one hand-off per accepted record (to the
//!   workers, over bounded queues).
//!
//! Given: the entry point [`run`], the shared `RunContext`, the single-flight cache (exercise
//! 17, with a `OnceCell` per station), the traced `lookup`, `call_feed` (the "network"), the
//! `worker` (exercise 24) and `enrich_and_hand_off`. Yours: the three functions marked `TODO`.
//! The tests call [`run`], so the first `todo!()` they reach is `run_async`'s; writing them
//! from the inside out (`fetch_with_retry` first) is easier.
//!
//! Check your work with `cargo run -- learn check 29`. Stuck? `cargo run -- learn hint 29`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use futures::future;
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::parse::{Reason, Record, Rejection, parse_body};
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::Response;
use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

/// The style's name, as errors write it.
pub const NAME: &str = "my-style";

/// Runs the pipeline and returns its report: the entry point every style has.
pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .map_err(|error| RunError::Internal {
            style: NAME,
            message: format!("the runtime could not start: {error}"),
        })?;
    // Tasks must own what they use: the scenario goes behind an `Arc`.
    let scenario = Arc::new(scenario.clone());
    runtime.block_on(run_async(scenario, *opts, trace.clone()))
}

/// Everything the tasks of one run share, through an `Arc`.
struct RunContext {
    /// The scenario: sources, registry and settings.
    scenario: Arc<Scenario>,
    /// The time scale.
    opts: RunOptions,
    /// Where events go.
    trace: Trace,
    /// Station to region, looked up at most once per station.
    cache: SingleFlightCache,
    /// The sending side of each worker's bounded queue, by worker index.
    queues: Vec<Sender<Enriched>>,
}

/// What one source contributes to the report.
struct SourceOutcome {
    /// How fetching it went.
    fetch: FetchSummary,
    /// Its rejected lines and records.
    rejected: Vec<Rejection>,
}

/// The pipeline as one future: workers, then one task per source (at most `concurrency`
/// fetching), then the merge.
async fn run_async(
    scenario: Arc<Scenario>,
    opts: RunOptions,
    trace: Trace,
) -> Result<Report, RunError> {
    // TODO: the whole run: `settings.workers` workers, each draining a bounded queue of
    // `settings.channel_capacity`, in tasks of their own; every source processed in a task of
    // its own, started in file order, each holding one of `concurrency` slots while it
    // fetches; the report assembled from the sources' outcomes in file order and the workers'
    // tallies, once every task has ended (a panicked task becomes a `RunError`: `panicked`).
    todo!("workers, a slot and a task per source, then the merge")
}

/// One source, from its first attempt to its last record handed off.
async fn process_source(
    run: Arc<RunContext>,
    index: usize,
    slot: OwnedSemaphorePermit,
) -> Result<SourceOutcome, RunError> {
    // TODO: what the reference does for one source, with the slot given back as soon as the
    // fetch has ended, and the source's records enriched and handed off concurrently; every
    // rejection, of a line or of an unknown station, in the outcome.
    todo!("fetch, free the slot, parse, enrich and hand off")
}

/// Fetches source `index`: up to `max_attempts` attempts, each limited by the timeout and
/// traced. Returns the summary and, if the last attempt answered, the body.
async fn fetch_with_retry(run: &RunContext, index: usize) -> (FetchSummary, Option<&str>) {
    let settings = &run.scenario.settings;
    let source = &run.scenario.sources[index];
    let latency = run.opts.scaled(source.latency_ms);
    let timeout = run.opts.scaled(settings.timeout_ms);
    // TODO: the reference's attempts and decisions, where an attempt is `call_feed` for
    // `source.respond(attempt)`, really limited to `timeout`; each attempt traced from its
    // start to its end, with its outcome.
    todo!("attempts with a timeout, traced, until one answers or none are left")
}

/// A task failed: it panicked (or, which cannot happen here, was cancelled).
fn panicked(what: &'static str, error: tokio::task::JoinError) -> RunError {
    match error.try_into_panic() {
        Ok(payload) => RunError::from_panic(NAME, what, payload),
        Err(error) => RunError::Internal {
            style: NAME,
            message: format!("a {what} was cancelled: {error}"),
        },
    }
}

/// The feed answered with an error.
#[derive(Debug)]
struct FeedError;

/// The "network": after `latency`, the feed answers `response`; a hanging feed never does.
async fn call_feed(latency: Duration, response: Response<'_>) -> Result<&str, FeedError> {
    tokio::time::sleep(latency).await;
    match response {
        Response::Body(body) => Ok(body),
        Response::Error => Err(FeedError),
        Response::Never => future::pending().await,
    }
}

/// Enriches one record through the cache and hands it to its worker (recording the hand-off);
/// returns the rejection if its station is unknown.
async fn enrich_and_hand_off(
    run: &RunContext,
    record: Record,
) -> Result<Option<Rejection>, RunError> {
    let region = run
        .cache
        .get_or_lookup(&record.station, || lookup(run, &record.station))
        .await;
    let Some(region) = region else {
        return Ok(Some(Rejection {
            source: record.source,
            line: record.line,
            reason: Reason::UnknownStation,
        }));
    };
    let worker = worker_for(&record.station, run.queues.len());
    run.queues[worker]
        .send(Enriched { record, region })
        .await
        .map_err(|_| RunError::Internal {
            style: NAME,
            message: format!("worker {worker} stopped before the end of the run"),
        })?;
    run.trace.hand_off(worker);
    Ok(None)
}

/// One registry lookup, traced: waits `lookup_ms`, then answers.
async fn lookup(run: &RunContext, station: &str) -> Option<String> {
    run.trace.record(EventKind::LookupStarted {
        station: station.to_string(),
    });
    tokio::time::sleep(run.opts.scaled(run.scenario.settings.lookup_ms)).await;
    let region = run.scenario.registry.region_of(station).map(str::to_string);
    run.trace.record(EventKind::LookupFinished {
        station: station.to_string(),
        known: region.is_some(),
    });
    region
}

/// Station to region, single-flight: one `OnceCell` per station (exercise 28 did it with
/// `Shared` futures instead).
#[derive(Default)]
struct SingleFlightCache {
    /// One cell per station ever asked for.
    cells: Mutex<HashMap<String, Arc<OnceCell<Option<String>>>>>,
    /// Lookups started.
    lookups: AtomicU64,
}

impl SingleFlightCache {
    /// The region of `station`, from the cache or from `lookup()`, which runs at most once per
    /// station.
    async fn get_or_lookup<F, Fut>(&self, station: &str, lookup: F) -> Option<String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<String>>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cells.entry(station.to_string()).or_default())
        }; // Released before the `.await`.
        cell.get_or_init(|| {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            lookup()
        })
        .await
        .clone()
    }

    /// Lookups started.
    fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}

/// One worker: adds every record from its queue to its tally, until the queue is closed.
async fn worker(inbox: Receiver<Enriched>) -> WorkerTally {
    let mut tally = WorkerTally::new();
    while let Ok(record) = inbox.recv().await {
        tally.add(record);
    }
    tally
}
