//! Steps 3 and 4 as tasks: [`hand_off`] (one per answered source) and
//! [`worker`] (one per partition).
//!
//! Every source that answers becomes one task. It looks up, all at once, every
//! distinct station the source's body names; then it reads the body again and
//! hands each record to its worker, waiting for room in that worker's queue.
//! Each worker is a task that takes records out of its queue until the queue
//! closes, and then resolves to its tally.
//!
//! Read next: [`crate::run`], which wires all of this together.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::enrich::{Enrich, Survey};
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::trace::Trace;

use crate::cache::{RegionWait, SingleFlightCache};
use crate::executor::Executor;
use crate::executor::channel::{Receiver, Send, Sender};

// ANCHOR: hand_off
/// Enriches the records of one answered source and hands each to its worker's
/// queue (`queues`, one per worker); records of unknown stations, and the lines
/// `survey` rejected, go to `rejected`.
///
/// Two passes over the body, as every style does (`rosetta_pipeline::enrich`
/// says why): the caller's `survey` was the first, and found the distinct
/// stations; this future waits for all of their regions, then makes the second
/// pass, one record at a time. So the work kept waiting grows with the
/// stations, never with the records.
///
/// The lookups start here, through `cache`, on `executor`: the moment the
/// source has answered, not at the future's first poll.
// ANCHOR: hand_off_fn
pub fn hand_off<'a>(
    mut survey: Survey<'a>,
    cache: &SingleFlightCache<'a>,
    executor: &Executor<'a>,
    queues: &[Sender<Enriched>],
    rejected: &'a RefCell<Vec<Rejection>>,
    trace: &'a Trace,
) -> HandOff<'a> {
    rejected.borrow_mut().append(&mut survey.rejected);
    // Every lookup starts now; a station that another source asked for already
    // joins the lookup under way (or finds its answer), which is what
    // single-flight means.
    let waits = survey
        .stations
        .iter()
        .enumerate()
        .map(|(index, station)| (index, cache.region_of(station, executor)))
        .collect();
    HandOff {
        queues: queues.to_vec(),
        rejected,
        trace,
        state: HandOffState::LookingUp {
            waits,
            found: vec![None; survey.stations.len()],
            survey,
        },
    }
}
// ANCHOR_END: hand_off_fn

// ANCHOR: hand_off_struct
/// Future for [`hand_off`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct HandOff<'a> {
    /// A sender for each worker's queue. They keep the queues open until this
    /// task is dropped, which the executor does the moment the task is done.
    queues: Vec<Sender<Enriched>>,
    /// Where records of unknown stations go.
    rejected: &'a RefCell<Vec<Rejection>>,
    /// Where hand-offs are recorded.
    trace: &'a Trace,
    /// Where the source is.
    state: HandOffState<'a>,
}
// ANCHOR_END: hand_off_struct

// ANCHOR: hand_off_states
/// The states of an [`HandOff`].
#[derive(Debug)]
enum HandOffState<'a> {
    /// Waiting for the region of every distinct station of the source, all at
    /// once.
    LookingUp {
        /// The first pass over the body, kept for the second.
        survey: Survey<'a>,
        /// The lookups still in flight, each with its station's index in
        /// `survey.stations`. A few per source: polling all of them at each
        /// wake-up costs less than the per-slot wakers of
        /// [`crate::executor::join::BoundedJoin`] would save.
        waits: Vec<(usize, RegionWait<'a>)>,
        /// The regions found so far, by station index (`None`: unknown, or not
        /// yet found).
        found: Vec<Option<String>>,
    },
    /// The second pass: handing the records off, one at a time.
    HandingOff {
        /// The records not yet taken out of the body, each enriched or
        /// rejected.
        records: Enrich<'a>,
        /// The record on its way to a queue, and its worker: at most one at a
        /// time.
        sending: Option<(usize, Send<Enriched>)>,
    },
    /// Every record is in a queue, or rejected.
    Done,
}
// ANCHOR_END: hand_off_states

// ANCHOR: looking_up
impl Future for HandOff<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                HandOffState::LookingUp { waits, found, .. } => {
                    // Poll each lookup still in flight (a cache hit is ready at
                    // once); keep the ones that are not done, each with our
                    // waker.
                    waits.retain_mut(|(station, wait)| {
                        match Pin::new(wait).poll(cx) {
                            Poll::Ready(region) => {
                                found[*station] = region.map(str::to_string);
                                false
                            }
                            Poll::Pending => true,
                        }
                    });
                    if !waits.is_empty() {
                        return Poll::Pending;
                    }
                    // LookingUp -> HandingOff: every region is known; start the
                    // second pass.
                    this.state = this.start_second_pass();
                }
                // ANCHOR_END: looking_up
                // ANCHOR: handing_off
                HandOffState::HandingOff { records, sending } => {
                    if let Some((worker, send)) = sending {
                        // Pending while the worker's queue is full:
                        // backpressure.
                        let sent = ready!(Pin::new(send).poll(cx));
                        sent.expect(
                            "a worker's queue stays open until every record \
                             is handed off",
                        );
                        this.trace.hand_off(*worker);
                    }
                    *sending = match records.next() {
                        Some(Ok(enriched)) => {
                            let worker = worker_for(
                                &enriched.record.station,
                                this.queues.len(),
                            );
                            Some((worker, this.queues[worker].send(enriched)))
                        }
                        // Nothing to wait for: on to the next record, in this
                        // same poll. (A body of nothing but unknown stations is
                        // read to its end in one poll; tokio would make the
                        // task yield after a budget of 128 such steps.)
                        Some(Err(unknown_station)) => {
                            this.rejected.borrow_mut().push(unknown_station);
                            None
                        }
                        // HandingOff -> Done: the body is used up.
                        None => {
                            this.state = HandOffState::Done;
                            return Poll::Ready(());
                        }
                    };
                }
                // ANCHOR_END: handing_off
                HandOffState::Done => {
                    panic!("HandOff polled after it completed")
                }
            }
        }
    }
}

// ANCHOR: start_second_pass
impl<'a> HandOff<'a> {
    /// Hands the survey and the regions found to the second pass and returns
    /// the `HandingOff` state, reading the body a second time.
    ///
    /// The second pass's iterator *owns* the survey (with its body) and the
    /// regions, and keeps a position in the body rather than a borrow of it. It
    /// could not borrow them from this future: a future holding both a value
    /// and a borrow of it would be a struct pointing into itself, the very
    /// thing `Pin` exists for, and safe code cannot build one by hand. (A state
    /// machine the compiler generates may: it is `!Unpin`, and relies on being
    /// pinned.)
    fn start_second_pass(&mut self) -> HandOffState<'a> {
        let HandOffState::LookingUp { survey, found, .. } =
            std::mem::replace(&mut self.state, HandOffState::Done)
        else {
            unreachable!("called in the LookingUp state")
        };
        HandOffState::HandingOff {
            records: survey.into_enriched(found),
            sending: None,
        }
    }
}
// ANCHOR_END: start_second_pass

// ANCHOR_END: hand_off

// ANCHOR: worker
/// A worker: adds every record of `queue` to a tally, and resolves to the tally
/// when the queue is closed and empty.
pub fn worker(queue: Receiver<Enriched>) -> Worker {
    Worker {
        queue,
        tally: Some(WorkerTally::new()),
    }
}

/// Future for [`worker`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct Worker {
    /// The worker's queue.
    queue: Receiver<Enriched>,
    /// What it has added up so far; `None` once handed over.
    tally: Option<WorkerTally>,
}

impl Future for Worker {
    type Output = WorkerTally;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<WorkerTally> {
        let this = &mut *self;
        // Polled again after it handed its tally over: a bug in the caller.
        // Answering with an empty tally would lose every record of the first
        // answer without a word.
        let tally =
            this.tally.as_mut().expect("Worker polled after completion");
        // Take everything that is in the queue now; `Pending` when it is empty.
        while let Some(enriched) = ready!(this.queue.poll_recv(cx)) {
            tally.add(enriched);
        }
        // Closed and empty: hand the tally over.
        Poll::Ready(this.tally.take().expect("checked above"))
    }
}
// ANCHOR_END: worker

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use rosetta_pipeline::parse::{Reason, Record};
    use rosetta_pipeline::registry::Registry;
    use rosetta_pipeline::tenths::Tenths;

    use crate::executor::channel::channel;
    use crate::test_support::CountingWaker;

    fn record(station: &str, line: u32) -> Record {
        Record {
            source: 0,
            line,
            station: station.into(),
            tenths: Tenths(10),
        }
    }

    fn registry() -> Registry {
        Registry::from(BTreeMap::from([
            ("Oslo".into(), "north".into()),
            ("Rome".into(), "south".into()),
        ]))
    }

    /// Five lines: three stations (one unknown), one line that does not parse,
    /// Oslo twice.
    const BODY: &str =
        "Oslo;1.0\nnot a record\nRome;2.0\nAtlantis;3.0\nOslo;4.0\n";

    /// Takes the next record out of `receiver`, which must have one.
    fn received(
        receiver: &mut Receiver<Enriched>,
        cx: &mut Context<'_>,
    ) -> (String, u32) {
        let Poll::Ready(Some(enriched)) =
            Pin::new(&mut receiver.recv()).poll(cx)
        else {
            panic!("a record is in the queue");
        };
        (enriched.region, enriched.record.line)
    }

    #[test]
    fn a_source_waits_for_all_its_stations_then_for_room_in_the_queue() {
        let registry = registry();
        let (trace, rejected) = (Trace::new(), RefCell::new(Vec::new()));
        let executor = Executor::new();
        let reactor = executor.reactor();
        let cache =
            SingleFlightCache::new(&registry, Duration::from_secs(1), &trace);
        // One worker, whose queue holds one record: every second hand-off has
        // to wait.
        let (queue, mut receiver) = channel(1);
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);

        let survey = rosetta_pipeline::enrich::survey(0, BODY);
        let unparsed = survey.rejected.clone();
        let queues = [queue];
        let mut task =
            hand_off(survey, &cache, &executor, &queues, &rejected, &trace);
        // The lookups start with the task, one per distinct station, each a
        // task of its own; the line that did not parse is already rejected.
        assert_eq!((cache.lookups(), executor.spawned()), (3, 3));
        assert_eq!(*rejected.borrow(), unparsed);

        // LookingUp: three lookups in flight.
        assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
        assert!(
            matches!(&task.state, HandOffState::LookingUp { waits, .. } if waits.len() == 3)
        );
        // the lookup tasks start their timers
        executor.block_on(std::future::ready(()));
        reactor.fire_due(Instant::now() + Duration::from_secs(2));
        // ...and finish, each waking us
        executor.block_on(std::future::ready(()));
        assert_eq!(wakes.count(), 3);

        // LookingUp -> HandingOff: record 1 goes in, record 3 waits for room.
        assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
        assert!(matches!(
            &task.state,
            HandOffState::HandingOff {
                sending: Some(_),
                ..
            }
        ));
        assert_eq!(received(&mut receiver, &mut cx), ("north".into(), 1));
        assert_eq!(
            wakes.count(),
            4,
            "room in the queue woke the waiting hand-off"
        );

        // Record 3 goes in, record 4 (Atlantis) is rejected, record 5 waits.
        assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
        assert_eq!(received(&mut receiver, &mut cx), ("south".into(), 3));
        // Record 5 goes in, and the body is used up: HandingOff -> Done.
        assert!(Pin::new(&mut task).poll(&mut cx).is_ready());
        assert!(matches!(task.state, HandOffState::Done));
        assert_eq!(received(&mut receiver, &mut cx), ("north".into(), 5));

        let unknown = Rejection {
            source: 0,
            line: 4,
            reason: Reason::UnknownStation,
        };
        assert_eq!(*rejected.borrow(), [unparsed, vec![unknown]].concat());
        assert_eq!(trace.summary().handed_off, 3);
        // Dropping the task (and our sender) closes the queue.
        drop((task, queues));
        assert_eq!(
            Pin::new(&mut receiver.recv()).poll(&mut cx),
            Poll::Ready(None)
        );
    }

    #[test]
    fn sources_that_share_a_station_share_its_lookup() {
        let registry = registry();
        let trace = Trace::new();
        let rejected = RefCell::new(Vec::new());
        let executor = Executor::new();
        let cache =
            SingleFlightCache::new(&registry, Duration::from_millis(1), &trace);
        let (queue, receiver) = channel(2);
        let worker = executor.spawn(worker(receiver));
        let queues = [queue];
        for (index, body) in
            ["Oslo;1.0\nRome;2.0\n", "Rome;3.0\nOslo;4.0\nOslo;5.0\n"]
                .into_iter()
                .enumerate()
        {
            let survey = rosetta_pipeline::enrich::survey(index, body);
            let task =
                hand_off(survey, &cache, &executor, &queues, &rejected, &trace);
            let _detached = executor.spawn(task);
        }
        // The worker, two lookups, two sources: the second source found both
        // stations asked for.
        assert_eq!((cache.lookups(), executor.spawned()), (2, 5));
        drop(queues);
        assert_eq!(executor.block_on(worker).records, 5);
        assert_eq!(trace.summary().lookups, 2);
        assert!(rejected.borrow().is_empty());
    }

    #[test]
    fn a_worker_tallies_until_its_queue_closes() {
        let (queue, receiver) = channel(2);
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut worker = worker(receiver);
        assert!(
            Pin::new(&mut worker).poll(&mut cx).is_pending(),
            "empty: waits"
        );
        for _ in 0..2 {
            assert!(
                Pin::new(&mut queue.send(filler())).poll(&mut cx).is_ready()
            );
        }
        assert_eq!(wakes.count(), 1, "the first send woke the worker");
        assert!(
            Pin::new(&mut worker).poll(&mut cx).is_pending(),
            "took both, waits again"
        );
        drop(queue);
        let Poll::Ready(tally) = Pin::new(&mut worker).poll(&mut cx) else {
            panic!("closed and empty: the worker is done");
        };
        assert_eq!(tally.records, 2);
    }

    #[test]
    #[should_panic(expected = "Worker polled after completion")]
    fn a_worker_polled_after_completion_panics() {
        // Like every other future of the crate: a second answer would be an
        // empty tally, and the records of the first would be silently lost.
        let (queue, receiver) = channel::<Enriched>(1);
        drop(queue);
        let mut worker = worker(receiver);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut worker).poll(&mut cx).is_ready());
        let _ = Pin::new(&mut worker).poll(&mut cx);
    }

    fn filler() -> Enriched {
        Enriched {
            record: record("Oslo", 99),
            region: "north".into(),
        }
    }
}
