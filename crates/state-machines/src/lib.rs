//! The pipeline with every future written by hand, on an executor and a reactor
//! written here.
//!
//! Every other style of this project rests on machinery someone else wrote:
//! tokio's scheduler, futures-rs's combinators, the compiler's transformation
//! of a suspending function into a state machine. This style writes all of it
//! out. Each future is a `struct` or an `enum` with a `poll` method; each
//! executor step is a few lines of a loop; each timer is an entry in a map;
//! each socket is a key in the reactor's table, with the waker of whoever waits
//! on it. Nothing suspends by magic, and that is the lesson: after reading this
//! crate, the question "what does a runtime actually do?" has a short answer
//! you have seen work.
//!
//! The futures follow one shape, futures-lite's: a documented constructor
//! function, a struct (made with `pin_project!` when it holds a future that
//! must stay pinned), `#[derive(Debug)]`, `#[must_use]`, and a `poll` of about
//! ten lines. [`future_sizes`] lists how big each one is.
//!
//! # Layout
//!
//! The same four files as every style crate, the pipeline, then one folder, the
//! machinery:
//!
//! - [`run`] (this file): the pipeline, put together, step by step.
//! - [`fetch`]: [`FetchWithRetry`](fetch::FetchWithRetry), the state machine of
//!   one fetch, and its attempt on each transport: a timer on `sim`,
//!   [`TcpAttempt`](fetch::TcpAttempt) (connect, write,
//!   [`ReadResponse`](fetch::ReadResponse)) on `tcp`.
//! - [`cache`]: the single-flight cache, a shared slot with a list of wakers.
//! - [`workers`]: [`hand_off`], the task that hands one answered source's
//!   records to their workers, and [`worker`], the task that tallies them.
//! - [`executor`]: what a runtime would provide. Start there.
//!   - [`executor`] itself: run queue, tasks, wakers, `spawn` and `block_on`.
//!   - [`executor::reactor`]: timers and sockets over `polling` (epoll on
//!     Linux, kqueue on macOS), the executor's one place to wait;
//!     [`Sleep`](executor::reactor::Sleep) and
//!     [`Registration`](executor::reactor::Registration), the two ways a future
//!     waits on it.
//!   - [`executor::net`]: [`Connect`](executor::net::Connect) and
//!     [`WriteAll`](executor::net::WriteAll), non-blocking socket futures.
//!   - [`executor::timeout`]: [`Timeout`](executor::timeout::Timeout), a future
//!     raced against a deadline.
//!   - [`executor::join`]: [`BoundedJoin`](executor::join::BoundedJoin), at
//!     most `concurrency` fetches at a time.
//!   - [`executor::channel`]: a bounded channel with `Send` and `Recv` futures,
//!     for the workers' queues.
//!
//! Everything runs on the thread that calls [`run`]: one executor, one reactor,
//! no helper thread, however many sockets are open. In production you would use
//! a runtime (tokio, smol) for all of this; you would also keep reading their
//! source, which is this crate with the corners filled in.

pub mod cache;
pub mod executor;
pub mod fetch;
pub mod workers;

// The machinery's modules under their earlier, shorter paths too
// (`rosetta_state_machines:: reactor::sleep`), for the benches, the CLI's
// sleepers and the book's examples.
pub use executor::{channel, join, reactor, timeout};

#[cfg(test)]
mod test_support;

use std::cell::RefCell;
use std::mem::size_of;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::enrich::survey;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

use crate::cache::SingleFlightCache;
use crate::executor::channel::channel;
use crate::executor::join::bounded_join;
use crate::executor::{Executor, JoinHandle};
use crate::fetch::{Fetched, fetch_with_retry};
use crate::workers::{hand_off, worker};

/// The style's name, as the command line, the snapshots and the book write it.
pub const NAME: &str = "state-machines";

/// The model of concurrency, in a few words, for the comparison table.
pub const MODEL: &str =
    "hand-written futures on a hand-written executor and I/O reactor";

/// Runs the pipeline in this style.
///
/// A panic in any future (a bug) unwinds out of the executor; it is returned as
/// [`RunError::Panicked`].
pub fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    catch_unwind(AssertUnwindSafe(|| run_pipeline(scenario, opts, trace).0))
        .map_err(|panic| RunError::from_panic(NAME, "task", panic))
}

// ANCHOR: run
// ANCHOR: run_workers
/// The pipeline: fetch with a bounded join, spawn a task per answered source,
/// wait for the workers. Returns the report, and how many tasks the run spawned
/// (a test checks that they grow with sources and stations, not with records).
fn run_pipeline(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> (Report, u64) {
    let settings = &scenario.settings;
    // Declared before the executor, so that it outlives the tasks that borrow
    // it.
    let rejected = RefCell::new(Vec::new());
    let executor = Executor::new();
    let reactor = executor.reactor();
    let lookup_time = opts.scaled(settings.lookup_ms);
    let cache = SingleFlightCache::new(&scenario.registry, lookup_time, trace);

    // The steps are numbered as in `rosetta_pipeline::reference::run`. Step 4's
    // workers come first, because step 3 needs their queues to hand records off
    // to.
    // 4. Partition: the workers, one task each, each draining its own bounded
    //    queue.
    let (queues, workers): (Vec<_>, Vec<JoinHandle<WorkerTally>>) = (0
        ..settings.workers)
        .map(|_| {
            let (queue, receiver) =
                channel::<Enriched>(settings.channel_capacity);
            (queue, executor.spawn(worker(receiver)))
        })
        .unzip();
    // ANCHOR_END: run_workers

    // ANCHOR: run_fetch
    // 1. Fetch, at most `concurrency` at a time, in file order. The futures are
    //    created lazily (`map` on an iterator), when a slot takes them.
    let fetches = scenario.sources.iter().enumerate().map(|(index, source)| {
        fetch_with_retry(index, source, settings, opts, reactor, trace)
    });
    let mut summaries = vec![None; scenario.sources.len()];
    let fetch_all = bounded_join(
        fetches,
        settings.concurrency,
        |index, fetched: Fetched| {
            // The slot is already free. 2. Parse, a first pass that finds the
            // body's distinct stations, and 3. Enrich: give the source a task
            // of its own that looks them all up, then parses the body again and
            // hands each record to its worker, while the fetches go on. Two
            // passes so that nothing waits per record
            // (`rosetta_pipeline::enrich` says why).
            summaries[index] = Some(fetched.summary);
            let Some(body) = fetched.body else { return };
            let task = hand_off(
                survey(index, body),
                &cache,
                &executor,
                &queues,
                &rejected,
                trace,
            );
            // Detached: the task reports through the queues (and `rejected`),
            // not its handle.
            let _detached = executor.spawn(task);
        },
    );
    executor.block_on(fetch_all);
    // ANCHOR_END: run_fetch

    // ANCHOR: run_merge
    // Every source is fetched. Drop our senders: each queue now closes when the
    // last source task, which holds a clone of every sender, has handed its
    // last record off.
    drop(queues);
    // 5. Merge: wait for each worker's tally (running every other task on the
    //    way), and merge.
    let tallies: Vec<WorkerTally> = workers
        .into_iter()
        .map(|worker| executor.block_on(worker))
        .collect();
    let fetches: Vec<_> = summaries
        .into_iter()
        .map(|summary| summary.expect("bounded_join finishes every fetch"))
        .collect();
    let report = Report::assemble(
        scenario,
        &fetches,
        rejected.take(),
        cache.lookups(),
        &tallies,
    );
    (report, executor.spawned())
}
// ANCHOR_END: run_merge
// ANCHOR_END: run

// ANCHOR: future_sizes
/// The size in bytes of each hand-written future, for the CLI and the book.
///
/// A future's size is the size of its largest state plus the fields all states
/// share, which is also how the compiler sizes the futures it generates. The
/// sizes grow the way the futures nest: a `TcpAttempt` holds a `Connect`, a
/// `WriteAll` or a `ReadResponse` (one at a time, so it is as big as the
/// biggest); an `AttemptAnswer` holds a `FeedAnswer` or a `TcpAttempt`; a
/// `Timeout` holds an `AttemptAnswer` and a `Sleep`; a `FetchWithRetry` holds a
/// `Timeout`.
pub fn future_sizes() -> Vec<(&'static str, usize)> {
    use crate::cache::{Lookup, RegionWait};
    use crate::executor::channel::{Recv, Send};
    use crate::executor::join::BoundedJoin;
    use crate::executor::net::{Connect, WriteAll};
    use crate::executor::reactor::Sleep;
    use crate::executor::timeout::Timeout;
    use crate::fetch::{
        AttemptAnswer, FeedAnswer, FetchWithRetry, ReadResponse, TcpAttempt,
    };
    use crate::workers::{HandOff, Worker};

    // ANCHOR: future_sizes_list
    type FetchJoin = BoundedJoin<
        std::vec::IntoIter<FetchWithRetry<'static>>,
        fn(usize, Fetched),
    >;
    vec![
        ("Sleep", size_of::<Sleep>()),
        ("FeedAnswer", size_of::<FeedAnswer<'static>>()),
        ("Connect", size_of::<Connect>()),
        ("WriteAll", size_of::<WriteAll>()),
        ("ReadResponse", size_of::<ReadResponse>()),
        ("TcpAttempt", size_of::<TcpAttempt<'static>>()),
        ("AttemptAnswer", size_of::<AttemptAnswer<'static>>()),
        (
            "Timeout<AttemptAnswer>",
            size_of::<Timeout<AttemptAnswer<'static>>>(),
        ),
        ("FetchWithRetry", size_of::<FetchWithRetry<'static>>()),
        ("BoundedJoin<FetchWithRetry>", size_of::<FetchJoin>()),
        ("Lookup", size_of::<Lookup<'static>>()),
        ("RegionWait", size_of::<RegionWait<'static>>()),
        ("Send<Enriched>", size_of::<Send<Enriched>>()),
        ("Recv<Enriched>", size_of::<Recv<'static, Enriched>>()),
        ("HandOff", size_of::<HandOff<'static>>()),
        ("Worker", size_of::<Worker>()),
        (
            "JoinHandle<WorkerTally>",
            size_of::<JoinHandle<WorkerTally>>(),
        ),
    ]
    // ANCHOR_END: future_sizes_list
}
// ANCHOR_END: future_sizes

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use rosetta_pipeline::registry::Registry;
    use rosetta_pipeline::scenario::{Fault, Settings, Source};

    #[test]
    fn tasks_grow_with_stations_not_with_records() {
        // One feed of 10,000 records naming 3 stations, one of them unknown.
        // The tasks a run may spawn: one per worker, one lookup per station,
        // one per answered source. Not one per record: 10,000 waiting tasks
        // would hold 10,000 records at once.
        let stations = ["Oslo", "Rome", "Atlantis"];
        let body: String = (0..10_000)
            .map(|line| format!("{};1.5\n", stations[line % stations.len()]))
            .collect();
        let registry = BTreeMap::from([
            ("Oslo".to_string(), "north".to_string()),
            ("Rome".to_string(), "south".to_string()),
        ]);
        let settings = Settings {
            channel_capacity: 4,
            ..Settings::default()
        };
        let scenario = Scenario {
            name: "one-big-feed".into(),
            about: String::new(),
            settings,
            registry: Registry::from(registry),
            sources: vec![Source {
                name: "big".into(),
                latency_ms: 10,
                fault: Fault::default(),
                body,
            }],
        };
        let opts = RunOptions::with_time_scale(0.0);
        let (report, spawned) = run_pipeline(&scenario, &opts, &Trace::new());

        let bound = settings.workers + stations.len() + scenario.sources.len();
        assert!(
            spawned <= bound as u64,
            "{spawned} tasks spawned for 10,000 records; at most {bound} expected"
        );
        let reference =
            rosetta_pipeline::reference::run(&scenario, &opts, &Trace::new());
        assert_eq!(report, reference.unwrap());
    }

    #[test]
    fn future_sizes_follow_the_nesting() {
        let sizes: std::collections::HashMap<_, _> =
            future_sizes().into_iter().collect();
        for (name, size) in future_sizes() {
            println!("{name:<28} {size:>4} bytes");
        }
        // A future holds the futures it is waiting on, so it is at least as big
        // as they are.
        let timeout = sizes["Timeout<AttemptAnswer>"];
        assert!(timeout >= sizes["AttemptAnswer"] + sizes["Sleep"]);
        assert!(
            sizes["AttemptAnswer"]
                >= sizes["FeedAnswer"].max(sizes["TcpAttempt"])
        );
        for step in ["Connect", "WriteAll", "ReadResponse"] {
            assert!(
                sizes["TcpAttempt"] >= sizes[step],
                "TcpAttempt holds a {step}"
            );
        }
        assert!(sizes["FeedAnswer"] >= sizes["Sleep"]);
        assert!(sizes["FetchWithRetry"] >= timeout);
        assert!(sizes["HandOff"] >= sizes["Send<Enriched>"]);
        // The join keeps its running futures on the heap (in a `Vec`): its own
        // size does not depend on what it joins.
        type SleepJoin = executor::join::BoundedJoin<
            std::vec::IntoIter<executor::reactor::Sleep>,
            fn(usize, ()),
        >;
        assert_eq!(
            sizes["BoundedJoin<FetchWithRetry>"],
            size_of::<SleepJoin>()
        );
        // Handles to shared state are one pointer.
        assert_eq!(sizes["JoinHandle<WorkerTally>"], size_of::<usize>());
        assert_eq!(sizes["Recv<Enriched>"], size_of::<usize>());
    }
}
