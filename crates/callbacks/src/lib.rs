//! The pipeline as callbacks on a single-threaded event loop, the way Node.js does it.
//!
//! Nothing here ever blocks. Where the threads style would wait (for a feed, a lookup, room in
//! a worker's queue), this style says what to do *next*, as a closure, and returns at once: the
//! closure is a *continuation*, and the event loop calls it when its time has come. One thread
//! runs everything, one callback at a time, so shared state lives in `Rc<RefCell<_>>` and needs
//! no lock. There are no futures in this crate: no `Future`, no `async`, no `.await`.
//!
//! # Layout
//!
//! - [`run`] (this file): builds the shared `Pipeline` state, starts the first sources,
//!   runs the loop until it runs out of work, then checks nothing was left behind and
//!   assembles the report. Also the two steps between fetching and handing over: starting
//!   sources while slots are free, and enriching a body.
//! - [`event_loop`]: the event loop, written here by hand: a timer heap, a ready queue,
//!   `set_timeout`, `clear_timeout`, `set_immediate`, `run`. Read it first.
//! - `fetch`: one attempt, two timers racing; fetch-with-retry twice, nested ("callback
//!   hell") and flattened into a named recursive function.
//! - `cache`: the single-flight cache: per station, a list of waiting callbacks, then the
//!   answer.
//! - `worker`: workers as bounded queues drained by the loop, and senders that park their
//!   continuation while a queue is full.
//!
//! # How this style waits
//!
//! It does not: it registers a callback and returns. The only place anything waits is the
//! event loop, which sleeps when no callback is ready until the next timer is due. A "wait"
//! for a feed is a timer; a wait for a lookup someone else started is a callback pushed onto a
//! list; a wait for room in a queue is a callback parked until the worker drains it.
//!
//! # What it costs
//!
//! Almost nothing at run time: one thread whatever the scale, a heap entry per timer, a boxed
//! closure per continuation. The cost is in the code. Every function that waits takes a
//! continuation instead of returning a value, so the control flow is inside out; a loop with a
//! wait in it becomes a recursive function; an error must be passed to the continuation by hand
//! (`Result` as its argument, Node's error-first convention); and a path that forgets to call
//! its continuation is not a compile error but a run that quietly stops short (see
//! `Pipeline::finish`, which checks for it). A long computation in a callback stalls
//! everything, since there is only one thread.
//!
//! # What to read next
//!
//! `rosetta-combinators`: futures are callbacks turned inside out again, so that a value you
//! wait for becomes a value you can hold, pass and combine.

mod cache;
pub mod event_loop;
mod fetch;
mod worker;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use rosetta_pipeline::aggregate::Enriched;
use rosetta_pipeline::parse::{Rejection, parse_body};
use rosetta_pipeline::run::FetchSummary;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

use crate::cache::SingleFlightCache;
use crate::event_loop::EventLoop;
use crate::worker::Worker;

/// The style's name, as the command line, the snapshots and the book write it.
pub const NAME: &str = "callbacks";

/// The model of concurrency, in a few words, for the comparison table.
pub const MODEL: &str = "continuations on a one-thread event loop";

/// Everything the continuations share. Each callback that needs it holds an `Rc<Pipeline>`;
/// fields that change are in `RefCell`s, borrowed briefly and never across a call to another
/// callback. The reason is re-entrancy, not a data race (there is one thread): a callback that
/// runs while its caller still holds a borrow of a cell, and borrows that cell again mutably
/// (or at all, if the caller's borrow is mutable), panics. `RefCell` allows many shared borrows
/// at once, or one mutable borrow and no other.
///
/// Callbacks stored in the loop must own what they use (`'static`), so the pipeline owns a
/// copy of the scenario. A lifetime parameter on the loop would avoid the copy, at the price of
/// a lifetime on every type here.
struct Pipeline {
    /// The loop every callback is scheduled on.
    event_loop: EventLoop,
    /// The scenario being run.
    scenario: Scenario,
    /// The time scale.
    opts: RunOptions,
    /// Where events are recorded.
    trace: Trace,
    /// Fetch slots in use and the next source to start.
    slots: RefCell<Slots>,
    /// The summary of each source, by index, once it is fetched.
    fetches: RefCell<Vec<Option<FetchSummary>>>,
    /// Rejected lines and records, in any order.
    rejected: RefCell<Vec<Rejection>>,
    /// Station to region, single-flight.
    cache: SingleFlightCache,
    /// One bounded queue and tally per worker.
    workers: Vec<Worker>,
}

/// Bounded concurrency, as two numbers.
#[derive(Debug, Default)]
struct Slots {
    /// Sources being fetched now, at most `concurrency`.
    in_flight: usize,
    /// The next source to start. The sources from here to the end are the queue of sources
    /// waiting for a slot, in file order.
    next_source: usize,
}

impl Pipeline {
    fn new(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Self {
        let settings = &scenario.settings;
        Pipeline {
            event_loop: EventLoop::new(),
            scenario: scenario.clone(),
            opts: *opts,
            trace: trace.clone(),
            slots: RefCell::new(Slots::default()),
            fetches: RefCell::new(vec![None; scenario.sources.len()]),
            rejected: RefCell::new(Vec::new()),
            cache: SingleFlightCache::default(),
            workers: (0..settings.workers)
                .map(|_| Worker::new(settings.channel_capacity))
                .collect(),
        }
    }

    /// After the loop has run out of work: checks that every source was fetched and every
    /// record aggregated, then assembles the report.
    ///
    /// The loop stops when no callback is left, whether or not the work is done. If some path
    /// dropped its continuation instead of calling it, the loop just ends early, and nothing
    /// else would notice: this is where we do.
    fn finish(&self) -> Result<Report, RunError> {
        let fetches = self
            .fetches
            .take()
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| lost("a source was started but its fetch never finished"))?;
        if !self.cache.is_settled() {
            return Err(lost("a lookup never answered its waiting callbacks"));
        }
        if !self.workers.iter().all(Worker::is_idle) {
            return Err(lost("a worker stopped with records still in its queue"));
        }
        let tallies: Vec<_> = self.workers.iter().map(Worker::take_tally).collect();
        Ok(Report::assemble(
            &self.scenario,
            &fetches,
            self.rejected.take(),
            self.cache.lookups(),
            &tallies,
        ))
    }
}

/// The error for work the loop left behind.
fn lost(what: &str) -> RunError {
    RunError::Internal {
        style: NAME,
        message: format!("{what} (a continuation was dropped without being called)"),
    }
}

// ANCHOR: run
/// Runs the pipeline as callbacks on one thread and returns its report.
pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
    let pipeline = Rc::new(Pipeline::new(scenario, opts, trace));
    // Schedule the first work: the first `concurrency` sources.
    start_sources(&pipeline);
    // Everything else happens in here, in callbacks, until no callback is left. A panic in a
    // callback unwinds out of `run`; turn it into an error like the other styles do. (The
    // callbacks still queued then hold the pipeline, which holds the loop: a reference cycle,
    // leaked. Only a bug takes this path, so the teaching version accepts the leak.)
    let event_loop = pipeline.event_loop.clone();
    panic::catch_unwind(AssertUnwindSafe(|| event_loop.run()))
        .map_err(|payload| RunError::from_panic(NAME, "callback", payload))?;
    pipeline.finish()
}
// ANCHOR_END: run

// ANCHOR: start_sources
/// Starts sources, in file order, while a slot is free. Called once at the start, then each
/// time a source's fetch ends and frees its slot.
fn start_sources(pipeline: &Rc<Pipeline>) {
    loop {
        let index = {
            let mut slots = pipeline.slots.borrow_mut();
            let settings = &pipeline.scenario.settings;
            if slots.in_flight == settings.concurrency
                || slots.next_source == pipeline.scenario.sources.len()
            {
                return;
            }
            slots.in_flight += 1;
            slots.next_source += 1;
            slots.next_source - 1
        };
        let shared = Rc::clone(pipeline);
        fetch::fetch_with_retry(pipeline, index, move |summary, body| {
            shared.fetches.borrow_mut()[index] = Some(summary);
            // The feed has answered or given up: its slot goes to the next source at once,
            // before this one's records are enriched.
            shared.slots.borrow_mut().in_flight -= 1;
            start_sources(&shared);
            if let Some(body) = body {
                enrich(&shared, index, &body);
            }
        });
    }
}
// ANCHOR_END: start_sources

/// A source's accepted records, gathered while their lookups answer.
struct Gathering {
    /// Records still waiting for their station's region.
    waiting: usize,
    /// Records whose region is known.
    accepted: Vec<Enriched>,
}

// ANCHOR: enrich
/// Parses a body, asks for every record's region at once, and when the last answer is in,
/// hands the accepted records to the workers.
fn enrich(pipeline: &Rc<Pipeline>, index: usize, body: &str) {
    let parsed = parse_body(index, body);
    pipeline.rejected.borrow_mut().extend(parsed.rejected);
    let gathering = Rc::new(RefCell::new(Gathering {
        waiting: parsed.records.len(),
        accepted: Vec::new(),
    }));
    for record in parsed.records {
        let (shared, gathering) = (Rc::clone(pipeline), Rc::clone(&gathering));
        let station = record.station.clone();
        // The lookups overlap: each call returns at once, and the answers come later.
        cache::region_of(pipeline, &station, move |region| {
            match region {
                Ok(region) => gathering
                    .borrow_mut()
                    .accepted
                    .push(Enriched { record, region }),
                Err(reason) => shared.rejected.borrow_mut().push(Rejection {
                    source: record.source,
                    line: record.line,
                    reason,
                }),
            }
            let mut gathered = gathering.borrow_mut();
            gathered.waiting -= 1;
            if gathered.waiting == 0 {
                let accepted = std::mem::take(&mut gathered.accepted);
                drop(gathered);
                worker::hand_off_all(&shared, accepted.into_iter());
            }
        });
    }
}
// ANCHOR_END: enrich
