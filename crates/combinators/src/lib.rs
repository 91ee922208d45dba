//! The pipeline in the combinators style: Promise chains, written with
//! futures-rs.
//!
//! Before Rust had syntax for writing futures, they were built the way
//! JavaScript programmers built Promise chains: by calling methods that say
//! what happens next. `fetch.then(parse)`, `lookup.map(region)`,
//! `join_all(lookups)`. This crate writes the whole pipeline that way, with
//! futures-rs 0.3 combinators only. It contains no `fn` that suspends in the
//! middle, which is the point: every wait is a value, passed to the combinator
//! that says what follows it.
//!
//! # Layout
//!
//! The four files are the pipeline, in the order of its steps. The style has
//! almost no machinery of its own, because futures-rs, futures-timer and
//! async-io provide it (see below); what it has is [`owned_io`], socket steps
//! that take the socket by value, as futures 0.1's did.
//!
//! - [`run`] (this file): the pipeline as one chain, from sources to tallies.
//!   Start here.
//! - [`fetch`]: [`fetch::attempt`] is a race against the timeout (`select`): of
//!   two timers on `sim`, of a chain over a real socket on `tcp`
//!   ([`fetch::tcp_attempt`]); and [`fetch::fetch_with_retry`] chains attempts
//!   by recursion.
//! - [`cache`]: [`cache::SingleFlightCache`], a map of `Shared` futures: a
//!   cache of promises.
//! - [`workers`]: [`workers::hand_off`] takes an answered source through parse,
//!   enrich and partition into the bounded queues (`mpsc::channel`); each
//!   [`workers::worker`] is a fold over its queue.
//! - [`owned_io`]: `write_all(socket, buf)` and `read(socket, buf)`, which hand
//!   the socket back with their result, and `reads`, a stream of reads: the
//!   machinery of the `tcp` attempt.
//!
//! # The executor: `block_on`, one future, one thread
//!
//! The whole run is *one* future, and [`futures::executor::block_on`] polls it
//! on the calling thread, parking the thread whenever nothing is ready. Nothing
//! is spawned: the concurrency comes from combinators that own several futures
//! and poll them all (`buffer_unordered`, `try_for_each_concurrent`,
//! `try_join`, `join_all`). That lets every future borrow the scenario instead
//! of cloning it. A `LocalPool` could spawn the workers as separate tasks
//! instead, but a spawned task must be `'static`, so the scenario would have to
//! be put behind an `Rc`; with one future there is nothing to gain from that.
//!
//! # The timer: `futures-timer`
//!
//! A timer needs something to wake the future when the time has come.
//! `tokio::time::sleep` relies on tokio's runtime to do that and panics outside
//! it. [`futures_timer::Delay`] is runtime-independent: the first `Delay`
//! starts one helper thread that keeps a heap of deadlines and wakes each
//! `Delay`'s waker when its deadline passes. It therefore works under any
//! executor, including `block_on`. The helper thread only wakes; every future
//! of the pipeline is still polled, and every trace event recorded, on the
//! thread that called [`run`].
//!
//! # The reactor: `async-io`
//!
//! Sockets need the same service as timers: something that waits for many of
//! them at once and wakes the future whose socket became ready. On the `tcp`
//! transport that is the reactor of [`async_io`] (the one under smol): an
//! [`async_io::Async`]`<TcpStream>` is a non-blocking socket registered with
//! it. When nothing else drives it (no `async_io::block_on` is running, and
//! ours is `futures::executor::block_on`), `async-io` starts a thread of its
//! own that waits in `epoll_wait` (`kqueue` on macOS) and wakes the wakers of
//! ready sockets. Like the timer's thread, it only wakes: the reads and writes
//! happen when `block_on` polls, on the calling thread.
//!
#![doc = include_str!("promise_table.md")]

pub mod cache;
pub mod fetch;
pub mod owned_io;
pub mod workers;

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;

use futures::executor::block_on;
use futures::future::{self, FutureExt, TryFutureExt};
use futures::stream::{self, StreamExt, TryStreamExt};
use rosetta_pipeline::run::FetchSummary;
use rosetta_pipeline::trace::Trace;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario};

use crate::cache::SingleFlightCache;
use crate::fetch::{AttemptTimes, Fetched, fetch_with_retry};
use crate::workers::{WorkerQueue, hand_off, start_workers};

/// The style's name, as the command line, the snapshots and the book write it.
pub const NAME: &str = "combinators";

/// The model of concurrency, in a few words, for the comparison table.
pub const MODEL: &str = "futures-rs combinator chains, one future on block_on";

// ANCHOR: run
// ANCHOR: run_setup
/// Runs the pipeline in this style.
pub fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    let settings = &scenario.settings;
    let timeout = opts.scaled(settings.timeout_ms);
    let cache = SingleFlightCache::new(
        &scenario.registry,
        opts.scaled(settings.lookup_ms),
        trace,
    );
    let (queues, workers) =
        start_workers(settings.workers, settings.channel_capacity);
    // Written by the stages as sources answer, in whatever order they do; read
    // at the end.
    let fetches = RefCell::new(vec![None; scenario.sources.len()]);
    let rejected = RefCell::new(Vec::new());
    // ANCHOR_END: run_setup

    // ANCHOR: run_chain
    // Steps 1 to 4, as one chain over the sources in file order.
    let produce = stream::iter(scenario.sources.iter().enumerate())
        // 1. Fetch: a lazy fetch per source...
        .map(|(index, source)| {
            let times = AttemptTimes {
                latency: opts.scaled(source.latency_ms),
                timeout,
            };
            fetch_with_retry(
                index,
                source,
                settings,
                times,
                &opts.transport,
                trace,
            )
            .map(move |fetched| Ok((index, fetched)))
        })
        // ...at most `concurrency` of them in flight. `buffer_unordered` pulls
        // the next source (in file order) the moment a fetch finishes, which
        // frees the slot before the body is even parsed: enrichment below never
        // holds a fetch slot.
        .buffer_unordered(settings.concurrency)
        // 2. Parse, 3. Enrich and 4. Partition, all in `workers::hand_off`:
        //    each answered source is parsed, enriched and handed off
        //    concurrently with the fetches still running and with the other
        //    sources (`None`: no limit).
        .try_for_each_concurrent(
            None,
            |(index, fetched): (usize, Fetched<'_>)| {
                fetches.borrow_mut()[index] = Some(fetched.summary);
                hand_off(index, fetched.body, &cache, &queues, &rejected, trace)
            },
        )
        // Every record is in a queue: close the queues so that the workers can
        // finish.
        .and_then(|()| {
            future::ready(queues.iter().try_for_each(WorkerQueue::close))
        });
    // ANCHOR_END: run_chain

    // ANCHOR: run_merge
    // The workers drain their queues while the producers fill them: `try_join`
    // polls both.
    let pipeline = future::try_join(produce, future::join_all(workers).map(Ok));
    // A panic inside any future unwinds out of `block_on`; `catch_unwind` turns
    // it into a value.
    let (_, tallies) =
        block_on(AssertUnwindSafe(pipeline).catch_unwind())
            .map_err(|panic| RunError::from_panic(NAME, "future", panic))??;

    // 5. Merge.
    let fetches: Vec<FetchSummary> = fetches
        .into_inner()
        .into_iter()
        .map(|fetch| {
            fetch.expect("every source is fetched before the queues close")
        })
        .collect();
    let lookups = cache.lookups();
    Ok(Report::assemble(
        scenario,
        &fetches,
        rejected.into_inner(),
        lookups,
        &tallies,
    ))
}
// ANCHOR_END: run_merge
// ANCHOR_END: run
