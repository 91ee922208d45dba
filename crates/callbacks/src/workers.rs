//! Handing a body's records to the workers, workers as bounded queues drained
//! by the event loop, and backpressure with callbacks.
//!
//! [`hand_off`] is what happens to a body once its feed has answered: ask the
//! cache for the region of each of its few stations, and when the last has
//! answered, hand its records over.
//!
//! A worker here is not a thread: it is a queue of at most `channel_capacity`
//! records, a tally, and a callback that the loop runs (with `set_immediate`)
//! whenever the queue has records. That callback, the *drain* ([`worker`]),
//! adds every queued record to the tally and empties the queue.
//!
//! The producers are the sources. Each source hands its records over from a
//! *cursor*: pass 2 of `rosetta_pipeline::enrich`, an iterator that parses the
//! body one record at a time, boxed once per source. `send_records` takes
//! records from it and puts each into its worker's queue, for as long as there
//! is room.
//!
//! Backpressure: a cursor that finds its worker's queue full cannot block
//! (nothing may block on the loop's only thread). It *parks* instead: it leaves
//! itself and the record that did not fit with the worker, and returns. When
//! the worker drains, it moves parked records into the queue while there is
//! room and schedules their cursors to go on. Node's writable streams work the
//! same way: `write` returns `false` when the buffer is full, and the producer
//! waits for the `'drain'` event before writing more. A full queue therefore
//! slows its producers down, and what waits meanwhile is the rest of the body,
//! as text, not records piled up somewhere else.
//!
//! Why a cursor and not a continuation per record (`send(record, then)`): a
//! closure per record is an allocation per record, and every record waiting at
//! once would be a closure waiting at once. A cursor is one allocation per
//! source, whatever the body's size.
//!
//! Read next: the crate's `lib.rs`, where `run` puts the pieces together.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::enrich::{Survey, survey};
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::partition::worker_for;

use crate::Pipeline;
use crate::cache::SingleFlightCache;
use crate::fetch::Body;

/// A source's records not handed off yet, parsed one at a time from its body
/// (an `Err` is a record of an unknown station). Boxed once per source: a
/// cursor, not a collection.
pub(crate) type Records<'a> =
    Box<dyn Iterator<Item = Result<Enriched, Rejection>> + 'a>;

/// A cursor that found its worker's queue full.
struct Parked<'a> {
    /// The record that did not fit: it goes into the queue first when there is
    /// room.
    record: Enriched,
    /// The rest of the source's records, to go on with after that.
    rest: Records<'a>,
}

/// One worker: a bounded queue, the cursors waiting for room in it, and its
/// tally.
pub(crate) struct Worker<'a> {
    /// How many records the queue holds at most.
    capacity: usize,
    /// Everything that changes.
    state: RefCell<WorkerState<'a>>,
}

/// The changing part of a worker.
#[derive(Default)]
struct WorkerState<'a> {
    /// Records handed over and not yet aggregated; never longer than
    /// `capacity`.
    queue: VecDeque<Enriched>,
    /// Cursors that found the queue full, at most one per source. Invariant: if
    /// this is not empty, the queue is full (a drain refills it from here).
    parked: VecDeque<Parked<'a>>,
    /// Everything aggregated so far.
    tally: WorkerTally,
    /// A drain is already scheduled: do not schedule a second one.
    drain_scheduled: bool,
}

impl Worker<'_> {
    /// A worker whose queue holds `capacity` records.
    pub(crate) fn new(capacity: usize) -> Self {
        Worker {
            capacity,
            state: RefCell::new(WorkerState::default()),
        }
    }

    /// True if no record is queued or parked (at the end of a run, none should
    /// be).
    pub(crate) fn is_idle(&self) -> bool {
        let state = self.state.borrow();
        state.queue.is_empty() && state.parked.is_empty()
    }

    /// Takes the tally out, at the end of the run.
    pub(crate) fn take_tally(&self) -> WorkerTally {
        std::mem::take(&mut self.state.borrow_mut().tally)
    }
}

/// A source's lookups, gathered as they answer.
struct Gathering<'a> {
    /// Pass 1 over the body, kept for pass 2 (taken when the last lookup
    /// answers).
    survey: Option<Survey<'a>>,
    /// The region of each station of the survey, in the survey's order (`None`:
    /// unknown), filled in as the lookups answer.
    regions: Vec<Option<String>>,
    /// Lookups that have not answered yet.
    waiting: usize,
}

// ANCHOR: hand_off
// ANCHOR: hand_off_gather
/// Hands one answered source's records to their workers. Asks for the region of
/// every distinct station of a body at once, and when the last answer is in,
/// hands the body's records to the workers.
///
/// Two passes over the body (`rosetta_pipeline::enrich` says why): the survey
/// finds its few stations, and only those wait, one callback each; the records
/// are parsed again, one at a time, by the cursor that hands them off. A
/// callback per record would hold every record of the body, and a closure for
/// each, until the lookups answer.
pub fn hand_off<'a>(pipeline: &Rc<Pipeline<'a>>, index: usize, body: Body<'a>) {
    // 2. Parse, pass 1: the body's distinct stations (a handful), not its
    //    records.
    let mut survey = survey(index, body);
    pipeline.rejected.borrow_mut().append(&mut survey.rejected);
    let stations = survey.stations.clone();
    let gathering = Rc::new(RefCell::new(Gathering {
        regions: vec![None; stations.len()],
        waiting: stations.len(),
        survey: Some(survey),
    }));
    // ANCHOR_END: hand_off_gather
    // ANCHOR: hand_off_lookups
    for (n, station) in stations.into_iter().enumerate() {
        let (shared, gathering) = (Rc::clone(pipeline), Rc::clone(&gathering));
        // 3. Enrich, through the cache. The lookups overlap: each call returns
        //    at once, and the answers come later.
        SingleFlightCache::region_of(pipeline, &station, move |lookup| {
            let mut gathered = gathering.borrow_mut();
            // An unknown station is `None` here; pass 2 turns its records into
            // rejections.
            gathered.regions[n] = lookup.ok();
            gathered.waiting -= 1;
            if gathered.waiting > 0 {
                return;
            }
            let survey =
                gathered.survey.take().expect("the last answer comes once");
            let regions = std::mem::take(&mut gathered.regions);
            drop(gathered);
            // 2. Parse, pass 2, and 4. Partition: the records, one at a time,
            //    to their queues. The cursor owns the body's survey and its
            //    regions: nothing is left to borrow.
            send_records(&shared, Box::new(survey.into_enriched(regions)));
        });
    }
}
// ANCHOR_END: hand_off_lookups
// ANCHOR_END: hand_off

// ANCHOR: backpressure
// ANCHOR: send_records
/// Hands a source's `records` to their workers, in order, while their queues
/// have room. The first record whose queue is full parks the cursor on that
/// worker, which resumes it once it has made room. Records of unknown stations
/// go to the report's rejections on the way.
///
/// A loop, not a recursion, so the stack stays flat however long the body. Nor
/// does one call run for long: queues drain only on a later turn, so a call
/// hands off at most the room left in the queues before some queue is full and
/// the cursor parks.
fn send_records<'a>(pipeline: &Rc<Pipeline<'a>>, mut records: Records<'a>) {
    while let Some(record) = records.next() {
        let record = match record {
            Ok(record) => record,
            Err(unknown_station) => {
                pipeline.rejected.borrow_mut().push(unknown_station);
                continue;
            }
        };
        let index = worker_for(&record.record.station, pipeline.workers.len());
        let worker = &pipeline.workers[index];
        let mut state = worker.state.borrow_mut();
        if state.queue.len() == worker.capacity {
            // Full: park. The drain will push the record and resume the rest.
            let rest = records;
            state.parked.push_back(Parked { record, rest });
            return;
        }
        debug_assert!(state.parked.is_empty(), "parked cursors go first");
        state.queue.push_back(record);
        drop(state);
        pipeline.trace.hand_off(index);
        schedule_drain(pipeline, index);
    }
}
// ANCHOR_END: send_records

// ANCHOR: schedule_drain
/// Makes sure the worker's drain runs on a later turn, once.
fn schedule_drain(pipeline: &Rc<Pipeline<'_>>, index: usize) {
    let mut state = pipeline.workers[index].state.borrow_mut();
    if !state.drain_scheduled {
        state.drain_scheduled = true;
        let shared = Rc::clone(pipeline);
        pipeline
            .event_loop
            .set_immediate(move || worker(&shared, index));
    }
}
// ANCHOR_END: schedule_drain

// ANCHOR: drain
/// One turn of worker `index`, its *drain*: aggregate every queued record, then
/// let parked records in while there is room, and resume their cursors.
pub fn worker(pipeline: &Rc<Pipeline<'_>>, index: usize) {
    let worker = &pipeline.workers[index];
    let mut resumed = Vec::new();
    {
        let mut state = worker.state.borrow_mut();
        state.drain_scheduled = false;
        while let Some(record) = state.queue.pop_front() {
            state.tally.add(record);
        }
        while state.queue.len() < worker.capacity {
            let Some(Parked { record, rest }) = state.parked.pop_front() else {
                break;
            };
            state.queue.push_back(record);
            pipeline.trace.hand_off(index);
            resumed.push(rest);
        }
    }
    if !resumed.is_empty() {
        // The records just let in need a drain of their own.
        schedule_drain(pipeline, index);
    }
    for rest in resumed {
        // On a later turn, not here: a cursor may hand records to other
        // workers, and those callbacks should not run inside this worker's
        // drain (see "Zalgo" in `cache.rs`).
        let shared = Rc::clone(pipeline);
        pipeline
            .event_loop
            .set_immediate(move || send_records(&shared, rest));
    }
}
// ANCHOR_END: drain
// ANCHOR_END: backpressure

#[cfg(test)]
mod tests {
    use rosetta_pipeline::parse::{Reason, Record};
    use rosetta_pipeline::tenths::Tenths;
    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;

    #[test]
    fn a_full_queue_parks_cursors_and_every_record_arrives() {
        let mut scenario =
            Scenario::from_toml("name = \"w\"", "w.toml").unwrap();
        scenario.settings.workers = 1;
        scenario.settings.channel_capacity = 2;
        let (opts, trace) = (RunOptions::with_time_scale(0.0), Trace::new());
        let pipeline = Rc::new(Pipeline::new(&scenario, &opts, &trace));
        // Three sources of four records each (the third of each from an unknown
        // station), all starting in the same turn. The records are made as the
        // cursor asks for them.
        for source in 0..3 {
            let records = (1..=4).map(move |line| {
                if line == 3 {
                    return Err(Rejection {
                        source,
                        line,
                        reason: Reason::UnknownStation,
                    });
                }
                Ok(Enriched {
                    record: Record {
                        source,
                        line,
                        station: "Oslo".into(),
                        tenths: Tenths(10),
                    },
                    region: "north".into(),
                })
            });
            send_records(&pipeline, Box::new(records));
        }
        // Before the loop runs, the first source has filled the queue and every
        // source is parked, each holding the one record that did not fit.
        {
            let state = pipeline.workers[0].state.borrow();
            assert_eq!((state.queue.len(), state.parked.len()), (2, 3));
        }
        pipeline.event_loop.run();
        assert!(pipeline.workers[0].is_idle());
        assert_eq!(pipeline.workers[0].take_tally().records, 9);
        assert_eq!(trace.summary().handed_off, 9, "every record handed off");
        assert_eq!(
            pipeline.rejected.borrow().len(),
            3,
            "and every unknown one rejected"
        );
    }
}
