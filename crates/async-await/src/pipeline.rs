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
//!   runtime can run them in parallel. A task spawned on a runtime that may outlive the caller
//!   (`tokio::spawn`, and [`Runtime::spawn`] here) must be `'static`, so they share one
//!   `RunContext` through an `Arc` instead of borrowing the caller's scenario. (An executor that
//!   is itself borrowed, such as `async_executor::Executor<'a>` or chapter 6's, can run tasks
//!   that borrow for `'a`.) Every task's handle is awaited, on the error paths too, so that no
//!   task outlives [`run`].
//! - **A semaphore** (`async_lock::Semaphore`) for the `concurrency` slots. The main task takes
//!   a slot *before* spawning a source's task, in file order, so sources start in file order and
//!   at most `concurrency` tasks are fetching. (`futures::StreamExt::buffer_unordered` would
//!   bound them too, but it polls every fetch from the one task that drives the stream, so
//!   everything would run on one thread.)
//! - **A race** ([`with_timeout`], built on `futures::future::select`) for the timeout, using the
//!   runtime's timer, so the timeout is the same code on every runtime. The loser is *dropped*:
//!   that is how async Rust cancels. The feed is a timer too, and a race between two timers is
//!   decided by their deadlines ([`with_deadline`]), not by the order in which a late poll finds
//!   them ready.
//! - **A single-flight cache** ([`SingleFlightCache`]): one `async_lock::OnceCell` per station,
//!   asked once per distinct station of a body, all at once with `futures::future::join_all`,
//!   between the two passes over the body that `rosetta_pipeline::enrich` describes.
//! - **Bounded channels** (`async_channel::bounded`) in front of the workers: `send` waits while
//!   a queue is full, which is backpressure without a line of code.
//!
//! Read next: [`crate::pitfalls`], the mistakes this code avoids.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use async_lock::{OnceCell, Semaphore, SemaphoreGuardArc};
use futures::future::{self, Either};
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::enrich::survey;
use rosetta_pipeline::parse::Rejection;
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
    // one clone behind an `Arc` is the price, and it copies every body (a 50 MB feed costs
    // 50 MB more for the whole run). In production the caller would hand over an
    // `Arc<Scenario>` in the first place, or the bodies would be shared (`Arc<str>`).
    let scenario = Arc::new(scenario.clone());
    let (opts, trace) = (*opts, trace.clone());
    R::block_on(|runtime| run_async(runtime, scenario, opts, trace, worker)).map_err(|error| {
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
        let main = run_async(
            runtime,
            scenario,
            RunOptions::default(),
            Trace::new(),
            worker,
        );
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

impl<R> RunContext<R> {
    /// Closes every worker's queue: no hand-off succeeds after this, and each worker ends once
    /// it has drained its queue. The end of every run, and how a failed run stops early.
    fn close_queues(&self) {
        for queue in &self.queues {
            queue.close();
        }
    }

    /// Whether the run has failed: a queue closed before the end, because its worker is gone
    /// (a queue closes when its receiver is dropped) or a task closed them all after a failure.
    fn has_failed(&self) -> bool {
        self.queues.iter().any(Sender::is_closed)
    }
}

/// Keeps in `kept` the error to report: the first panic if there is one, otherwise the first
/// error. A worker's panic makes every later hand-off to it fail, so the panic is the cause and
/// those "worker stopped" errors are only its consequences.
fn keep_the_cause(kept: &mut Option<RunError>, error: RunError) {
    let is_panic = |error: &RunError| matches!(error, RunError::Panicked { .. });
    match kept {
        Some(first) if is_panic(first) || !is_panic(&error) => {}
        _ => *kept = Some(error),
    }
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
/// `worker` is what each worker task runs: [`worker`] itself, except in the tests of the error
/// paths, which pass one that fails.
async fn run_async<R, W, WorkerFuture>(
    runtime: R,
    scenario: Arc<Scenario>,
    opts: RunOptions,
    trace: Trace,
    worker: W,
) -> Result<Report, RunError>
where
    R: Runtime,
    W: Fn(Receiver<Enriched>) -> WorkerFuture,
    WorkerFuture: Future<Output = WorkerTally> + Send + 'static,
{
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
        if run.has_failed() {
            break; // Starting more sources would only delay the error.
        }
        let task = process_source(Arc::clone(&run), index, slot);
        sources.push(run.runtime.spawn(task));
    }

    // Collect the outcomes in file order (they finish in any order; awaiting in order is fine,
    // since every task is already running). Every handle is awaited, even after an error: a
    // task whose handle is dropped runs on unobserved on async-std, writing into the caller's
    // trace after `run` has returned, and on tokio and smol it is dropped wherever it stood,
    // leaving attempts that started and never finished. Once the run has failed, the other
    // tasks fail fast (every hand-off fails: see `process_source`), so waiting costs little.
    let mut fetches = Vec::with_capacity(sources.len());
    let mut rejected = Vec::new();
    let mut failure = None;
    for source in sources {
        match source.await {
            Ok(Ok(outcome)) => {
                fetches.push(outcome.fetch);
                rejected.extend(outcome.rejected);
            }
            Ok(Err(error)) => keep_the_cause(&mut failure, error),
            Err(panic) => {
                let error = RunError::from_panic(R::NAME, "source task", panic);
                keep_the_cause(&mut failure, error);
            }
        }
    }

    // Every record has been handed off (or the run has failed). Closing the queues lets each
    // worker finish once it has drained its queue. (Closing by dropping the last sender would
    // work too, but the senders live in `run`, which every task holds: an explicit `close` is
    // easier to see.)
    run.close_queues();
    let mut tallies = Vec::with_capacity(workers.len());
    for worker in workers {
        match worker.await {
            Ok(tally) => tallies.push(tally),
            Err(panic) => {
                keep_the_cause(&mut failure, RunError::from_panic(R::NAME, "worker", panic));
            }
        }
    }
    if let Some(error) = failure {
        return Err(error); // Only now: no task of this run is left to write to the trace.
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

    // 2 and 3. Parse and enrich in two passes over the body, so that only a *station* ever
    // waits, never a record (`rosetta_pipeline::enrich` explains why). Pass 1: the body's
    // distinct stations and its rejected lines.
    let survey = survey(index, body);
    // Look every station up at once through the single-flight cache, one future per station
    // (a station another source is looking up is waited for, not looked up again). `join_all`
    // runs them all inside this task, each to its end. Nothing may drop one halfway, as a
    // `select` against a failure would, or `try_join_all` at the first error if lookups could
    // fail: a dropped asker abandons its lookup, the next asker for that station runs it
    // again, and the first start never finishes in the trace. (The cache counts a lookup when
    // it completes, so the report's `lookups` would survive that; the trace would not.)
    let lookups = survey.stations.iter().map(|station| {
        let lookup = || lookup(&run, station);
        run.cache.get_or_lookup(station, lookup)
    });
    let regions = future::join_all(lookups).await;

    // 4. Pass 2 parses the body again and yields each record with its region (or rejects it:
    // unknown station). Each is handed to its worker before the next line is parsed, so this
    // loop holds one record at a time; the bounded queues hold the rest.
    let mut rejected = Vec::new();
    for enriched in survey.enriched(&regions) {
        let enriched = match enriched {
            Ok(enriched) => enriched,
            Err(unknown_station) => {
                rejected.push(unknown_station);
                continue;
            }
        };
        let worker = worker_for(&enriched.record.station, run.queues.len());
        // `send` waits while the worker's queue is full: backpressure. It fails only if the
        // queue is closed: the worker is gone (it panicked), or another task found that out
        // first and closed them all. Either way the run cannot finish, so close every queue:
        // every other hand-off then fails at once, and the run ends as soon as the fetches and
        // lookups in flight do.
        if run.queues[worker].send(enriched).await.is_err() {
            run.close_queues();
            return Err(RunError::Internal {
                style: R::NAME,
                message: format!("worker {worker} stopped before the end of the run"),
            });
        }
        run.trace.hand_off(worker);
    }
    rejected.extend(survey.rejected);
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
        // against a timer, and their deadlines decide. Both clocks start when the attempt
        // starts, now: two readings of the clock could be far apart on a busy machine.
        let started = Instant::now();
        let (answer_at, deadline) = (later(started, latency), later(started, timeout));
        let feed = call_feed(&run.runtime, answer_at, source.respond(attempt));
        let (outcome, body) = match with_deadline(&run.runtime, deadline, feed).await {
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

/// The "network": a feed answers `response` at the instant `answer_at`, and says so. A hanging
/// feed never answers; this future then stays pending until whoever races it drops it.
async fn call_feed<'s, R: Runtime>(
    runtime: &R,
    answer_at: Instant,
    response: Response<'s>,
) -> Due<Result<&'s str, FeedError>> {
    runtime.sleep(until(answer_at)).await;
    let value = match response {
        Response::Body(body) => Ok(body),
        Response::Error => Err(FeedError),
        Response::Never => future::pending().await,
    };
    // It answered at `answer_at`, not at the later instant at which a poll found it had.
    Due {
        value,
        at: answer_at,
    }
}
// ANCHOR_END: fetch_with_retry

// ANCHOR: with_timeout
/// Runs `future` for at most `limit`: `Some(output)` if it completes first, `None` if the timer
/// fires first, "first" as a poll finds them.
///
/// Whichever loses is *dropped* when this function returns, and a dropped future is never
/// polled again: that is all cancellation is in async Rust. A hanging feed costs nothing after
/// its timeout, and no late answer can keep the run alive. (See [`crate::pitfalls`] for when
/// dropping a future halfway loses data.) Written on [`Runtime::sleep`], this works on every
/// runtime; `tokio::time::timeout` is the same thing, for tokio only.
///
/// A task polled late (a busy machine, a task that blocks its thread) can find both ready, and
/// `select` polls its first argument first, so then `future` wins. For a future that cannot say
/// when it completed, such as a channel's `recv`, that is the best there is, and it drops
/// nothing that has arrived. A future that waited on a timer can say when it was due, and then
/// the deadlines decide: [`with_deadline`].
pub async fn with_timeout<R: Runtime, F: Future>(
    runtime: &R,
    limit: Duration,
    future: F,
) -> Option<F::Output> {
    // `select` needs futures it can poll by `&mut`, which means pinned (`Unpin`) ones: `pin!`
    // pins them here, in this function's own state.
    let future = pin!(future);
    let timer = pin!(runtime.sleep(limit));
    match future::select(future, timer).await {
        Either::Left((output, _timer)) => Some(output),
        Either::Right(((), _unfinished)) => None,
    }
}

/// A value, and the instant it was due: for a future that waited on a timer, the instant that
/// timer was set to end, however late a poll found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due<T> {
    /// What the future produced.
    pub value: T,
    /// When it was due.
    pub at: Instant,
}

/// [`with_timeout`] with a deadline, for a future that waited on a timer and says when it was
/// due: `Some(value)` if it was due by `deadline`, `None` if not, or if it was not finished
/// when the timeout fired at `deadline`.
///
/// A race between two timers is decided by their *deadlines*, not by the order in which a late
/// poll finds them ready. A timer wheel fires due timers in deadline order, but `select` polls
/// in argument order: a task polled after both deadlines would otherwise take an answer that
/// came after its timeout for one that came in time, and a report would depend on the load of
/// the machine. When the feed answered decides, not when a poll got round to it.
pub async fn with_deadline<R: Runtime, T>(
    runtime: &R,
    deadline: Instant,
    future: impl Future<Output = Due<T>>,
) -> Option<T> {
    let Due { value, at } = with_timeout(runtime, until(deadline), future).await?;
    // It won the poll; it is in time only if it was also due first.
    (at <= deadline).then_some(value)
}
// ANCHOR_END: with_timeout

/// The instant `wait` after `at`. A wait too long for an `Instant` (a huge time scale) is a
/// year, which is forever as far as a run is concerned; `+` would panic instead.
fn later(at: Instant, wait: Duration) -> Instant {
    const FOREVER: Duration = Duration::from_secs(365 * 24 * 60 * 60);
    at.checked_add(wait).unwrap_or(at + FOREVER)
}

/// The wait from now until `at`: a sleep of this long ends at `at` (at once if `at` has passed).
fn until(at: Instant) -> Duration {
    at.saturating_duration_since(Instant::now())
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
/// cell keeps the waiting and the value apart and lets the lookup borrow.
///
/// **Cancellation.** If the asker running a `OnceCell` initialisation is dropped halfway, the
/// lookup is dropped with it, the cell stays empty, and the next asker starts the lookup again
/// (a `Shared` future, by contrast, goes on as long as any clone is polled). So
/// [`SingleFlightCache::lookups`] counts lookups when they *complete*, never twice for one
/// station; and the pipeline never drops an asker halfway (`process_source` uses `join_all`,
/// and `run_async` awaits every task), so each `LookupStarted` in its trace has its
/// `LookupFinished`.
///
/// **In production**, three things would be added, each in `get_or_lookup`. A *size bound*:
/// `cells` keeps every station ever asked for; evict the least recently used cell when
/// inserting a new one (an evicted cell that is still being filled only costs a repeated
/// lookup, since its askers hold their own `Arc`). An *expiry*: store the time of the answer
/// next to it, and treat a cell older than its time-to-live as missing, replacing it under the
/// map's lock. And *the removal of a failed lookup*: a real registry call returns a `Result`;
/// with `OnceCell::get_or_try_init` an error leaves the cell empty, so the next asker tries
/// again instead of every later one getting the cached failure (and remove the cell if
/// failures should not hold memory). A crate such as `moka` does all three, with single-flight
/// `get_with`.
#[derive(Debug, Default)]
pub struct SingleFlightCache {
    /// One cell per station ever asked for. `Arc`, so that a cell can be awaited after the
    /// map's lock is released.
    cells: Mutex<HashMap<String, Arc<OnceCell<Option<String>>>>>,
    /// Lookups completed: the report's `lookups`.
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
            .get_or_init(|| async {
                let region = lookup().await;
                // Counted once it has *completed*. A lookup abandoned halfway (its asker was
                // dropped) leaves the cell empty, the next asker runs it again, and counting at
                // the start would count that station twice.
                self.lookups.fetch_add(1, Ordering::Relaxed);
                region
            })
            .await;
        region.clone()
    }

    /// How many lookups have completed (one per station asked for, unless an asker was dropped
    /// halfway, in which case its lookup is run again and counted once).
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
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicU32;

    use rosetta_pipeline::trace::Event;

    use super::*;
    use crate::runtime::{AsyncStd, Smol, Tokio};

    /// A worker that fails on its first record, as after a bug: it panics, its queue is
    /// dropped with it, and every later hand-off to it fails.
    async fn failing_worker(inbox: Receiver<Enriched>) -> WorkerTally {
        let _first = inbox.recv().await;
        panic!("a deliberate worker failure");
    }

    /// Runs the scenario `toml` on `R` at time scale 1 with failing workers. Returns the run's
    /// error, the trace, and how many events the trace held when the run returned.
    fn run_with_a_failing_worker<R: Runtime>(toml: &str) -> (RunError, Trace, usize) {
        let scenario = Arc::new(Scenario::from_toml(toml, "test.toml").unwrap());
        let (opts, trace) = (RunOptions::with_time_scale(1.0), Trace::new());
        let result = R::block_on(|runtime| {
            run_async(runtime, scenario, opts, trace.clone(), failing_worker)
        });
        let at_return = trace.events().len();
        let error = result
            .unwrap()
            .expect_err("the worker failed, so the run fails");
        (error, trace, at_return)
    }

    /// The attempts and lookups of `trace` that started and did not finish once each, as
    /// `"lookup of Oslo: +1"` (one start too many) or `"...: -1"` (one finish too many).
    fn unmatched(trace: &Trace) -> Vec<String> {
        let mut open = BTreeMap::<String, i32>::new();
        for event in trace.events() {
            let (what, step) = match event.kind {
                EventKind::AttemptStarted { source, attempt } => {
                    (format!("attempt {attempt} of source {source}"), 1)
                }
                EventKind::AttemptFinished {
                    source, attempt, ..
                } => (format!("attempt {attempt} of source {source}"), -1),
                EventKind::LookupStarted { station } => (format!("lookup of {station}"), 1),
                EventKind::LookupFinished { station, .. } => (format!("lookup of {station}"), -1),
                _ => continue,
            };
            *open.entry(what).or_default() += step;
        }
        open.into_iter()
            .filter(|(_, open)| *open != 0)
            .map(|(what, open)| format!("{what}: {open:+}"))
            .collect()
    }

    /// One fast source, whose third hand-off fails (the worker took the first and failed, the
    /// second fills its one-place queue), and two slow ones still waiting for their feeds then.
    const FAILS_WHILE_OTHERS_WAIT: &str = r#"
        name = "fails-while-others-wait"
        [settings]
        concurrency = 3
        workers = 1
        timeout_ms = 1000
        retries = 0
        lookup_ms = 0
        channel_capacity = 1
        [registry]
        Oslo = "north"
        [[sources]]
        name = "fast"
        latency_ms = 0
        body = "Oslo;1.0\nOslo;2.0\nOslo;3.0\n"
        [[sources]]
        name = "slow"
        latency_ms = 200
        body = "Oslo;4.0\n"
        [[sources]]
        name = "slower"
        latency_ms = 250
        body = "Oslo;5.0\n"
    "#;

    /// Runs [`FAILS_WHILE_OTHERS_WAIT`] on `R` and checks that the run left nothing behind.
    fn no_task_outlives_a_failed_run<R: Runtime>() {
        let (error, trace, at_return) = run_with_a_failing_worker::<R>(FAILS_WHILE_OTHERS_WAIT);
        // The slow feeds answer 200 and 250 ms after the start. A task that outlived `run` would
        // record its attempt's end during this pause, in the caller's trace.
        std::thread::sleep(Duration::from_millis(500));
        let after = trace.events().len();
        assert_eq!(after, at_return, "{}: events after `run` returned", R::NAME);
        assert_eq!(unmatched(&trace), Vec::<String>::new(), "{}", R::NAME);
        // The worker's panic is the cause; the failed hand-offs are its consequence.
        let panicked = matches!(error, RunError::Panicked { what: "worker", .. });
        assert!(panicked, "{}: {error}", R::NAME);
    }

    #[test]
    fn no_task_outlives_a_failed_run_on_tokio() {
        no_task_outlives_a_failed_run::<Tokio>();
    }

    #[test]
    fn no_task_outlives_a_failed_run_on_async_std() {
        no_task_outlives_a_failed_run::<AsyncStd>();
    }

    #[test]
    fn no_task_outlives_a_failed_run_on_smol() {
        no_task_outlives_a_failed_run::<Smol>();
    }

    #[test]
    fn an_unpolled_main_future_holds_its_arguments() {
        use std::mem::size_of;

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
    fn a_lookup_abandoned_by_its_asker_is_counted_once() {
        use futures::FutureExt as _;

        let cache = SingleFlightCache::default();
        // The first asker starts the lookup, which waits at a gate that never opens...
        let (_gate_stays_shut, gate) = async_channel::bounded::<()>(1);
        let stuck = || async {
            gate.recv().await.unwrap();
            Some("north".to_string())
        };
        let mut first = Box::pin(cache.get_or_lookup("Oslo", stuck));
        assert_eq!(
            first.as_mut().now_or_never(),
            None,
            "the lookup is in flight"
        );
        // ...and is cancelled: dropped halfway, as `try_join_all` drops its other futures at
        // the first error. The next asker finds the cell empty and runs the lookup itself.
        drop(first);
        let quick = || async { Some("north".to_string()) };
        let region = futures::executor::block_on(cache.get_or_lookup("Oslo", quick));
        assert_eq!(region.as_deref(), Some("north"));
        assert_eq!(
            cache.lookups(),
            1,
            "one lookup completed, one was abandoned"
        );
    }

    /// A source (`first`) whose record makes the worker fail, then one (`leader`) that starts
    /// the only lookup of `Oslo` after the run has failed (its `Bergen` is cached by then), then
    /// one (`follower`) that asks for `Oslo` while that lookup is in flight. A pipeline that
    /// stopped the leader early on seeing the failure (dropping its `join_all` of lookups, or
    /// its task) would abandon the lookup, and the follower would start it again.
    const FAILS_DURING_A_LOOKUP: &str = r#"
        name = "fails-during-a-lookup"
        [settings]
        concurrency = 3
        workers = 1
        timeout_ms = 1000
        retries = 0
        lookup_ms = 100
        channel_capacity = 1
        [registry]
        Oslo = "north"
        Bergen = "west"
        [[sources]]
        name = "first"
        latency_ms = 0
        body = "Bergen;1.0\n"
        [[sources]]
        name = "leader"
        latency_ms = 200
        body = "Oslo;2.0\nBergen;3.0\n"
        [[sources]]
        name = "follower"
        latency_ms = 250
        body = "Oslo;4.0\n"
    "#;

    /// Runs [`FAILS_DURING_A_LOOKUP`] on `R` and checks that every lookup ran once, to its end.
    fn a_failed_hand_off_abandons_no_lookup<R: Runtime>() {
        let (_, trace, _) = run_with_a_failing_worker::<R>(FAILS_DURING_A_LOOKUP);
        assert_eq!(unmatched(&trace), Vec::<String>::new(), "{}", R::NAME);
        let oslo = trace
            .events()
            .into_iter()
            .filter(|event| matches!(&event.kind, EventKind::LookupStarted { station } if station == "Oslo"))
            .count();
        assert_eq!(oslo, 1, "{}: lookups of Oslo", R::NAME);
    }

    #[test]
    fn a_failed_hand_off_abandons_no_lookup_on_every_runtime() {
        a_failed_hand_off_abandons_no_lookup::<Tokio>();
        a_failed_hand_off_abandons_no_lookup::<AsyncStd>();
        a_failed_hand_off_abandons_no_lookup::<Smol>();
    }

    /// One source of 10,000 records that name three stations, whose lookups take a minute: long
    /// enough to count, while they are in flight, everything that waits for them.
    fn many_records_few_stations() -> Scenario {
        let body: String = (0..10_000)
            .map(|line| format!("{};1.0\n", ["Oslo", "Bergen", "Tromso"][line % 3]))
            .collect();
        let toml = format!(
            r#"
            name = "many-records-few-stations"
            [settings]
            concurrency = 1
            workers = 2
            retries = 0
            lookup_ms = 60000
            channel_capacity = 1
            [registry]
            Oslo = "north"
            Bergen = "west"
            Tromso = "north"
            [[sources]]
            name = "big"
            latency_ms = 0
            body = "{}"
        "#,
            body.replace('\n', "\\n")
        );
        Scenario::from_toml(&toml, "test.toml").unwrap()
    }

    /// Runs `process_source` on [`many_records_few_stations`] on `R` until its lookups are in
    /// flight, and returns how many futures then wait on the cache: each asker holds its
    /// station's cell (an `Arc`) while it waits, so that is each cell's count of owners, less
    /// the map's own.
    fn askers_while_the_lookups_are_in_flight<R: Runtime>() -> usize {
        let scenario = Arc::new(many_records_few_stations());
        R::block_on(|runtime| async move {
            // Queues nobody reads: the source cannot hand off more than a queue's worth anyway.
            let (queues, _inboxes): (Vec<_>, Vec<_>) =
                (0..2).map(|_| async_channel::bounded(1)).unzip();
            let run = Arc::new(RunContext {
                runtime,
                scenario,
                opts: RunOptions::with_time_scale(1.0),
                trace: Trace::new(),
                cache: SingleFlightCache::default(),
                queues,
            });
            let slot = Arc::new(Semaphore::new(1)).acquire_arc().await;
            let source = pin!(process_source(Arc::clone(&run), 0, slot));
            let counter = pin!(async {
                let started = |run: &RunContext<R>| {
                    let events = run.trace.events().into_iter();
                    let lookup =
                        |event: &Event| matches!(event.kind, EventKind::LookupStarted { .. });
                    events.filter(lookup).count()
                };
                // A bounded wait (ten seconds at least), so that a broken pipeline fails
                // instead of hanging; then a few more turns, for anything else to start.
                let mut turns = 0;
                while started(&run) < 3 {
                    turns += 1;
                    assert!(turns < 10_000, "the three lookups never started");
                    run.runtime.sleep(Duration::from_millis(1)).await;
                }
                for _ in 0..20 {
                    run.runtime.sleep(Duration::from_millis(1)).await;
                }
                let cells = run.cache.cells.lock().unwrap();
                cells.values().map(|cell| Arc::strong_count(cell) - 1).sum()
            });
            match future::select(source, counter).await {
                Either::Right((askers, _source_dropped_here)) => askers,
                Either::Left((outcome, _)) => panic!("the source ended mid-lookup: {outcome:?}"),
            }
        })
        .unwrap()
    }

    #[test]
    fn a_source_waits_on_the_cache_once_per_station_not_once_per_record() {
        assert_eq!(
            askers_while_the_lookups_are_in_flight::<Tokio>(),
            3,
            "tokio"
        );
        assert_eq!(
            askers_while_the_lookups_are_in_flight::<AsyncStd>(),
            3,
            "async-std"
        );
        assert_eq!(askers_while_the_lookups_are_in_flight::<Smol>(), 3, "smol");
    }

    /// A feed that answers after 60 ms, with a 20 ms timeout: a timeout, however late its
    /// task is polled.
    const SLOWER_THAN_ITS_TIMEOUT: &str = r#"
        name = "slower-than-its-timeout"
        [settings]
        timeout_ms = 20
        retries = 0
        [[sources]]
        name = "slow"
        latency_ms = 60
        body = "Oslo;1.0\n"
    "#;

    /// Fetches [`SLOWER_THAN_ITS_TIMEOUT`]'s feed on `R`, joined with a hog: a future that
    /// blocks the thread for 200 ms on its first poll (a busy machine, a task that blocks).
    /// When the attempt is polled again, both of its timers are long due, and `select` polls
    /// the feed first: the deadlines must decide, not that order.
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one<R: Runtime>() {
        let scenario = Scenario::from_toml(SLOWER_THAN_ITS_TIMEOUT, "test.toml").unwrap();
        let fetched = R::block_on(|runtime| async move {
            let run = RunContext {
                runtime,
                scenario: Arc::new(scenario),
                opts: RunOptions::with_time_scale(1.0),
                trace: Trace::new(),
                cache: SingleFlightCache::default(),
                queues: Vec::new(),
            };
            // `join` polls the attempt first (its timers start), then the hog. Both run in the
            // main future, on the thread that called `block_on`, on every runtime; the
            // runtime's timers are driven elsewhere meanwhile, or when the hog is done.
            let hog = async { std::thread::sleep(Duration::from_millis(200)) };
            let ((summary, body), ()) = future::join(fetch_with_retry(&run, 0), hog).await;
            (summary, body.map(str::to_string))
        })
        .unwrap();
        let timed_out = FetchSummary::after(1, AttemptOutcome::Timeout);
        assert_eq!(fetched, (timed_out, None), "{}", R::NAME);
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one_on_tokio() {
        a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one::<Tokio>();
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one_on_async_std() {
        a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one::<AsyncStd>();
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one_on_smol() {
        a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one::<Smol>();
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
