//! The pipeline in the async/await style, on three runtimes: tokio, async-std
//! and smol.
//!
//! This is the style most Rust code is written in today: `async fn` and
//! `.await`, on a runtime that runs the resulting futures as tasks. The
//! pipeline is written once, generic over a small [`runtime::Runtime`] trait,
//! and each runtime gets a short adapter (under a hundred lines). Diff the
//! three adapters to see what changes between runtimes, and compare this crate
//! with the other styles' crates to see what `async`/`.await` buys: it reads
//! like the sequential reference, with the waiting rearranged.
//!
//! Three styles are registered, one per runtime, each with the shape every
//! style has (`NAME`, `MODEL`, `run`):
//!
//! - [`tokio_style`]: `tokio`, on tokio's multi-threaded runtime;
//! - [`async_std_style`]: `async-std`, on async-std's global executor
//!   (async-std is **discontinued**; use smol for new code);
//! - [`smol_style`]: `smol`, on a smol executor run by a few threads.
//!
//! They are modules rather than one function with a runtime argument so that
//! the style registry, the CLI and the book treat them exactly like every other
//! style. Each calls [`run`], the one generic pipeline.
//!
//! # The pipeline
//!
//! Read [`rosetta_pipeline::reference`] first: [`run`] is the same function
//! with the waiting rearranged. Where the reference sleeps, this code awaits;
//! where the reference loops over sources one by one, this code starts a task
//! per source, at most `concurrency` at a time. The shape of each step
//! survives: [`fetch::fetch_with_retry`] is still a loop, the cache is still a
//! map, the workers still add records to a `WorkerTally`.
//!
//! The tools, and why each one:
//!
//! - **Tasks** ([`Runtime::spawn`]) for each source and each worker, so that a
//!   multi-threaded runtime can run them in parallel. A task spawned on a
//!   runtime that may outlive the caller (`tokio::spawn`, and `Runtime::spawn`
//!   here) must be `'static`, so they share one [`RunContext`] through an `Arc`
//!   instead of borrowing the caller's scenario. (An executor that is itself
//!   borrowed, such as `async_executor::Executor<'a>` or chapter 6's, can run
//!   tasks that borrow for `'a`.) Every task's handle is awaited, on the error
//!   paths too, so that no task outlives [`run`].
//! - **A semaphore** (`async_lock::Semaphore`) for the `concurrency` slots. The
//!   main task takes a slot *before* spawning a source's task, in file order,
//!   so sources start in file order and at most `concurrency` tasks are
//!   fetching. (`futures::StreamExt::buffer_unordered` would bound them too,
//!   but it polls every fetch from the one task that drives the stream, so
//!   everything would run on one thread.)
//! - **A race** ([`fetch::with_timeout`], built on `futures::future::select`)
//!   for the timeout, using the runtime's timer, so the timeout is the same
//!   code on every runtime. The loser is *dropped*: that is how async Rust
//!   cancels. The feed is a timer too, and a race between two timers is decided
//!   by their deadlines ([`fetch::with_deadline`]), not by the order in which a
//!   late poll finds them ready.
//! - **The runtime's own sockets** ([`Runtime::connect`]) on the `tcp`
//!   transport: each runtime's non-blocking `TcpStream`, registered with its
//!   reactor, read and written through the `futures::io` traits (tokio's
//!   through `tokio-util`'s `compat` layer), so that [`fetch::tcp_attempt`] is
//!   one function for all three. It is the reference's blocking exchange with
//!   `.await` where that blocked, raced against the same deadline; when the
//!   deadline wins, the exchange is dropped, and the socket it owned is closed
//!   with it.
//! - **A single-flight cache** ([`cache::SingleFlightCache`]): one
//!   `async_lock::OnceCell` per station, asked once per distinct station of a
//!   body, all at once with `futures::future::join_all`, between the two passes
//!   over the body that `rosetta_pipeline::enrich` describes.
//! - **Bounded channels** (`async_channel::bounded`) in front of the workers:
//!   `send` waits while a queue is full, which is backpressure without a line
//!   of code.
//!
//! # Layout
//!
//! - This file: the three styles, and [`run`], the five steps for any runtime.
//! - [`fetch`]: step 1, fetch with retries, each attempt raced against its
//!   timeout: a timer on `sim`, an HTTP exchange over the runtime's `TcpStream`
//!   on `tcp`.
//! - [`cache`]: the single-flight cache of step 3.
//! - [`workers`]: steps 2 to 4 of one answered source ([`workers::hand_off`]:
//!   parse, enrich, partition to the workers' bounded queues) and the workers
//!   themselves.
//! - [`runtime`]: the machinery: the `Runtime` trait, what does *not* port
//!   between runtimes, and the three adapters (`runtime/tokio.rs`,
//!   `runtime/async_std.rs`, `runtime/smol.rs`). Start here if runtimes are new
//!   to you.
//! - [`pitfalls`]: four mistakes async Rust makes easy (blocking the executor,
//!   a lock held across `.await`, a future never awaited, cancellation by
//!   `select`), each tested.
//!
//! `tests/it/` checks every runtime against the reference run, on both
//! transports, and that a run leaves no socket open; `examples/scale.rs` times
//! them on 1,000 and 10,000 sources against the ideal time.

pub mod cache;
pub mod fetch;
pub mod pitfalls;
pub mod runtime;
pub mod workers;

use std::future::Future;
use std::sync::Arc;

use async_channel::{Receiver, Sender};
use async_lock::{Semaphore, SemaphoreGuardArc};
use futures::future;
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::run::FetchSummary;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

use crate::cache::SingleFlightCache;
use crate::fetch::fetch_with_retry;
use crate::runtime::Runtime;
use crate::workers::{hand_off, worker};

/// The `tokio` style: the async/await pipeline on tokio's multi-threaded
/// runtime.
pub mod tokio_style {
    use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

    use crate::runtime::{Runtime, Tokio};

    /// The style's name, as the command line, the snapshots and the book write
    /// it.
    pub const NAME: &str = Tokio::NAME;

    /// The model of concurrency, in one phrase.
    pub const MODEL: &str =
        "async/await tasks on tokio's work-stealing thread pool";

    /// Runs the pipeline in this style.
    pub fn run(
        scenario: &Scenario,
        opts: &RunOptions,
        trace: &Trace,
    ) -> Result<Report, RunError> {
        crate::run::<Tokio>(scenario, opts, trace)
    }
}

/// The `async-std` style: the async/await pipeline on async-std's global
/// executor.
///
/// async-std is **discontinued**: its authors announced it with release 1.13.1
/// (March 2025; RUSTSEC-2025-0052) and recommend smol ([`crate::smol_style`]).
/// The style stays because so much existing code and teaching material uses
/// async-std; porting it to smol changes little (compare `runtime/async_std.rs`
/// with `runtime/smol.rs`).
pub mod async_std_style {
    use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

    use crate::runtime::{AsyncStd, Runtime};

    /// The style's name, as the command line, the snapshots and the book write
    /// it.
    pub const NAME: &str = AsyncStd::NAME;

    /// The model of concurrency, in one phrase (async-std is discontinued; see
    /// the module docs).
    pub const MODEL: &str =
        "async/await tasks on async-std's global executor (discontinued)";

    /// Runs the pipeline in this style.
    pub fn run(
        scenario: &Scenario,
        opts: &RunOptions,
        trace: &Trace,
    ) -> Result<Report, RunError> {
        crate::run::<AsyncStd>(scenario, opts, trace)
    }
}

/// The `smol` style: the async/await pipeline on a smol executor run by a few
/// threads.
pub mod smol_style {
    use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

    use crate::runtime::{Runtime, Smol};

    /// The style's name, as the command line, the snapshots and the book write
    /// it.
    pub const NAME: &str = Smol::NAME;

    /// The model of concurrency, in one phrase.
    pub const MODEL: &str =
        "async/await tasks on a smol executor shared by a few threads";

    /// Runs the pipeline in this style.
    pub fn run(
        scenario: &Scenario,
        opts: &RunOptions,
        trace: &Trace,
    ) -> Result<Report, RunError> {
        crate::run::<Smol>(scenario, opts, trace)
    }
}

/// Runs the pipeline on the runtime `R`: the body of each style's `run`
/// function.
pub fn run<R: Runtime>(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    // Tasks may run on any thread for as long as they like, so they cannot
    // borrow `scenario`: one clone behind an `Arc` is the price, and it copies
    // every body (a 50 MB feed costs 50 MB more for the whole run). In
    // production the caller would hand over an `Arc<Scenario>` in the first
    // place, or the bodies would be shared (`Arc<str>`).
    let scenario = Arc::new(scenario.clone());
    let (opts, trace) = (*opts, trace.clone());
    R::block_on(|runtime| run_async(runtime, scenario, opts, trace, worker))
        .map_err(|error| RunError::Internal {
            style: R::NAME,
            message: format!("the runtime could not start: {error}"),
        })?
}

/// The size in bytes of the pipeline's main future on the runtime `R`: the
/// state machine the compiler generates for `run_async`, with every local that
/// lives across an `.await` in it. Tasks it spawns are separate allocations and
/// do not count. (The future is created, measured and dropped without being
/// polled: a future does nothing until it is polled.)
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

/// Everything the tasks of one run share. Tasks hold it through an `Arc`;
/// nothing in it is borrowed, so they can be `'static`. Public only because
/// [`fetch::fetch_with_retry`] and [`workers::hand_off`] take it; its fields
/// are this crate's.
#[derive(Debug)]
pub struct RunContext<R> {
    /// Where to spawn tasks, and get timers and sockets.
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
    /// Closes every worker's queue: no hand-off succeeds after this, and each
    /// worker ends once it has drained its queue. The end of every run, and how
    /// a failed run stops early.
    fn close_queues(&self) {
        for queue in &self.queues {
            queue.close();
        }
    }

    /// Whether the run has failed: a queue closed before the end, because its
    /// worker is gone (a queue closes when its receiver is dropped) or a task
    /// closed them all after a failure.
    fn has_failed(&self) -> bool {
        self.queues.iter().any(Sender::is_closed)
    }
}

/// Keeps in `kept` the error to report: the first panic if there is one,
/// otherwise the first error. A worker's panic makes every later hand-off to it
/// fail, so the panic is the cause and those "worker stopped" errors are only
/// its consequences.
fn keep_the_cause(kept: &mut Option<RunError>, error: RunError) {
    let is_panic =
        |error: &RunError| matches!(error, RunError::Panicked { .. });
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
// ANCHOR: run_workers
/// The pipeline as one future: spawns the workers, then one task per source,
/// and merges. `worker` is what each worker task runs: [`worker`] itself,
/// except in the tests of the error paths, which pass one that fails.
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
    // The workers (step 4's end) start first, so that the first record has
    // somewhere to go.
    let (queues, workers): (Vec<_>, Vec<_>) = (0..settings.workers)
        .map(|_| {
            let (queue, inbox) =
                async_channel::bounded(settings.channel_capacity);
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
    // ANCHOR_END: run_workers

    // ANCHOR: run_sources
    // Steps 1 to 4, one task per source (`process_source`): take a slot, then
    // start the source's task, in file order. When all slots are taken,
    // `acquire_arc` waits until a source answers and gives its slot back.
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

    // Collect the outcomes in file order (they finish in any order; awaiting in
    // order is fine, since every task is already running). Every handle is
    // awaited, even after an error: a task whose handle is dropped runs on
    // unobserved on async-std, writing into the caller's trace after `run` has
    // returned, and on tokio and smol it is dropped wherever it stood, leaving
    // attempts that started and never finished. Once the run has failed, the
    // other tasks fail fast (every hand-off fails: see `workers::hand_off`), so
    // waiting costs little.
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
    // ANCHOR_END: run_sources

    // ANCHOR: run_merge
    // Every record has been handed off (or the run has failed). Closing the
    // queues lets each worker finish once it has drained its queue. (Closing by
    // dropping the last sender would work too, but the senders live in `run`,
    // which every task holds: an explicit `close` is easier to see.)
    run.close_queues();
    let mut tallies = Vec::with_capacity(workers.len());
    for worker in workers {
        match worker.await {
            Ok(tally) => tallies.push(tally),
            Err(panic) => {
                keep_the_cause(
                    &mut failure,
                    RunError::from_panic(R::NAME, "worker", panic),
                );
            }
        }
    }
    if let Some(error) = failure {
        // Only now: no task of this run is left to write to the trace.
        return Err(error);
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
// ANCHOR_END: run_merge
// ANCHOR_END: run

// ANCHOR: process_source
/// One source, from its first attempt to its last record handed off. `slot` is
/// its concurrency slot, held while it is being fetched.
async fn process_source<R: Runtime>(
    run: Arc<RunContext<R>>,
    index: usize,
    slot: SemaphoreGuardArc,
) -> Result<SourceOutcome, RunError> {
    // 1. Fetch, with retries and timeouts.
    let (fetch, body) = fetch_with_retry(&run, index).await;
    // The source has answered (or given up): its slot goes to the next source
    // now, not after its records are enriched.
    drop(slot);
    let Some(body) = body else {
        return Ok(SourceOutcome {
            fetch,
            rejected: Vec::new(),
        });
    };
    // 2 to 4. Parse, enrich through the cache, and hand each record to its
    // worker.
    let rejected = hand_off(&run, index, body).await?;
    Ok(SourceOutcome { fetch, rejected })
}
// ANCHOR_END: process_source

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use rosetta_feeds::{Config, FeedServer};
    use rosetta_pipeline::trace::EventKind;
    use rosetta_pipeline::transport::Transport;

    use super::*;
    use crate::runtime::{AsyncStd, Smol, Tokio};

    /// A worker that fails on its first record, as after a bug: it panics, its
    /// queue is dropped with it, and every later hand-off to it fails.
    async fn failing_worker(inbox: Receiver<Enriched>) -> WorkerTally {
        let _first = inbox.recv().await;
        panic!("a deliberate worker failure");
    }

    /// Runs the scenario `toml` on `R` at time scale 1 on `sim` with failing
    /// workers. Returns the run's error, the trace, and how many events the
    /// trace held when the run returned.
    fn run_with_a_failing_worker<R: Runtime>(
        toml: &str,
    ) -> (RunError, Trace, usize) {
        let scenario =
            Arc::new(Scenario::from_toml(toml, "test.toml").unwrap());
        run_with_a_failing_worker_on::<R>(
            scenario,
            RunOptions::with_time_scale(1.0),
        )
    }

    /// [`run_with_a_failing_worker`] with `opts`: its time scale and transport.
    fn run_with_a_failing_worker_on<R: Runtime>(
        scenario: Arc<Scenario>,
        opts: RunOptions,
    ) -> (RunError, Trace, usize) {
        let trace = Trace::new();
        let result = R::block_on(|runtime| {
            run_async(runtime, scenario, opts, trace.clone(), failing_worker)
        });
        let at_return = trace.events().len();
        let error = result
            .unwrap()
            .expect_err("the worker failed, so the run fails");
        (error, trace, at_return)
    }

    /// The attempts and lookups of `trace` that started and did not finish once
    /// each, as `"lookup of Oslo: +1"` (one start too many) or `"...: -1"` (one
    /// finish too many).
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
                EventKind::LookupStarted { station } => {
                    (format!("lookup of {station}"), 1)
                }
                EventKind::LookupFinished { station, .. } => {
                    (format!("lookup of {station}"), -1)
                }
                _ => continue,
            };
            *open.entry(what).or_default() += step;
        }
        open.into_iter()
            .filter(|(_, open)| *open != 0)
            .map(|(what, open)| format!("{what}: {open:+}"))
            .collect()
    }

    /// One fast source, whose third hand-off fails (the worker took the first
    /// and failed, the second fills its one-place queue), and two slow ones
    /// still waiting for their feeds then.
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

    /// Runs [`FAILS_WHILE_OTHERS_WAIT`] on `R` and checks that the run left
    /// nothing behind.
    fn no_task_outlives_a_failed_run<R: Runtime>() {
        let (error, trace, at_return) =
            run_with_a_failing_worker::<R>(FAILS_WHILE_OTHERS_WAIT);
        nothing_outlived_the_run::<R>(&error, &trace, at_return);
    }

    /// Checks what a failed run (`error`, `trace`, and the events it held when
    /// the run returned) leaves behind: no event after its return, every
    /// attempt and lookup that started also finished, and the worker's panic as
    /// the error.
    fn nothing_outlived_the_run<R: Runtime>(
        error: &RunError,
        trace: &Trace,
        at_return: usize,
    ) {
        // The slow feeds answer 200 and 250 ms after the start. A task that
        // outlived `run` would record its attempt's end during this pause, in
        // the caller's trace.
        std::thread::sleep(Duration::from_millis(500));
        let after = trace.events().len();
        assert_eq!(
            after,
            at_return,
            "{}: events after `run` returned",
            R::NAME
        );
        assert_eq!(unmatched(trace), Vec::<String>::new(), "{}", R::NAME);
        // The worker's panic is the cause; the failed hand-offs are its
        // consequence.
        let panicked =
            matches!(error, RunError::Panicked { what: "worker", .. });
        assert!(panicked, "{}: {error}", R::NAME);
    }

    /// [`no_task_outlives_a_failed_run`] over tcp, against a feed server of its
    /// own: the same guarantee, and no socket left open to the server when the
    /// run returns (the slow feeds' attempts are on their sockets when the run
    /// fails).
    fn no_task_outlives_a_failed_run_over_tcp<R: Runtime>() {
        let scenario = Arc::new(
            Scenario::from_toml(FAILS_WHILE_OTHERS_WAIT, "test.toml").unwrap(),
        );
        let server = FeedServer::start(Config::default()).unwrap();
        let feeds = server.host(Arc::clone(&scenario), 1.0);
        let opts = RunOptions::with_time_scale(1.0).on(Transport::Tcp(feeds));
        let (error, trace, at_return) =
            run_with_a_failing_worker_on::<R>(scenario, opts);
        #[cfg(target_os = "linux")]
        {
            let open = rosetta_conformance::tcp::sockets_to(feeds.addr.port());
            assert_eq!(
                open,
                0,
                "{}: sockets open after `run` returned",
                R::NAME
            );
        }
        nothing_outlived_the_run::<R>(&error, &trace, at_return);
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
    fn no_task_outlives_a_failed_run_over_tcp_on_tokio() {
        no_task_outlives_a_failed_run_over_tcp::<Tokio>();
    }

    #[test]
    fn no_task_outlives_a_failed_run_over_tcp_on_async_std() {
        no_task_outlives_a_failed_run_over_tcp::<AsyncStd>();
    }

    #[test]
    fn no_task_outlives_a_failed_run_over_tcp_on_smol() {
        no_task_outlives_a_failed_run_over_tcp::<Smol>();
    }

    #[test]
    fn an_unpolled_main_future_holds_its_arguments() {
        use std::mem::size_of;

        // Before its first poll, the state machine of an `async fn` is its
        // arguments, moved in; its later states (the locals across each
        // `.await`) reuse the same bytes.
        let arguments = size_of::<Tokio>()
            + size_of::<Arc<Scenario>>()
            + size_of::<RunOptions>()
            + size_of::<Trace>();
        let size = main_future_size::<Tokio>().unwrap();
        assert!(size >= arguments, "{size} < {arguments}");
    }

    /// A source (`first`) whose record makes the worker fail, then one
    /// (`leader`) that starts the only lookup of `Oslo` after the run has
    /// failed (its `Bergen` is cached by then), then one (`follower`) that asks
    /// for `Oslo` while that lookup is in flight. A pipeline that stopped the
    /// leader early on seeing the failure (dropping its `join_all` of lookups,
    /// or its task) would abandon the lookup, and the follower would start it
    /// again.
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

    /// Runs [`FAILS_DURING_A_LOOKUP`] on `R` and checks that every lookup ran
    /// once, to its end.
    fn a_failed_hand_off_abandons_no_lookup<R: Runtime>() {
        let (_, trace, _) =
            run_with_a_failing_worker::<R>(FAILS_DURING_A_LOOKUP);
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
}
