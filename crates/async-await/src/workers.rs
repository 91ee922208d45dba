//! Steps 2 to 4 of one answered source, and the workers: [`hand_off`] parses
//! the body, enriches its records through the single-flight cache and sends
//! each to its worker's bounded queue; [`worker`] is one worker, adding the
//! records of its queue to a `WorkerTally`.
//!
//! The queues are `async_channel::bounded`: `send` waits while a queue is full,
//! which is backpressure without a line of code.
//!
//! Read next: [`crate::pitfalls`], the mistakes this code avoids.

use std::borrow::Cow;

use async_channel::Receiver;
use futures::future;
use rosetta_pipeline::RunError;
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::enrich::survey;
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::partition::worker_for;

use crate::RunContext;
use crate::cache::lookup;
use crate::runtime::Runtime;

// ANCHOR: hand_off
// ANCHOR: hand_off_lookups
/// Hands the records of source `index`, whose feed answered `body` (borrowed
/// from the scenario on `sim`, read from a socket on `tcp`), to their workers,
/// and returns its rejected lines and records (in any order). Fails if a worker
/// is gone.
pub async fn hand_off<R: Runtime>(
    run: &RunContext<R>,
    index: usize,
    body: Cow<'_, str>,
) -> Result<Vec<Rejection>, RunError> {
    // 2 and 3. Parse and enrich in two passes over the body, so that only a
    // *station* ever waits, never a record (`rosetta_pipeline::enrich` explains
    // why). Pass 1: the body's distinct stations and its rejected lines.
    let mut survey = survey(index, body);
    // Look every station up at once through the single-flight cache, one future
    // per station (a station another source is looking up is waited for, not
    // looked up again). `join_all` runs them all inside this task, each to its
    // end. Nothing may drop one halfway, as a `select` against a failure would,
    // or `try_join_all` at the first error if lookups could fail: a dropped
    // asker abandons its lookup, the next asker for that station runs it again,
    // and the first start never finishes in the trace. (The cache counts a
    // lookup when it completes, so the report's `lookups` would survive that;
    // the trace would not.)
    let lookups = survey.stations.iter().map(|station| {
        let lookup = || lookup(run, station);
        run.cache.region_of(station, lookup)
    });
    let regions = future::join_all(lookups).await;
    // ANCHOR_END: hand_off_lookups

    // ANCHOR: hand_off_partition
    // 4. Partition: pass 2 parses the body again and yields each record with
    //    its region (or rejects it: unknown station). Each is handed to its
    //    worker before the next line is parsed, so this loop holds one record
    //    at a time; the bounded queues hold the rest.
    let mut rejected = std::mem::take(&mut survey.rejected);
    for enriched in survey.into_enriched(regions) {
        let enriched = match enriched {
            Ok(enriched) => enriched,
            Err(unknown_station) => {
                rejected.push(unknown_station);
                continue;
            }
        };
        let worker = worker_for(&enriched.record.station, run.queues.len());
        // `send` waits while the worker's queue is full: backpressure. It fails
        // only if the queue is closed: the worker is gone (it panicked), or
        // another task found that out first and closed them all. Either way the
        // run cannot finish, so close every queue: every other hand-off then
        // fails at once, and the run ends as soon as the fetches and lookups in
        // flight do.
        if run.queues[worker].send(enriched).await.is_err() {
            run.close_queues();
            return Err(RunError::Internal {
                style: R::NAME,
                message: format!(
                    "worker {worker} stopped before the end of the run"
                ),
            });
        }
        run.trace.hand_off(worker);
    }
    Ok(rejected)
}
// ANCHOR_END: hand_off_partition
// ANCHOR_END: hand_off

// ANCHOR: worker
/// One worker: adds every record from its queue to its tally, until the queue
/// is closed.
pub async fn worker(inbox: Receiver<Enriched>) -> WorkerTally {
    let mut tally = WorkerTally::new();
    // `recv` fails only once the queue is closed *and* empty, so no record is
    // left behind.
    while let Ok(record) = inbox.recv().await {
        tally.add(record);
    }
    tally
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::Arc;
    use std::time::Duration;

    use futures::future::Either;
    use rosetta_pipeline::trace::{Event, EventKind};
    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;
    use crate::cache::SingleFlightCache;
    use crate::runtime::{AsyncStd, Smol, Tokio};

    /// One source of 10,000 records that name three stations, whose lookups
    /// take a minute: long enough to count, while they are in flight,
    /// everything that waits for them.
    fn many_records_few_stations() -> Scenario {
        let body: String = (0..10_000)
            .map(|line| {
                format!("{};1.0\n", ["Oslo", "Bergen", "Tromso"][line % 3])
            })
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

    /// Runs [`hand_off`] on [`many_records_few_stations`] on `R` until its
    /// lookups are in flight, and returns how many futures then wait on the
    /// cache: each asker holds its station's cell (an `Arc`) while it waits, so
    /// that is each cell's count of owners, less the map's own.
    fn askers_while_the_lookups_are_in_flight<R: Runtime>() -> usize {
        let scenario = Arc::new(many_records_few_stations());
        R::block_on(|runtime| async move {
            // Queues nobody reads: the source cannot hand off more than a
            // queue's worth anyway.
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
            let source = pin!(hand_off(
                &run,
                0,
                Cow::Borrowed(&run.scenario.sources[0].body)
            ));
            let counter = pin!(async {
                let started = |run: &RunContext<R>| {
                    let events = run.trace.events().into_iter();
                    let lookup = |event: &Event| {
                        matches!(event.kind, EventKind::LookupStarted { .. })
                    };
                    events.filter(lookup).count()
                };
                // A bounded wait (ten seconds at least), so that a broken
                // pipeline fails instead of hanging; then a few more turns, for
                // anything else to start.
                let mut turns = 0;
                while started(&run) < 3 {
                    turns += 1;
                    assert!(turns < 10_000, "the three lookups never started");
                    run.runtime.sleep(Duration::from_millis(1)).await;
                }
                for _ in 0..20 {
                    run.runtime.sleep(Duration::from_millis(1)).await;
                }
                run.cache.askers()
            });
            match future::select(source, counter).await {
                Either::Right((askers, _source_dropped_here)) => askers,
                Either::Left((outcome, _)) => {
                    panic!("the source ended mid-lookup: {outcome:?}")
                }
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
}
