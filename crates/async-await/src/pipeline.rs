//! The pipeline, written once with `async`/`.await`, for any [`Runtime`].
//!
//! Read [`rosetta_pipeline::reference`] first: this is the same function with the waiting
//! rearranged. Where the reference sleeps, this code awaits; where the reference loops over
//! sources one by one, this code starts a task per source, at most `concurrency` at a time.
//! The shape of each step survives: `fetch_with_retry` is still a loop, the cache is still a
//! map, the workers still add records to a `WorkerTally`.
//!
//! The tools, and why each one:
//!
//! - **Tasks** ([`Runtime::spawn`]) for each source and each worker, so that a multi-threaded
//!   runtime can run them in parallel. Tasks must be `'static`, so they share one
//!   `RunContext` through an `Arc` instead of borrowing the caller's scenario.
//! - **A semaphore** (`async_lock::Semaphore`) for the `concurrency` slots. The main task takes
//!   a slot *before* spawning a source's task, in file order, so sources start in file order and
//!   at most `concurrency` tasks are fetching. (`futures::StreamExt::buffer_unordered` would
//!   bound them too, but it polls every fetch from the one task that drives the stream, so
//!   everything would run on one thread.)
//! - **A race** ([`with_timeout`], built on `futures::future::select`) for the timeout, using the
//!   runtime's timer, so the timeout is the same code on every runtime. The loser is *dropped*:
//!   that is how async Rust cancels.
//! - **A single-flight cache** ([`SingleFlightCache`]): one `async_lock::OnceCell` per station.
//! - **Bounded channels** (`async_channel::bounded`) in front of the workers: `send` waits while
//!   a queue is full, which is backpressure without a line of code.
//!
//! Read next: [`crate::pitfalls`], the mistakes this code avoids.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use async_lock::{OnceCell, Semaphore, SemaphoreGuardArc};
use futures::future::{self, Either};
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::parse::{Reason, Record, Rejection, parse_body};
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::Response;
use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

use crate::runtime::Runtime;

/// Runs the pipeline on the runtime `R`: the body of each style's `run` function.
pub fn run<R: Runtime>(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    // Tasks may run on any thread for as long as they like, so they cannot borrow `scenario`:
    // one clone behind an `Arc` is the price. In production the caller would hand over an
    // `Arc<Scenario>` in the first place.
    let scenario = Arc::new(scenario.clone());
    let (opts, trace) = (*opts, trace.clone());
    R::block_on(|runtime| run_async(runtime, scenario, opts, trace)).map_err(|error| {
        RunError::Internal {
            style: R::NAME,
            message: format!("the runtime could not start: {error}"),
        }
    })?
}

/// The size in bytes of the pipeline's main future on the runtime `R`: the state machine the
/// compiler generates for `run_async`, with every local that lives across an `.await` in it.
/// Tasks it spawns are separate allocations and do not count. (The future is created, measured
/// and dropped without being polled: a future does nothing until it is polled.)
pub fn main_future_size<R: Runtime>() -> std::io::Result<usize> {
    let scenario = Arc::new(Scenario::generate(1, 1));
    R::block_on(|runtime| {
        let main = run_async(runtime, scenario, RunOptions::default(), Trace::new());
        future::ready(std::mem::size_of_val(&main))
    })
}

/// Everything the tasks of one run share. Tasks hold it through an `Arc`; nothing in it is
/// borrowed, so they can be `'static`.
#[derive(Debug)]
struct RunContext<R> {
    /// Where to spawn tasks and get timers.
    runtime: R,
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
#[derive(Debug)]
struct SourceOutcome {
    /// How fetching it went.
    fetch: FetchSummary,
    /// Its rejected lines and records, in any order.
    rejected: Vec<Rejection>,
}

// ANCHOR: run
/// The pipeline as one future: spawns the workers, then one task per source, and merges.
async fn run_async<R: Runtime>(
    runtime: R,
    scenario: Arc<Scenario>,
    opts: RunOptions,
    trace: Trace,
) -> Result<Report, RunError> {
    let settings = scenario.settings;
    // 4. The workers come first, so that the first record has somewhere to go.
    let (queues, workers): (Vec<_>, Vec<_>) = (0..settings.workers)
        .map(|_| {
            let (queue, inbox) = async_channel::bounded(settings.channel_capacity);
            (queue, runtime.spawn(worker(inbox)))
        })
        .unzip();
    let run = Arc::new(RunContext {
        runtime,
        scenario,
        opts,
        trace,
        cache: SingleFlightCache::default(),
        queues,
    });

    // 1. Fetch: take a slot, then start the source's task, in file order. When all slots are
    // taken, `acquire_arc` waits until a source answers and gives its slot back.
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let mut sources = Vec::with_capacity(run.scenario.sources.len());
    for index in 0..run.scenario.sources.len() {
        let slot = slots.acquire_arc().await;
        let task = process_source(Arc::clone(&run), index, slot);
        sources.push(run.runtime.spawn(task));
    }

    // Collect the outcomes in file order (they finish in any order; awaiting in order is fine,
    // since every task is already running).
    let mut fetches = Vec::with_capacity(sources.len());
    let mut rejected = Vec::new();
    for source in sources {
        let outcome = source
            .await
            .map_err(|panic| RunError::from_panic(R::NAME, "source task", panic))??;
        fetches.push(outcome.fetch);
        rejected.extend(outcome.rejected);
    }

    // Every record has been handed off. Closing the queues lets each worker finish once it has
    // drained its queue. (Closing by dropping the last sender would work too, but the senders
    // live in `run`, which every task holds: an explicit `close` is easier to see.)
    for queue in &run.queues {
        queue.close();
    }
    let mut tallies = Vec::with_capacity(workers.len());
    for worker in workers {
        tallies.push(
            worker
                .await
                .map_err(|panic| RunError::from_panic(R::NAME, "worker", panic))?,
        );
    }

    // 5. Merge.
    let lookups = run.cache.lookups();
    Ok(Report::assemble(
        &run.scenario,
        &fetches,
        rejected,
        lookups,
        &tallies,
    ))
}
// ANCHOR_END: run

// ANCHOR: process_source
/// One source, from its first attempt to its last record handed off. `slot` is its
/// concurrency slot, held while it is being fetched.
async fn process_source<R: Runtime>(
    run: Arc<RunContext<R>>,
    index: usize,
    slot: SemaphoreGuardArc,
) -> Result<SourceOutcome, RunError> {
    let (fetch, body) = fetch_with_retry(&run, index).await;
    // The source has answered (or given up): its slot goes to the next source now, not after
    // its records are enriched.
    drop(slot);
    let Some(body) = body else {
        return Ok(SourceOutcome {
            fetch,
            rejected: Vec::new(),
        });
    };

    // 2. Parse.
    let parsed = parse_body(index, body);
    let mut rejected = parsed.rejected;
    // 3 and 4. Enrich every record concurrently (a record waiting for a lookup does not hold up
    // the others) and hand each to its worker. `try_join_all` runs them all inside this task
    // and stops at the first error.
    let records = parsed
        .records
        .into_iter()
        .map(|record| enrich_and_hand_off(&run, record));
    let unknown = future::try_join_all(records).await?;
    rejected.extend(unknown.into_iter().flatten());
    Ok(SourceOutcome { fetch, rejected })
}
// ANCHOR_END: process_source

// ANCHOR: fetch_with_retry
/// Fetches source `index`: up to `retries + 1` attempts, each limited by the timeout. Returns
/// the summary and, if the last attempt answered, the body.
async fn fetch_with_retry<R: Runtime>(
    run: &RunContext<R>,
    index: usize,
) -> (FetchSummary, Option<&str>) {
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
        // Where the reference asks the model which comes first, this code races the feed
        // against a timer and lets the clock decide.
        let feed = call_feed(&run.runtime, latency, source.respond(attempt));
        let (outcome, body) = match with_timeout(&run.runtime, timeout, feed).await {
            Some(Ok(body)) => (AttemptOutcome::Answered, Some(body)),
            Some(Err(FeedError)) => (AttemptOutcome::Error, None),
            None => (AttemptOutcome::Timeout, None),
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

/// The feed answered with an error.
#[derive(Debug)]
struct FeedError;

/// The "network": a feed answers `response` once `latency` has passed. A hanging feed never
/// answers; this future then stays pending until whoever races it drops it.
async fn call_feed<'s, R: Runtime>(
    runtime: &R,
    latency: Duration,
    response: Response<'s>,
) -> Result<&'s str, FeedError> {
    runtime.sleep(latency).await;
    match response {
        Response::Body(body) => Ok(body),
        Response::Error => Err(FeedError),
        Response::Never => future::pending().await,
    }
}
// ANCHOR_END: fetch_with_retry

// ANCHOR: with_timeout
/// Runs `future` for at most `limit`: `Some(output)` if it completes first, `None` if the timer
/// fires first.
///
/// Whichever loses is *dropped* when this function returns, and a dropped future is never
/// polled again: that is all cancellation is in async Rust. A hanging feed costs nothing after
/// its timeout, and no late answer can keep the run alive. (See [`crate::pitfalls`] for when
/// dropping a future halfway loses data.) Written on [`Runtime::sleep`], this works on every
/// runtime; `tokio::time::timeout` is the same thing, for tokio only.
pub async fn with_timeout<R: Runtime, F: Future>(
    runtime: &R,
    limit: Duration,
    future: F,
) -> Option<F::Output> {
    // `select` needs futures it can poll by `&mut`, which means pinned (`Unpin`) ones: `pin!`
    // pins them here, in this function's own state.
    let future = pin!(future);
    let timer = pin!(runtime.sleep(limit));
    // `select` polls its first argument first: if both are ready at once, the answer wins.
    match future::select(future, timer).await {
        Either::Left((output, _timer)) => Some(output),
        Either::Right(((), _unfinished)) => None,
    }
}
// ANCHOR_END: with_timeout

/// Enriches one record and hands it to its worker; returns the rejection if its station is
/// unknown.
async fn enrich_and_hand_off<R: Runtime>(
    run: &RunContext<R>,
    record: Record,
) -> Result<Option<Rejection>, RunError> {
    let lookup = || lookup(run, &record.station);
    let Some(region) = run.cache.get_or_lookup(&record.station, lookup).await else {
        return Ok(Some(Rejection {
            source: record.source,
            line: record.line,
            reason: Reason::UnknownStation,
        }));
    };
    let worker = worker_for(&record.station, run.queues.len());
    // `send` waits while the worker's queue is full: backpressure. It fails only if the worker
    // is gone, which happens only if it panicked.
    run.queues[worker]
        .send(Enriched { record, region })
        .await
        .map_err(|_| RunError::Internal {
            style: R::NAME,
            message: format!("worker {worker} stopped before the end of the run"),
        })?;
    run.trace.record(EventKind::HandedOff { worker });
    Ok(None)
}

/// One registry lookup: waits `lookup_ms`, then answers. Only the cache calls it, on a miss.
async fn lookup<R: Runtime>(run: &RunContext<R>, station: &str) -> Option<String> {
    run.trace.record(EventKind::LookupStarted {
        station: station.to_string(),
    });
    let lookup_ms = run.scenario.settings.lookup_ms;
    run.runtime.sleep(run.opts.scaled(lookup_ms)).await;
    let region = run.scenario.registry.region_of(station).map(str::to_string);
    run.trace.record(EventKind::LookupFinished {
        station: station.to_string(),
        known: region.is_some(),
    });
    region
}

// ANCHOR: single_flight
/// Station to region, where each station is looked up at most once, even when many tasks ask
/// for it at the same moment (*single-flight*).
///
/// Each station gets an `async_lock::OnceCell`. The first task to ask runs the lookup inside
/// [`OnceCell::get_or_init`]; tasks that ask while it runs wait on the same cell, and every
/// later one finds the value there. The map itself sits behind a `std::sync::Mutex`, held only
/// to find or insert a cell and never across an `.await` (see [`crate::pitfalls`] for why that
/// matters), so an async mutex is not needed.
///
/// The other common answer is to store the lookup's future itself, made cloneable with
/// `futures::FutureExt::shared`, and have every asker await a clone. That needs the future's
/// type in the map, so a boxed `'static` future that owns clones of everything it touches; a
/// cell keeps the waiting and the value apart and lets the lookup borrow. (One difference to
/// know: if the task running a `OnceCell` initialisation is cancelled, the next waiter starts
/// the lookup again, while a `Shared` future goes on as long as any clone is polled.)
#[derive(Debug, Default)]
pub struct SingleFlightCache {
    /// One cell per station ever asked for. `Arc`, so that a cell can be awaited after the
    /// map's lock is released.
    cells: Mutex<HashMap<String, Arc<OnceCell<Option<String>>>>>,
    /// Lookups started: the report's `lookups`.
    lookups: AtomicU64,
}

impl SingleFlightCache {
    /// The region of `station` (`None`: unknown), from the cache, or from `lookup()` if nobody
    /// has asked for this station before.
    pub async fn get_or_lookup<F, Fut>(&self, station: &str, lookup: F) -> Option<String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<String>>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cells.entry(station.to_string()).or_default())
        }; // The guard is dropped here, before the `.await` below.
        let region = cell
            .get_or_init(|| {
                self.lookups.fetch_add(1, Ordering::Relaxed);
                lookup()
            })
            .await;
        region.clone()
    }

    /// How many lookups were started.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }
}
// ANCHOR_END: single_flight

// ANCHOR: worker
/// One worker: adds every record from its queue to its tally, until the queue is closed.
async fn worker(inbox: Receiver<Enriched>) -> WorkerTally {
    let mut tally = WorkerTally::new();
    // `recv` fails only once the queue is closed *and* empty, so no record is left behind.
    while let Ok(record) = inbox.recv().await {
        tally.add(record);
    }
    tally
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;
    use crate::runtime::Smol;

    #[test]
    fn an_unpolled_main_future_holds_its_arguments() {
        use std::mem::size_of;

        use crate::runtime::Tokio;
        // Before its first poll, the state machine of an `async fn` is its arguments, moved in;
        // its later states (the locals across each `.await`) reuse the same bytes.
        let arguments = size_of::<Tokio>()
            + size_of::<Arc<Scenario>>()
            + size_of::<RunOptions>()
            + size_of::<Trace>();
        let size = main_future_size::<Tokio>().unwrap();
        assert!(size >= arguments, "{size} < {arguments}");
    }

    #[test]
    fn askers_at_the_same_moment_share_one_lookup() {
        let cache = SingleFlightCache::default();
        let calls = AtomicU32::new(0);
        // The lookup waits at a gate, so that every asker arrives while it is in flight.
        let (open, gate) = async_channel::bounded::<()>(1);
        let lookup = || async {
            calls.fetch_add(1, Ordering::Relaxed);
            gate.recv().await.unwrap();
            Some("north".to_string())
        };
        let askers = (0..3).map(|_| cache.get_or_lookup("Oslo", lookup));
        // One message, then `open` is dropped: a second lookup would find the gate closed
        // and panic, so a cache that is not single-flight fails this test.
        let opener = async move { open.send(()).await.unwrap() };
        let (regions, ()) =
            futures::executor::block_on(future::join(future::join_all(askers), opener));
        assert_eq!(regions, vec![Some("north".to_string()); 3]);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(cache.lookups(), 1);
        // A later asker finds the value; an unknown station is cached as unknown, too.
        let never = || async { unreachable!("Oslo is cached") };
        let oslo = futures::executor::block_on(cache.get_or_lookup("Oslo", never));
        assert_eq!(oslo.as_deref(), Some("north"));
        let unknown =
            futures::executor::block_on(cache.get_or_lookup("Atlantis", || async { None }));
        assert_eq!((unknown, cache.lookups()), (None, 2));
    }

    #[test]
    fn with_timeout_lets_the_first_to_finish_decide() {
        let ms = Duration::from_millis(1);
        let (answered, timed_out) = Smol::block_on(|runtime| async move {
            let fast = async {
                runtime.sleep(ms).await;
                "answer"
            };
            let answered = with_timeout(&runtime, 200 * ms, fast).await;
            let timed_out = with_timeout(&runtime, ms, future::pending::<()>()).await;
            (answered, timed_out)
        })
        .unwrap();
        assert_eq!(answered, Some("answer"));
        assert_eq!(timed_out, None);
    }
}
