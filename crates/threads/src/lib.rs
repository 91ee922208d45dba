//! The pipeline with OS threads and std channels: the baseline every other
//! style is measured against.
//!
//! Everything that waits gets a thread of its own, and waits by *blocking* it:
//! a fetch thread blocks in a socket's `read` until the feed server answers or
//! the deadline passes (on the `sim` transport, on a channel until the feed
//! answers or the timeout passes), a lookup thread blocks until the registry
//! answers, a worker blocks until a record arrives. There is no runtime and no
//! scheduler but the operating system's. This is how concurrent Rust was
//! written before `async`, and it is still the right tool for a few dozen
//! things at a time: the code reads top to bottom, a debugger shows every
//! thread's stack, and `std` has everything it needs.
//!
//! # Layout
//!
//! - [`run`] (this file): the whole run. It starts `workers` worker threads and
//!   `concurrency` fetch threads inside one [`std::thread::scope`], then joins
//!   them and assembles the report. Read it first.
//! - [`fetch`]: one attempt (on `tcp`, the reference's blocking exchange, a
//!   deadline on every call; on `sim`, a simulated network thread raced against
//!   `recv_timeout`) and fetch-with-retry. It is where the threads style has to
//!   answer "how do I cancel?".
//! - [`cache`]: the single-flight cache, a `OnceLock` per station.
//! - [`workers`]: what happens to a source's body once it has answered
//!   ([`workers::hand_off`]: find its distinct stations, look them all up at
//!   once (one thread each), then parse the records again one at a time and
//!   hand each to its worker), and the workers themselves
//!   ([`workers::worker`]).
//!
//! # How this style waits
//!
//! By blocking an OS thread: `TcpStream::read` with a timeout,
//! `Receiver::recv_timeout`, `SyncSender::send` on a full channel,
//! `OnceLock::get_or_init` while another thread runs the lookup,
//! `JoinHandle::join`. A blocked thread costs no CPU; the kernel wakes it when
//! the thing it waits for happens.
//!
//! # What it costs
//!
//! One thread per thing that waits at the same time. Here that is `concurrency`
//! fetch threads (each with its socket, on `tcp`), one network thread per
//! attempt in flight (on `sim` only: on `tcp` the socket waits in the kernel),
//! one short-lived enrich thread per answered source, one lookup thread per
//! station being looked up, and the workers: about two hundred threads alive at
//! once at `concurrency = 100` on `sim`, a hundred fewer on `tcp`, and over a
//! whole run about two started per source on `sim`, one on `tcp` (the trace's
//! thread count shows the enrich threads). Each has its own stack (2 MiB of
//! address space by default, a few pages of memory actually touched) and costs
//! a system call to start. That is fine for hundreds and painful for hundreds
//! of thousands at once, which is the problem the async styles solve. And a
//! thread cannot be cancelled, only asked to stop: see [`fetch`] for what that
//! means for timeouts.
//!
//! # What to read next
//!
//! `rosetta-callbacks`, the same pipeline on one thread: there, nothing may
//! block, so every wait here becomes a callback there.

pub mod cache;
pub mod fetch;
pub mod workers;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::thread::{self, Scope, ScopedJoinHandle};

use rosetta_pipeline::aggregate::Enriched;
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::run::FetchSummary;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

use crate::cache::SingleFlightCache;

/// The style's name, as the command line, the snapshots and the book write it.
pub const NAME: &str = "threads";

/// The model of concurrency, in a few words, for the comparison table.
pub const MODEL: &str = "OS threads, blocking waits";

/// What every thread of a run may read: the input, and the two pieces of state
/// they share.
///
/// The fetch threads borrow it (`&Shared`): [`std::thread::scope`] guarantees
/// that every thread has been joined before `run` returns, so no `Arc` is
/// needed. Public only so that the steps' functions
/// ([`fetch::fetch_with_retry`], [`workers::hand_off`]) can be; only `run`
/// builds one.
#[derive(Debug)]
pub struct Shared<'a> {
    /// The scenario being run.
    pub(crate) scenario: &'a Scenario,
    /// The time scale.
    pub(crate) opts: &'a RunOptions,
    /// Where every thread records what it does.
    pub(crate) trace: &'a Trace,
    /// Index of the next source to fetch. Fetch threads claim sources by
    /// incrementing it, so sources start in file order on whichever fetch
    /// thread is free first.
    pub(crate) next_source: AtomicUsize,
    /// Station to region, looked up once per station.
    pub(crate) cache: SingleFlightCache,
}

impl Shared<'_> {
    /// Claims the next source to fetch, or `None` when every source has been
    /// claimed.
    fn claim_source(&self) -> Option<usize> {
        // `Relaxed` is enough: the counter only hands out distinct numbers; it
        // publishes no other data to the thread that reads it.
        let index = self.next_source.fetch_add(1, Ordering::Relaxed);
        (index < self.scenario.sources.len()).then_some(index)
    }
}

/// What one fetch thread brings back when it runs out of sources.
#[derive(Debug, Default)]
struct FetchThreadResult {
    /// `(source index, summary)` of every source this thread fetched.
    fetches: Vec<(usize, FetchSummary)>,
    /// Rejected lines and records of the sources this thread fetched.
    rejected: Vec<Rejection>,
}

// ANCHOR: run
// ANCHOR: run_workers
/// Runs the pipeline with OS threads and returns its report.
pub fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    let settings = &scenario.settings;
    let shared = Shared {
        scenario,
        opts,
        trace,
        next_source: AtomicUsize::new(0),
        cache: SingleFlightCache::new(),
    };

    // Every thread below is scoped: it may borrow `shared` and `scenario`, and
    // all of them have been joined when `thread::scope` returns, even on an
    // early `return Err(..)`.
    let (fetched, tallies) = thread::scope(|scope| {
        // 4. Partition, set up first: the workers and their queues, so that
        //    there is someone to receive the first record.
        let mut senders = Vec::with_capacity(settings.workers);
        let mut worker_threads = Vec::with_capacity(settings.workers);
        for worker in 0..settings.workers {
            // Bounded: a sender blocks while the worker's queue is full
            // (backpressure).
            let (sender, receiver) =
                mpsc::sync_channel(settings.channel_capacity);
            senders.push(sender);
            worker_threads.push(spawn(
                scope,
                format!("worker-{worker}"),
                move || workers::worker(receiver),
            )?);
        }
        // ANCHOR_END: run_workers

        // ANCHOR: run_fetchers
        // 1. Fetch: `concurrency` fetch threads. Each one is a slot that holds
        //    one attempt at a time, so no more than `concurrency` attempts can
        //    ever be in flight. Each hands an answered body to an enrich thread
        //    for 2. Parse, 3. Enrich and 4. Partition (`workers::hand_off`).
        let mut fetchers = Vec::with_capacity(settings.concurrency);
        for slot in 0..settings.concurrency.min(scenario.sources.len()) {
            let (shared, senders) = (&shared, senders.clone());
            fetchers.push(spawn(scope, format!("fetch-{slot}"), move || {
                fetch_sources(scope, shared, senders)
            })?);
        }
        // The fetch threads hold their own clones; once they (and the enrich
        // threads they start) are done, the last sender is dropped and each
        // worker's loop ends.
        drop(senders);

        let fetched: Vec<_> = fetchers
            .into_iter()
            .map(|fetcher| join(fetcher, "fetch thread"))
            .collect();
        let tallies = worker_threads
            .into_iter()
            .map(|worker| join(worker, "worker"))
            .collect::<Result<Vec<_>, _>>()?;
        // A worker's panic comes first: it explains any hand-off a fetch thread
        // saw refused.
        Ok::<_, RunError>((fetched, tallies))
    })?;
    // ANCHOR_END: run_fetchers

    // ANCHOR: run_merge
    // 5. Merge what the fetch threads and the workers brought back. Sources
    //    finished in any order; the report wants their summaries in file order.
    let mut fetches = vec![None; scenario.sources.len()];
    let mut rejected = Vec::new();
    for result in fetched {
        let result = result??;
        for (index, summary) in result.fetches {
            fetches[index] = Some(summary);
        }
        rejected.extend(result.rejected);
    }
    let fetches = fetches
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| internal("a source was claimed but never fetched"))?;
    Ok(Report::assemble(
        scenario,
        &fetches,
        rejected,
        shared.cache.lookups(),
        &tallies,
    ))
}
// ANCHOR_END: run_merge
// ANCHOR_END: run

// ANCHOR: fetch_thread
/// The body of one fetch thread: claim the next source, fetch it, hand its body
/// to a new enrich thread, repeat until no source is left.
///
/// The enrich thread is what frees the slot as soon as the feed has answered:
/// looking up the stations and handing records over happen there, while this
/// thread starts the next source.
fn fetch_sources<'scope>(
    scope: &'scope Scope<'scope, '_>,
    shared: &'scope Shared<'scope>,
    senders: Vec<SyncSender<Enriched>>,
) -> Result<FetchThreadResult, RunError> {
    let mut result = FetchThreadResult::default();
    let mut enrichers: Vec<ScopedJoinHandle<'scope, _>> = Vec::new();
    while let Some(index) = shared.claim_source() {
        // 1. Fetch.
        let (summary, body) = fetch::fetch_with_retry(shared, index)?;
        result.fetches.push((index, summary));
        if let Some(body) = body {
            // 2. Parse, 3. Enrich, 4. Partition: on an enrich thread of its
            //    own.
            let senders = senders.clone();
            enrichers.push(spawn(
                scope,
                format!("enrich-{index}"),
                move || workers::hand_off(shared, index, &body, &senders),
            )?);
        }
        // Join the enrich threads that are done. A finished thread that nobody
        // joins keeps its stack and its result until it is joined; over ten
        // thousand sources that adds up.
        for done in enrichers.extract_if(.., |enricher| enricher.is_finished())
        {
            result.rejected.extend(join(done, "enrich thread")??);
        }
    }
    for enricher in enrichers {
        result.rejected.extend(join(enricher, "enrich thread")??);
    }
    Ok(result)
}
// ANCHOR_END: fetch_thread

/// Starts a named scoped thread. The name shows in the trace, in panic messages
/// and in debuggers (`ps -L`, `gdb`'s `info threads`).
fn spawn<'scope, T, F>(
    scope: &'scope Scope<'scope, '_>,
    name: String,
    body: F,
) -> Result<ScopedJoinHandle<'scope, T>, RunError>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    thread::Builder::new()
        .name(name.clone())
        .spawn_scoped(scope, body)
        .map_err(|err| {
            internal(format!("could not start thread `{name}`: {err}"))
        })
}

/// Joins a thread, turning its panic (if it panicked) into a [`RunError`].
fn join<T>(
    handle: ScopedJoinHandle<'_, T>,
    what: &'static str,
) -> Result<T, RunError> {
    handle
        .join()
        .map_err(|payload| RunError::from_panic(NAME, what, payload))
}

/// An error of this style's machinery.
fn internal(message: impl Into<String>) -> RunError {
    RunError::Internal {
        style: NAME,
        message: message.into(),
    }
}
