//! The workers, and what happens to a body once its feed has answered: find its
//! stations, look them up, hand the records to the workers. [`hand_off`] runs
//! on an enrich thread of its own, started by the fetch thread, so that the
//! fetch thread's slot is free for the next source while this waits; each
//! [`worker`] runs on a worker thread of its own, started by `run`.
//!
//! The body is read in two passes (why: see `rosetta_pipeline::enrich`): the
//! first finds its distinct stations, the second parses the records again one
//! at a time, each handed off as it comes, so that a 5-million-line body is
//! never held as 5 million records.
//!
//! Lookups of different stations must overlap: a body naming five unknown
//! stations should wait one lookup, not five. With threads, "overlap" means
//! "one thread each": every station that is not in the cache yet gets a lookup
//! thread, and the enrich thread joins them all.
//!
//! Read next: [`crate::cache`], which makes sure two threads never look up the
//! same station.

use std::sync::mpsc::{Receiver, SyncSender};
use std::thread;

use rosetta_pipeline::RunError;
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::enrich::survey;
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::trace::EventKind;

use crate::cache::Region;
use crate::{Shared, internal, join, spawn};

// ANCHOR: hand_off
/// Looks up the stations of the body of source `index`, then hands every
/// accepted record to its worker. Returns the rejected lines and records.
pub fn hand_off(
    shared: &Shared<'_>,
    index: usize,
    body: &str,
    workers: &[SyncSender<Enriched>],
) -> Result<Vec<Rejection>, RunError> {
    // 2. Parse, pass 1: the distinct stations (a handful), not the records
    //    (possibly millions).
    let mut survey = survey(index, body);
    let mut rejected = std::mem::take(&mut survey.rejected);
    // 3. Enrich: every station's region, through the cache.
    let regions = look_up_stations(shared, index, &survey.stations)?;
    // 2. Parse, pass 2, and 4. Partition: one record at a time, parsed just
    //    before it is sent. At most a queue's worth of records per worker is
    //    alive at once; the rest of the body is still text.
    for record in survey.into_enriched(regions) {
        let enriched = match record {
            Ok(enriched) => enriched,
            Err(unknown_station) => {
                rejected.push(unknown_station);
                continue;
            }
        };
        let worker = worker_for(&enriched.record.station, workers.len());
        // Blocks while the worker's queue is full: that is the backpressure,
        // and it also holds back the parsing of the rest of the body. It fails
        // only if the worker is gone, which only a panic does; `run` reports
        // that panic.
        workers[worker]
            .send(enriched)
            .map_err(|_| internal(format!("worker {worker} stopped early")))?;
        shared.trace.hand_off(worker);
    }
    Ok(rejected)
}
// ANCHOR_END: hand_off

// ANCHOR: look_up_stations
/// The region of each of `stations` (distinct), in the same order, looked up
/// concurrently.
fn look_up_stations(
    shared: &Shared<'_>,
    index: usize,
    stations: &[String],
) -> Result<Vec<Region>, RunError> {
    let mut regions = vec![None; stations.len()];
    // One thread per station that is not cached yet, all waiting at once.
    // `thread::scope` joins them before it returns, so they may borrow `shared`
    // and the station names.
    thread::scope(|scope| {
        let mut lookups = Vec::new();
        for (n, station) in stations.iter().enumerate() {
            match shared.cache.cached(station) {
                // A station already in the cache costs nothing: no thread for
                // it.
                Some(region) => regions[n] = region,
                // Not cached, or its lookup in flight on another source's
                // thread: this thread then waits on the station's `OnceLock`
                // and shares that lookup.
                None => {
                    let thread = spawn(
                        scope,
                        format!("lookup-{index}-{n}"),
                        move || {
                            shared
                                .cache
                                .region_of(station, || look_up(shared, station))
                        },
                    )?;
                    lookups.push((n, thread));
                }
            }
        }
        for (n, thread) in lookups {
            regions[n] = join(thread, "lookup thread")?;
        }
        Ok(regions)
    })
}
// ANCHOR_END: look_up_stations

/// One registry lookup, on the calling thread: waits `lookup_ms`, then answers.
fn look_up(shared: &Shared<'_>, station: &str) -> Region {
    let trace = shared.trace;
    trace.record(EventKind::LookupStarted {
        station: station.to_string(),
    });
    // A plain sleep is fine here: nothing ever needs to interrupt a lookup.
    thread::sleep(shared.opts.scaled(shared.scenario.settings.lookup_ms));
    let region = shared
        .scenario
        .registry
        .region_of(station)
        .map(str::to_string);
    trace.record(EventKind::LookupFinished {
        station: station.to_string(),
        known: region.is_some(),
    });
    region
}

// ANCHOR: worker
/// The body of one worker: add every record that arrives to the tally, until
/// every sender has been dropped (then `recv` fails and the `for` loop ends).
pub fn worker(records: Receiver<Enriched>) -> WorkerTally {
    let mut tally = WorkerTally::new();
    for record in records {
        tally.add(record);
    }
    tally
}
// ANCHOR_END: worker
