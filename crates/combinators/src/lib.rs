//! The pipeline in the combinators style: Promise chains, written with futures-rs.
//!
//! Before Rust had syntax for writing futures, they were built the way JavaScript programmers
//! built Promise chains: by calling methods that say what happens next. `fetch.then(parse)`,
//! `lookup.map(region)`, `join_all(lookups)`. This crate writes the whole pipeline that way,
//! with futures-rs 0.3 combinators only. It contains no `fn` that suspends in the middle, which
//! is the point: every wait is a value, passed to the combinator that says what follows it.
//!
//! # Layout
//!
//! - [`run`] (this file): the pipeline as one chain, from sources to tallies. Start here.
//! - [`fetch`]: one attempt as a race between two timers (`select`), retries as recursion.
//! - [`cache`]: the single-flight cache, a map of `Shared` futures: a cache of promises.
//! - [`workers`]: the bounded queues (`mpsc::channel`) and the workers, folds over them.
//!
//! # The executor: `block_on`, one future, one thread
//!
//! The whole run is *one* future, and [`futures::executor::block_on`] polls it on the calling
//! thread, parking the thread whenever nothing is ready. Nothing is spawned: the concurrency
//! comes from combinators that own several futures and poll them all (`buffer_unordered`,
//! `try_for_each_concurrent`, `try_join`, `join_all`). That lets every future borrow the scenario
//! instead of cloning it. A `LocalPool` could spawn the workers as separate tasks instead, but a
//! spawned task must be `'static`, so the scenario would have to be put behind an `Rc`; with one
//! future there is nothing to gain from that.
//!
//! # The timer: `futures-timer`
//!
//! A timer needs something to wake the future when the time has come. `tokio::time::sleep`
//! relies on tokio's runtime to do that and panics outside it. [`futures_timer::Delay`] is
//! runtime-independent: the first `Delay` starts one helper thread that keeps a heap of
//! deadlines and wakes each `Delay`'s waker when its deadline passes. It therefore works under
//! any executor, including `block_on`. The helper thread only wakes; every future of the
//! pipeline is still polled, and every trace event recorded, on the thread that called [`run`].
//!
#![doc = include_str!("promise_table.md")]

pub mod cache;
pub mod fetch;
pub mod workers;

use std::cell::{OnceCell, RefCell};
use std::panic::AssertUnwindSafe;

use futures::executor::block_on;
use futures::future::{self, Either, FutureExt, TryFutureExt};
use futures::stream::{self, StreamExt, TryStreamExt};
use rosetta_pipeline::enrich;
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::run::FetchSummary;
use rosetta_pipeline::trace::Trace;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario};

use crate::cache::SingleFlightCache;
use crate::fetch::{AttemptTimes, Fetched, fetch_with_retry};
use crate::workers::{WorkerQueue, start_workers};

/// The style's name, as the command line, the snapshots and the book write it.
pub const NAME: &str = "combinators";

/// The model of concurrency, in a few words, for the comparison table.
pub const MODEL: &str = "futures-rs combinator chains, one future on block_on";

// ANCHOR: run
/// Runs the pipeline in this style.
pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
    let settings = &scenario.settings;
    let timeout = opts.scaled(settings.timeout_ms);
    let cache = SingleFlightCache::new(&scenario.registry, opts.scaled(settings.lookup_ms), trace);
    let (queues, workers) = start_workers(settings.workers, settings.channel_capacity);
    // Written by the stages as sources answer, in whatever order they do; read at the end.
    let fetches = RefCell::new(vec![None; scenario.sources.len()]);
    let rejected = RefCell::new(Vec::new());
    // One slot per source for the regions of its stations, filled when they are known and read
    // while its records are handed off (`enrich_and_hand_off` says why they live here).
    let regions = vec![OnceCell::new(); scenario.sources.len()];

    // Steps 1 to 4, as one chain over the sources in file order.
    let produce = stream::iter(scenario.sources.iter().enumerate())
        // 1. A lazy fetch per source...
        .map(|(index, source)| {
            let times = AttemptTimes {
                latency: opts.scaled(source.latency_ms),
                timeout,
            };
            fetch_with_retry(index, source, settings, times, trace)
                .map(move |fetched| Ok((index, fetched)))
        })
        // ...at most `concurrency` of them in flight. `buffer_unordered` pulls the next source
        // (in file order) the moment a fetch finishes, which frees the slot before the body
        // is even parsed: enrichment below never holds a fetch slot.
        .buffer_unordered(settings.concurrency)
        // 2 to 4. Each answered source is parsed, enriched and handed off concurrently with
        // the fetches still running and with the other sources (`None`: no limit).
        .try_for_each_concurrent(None, |(index, fetched): (usize, Fetched<'_>)| {
            fetches.borrow_mut()[index] = Some(fetched.summary);
            let (body, slot) = (fetched.body, &regions[index]);
            enrich_and_hand_off(index, body, slot, &cache, &queues, &rejected, trace)
        })
        // Every record is in a queue: close the queues so that the workers can finish.
        .and_then(|()| future::ready(queues.iter().try_for_each(WorkerQueue::close)));

    // The workers drain their queues while the producers fill them: `try_join` polls both.
    let pipeline = future::try_join(produce, future::join_all(workers).map(Ok));
    // A panic inside any future unwinds out of `block_on`; `catch_unwind` turns it into a value.
    let (_, tallies) = block_on(AssertUnwindSafe(pipeline).catch_unwind())
        .map_err(|panic| RunError::from_panic(NAME, "future", panic))??;

    // 5. Merge.
    let fetches: Vec<FetchSummary> = fetches
        .into_inner()
        .into_iter()
        .map(|fetch| fetch.expect("every source is fetched before the queues close"))
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
// ANCHOR_END: run

// ANCHOR: enrich
/// Enriches the body of an answered source (`None`: the source failed) and hands each record to
/// its worker.
///
/// It reads the body twice, as [`rosetta_pipeline::enrich`] explains: a future per record
/// would hold every record of a 50 MB body at once, while only its few stations need to wait.
/// Pass 1 waits for the regions of the body's distinct stations, all at once; pass 2 is a
/// stream of the records, each handed off before the next one is read.
///
/// Two lifetimes: `'s` is the scenario's (the body, the registry), `'r` the run's (the slot for
/// the regions, the cache, the queues and the list of rejections live in [`run`]'s stack frame).
fn enrich_and_hand_off<'r, 's: 'r>(
    index: usize,
    body: Option<&'s str>,
    regions: &'r OnceCell<Vec<Option<String>>>,
    cache: &'r SingleFlightCache<'s>,
    queues: &'r [WorkerQueue],
    rejected: &'r RefCell<Vec<Rejection>>,
    trace: &'r Trace,
) -> impl Future<Output = Result<(), RunError>> + 'r {
    // Pass 1: the body's distinct stations, and its unparsable lines for the report. A failed
    // source has no body, and the empty body has no stations and no records.
    let mut survey = enrich::survey(index, body.unwrap_or_default());
    rejected.borrow_mut().append(&mut survey.rejected);
    // `Promise.all` over one lookup per station. They are the cache's shared futures, so a
    // station that another source is looking up already is waited for, not looked up again.
    let lookups = survey.stations.iter().map(|station| cache.region(station));
    future::join_all(lookups)
        .map(move |found| {
            // Pass 2 borrows the regions while it runs, and a chain cannot own a value and hold
            // a stream that borrows it: that stream would point into the future holding it, as
            // the sender in `workers` would. So the regions go into this source's slot, which
            // `run` owns and which outlives the chain (empty until now: a source is enriched
            // once). They are copied out of the registry, which the cache lends them from,
            // because `enriched` wants them owned.
            let owned = found.into_iter().map(|region| region.map(str::to_string));
            let regions = regions.get_or_init(|| owned.collect());
            // The records as a stream of `Result<_, RunError>`, the kind `try_for_each` takes.
            stream::iter(survey.enriched(regions)).map(Ok)
        })
        .flatten_stream()
        // Pass 2, one record at a time: `try_for_each` reads the next record only when the
        // previous hand-off is done, so while a queue is full the rest of the body waits unread.
        // The first error (a closed queue, which would be a bug) ends the source.
        .try_for_each(move |record| match record {
            Ok(enriched) => {
                let queue = &queues[worker_for(&enriched.record.station, queues.len())];
                Either::Left(queue.hand_off(enriched, trace))
            }
            Err(unknown_station) => {
                rejected.borrow_mut().push(unknown_station);
                Either::Right(future::ok(()))
            }
        })
}
// ANCHOR_END: enrich

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::task::Context;
    use std::time::Duration;

    use futures::task::noop_waker;
    use rosetta_pipeline::registry::Registry;

    /// A body of 10,000 records that name three stations in turn; the registry below knows two.
    fn big_body() -> String {
        ["Oslo;1.0\n", "Bergen;2.0\n", "Atlantis;3.0\n"]
            .into_iter()
            .cycle()
            .take(10_000)
            .collect()
    }

    fn registry() -> Registry {
        Registry::from(BTreeMap::from([
            ("Oslo".to_string(), "north".to_string()),
            ("Bergen".to_string(), "west".to_string()),
        ]))
    }

    #[test]
    fn a_source_waits_once_per_station_not_once_per_record() {
        let (registry, trace, body) = (registry(), Trace::new(), big_body());
        // Lookups that cannot finish during the test: what we look at is who waits for them.
        let cache = SingleFlightCache::new(&registry, Duration::from_secs(3600), &trace);
        let (queues, _workers) = start_workers(1, 1);
        let (regions, rejected) = (OnceCell::new(), RefCell::new(Vec::new()));
        let mut enrich = Box::pin(enrich_and_hand_off(
            0,
            Some(&body),
            &regions,
            &cache,
            &queues,
            &rejected,
            &trace,
        ));
        let waker = noop_waker();
        assert!(
            enrich
                .poll_unpin(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(trace.summary().lookups, 3, "every station's lookup started");
        for station in ["Oslo", "Bergen", "Atlantis"] {
            assert_eq!(
                cache.waiting_for(station),
                1,
                "one future waits for {station}, not one per record"
            );
        }
    }

    #[test]
    fn records_are_read_only_as_fast_as_the_queues_take_them() {
        let (registry, trace, body) = (registry(), Trace::new(), big_body());
        let cache = SingleFlightCache::new(&registry, Duration::ZERO, &trace);
        // Finish every lookup first, so that the source below waits for nothing but its queue.
        block_on(future::join3(
            cache.region("Oslo"),
            cache.region("Bergen"),
            cache.region("Atlantis"),
        ));
        // One worker with room for one record, and the worker is never polled.
        let (queues, _workers) = start_workers(1, 1);
        let (regions, rejected) = (OnceCell::new(), RefCell::new(Vec::new()));
        let mut enrich = Box::pin(enrich_and_hand_off(
            0,
            Some(&body),
            &regions,
            &cache,
            &queues,
            &rejected,
            &trace,
        ));
        let waker = noop_waker();
        assert!(
            enrich
                .poll_unpin(&mut Context::from_waker(&waker))
                .is_pending()
        );
        // Record 1 (Oslo) is in the queue and record 2 (Bergen) waits for room. Record 3, the
        // first Atlantis, has not been read yet, so nothing has been rejected.
        assert_eq!(trace.summary().handed_off, 1);
        assert_eq!(
            rejected.borrow().len(),
            0,
            "the body is read no further than the record waiting for room"
        );
    }
}
