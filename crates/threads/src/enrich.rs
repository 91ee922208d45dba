//! What happens to a body once its feed has answered: parse it, look up its stations, hand the
//! records to the workers. It runs on an enrich thread of its own, started by the fetch thread,
//! so that the fetch thread's slot is free for the next source while this waits.
//!
//! Lookups of different stations must overlap: a body naming five unknown stations should wait
//! one lookup, not five. With threads, "overlap" means "one thread each": every station that
//! is not in the cache yet gets a lookup thread, and the enrich thread joins them all.
//!
//! Read next: [`crate::cache`], which makes sure two threads never look up the same station.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::SyncSender;
use std::thread;

use rosetta_pipeline::RunError;
use rosetta_pipeline::aggregate::Enriched;
use rosetta_pipeline::parse::{Reason, Record, Rejection, parse_body};
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::trace::EventKind;

use crate::cache::Region;
use crate::{Shared, internal, join, spawn};

// ANCHOR: enrich
/// Parses the body of source `index`, looks up its stations and hands every accepted record to
/// its worker. Returns the rejected lines and records.
pub(crate) fn enrich_and_hand_off(
    shared: &Shared<'_>,
    index: usize,
    body: &str,
    workers: &[SyncSender<Enriched>],
) -> Result<Vec<Rejection>, RunError> {
    let parsed = parse_body(index, body);
    let mut rejected = parsed.rejected;
    let regions = look_up_stations(shared, index, &parsed.records)?;
    for record in parsed.records {
        let Some(region) = regions[&record.station].clone() else {
            rejected.push(Rejection {
                source: record.source,
                line: record.line,
                reason: Reason::UnknownStation,
            });
            continue;
        };
        let worker = worker_for(&record.station, workers.len());
        // Blocks while the worker's queue is full: that is the backpressure. It fails only if
        // the worker is gone, which only a panic does; `run` reports that panic.
        workers[worker]
            .send(Enriched { record, region })
            .map_err(|_| internal(format!("worker {worker} stopped early")))?;
        shared.trace.hand_off(worker);
    }
    Ok(rejected)
}
// ANCHOR_END: enrich

// ANCHOR: look_up_stations
/// The region of every distinct station of `records`, looked up concurrently.
fn look_up_stations(
    shared: &Shared<'_>,
    index: usize,
    records: &[Record],
) -> Result<HashMap<String, Region>, RunError> {
    let mut regions = HashMap::new();
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    for record in records {
        let station = record.station.as_str();
        if !seen.insert(station) {
            continue;
        }
        // A station already in the cache costs nothing: no thread for it.
        match shared.cache.cached(station) {
            Some(region) => {
                regions.insert(station.to_string(), region);
            }
            None => missing.push(station),
        }
    }
    // One thread per missing station, all waiting at once. `thread::scope` joins them before
    // it returns, so they may borrow `shared` and the station names.
    thread::scope(|scope| {
        let lookups = missing
            .into_iter()
            .enumerate()
            .map(|(n, station)| {
                let thread = spawn(scope, format!("lookup-{index}-{n}"), move || {
                    shared.cache.region_of(station, || look_up(shared, station))
                })?;
                Ok((station, thread))
            })
            .collect::<Result<Vec<_>, RunError>>()?;
        for (station, thread) in lookups {
            regions.insert(station.to_string(), join(thread, "lookup thread")?);
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
