//! The sequential reference run: the whole pipeline with no concurrency at all.
//!
//! Every other style is compared against this one: its report is the gold master. It does one
//! thing at a time, in file order, and waits with `std::thread::sleep`. That makes it slow
//! (roughly the sum of every latency, see [`crate::model::Ideal::sequential_ms`]) and obviously
//! right, which is what a reference must be.
//!
//! Read it first: every concurrent style is this function with the waiting rearranged.

use std::collections::HashMap;

use crate::aggregate::{Enriched, WorkerTally};
use crate::model;
use crate::parse::{Reason, Rejection, parse_lines};
use crate::partition::worker_for;
use crate::report::Report;
use crate::run::{AttemptOutcome, FetchSummary, RunError, RunOptions};
use crate::scenario::{Response, Scenario, Source};
use crate::trace::{EventKind, Trace};

// ANCHOR: run
/// Runs the pipeline sequentially and returns its report.
pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
    let mut fetches = Vec::with_capacity(scenario.sources.len());
    let mut rejected = Vec::new();
    let mut cache = Cache::default();
    let mut tallies = vec![WorkerTally::new(); scenario.settings.workers];

    for (index, source) in scenario.sources.iter().enumerate() {
        // 1. Fetch, with retries and timeouts.
        let (summary, body) = fetch_with_retry(index, source, scenario, opts, trace);
        fetches.push(summary);
        let Some(body) = body else { continue };

        // 2. Parse, one line at a time: nothing is kept per line but its effect on the tallies.
        for line in parse_lines(index, body) {
            let line = match line {
                Ok(line) => line,
                Err(rejection) => {
                    rejected.push(rejection);
                    continue;
                }
            };
            // 3. Enrich, through the cache.
            let Some(region) = cache.region_of(line.station, scenario, opts, trace) else {
                rejected.push(Rejection {
                    source: line.source,
                    line: line.line,
                    reason: Reason::UnknownStation,
                });
                continue;
            };
            // 4. Partition: hand the record to the worker that owns its station.
            let record = line.to_record();
            hand_off(Enriched { record, region }, &mut tallies, trace);
        }
    }
    // 5. Merge.
    Ok(Report::assemble(
        scenario,
        &fetches,
        rejected,
        cache.lookups,
        &tallies,
    ))
}
// ANCHOR_END: run

// ANCHOR: fetch_with_retry
/// Fetches one source: up to `retries + 1` attempts, each limited by the timeout.
fn fetch_with_retry<'s>(
    index: usize,
    source: &'s Source,
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> (FetchSummary, Option<&'s str>) {
    let settings = &scenario.settings;
    let mut attempt = 1;
    loop {
        trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        // One thread doing one thing cannot race a timer against an answer; it knows from the
        // specification which comes first and sleeps that long (see `model::attempt`).
        let (wait_ms, outcome) = model::attempt(source, attempt, settings);
        std::thread::sleep(opts.scaled(wait_ms));
        trace.record(EventKind::AttemptFinished {
            source: index,
            attempt,
            outcome,
        });
        if outcome == AttemptOutcome::Answered || attempt == settings.max_attempts() {
            let body = match source.respond(attempt) {
                Response::Body(body) if outcome == AttemptOutcome::Answered => Some(body),
                _ => None,
            };
            return (FetchSummary::after(attempt, outcome), body);
        }
        attempt += 1;
    }
}
// ANCHOR_END: fetch_with_retry

// ANCHOR: region_of
/// The reference's cache: station to region (`None`: unknown), and the lookups it made.
#[derive(Default)]
struct Cache {
    regions: HashMap<String, Option<String>>,
    lookups: u64,
}

impl Cache {
    /// The station's region, looked up in the registry the first time the station is seen.
    ///
    /// Sequential code needs no single-flight logic: nobody else can be looking the station up
    /// at the same time, so a miss is simply a lookup, and the next call finds the answer.
    fn region_of(
        &mut self,
        station: &str,
        scenario: &Scenario,
        opts: &RunOptions,
        trace: &Trace,
    ) -> Option<String> {
        if let Some(cached) = self.regions.get(station) {
            return cached.clone();
        }
        self.lookups += 1;
        let region = lookup(scenario, station, opts, trace);
        self.regions.insert(station.to_string(), region.clone());
        region
    }
}
// ANCHOR_END: region_of

/// One registry lookup: waits `lookup_ms`, then answers.
fn lookup(scenario: &Scenario, station: &str, opts: &RunOptions, trace: &Trace) -> Option<String> {
    trace.record(EventKind::LookupStarted {
        station: station.to_string(),
    });
    std::thread::sleep(opts.scaled(scenario.settings.lookup_ms));
    let region = scenario.registry.region_of(station).map(str::to_string);
    trace.record(EventKind::LookupFinished {
        station: station.to_string(),
        known: region.is_some(),
    });
    region
}

// ANCHOR: hand_off
/// Hands a record to the worker that owns its station. The reference has no queue and no
/// worker thread: the worker is its tally, and handing off is adding to it.
fn hand_off(enriched: Enriched, tallies: &mut [WorkerTally], trace: &Trace) {
    let worker = worker_for(&enriched.record.station, tallies.len());
    trace.hand_off(worker);
    tallies[worker].add(enriched);
}
// ANCHOR_END: hand_off
