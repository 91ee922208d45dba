//! Workers as bounded queues drained by the event loop, and backpressure with callbacks.
//!
//! A worker here is not a thread: it is a queue of at most `channel_capacity` records, a tally,
//! and a callback that the loop runs (with `set_immediate`) whenever the queue has records. That
//! callback, the *drain*, adds every queued record to the tally and empties the queue.
//!
//! Backpressure: a sender that finds its worker's queue full cannot block (nothing may block on
//! the loop's only thread). It *parks* instead: it leaves its record and its continuation with
//! the worker, and returns. When the worker drains, it moves parked records into the queue while
//! there is room and schedules their senders' continuations. Node's writable streams work the
//! same way: `write` returns `false` when the buffer is full, and the producer waits for the
//! `'drain'` event before writing more.
//!
//! The producers are the sources: each source hands its records over one at a time, the next
//! only once the previous one is in a queue ([`hand_off_all`]). A full queue therefore slows its
//! producers down, rather than piling records up somewhere else.
//!
//! Read next: the crate's `lib.rs`, where `run` puts the pieces together.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::partition::worker_for;

use crate::Pipeline;

/// A continuation the loop calls once.
type Continuation = Box<dyn FnOnce()>;

/// One worker: a bounded queue, the senders waiting for room in it, and its tally.
pub(crate) struct Worker {
    /// How many records the queue holds at most.
    capacity: usize,
    /// Everything that changes.
    state: RefCell<WorkerState>,
}

/// The changing part of a worker.
#[derive(Default)]
struct WorkerState {
    /// Records handed over and not yet aggregated; never longer than `capacity`.
    queue: VecDeque<Enriched>,
    /// Senders that found the queue full: their record, and what they do once it is in.
    /// Invariant: if this is not empty, the queue is full (a drain refills it from here).
    parked: VecDeque<(Enriched, Continuation)>,
    /// Everything aggregated so far.
    tally: WorkerTally,
    /// A drain is already scheduled: do not schedule a second one.
    drain_scheduled: bool,
}

impl Worker {
    /// A worker whose queue holds `capacity` records.
    pub(crate) fn new(capacity: usize) -> Self {
        Worker {
            capacity,
            state: RefCell::new(WorkerState::default()),
        }
    }

    /// True if no record is queued or parked (at the end of a run, none should be).
    pub(crate) fn is_idle(&self) -> bool {
        let state = self.state.borrow();
        state.queue.is_empty() && state.parked.is_empty()
    }

    /// Takes the tally out, at the end of the run.
    pub(crate) fn take_tally(&self) -> WorkerTally {
        std::mem::take(&mut self.state.borrow_mut().tally)
    }
}

// ANCHOR: hand_off
/// Hands `records` to their workers one after the other: the next record only once the
/// previous one is in its worker's queue. This is a producer that backpressure can slow down.
pub(crate) fn hand_off_all(pipeline: &Rc<Pipeline>, mut records: std::vec::IntoIter<Enriched>) {
    let Some(record) = records.next() else {
        return;
    };
    let shared = Rc::clone(pipeline);
    send(pipeline, record, move || hand_off_all(&shared, records));
}

/// Puts `record` into its worker's queue and then continues with `then`; if the queue is full,
/// parks both until the worker has made room.
fn send(pipeline: &Rc<Pipeline>, record: Enriched, then: impl FnOnce() + 'static) {
    let index = worker_for(&record.record.station, pipeline.workers.len());
    let worker = &pipeline.workers[index];
    let mut state = worker.state.borrow_mut();
    if state.queue.len() == worker.capacity {
        // Full: park. The drain will push the record and schedule `then`.
        state.parked.push_back((record, Box::new(then)));
        return;
    }
    debug_assert!(state.parked.is_empty(), "parked senders go first");
    state.queue.push_back(record);
    drop(state);
    pipeline.trace.hand_off(index);
    schedule_drain(pipeline, index);
    // Continue on a later turn rather than now: the stack stays flat however many records
    // a source has (see the note on "Zalgo" in `cache.rs`).
    pipeline.event_loop.set_immediate(then);
}

/// Makes sure the worker's drain runs on a later turn, once.
fn schedule_drain(pipeline: &Rc<Pipeline>, index: usize) {
    let mut state = pipeline.workers[index].state.borrow_mut();
    if !state.drain_scheduled {
        state.drain_scheduled = true;
        let shared = Rc::clone(pipeline);
        pipeline
            .event_loop
            .set_immediate(move || drain(&shared, index));
    }
}

/// One turn of worker `index`: aggregate every queued record, then let parked senders in while
/// there is room, and wake them.
fn drain(pipeline: &Rc<Pipeline>, index: usize) {
    let worker = &pipeline.workers[index];
    let mut woken = Vec::new();
    {
        let mut state = worker.state.borrow_mut();
        state.drain_scheduled = false;
        while let Some(record) = state.queue.pop_front() {
            state.tally.add(record);
        }
        while state.queue.len() < worker.capacity {
            let Some((record, then)) = state.parked.pop_front() else {
                break;
            };
            state.queue.push_back(record);
            pipeline.trace.hand_off(index);
            woken.push(then);
        }
    }
    if !woken.is_empty() {
        // The records just let in need a drain of their own.
        schedule_drain(pipeline, index);
    }
    for then in woken {
        pipeline.event_loop.set_immediate(then);
    }
}
// ANCHOR_END: hand_off

#[cfg(test)]
mod tests {
    use rosetta_pipeline::parse::Record;
    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;

    #[test]
    fn a_full_queue_parks_senders_and_every_record_arrives() {
        let mut scenario = Scenario::from_toml("name = \"w\"", "w.toml").unwrap();
        scenario.settings.workers = 1;
        scenario.settings.channel_capacity = 2;
        let trace = Trace::new();
        let pipeline = Rc::new(Pipeline::new(
            &scenario,
            &RunOptions::with_time_scale(0.0),
            &trace,
        ));
        // Three producers of four records each, all starting in the same turn.
        for source in 0..3 {
            let records: Vec<Enriched> = (1..=4)
                .map(|line| Enriched {
                    record: Record {
                        source,
                        line,
                        station: "Oslo".into(),
                        tenths: 10,
                    },
                    region: "north".into(),
                })
                .collect();
            hand_off_all(&pipeline, records.into_iter());
        }
        // Before the loop runs, the queue is full and the third producer is parked.
        {
            let state = pipeline.workers[0].state.borrow();
            assert_eq!((state.queue.len(), state.parked.len()), (2, 1));
        }
        pipeline.event_loop.run();
        assert!(pipeline.workers[0].is_idle());
        assert_eq!(pipeline.workers[0].take_tally().records, 12);
        assert_eq!(trace.summary().handed_off, 12, "every record handed off");
    }
}
