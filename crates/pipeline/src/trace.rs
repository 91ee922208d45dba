//! What a style did, and when: trace events and the figures derived from them.
//!
//! Every style records the same events (an attempt started or finished, a
//! lookup started or finished, a record handed to a worker) into a [`Trace`], a
//! sink that any thread or task can write to. The report says *what* was
//! computed and must be identical across styles; the trace says *how* it was
//! computed, and is where the styles differ: which thread ran what, how many
//! fetches were in flight at once, where a style sat idle.
//!
//! From the trace come the wall time, the peak number of attempts and lookups
//! in flight, and the number of threads used ([`Trace::summary`]). `rosetta
//! trace` draws it.
//!
//! In production you would use the `tracing` crate with a subscriber; here one
//! mutex around a vector is enough, keeps the dependency list short, and gives
//! events a total order (the order in which they took the lock), which the peak
//! computations rely on.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::outcome::AttemptOutcome;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The style's entry point was called.
    RunStarted,
    /// The style's entry point returned.
    RunFinished,
    /// Fetch attempt `attempt` (from 1) of source `source` (index in file
    /// order) started.
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
    /// On the `tcp` transport, that attempt's socket reached `phase` (between
    /// its `AttemptStarted` and its `AttemptFinished`). An attempt that times
    /// out or fails early records only the phases it reached.
    Socket {
        /// Index of the source.
        source: usize,
        /// Attempt number, from 1.
        attempt: u32,
        /// How far the exchange has come.
        phase: SocketPhase,
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
    /// `records` records were handed to worker `worker` (they entered its
    /// queue) by one thread: the first at this event's time, the others within
    /// [`HAND_OFF_WINDOW`] after it. Record hand-offs with [`Trace::hand_off`],
    /// which groups them so.
    HandedOff {
        /// Index of the worker.
        worker: usize,
        /// How many records, at least 1.
        records: u32,
    },
}

/// How far an attempt's HTTP exchange has come, in the order an exchange passes
/// them. Read back from a trace line of a program in another language
/// (`"connected"`, `"request_sent"`, `"first_byte"`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SocketPhase {
    /// The connection is established.
    Connected,
    /// The whole request has been written.
    RequestSent,
    /// The first byte of the response has arrived.
    FirstByte,
}

impl SocketPhase {
    /// The phase's name, as timelines label it.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketPhase::Connected => "connected",
            SocketPhase::RequestSent => "request sent",
            SocketPhase::FirstByte => "first byte",
        }
    }
}

/// One event: what happened, when (since the trace was created) and on which
/// thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the trace was created.
    pub at: Duration,
    /// Small number naming the thread that recorded the event (see
    /// [`Trace::thread_names`]).
    pub thread: u64,
    /// What happened.
    pub kind: EventKind,
}

/// A sink for events that any thread can write to. Cloning it is cheap and
/// gives another handle to the same trace, so tasks that must be `'static` can
/// hold one.
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
    /// For each worker, the index in `events` of its latest `HandedOff` event.
    latest_hand_off: HashMap<usize, usize>,
}

/// How close together hand-offs to one worker from one thread must be to share
/// a `HandedOff` event (see [`Trace::hand_off`]). A millisecond is finer than
/// any timeline draws: the terminal timeline's columns are several milliseconds
/// wide even at a small time scale.
pub const HAND_OFF_WINDOW: Duration = Duration::from_millis(1);

/// Numbers threads in the order they first record an event in any trace.
/// `std::thread::ThreadId` has no stable way to get a number out of it, and
/// small numbers read better in a timeline.
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
        // A panic elsewhere while holding the lock leaves the event list
        // intact; keep using it.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records that `kind` happened now, on the calling thread.
    pub fn record(&self, kind: EventKind) {
        let thread = current_thread_number();
        let mut state = self.lock();
        // Read the clock under the lock, so that the order of events and of
        // their times agree.
        let at = self.inner.start.elapsed();
        state.push(Event { at, thread, kind });
    }

    /// Records that `kind` happened at `at` on this trace's clock, on the
    /// calling thread: for events another process saw with its own clock (the
    /// JavaScript and Python styles report theirs over a pipe, and the time a
    /// line arrives is not the time it happened).
    ///
    /// `at` is kept between the latest event's time and now, so that times
    /// never run backwards against the recorded order and never lie in the
    /// future.
    pub fn record_at(&self, at: Duration, kind: EventKind) {
        let thread = current_thread_number();
        let mut state = self.lock();
        let latest =
            state.events.last().map_or(Duration::ZERO, |event| event.at);
        let at = at.min(self.inner.start.elapsed()).max(latest);
        state.push(Event { at, thread, kind });
    }

    // ANCHOR: hand_off
    /// Records that one record was handed to worker `worker` now, on the
    /// calling thread.
    ///
    /// Every other event is recorded one by one; hand-offs are grouped. A feed
    /// of five million lines hands off five million records, and an event each
    /// would cost over 300 MB to draw marks that no timeline can tell apart. So
    /// a hand-off is added to the worker's latest `HandedOff` event when that
    /// event is from the same thread and less than [`HAND_OFF_WINDOW`] old, and
    /// starts a new event otherwise. The number of events is then bounded by
    /// the run's length, not by the number of records, and the total of
    /// `records` still says exactly how many records each worker was given.
    pub fn hand_off(&self, worker: usize) {
        let thread = current_thread_number();
        let mut state = self.lock();
        let at = self.inner.start.elapsed();
        if let Some(&index) = state.latest_hand_off.get(&worker) {
            let latest = &mut state.events[index];
            if latest.thread == thread
                && at.saturating_sub(latest.at) < HAND_OFF_WINDOW
                && let EventKind::HandedOff { records, .. } = &mut latest.kind
            {
                *records = records.saturating_add(1);
                return;
            }
        }
        let kind = EventKind::HandedOff { worker, records: 1 };
        state.push(Event { at, thread, kind });
    }
    // ANCHOR_END: hand_off

    /// Time since the trace was created (its clock), for drawing a run while it
    /// runs.
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

impl State {
    fn push(&mut self, event: Event) {
        let thread = event.thread;
        self.threads.entry(thread).or_insert_with(|| {
            let current = std::thread::current();
            current
                .name()
                .map_or_else(|| format!("thread {thread}"), str::to_string)
        });
        if let EventKind::HandedOff { worker, .. } = event.kind {
            self.latest_hand_off.insert(worker, self.events.len());
        }
        self.events.push(event);
    }
}

/// Figures derived from a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TraceSummary {
    /// From `RunStarted` to `RunFinished` (or to the last event, if the run has
    /// not finished).
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
    /// Records handed to workers (the sum of every `HandedOff` event's
    /// `records`).
    pub handed_off: usize,
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
                    summary.peak_attempts =
                        summary.peak_attempts.max(attempts_in_flight);
                }
                EventKind::AttemptFinished { .. } => {
                    attempts_in_flight = attempts_in_flight.saturating_sub(1);
                }
                EventKind::LookupStarted { .. } => {
                    summary.lookups += 1;
                    lookups_in_flight += 1;
                    summary.peak_lookups =
                        summary.peak_lookups.max(lookups_in_flight);
                }
                EventKind::LookupFinished { .. } => {
                    lookups_in_flight = lookups_in_flight.saturating_sub(1);
                }
                EventKind::HandedOff { records, .. } => {
                    summary.handed_off += *records as usize
                }
                // A phase inside an attempt already counted by its
                // `AttemptStarted`.
                EventKind::Socket { .. } => {}
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
    fn hand_offs_are_grouped_per_worker_and_thread_and_none_is_lost() {
        let trace = Trace::new();
        let started = trace.elapsed();
        for record in 0..10_000 {
            trace.hand_off(record % 3);
        }
        let took = trace.elapsed() - started;
        std::thread::scope(|scope| {
            scope.spawn(|| trace.hand_off(0));
        });
        let events = trace.events();
        let mut per_worker = [0u32; 3];
        for event in &events {
            let EventKind::HandedOff { worker, records } = event.kind else {
                panic!("only hand-offs were recorded: {event:?}");
            };
            per_worker[worker] += records;
        }
        assert_eq!(
            per_worker,
            [3_335, 3_333, 3_333],
            "every hand-off is counted"
        );
        // A worker's events from one thread start at least a window apart, so
        // their number is bounded by how long the hand-offs took, whatever the
        // machine's speed: a bound in time, not in records. (The other thread's
        // hand-off is never merged into these.)
        let bound =
            3 * (took.as_millis() / HAND_OFF_WINDOW.as_millis() + 1) + 1;
        assert!(
            events.len() as u128 <= bound,
            "{} events, bound {bound}",
            events.len()
        );
        assert_eq!(trace.summary().threads, 2);
    }

    #[test]
    fn times_from_another_clock_keep_the_recorded_order_and_never_lie_ahead() {
        let trace = Trace::new();
        trace.record(EventKind::RunStarted);
        let started = trace.events()[0].at;
        // Before the latest event: moved up to it.
        trace.record_at(
            Duration::ZERO,
            EventKind::LookupStarted {
                station: "a".into(),
            },
        );
        // In the future: moved back to now.
        trace.record_at(Duration::from_secs(3600), EventKind::RunFinished);
        let events = trace.events();
        assert_eq!(events[1].at, started);
        assert!(events[2].at >= events[1].at);
        assert!(events[2].at <= trace.elapsed());
    }

    #[test]
    fn threads_are_counted_and_named() {
        let trace = Trace::new();
        trace.record(EventKind::RunStarted);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| trace.hand_off(0));
            }
        });
        std::thread::Builder::new()
            .name("named".into())
            .spawn({
                let trace = trace.clone();
                move || trace.hand_off(1)
            })
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(trace.summary().threads, 4);
        assert!(trace.thread_names().values().any(|name| name == "named"));
    }
}
