//! What a style did, and when: trace events and the figures derived from them.
//!
//! Every style records the same events (an attempt started or finished, a lookup started or
//! finished, a record handed to a worker) into a [`Trace`], a sink that any thread or task can
//! write to. The report says *what* was computed and must be identical across styles; the trace
//! says *how* it was computed, and is where the styles differ: which thread ran what, how many
//! fetches were in flight at once, where a style sat idle.
//!
//! From the trace come the wall time, the peak number of attempts and lookups in flight, and
//! the number of threads used ([`Trace::summary`]). `rosetta trace` draws it.
//!
//! In production you would use the `tracing` crate with a subscriber; here one mutex around a
//! vector is enough, keeps the dependency list short, and gives events a total order (the order
//! in which they took the lock), which the peak computations rely on.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::run::AttemptOutcome;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The style's entry point was called.
    RunStarted,
    /// The style's entry point returned.
    RunFinished,
    /// Fetch attempt `attempt` (from 1) of source `source` (index in file order) started.
    AttemptStarted {
        /// Index of the source.
        source: usize,
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// That attempt ended.
    AttemptFinished {
        /// Index of the source.
        source: usize,
        /// Attempt number, from 1.
        attempt: u32,
        /// How it ended.
        outcome: AttemptOutcome,
    },
    /// A registry lookup of `station` started (a cache miss).
    LookupStarted {
        /// The station looked up.
        station: String,
    },
    /// That lookup ended.
    LookupFinished {
        /// The station looked up.
        station: String,
        /// Whether the registry knew it.
        known: bool,
    },
    /// A record was handed to worker `worker` (it entered the worker's queue).
    HandedOff {
        /// Index of the worker.
        worker: usize,
    },
}

/// One event: what happened, when (since the trace was created) and on which thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the trace was created.
    pub at: Duration,
    /// Small number naming the thread that recorded the event (see [`Trace::thread_names`]).
    pub thread: u64,
    /// What happened.
    pub kind: EventKind,
}

/// A sink for events that any thread can write to. Cloning it is cheap and gives another handle
/// to the same trace, so tasks that must be `'static` can hold one.
#[derive(Debug, Clone)]
pub struct Trace {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    events: Vec<Event>,
    threads: BTreeMap<u64, String>,
}

/// Numbers threads in the order they first record an event in any trace. `std::thread::ThreadId`
/// has no stable way to get a number out of it, and small numbers read better in a timeline.
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD_NUMBER: Cell<u64> = const { Cell::new(0) };
}

fn current_thread_number() -> u64 {
    THREAD_NUMBER.with(|number| {
        if number.get() == 0 {
            number.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        number.get()
    })
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}

impl Trace {
    /// A new, empty trace; its clock starts now.
    pub fn new() -> Self {
        Trace {
            inner: Arc::new(Inner {
                start: Instant::now(),
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the event list intact; keep using it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that `kind` happened now, on the calling thread.
    pub fn record(&self, kind: EventKind) {
        let thread = current_thread_number();
        let mut state = self.lock();
        // Read the clock under the lock, so that the order of events and of their times agree.
        let at = self.inner.start.elapsed();
        state.threads.entry(thread).or_insert_with(|| {
            let current = std::thread::current();
            current
                .name()
                .map_or_else(|| format!("thread {thread}"), str::to_string)
        });
        state.events.push(Event { at, thread, kind });
    }

    /// Time since the trace was created (its clock), for drawing a run while it runs.
    pub fn elapsed(&self) -> Duration {
        self.inner.start.elapsed()
    }

    /// A copy of every event so far, in the order they were recorded.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The name of each thread that recorded an event, by thread number.
    pub fn thread_names(&self) -> BTreeMap<u64, String> {
        self.lock().threads.clone()
    }

    /// The figures derived from the events so far.
    pub fn summary(&self) -> TraceSummary {
        TraceSummary::of(&self.lock().events)
    }
}

/// Figures derived from a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceSummary {
    /// From `RunStarted` to `RunFinished` (or to the last event, if the run has not finished).
    pub wall: Duration,
    /// Most fetch attempts in flight at the same time.
    pub peak_attempts: usize,
    /// Most registry lookups in flight at the same time.
    pub peak_lookups: usize,
    /// Number of distinct threads that recorded events.
    pub threads: usize,
    /// Fetch attempts started.
    pub attempts: usize,
    /// Registry lookups started.
    pub lookups: usize,
}

impl TraceSummary {
    /// Computes the figures from events in recorded order.
    pub fn of(events: &[Event]) -> Self {
        let mut summary = TraceSummary::default();
        let (mut attempts_in_flight, mut lookups_in_flight) = (0usize, 0usize);
        let mut threads = std::collections::BTreeSet::new();
        let mut started = None;
        let mut finished = None;
        for event in events {
            threads.insert(event.thread);
            match &event.kind {
                EventKind::RunStarted => started = Some(event.at),
                EventKind::RunFinished => finished = Some(event.at),
                EventKind::AttemptStarted { .. } => {
                    summary.attempts += 1;
                    attempts_in_flight += 1;
                    summary.peak_attempts = summary.peak_attempts.max(attempts_in_flight);
                }
                EventKind::AttemptFinished { .. } => {
                    attempts_in_flight = attempts_in_flight.saturating_sub(1);
                }
                EventKind::LookupStarted { .. } => {
                    summary.lookups += 1;
                    lookups_in_flight += 1;
                    summary.peak_lookups = summary.peak_lookups.max(lookups_in_flight);
                }
                EventKind::LookupFinished { .. } => {
                    lookups_in_flight = lookups_in_flight.saturating_sub(1);
                }
                EventKind::HandedOff { .. } => {}
            }
        }
        let start = started.unwrap_or_default();
        let end = finished
            .or(events.last().map(|event| event.at))
            .unwrap_or_default();
        summary.wall = end.saturating_sub(start);
        summary.threads = threads.len();
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_follow_the_recorded_order() {
        let trace = Trace::new();
        trace.record(EventKind::RunStarted);
        for source in 0..3 {
            trace.record(EventKind::AttemptStarted { source, attempt: 1 });
        }
        trace.record(EventKind::AttemptFinished {
            source: 0,
            attempt: 1,
            outcome: AttemptOutcome::Answered,
        });
        trace.record(EventKind::AttemptStarted {
            source: 0,
            attempt: 2,
        });
        trace.record(EventKind::LookupStarted {
            station: "Oslo".into(),
        });
        trace.record(EventKind::LookupFinished {
            station: "Oslo".into(),
            known: true,
        });
        trace.record(EventKind::RunFinished);
        let summary = trace.summary();
        assert_eq!(summary.peak_attempts, 3);
        assert_eq!(summary.attempts, 4);
        assert_eq!(summary.peak_lookups, 1);
        assert_eq!(summary.threads, 1);
    }

    #[test]
    fn threads_are_counted_and_named() {
        let trace = Trace::new();
        trace.record(EventKind::RunStarted);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| trace.record(EventKind::HandedOff { worker: 0 }));
            }
        });
        std::thread::Builder::new()
            .name("named".into())
            .spawn({
                let trace = trace.clone();
                move || trace.record(EventKind::HandedOff { worker: 1 })
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(trace.summary().threads, 4);
        assert!(trace.thread_names().values().any(|name| name == "named"));
    }
}
