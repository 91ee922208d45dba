//! The pipeline as callbacks on a single-threaded event loop, the way Node.js
//! does it.
//!
//! Nothing here ever blocks. Where the threads style would wait (for a feed, a
//! lookup, room in a worker's queue), this style says what to do *next*, as a
//! closure, and returns at once: the closure is a *continuation*, and the event
//! loop calls it when its time has come. One thread runs everything, one
//! callback at a time, so shared state lives in `Rc<RefCell<_>>` and needs no
//! lock. There are no futures in this crate: no `Future`, no `async`, no
//! `.await`.
//!
//! # Layout
//!
//! The four files are the pipeline, the folder is the machinery:
//!
//! - [`run`] (this file): builds the shared [`Pipeline`] state, starts the
//!   first sources, runs the loop until it runs out of work, then checks
//!   nothing was left behind and assembles the report. Also starting sources
//!   while slots are free.
//! - [`fetch`]: one attempt, a timeout racing the answer (a timer on `sim`, a
//!   socket's readiness callbacks on `tcp`); fetch-with-retry twice, nested
//!   ("callback hell") and flattened into a named recursive function.
//! - [`cache`]: the single-flight cache: per station, a list of waiting
//!   callbacks, then the answer.
//! - [`workers`]: looking up a body's stations and handing its records over
//!   ([`workers::hand_off`]), workers as bounded queues drained by the loop
//!   ([`workers::worker`]), and each source's records as a cursor that parks
//!   while a queue is full and is resumed when the queue has room.
//! - [`event_loop`]: the event loop, written here by hand: a timer heap, a
//!   ready queue, `set_timeout`, `clear_timeout`, `set_immediate`, `run`; and
//!   readiness I/O on `polling`, a registration table of sockets with a
//!   callback per direction (`register`, `on_readable`, `on_writable`,
//!   `close`). Read it first.
//!
//! # How this style waits
//!
//! It does not: it registers a callback and returns. The only place anything
//! waits is the event loop, which blocks when no callback is ready until the
//! next timer is due or a socket is ready. A "wait" for a feed is a timer
//! (`sim`) or a callback armed on a non-blocking socket (`tcp`); a wait for a
//! lookup someone else started is a callback pushed onto a list; a wait for
//! room in a queue is a source's cursor parked until the worker drains it.
//!
//! # What it costs
//!
//! Almost nothing at run time: one thread whatever the scale, a heap entry per
//! timer, a boxed closure per continuation, and on `tcp` a registration per
//! open socket (the socket, its waiting callback, and the response parsed so
//! far). A continuation per *record* would not be almost nothing, though: ten
//! thousand records waiting for three lookups would be ten thousand closures.
//! So a body waits per station, and its records are handed over from one cursor
//! per source. The cost is in the code. Every function that waits takes a
//! continuation instead of returning a value, so the control flow is inside
//! out; a loop with a wait in it becomes a recursive function; an error must be
//! passed to the continuation by hand (`Result` as its argument, Node's
//! error-first convention); and a path that forgets to call its continuation is
//! not a compile error but a run that quietly stops short (see
//! `Pipeline::finish`, which checks for it). A long computation in a callback
//! stalls everything, since there is only one thread.
//!
//! # What to read next
//!
//! `rosetta-combinators`: futures are callbacks turned inside out again, so
//! that a value you wait for becomes a value you can hold, pass and combine.

pub mod cache;
pub mod event_loop;
pub mod fetch;
pub mod workers;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::run::FetchSummary;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

use crate::cache::SingleFlightCache;
use crate::event_loop::ScopedEventLoop;
use crate::workers::Worker;

/// The style's name, as the command line, the snapshots and the book write it.
pub const NAME: &str = "callbacks";

/// The model of concurrency, in a few words, for the comparison table.
pub const MODEL: &str = "continuations on a one-thread event loop";

/// Everything the continuations share. Each callback that needs it holds an
/// `Rc<Pipeline>`; fields that change are in `RefCell`s, borrowed briefly and
/// never across a call to another callback. The reason is re-entrancy, not a
/// data race (there is one thread): a callback that runs while its caller still
/// holds a borrow of a cell, and borrows that cell again mutably (or at all, if
/// the caller's borrow is mutable), panics. `RefCell` allows many shared
/// borrows at once, or one mutable borrow and no other.
///
/// The loop is scoped to the run ([`ScopedEventLoop<'a>`]): its callbacks may
/// borrow, for `'a`, what `run` was given (the scenario and its bodies, the
/// trace). A `'static` loop, Node's, would need a copy of the scenario and of
/// each body. The price is a lifetime on every type here.
///
/// Public only so that the steps' functions ([`fetch::fetch_with_retry`],
/// [`cache::SingleFlightCache::region_of`], [`workers::hand_off`]) can be; only
/// `run` builds one.
pub struct Pipeline<'a> {
    /// The loop every callback is scheduled on.
    event_loop: ScopedEventLoop<'a>,
    /// The scenario being run.
    scenario: &'a Scenario,
    /// The time scale.
    opts: RunOptions,
    /// Where events are recorded.
    trace: &'a Trace,
    /// Fetch slots in use and the next source to start.
    slots: RefCell<Slots>,
    /// The summary of each source, by index, once it is fetched.
    fetches: RefCell<Vec<Option<FetchSummary>>>,
    /// Rejected lines and records, in any order.
    rejected: RefCell<Vec<Rejection>>,
    /// Station to region, single-flight.
    cache: SingleFlightCache<'a>,
    /// One bounded queue and tally per worker.
    workers: Vec<Worker<'a>>,
}

/// Bounded concurrency, as two numbers.
#[derive(Debug, Default)]
struct Slots {
    /// Sources being fetched now, at most `concurrency`.
    in_flight: usize,
    /// The next source to start. The sources from here to the end are the queue
    /// of sources waiting for a slot, in file order.
    next_source: usize,
}

impl<'a> Pipeline<'a> {
    fn new(
        scenario: &'a Scenario,
        opts: &RunOptions,
        trace: &'a Trace,
    ) -> Self {
        let settings = &scenario.settings;
        Pipeline {
            event_loop: ScopedEventLoop::new(),
            scenario,
            opts: *opts,
            trace,
            slots: RefCell::new(Slots::default()),
            fetches: RefCell::new(vec![None; scenario.sources.len()]),
            rejected: RefCell::new(Vec::new()),
            cache: SingleFlightCache::default(),
            workers: (0..settings.workers)
                .map(|_| Worker::new(settings.channel_capacity))
                .collect(),
        }
    }

    /// After the loop has run out of work: checks that every source was fetched
    /// and every record aggregated, then assembles the report.
    ///
    /// The loop stops when no callback is left, whether or not the work is
    /// done. If some path dropped its continuation instead of calling it, the
    /// loop just ends early, and nothing else would notice: this is where we
    /// do.
    fn finish(&self) -> Result<Report, RunError> {
        let fetches = self
            .fetches
            .take()
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                lost("a source was started but its fetch never finished")
            })?;
        if !self.cache.is_settled() {
            return Err(lost("a lookup never answered its waiting callbacks"));
        }
        if !self.workers.iter().all(Worker::is_idle) {
            return Err(lost(
                "a worker stopped with records still in its queue",
            ));
        }
        let tallies: Vec<_> =
            self.workers.iter().map(Worker::take_tally).collect();
        Ok(Report::assemble(
            self.scenario,
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
        message: format!(
            "{what} (a continuation was dropped without being called)"
        ),
    }
}

// ANCHOR: run
/// Runs the pipeline as callbacks on one thread and returns its report.
pub fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    let pipeline = Rc::new(Pipeline::new(scenario, opts, trace));
    // 1. Fetch: schedule the first work, the first `concurrency` sources. Each
    //    one, when its feed has answered, goes on to 2. Parse, 3. Enrich and 4.
    //    Partition (`workers::hand_off`).
    start_sources(&pipeline);
    // Everything else happens in here, in callbacks, until no callback is left.
    run_loop(&pipeline)?;
    // 5. Merge.
    pipeline.finish()
}
// ANCHOR_END: run

/// Runs the pipeline's loop until no callback is left. A panic in a callback
/// unwinds out of the loop's `run`; it becomes an error, as in the other
/// styles. The callbacks still queued then hold the pipeline, which holds the
/// loop: a reference cycle, which `abandon` breaks by dropping them all, and
/// with them every socket still open (deregistered, then closed).
fn run_loop(pipeline: &Pipeline<'_>) -> Result<(), RunError> {
    let event_loop = &pipeline.event_loop;
    panic::catch_unwind(AssertUnwindSafe(|| event_loop.run())).map_err(
        |payload| {
            event_loop.abandon();
            RunError::from_panic(NAME, "callback", payload)
        },
    )
}

// ANCHOR: start_sources
/// Starts sources, in file order, while a slot is free. Called once at the
/// start, then each time a source's fetch ends and frees its slot.
fn start_sources(pipeline: &Rc<Pipeline<'_>>) {
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
        // 1. Fetch.
        fetch::fetch_with_retry(pipeline, index, move |summary, body| {
            shared.fetches.borrow_mut()[index] = Some(summary);
            // The feed has answered or given up: its slot goes to the next
            // source at once, before this one's records are enriched.
            shared.slots.borrow_mut().in_flight -= 1;
            start_sources(&shared);
            if let Some(body) = body {
                // 2. Parse, 3. Enrich, 4. Partition.
                workers::hand_off(&shared, index, body);
            }
        });
    }
}
// ANCHOR_END: start_sources

#[cfg(test)]
mod tests {
    use std::fmt::Write;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use rosetta_conformance::expected_report;
    use rosetta_pipeline::scenario::Source;

    use super::*;

    /// A body of `records` lines over three stations, one of them unknown to
    /// the registry.
    fn body(records: usize) -> String {
        let mut body = String::new();
        for line in 0..records {
            let station = ["Oslo", "Bergen", "Atlantis"][line % 3];
            writeln!(body, "{station};{}.{}", line % 40, line % 10).unwrap();
        }
        body
    }

    /// Regression test: enriching used to ask the cache once per *record*, each
    /// with a callback of its own. For a body whose stations were already
    /// cached, that queued one callback per record at once: ten thousand boxed
    /// closures for three stations. Now a source asks once per distinct
    /// station, and hands its records off from one cursor.
    #[test]
    fn a_big_body_queues_callbacks_per_station_not_per_record() {
        let mut scenario = Scenario::from_toml(
            "name = \"big\"\n\
             [settings]\nworkers = 2\nchannel_capacity = 4\nlookup_ms = 1\ntimeout_ms = 1000\n\
             [registry]\nOslo = \"west\"\nBergen = \"west\"\n",
            "big.toml",
        )
        .unwrap();
        let source = |name: &str, latency_ms, records| Source {
            name: name.into(),
            latency_ms,
            fault: Default::default(),
            body: body(records),
        };
        // The first source's lookups are done (after about 2 ms) long before
        // the second source answers (100 ms), so every station of the second is
        // a cache hit.
        scenario.sources =
            vec![source("first", 1, 10_000), source("second", 100, 10_000)];
        let trace = Trace::new();
        let pipeline = Rc::new(Pipeline::new(
            &scenario,
            &RunOptions::with_time_scale(1.0),
            &trace,
        ));
        start_sources(&pipeline);
        pipeline.event_loop.run();
        let report = pipeline.finish().unwrap();
        assert_eq!(report, expected_report(&scenario));
        assert_eq!(pipeline.cache.lookups(), 3);
        // Two attempts' timers, three lookups, a drain per worker, a resumption
        // per source, and a few answers from the cache: a handful, whatever the
        // number of records.
        let most = pipeline.event_loop.most_callbacks_at_once();
        assert!(most <= 20, "{most} callbacks waiting at once");
    }

    /// Regression test: a panic in a callback used to leave the callbacks still
    /// queued in the loop, holding the pipeline that holds the loop, a
    /// reference cycle never freed; with sockets, every socket still open
    /// stayed open. Now the loop is abandoned after the panic, which drops
    /// every callback and closes every socket.
    #[test]
    fn a_panicking_callback_leaves_no_socket_open() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client =
            TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let scenario = Scenario::from_toml("name = \"p\"", "p.toml").unwrap();
        let (opts, trace) = (RunOptions::with_time_scale(1.0), Trace::new());
        let pipeline = Rc::new(Pipeline::new(&scenario, &opts, &trace));
        let socket = pipeline.event_loop.register(client).unwrap();
        // A callback waiting on the socket holds the pipeline, as an attempt's
        // does.
        let shared = Rc::clone(&pipeline);
        pipeline
            .event_loop
            .on_readable(socket, move |_| drop(shared));
        pipeline
            .event_loop
            .set_immediate(|| panic!("a bug in a callback"));
        let error = run_loop(&pipeline).unwrap_err();
        assert!(error.to_string().contains("a bug in a callback"), "{error}");
        drop(pipeline);
        // The server sees the close (a read of 0 bytes), not silence until its
        // timeout.
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut byte = [0];
        assert!(
            matches!(server.read(&mut byte), Ok(0)),
            "the socket is still open after the failed run"
        );
    }
}
