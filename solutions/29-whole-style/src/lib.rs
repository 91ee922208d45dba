//! Solution of exercise 29: the whole pipeline, in the async/await style on tokio, producing
//! the reference's report byte for byte.
//!
//! The exercise (`exercises/29-whole-style/src/lib.rs`) explains the task; chapter 7 of the
//! book (`book/src/async-await.md`) walks through the same design. `crates/async-await/src/
//! lib.rs` (with `fetch.rs`, `cache.rs` and `workers.rs`) is the project's version, generic
//! over the runtime.

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

// ANCHOR: run_async
/// The pipeline as one future: workers, then one task per source (at most `concurrency`
/// fetching), then the merge.
async fn run_async(
    scenario: Arc<Scenario>,
    opts: RunOptions,
    trace: Trace,
) -> Result<Report, RunError> {
    let settings = scenario.settings;
    // 4. The workers first, so that the first record has somewhere to go.
    let (queues, workers): (Vec<_>, Vec<_>) = (0..settings.workers)
        .map(|_| {
            let (queue, inbox) = async_channel::bounded(settings.channel_capacity);
            (queue, tokio::spawn(worker(inbox)))
        })
        .unzip();
    let run = Arc::new(RunContext {
        scenario,
        opts,
        trace,
        cache: SingleFlightCache::default(),
        queues,
    });

    // 1. A slot, then the source's task, in file order.
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let mut sources = Vec::with_capacity(run.scenario.sources.len());
    for index in 0..run.scenario.sources.len() {
        let slot = Arc::clone(&slots)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        sources.push(tokio::spawn(process_source(Arc::clone(&run), index, slot)));
    }

    // Outcomes in file order.
    let mut fetches = Vec::with_capacity(sources.len());
    let mut rejected = Vec::new();
    for source in sources {
        let outcome = source
            .await
            .map_err(|error| panicked("source task", error))??;
        fetches.push(outcome.fetch);
        rejected.extend(outcome.rejected);
    }

    // Every record is handed off: close the queues, let the workers drain them.
    for queue in &run.queues {
        queue.close();
    }
    let mut tallies = Vec::with_capacity(workers.len());
    for worker in workers {
        tallies.push(worker.await.map_err(|error| panicked("worker", error))?);
    }

    // 5. Merge.
    Ok(Report::assemble(
        &run.scenario,
        &fetches,
        rejected,
        run.cache.lookups(),
        &tallies,
    ))
}

/// One source, from its first attempt to its last record handed off.
async fn process_source(
    run: Arc<RunContext>,
    index: usize,
    slot: OwnedSemaphorePermit,
) -> Result<SourceOutcome, RunError> {
    let (fetch, body) = fetch_with_retry(&run, index).await;
    // The feed has answered or given up: free the slot before enriching.
    drop(slot);
    let Some(body) = body else {
        return Ok(SourceOutcome {
            fetch,
            rejected: Vec::new(),
        });
    };
    // 2. Parse; 3 and 4. enrich every record at once and hand each off.
    let parsed = parse_body(index, body);
    let mut rejected = parsed.rejected;
    let records = parsed
        .records
        .into_iter()
        .map(|record| enrich_and_hand_off(&run, record));
    let unknown = future::try_join_all(records).await?;
    rejected.extend(unknown.into_iter().flatten());
    Ok(SourceOutcome { fetch, rejected })
}
// ANCHOR_END: run_async

// ANCHOR: fetch_with_retry
/// Fetches source `index`: up to `max_attempts` attempts, each limited by the timeout and
/// traced. Returns the summary and, if the last attempt answered, the body.
async fn fetch_with_retry(run: &RunContext, index: usize) -> (FetchSummary, Option<&str>) {
    let settings = &run.scenario.settings;
    let source = &run.scenario.sources[index];
    let latency = run.opts.scaled(source.latency_ms);
    let timeout = run.opts.scaled(settings.timeout_ms);
    let mut attempt = 1;
    loop {
        run.trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        let feed = call_feed(latency, source.respond(attempt));
        let (outcome, body) = match tokio::time::timeout(timeout, feed).await {
            Ok(Ok(body)) => (AttemptOutcome::Answered, Some(body)),
            Ok(Err(FeedError)) => (AttemptOutcome::Error, None),
            Err(_elapsed) => (AttemptOutcome::Timeout, None),
        };
        run.trace.record(EventKind::AttemptFinished {
            source: index,
            attempt,
            outcome,
        });
        if outcome == AttemptOutcome::Answered || attempt == settings.max_attempts() {
            return (FetchSummary::after(attempt, outcome), body);
        }
        attempt += 1;
    }
}
// ANCHOR_END: fetch_with_retry

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
