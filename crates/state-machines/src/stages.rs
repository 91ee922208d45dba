//! Steps 3 and 4 as tasks: [`EnrichAndHandOff`] (one per record) and [`Worker`] (one per
//! partition).
//!
//! Every parsed record becomes a small task: wait for its station's region, then wait for room
//! in its worker's queue. Each worker is a task that takes records out of its queue until the
//! queue closes, and then resolves to its tally.
//!
//! Read next: [`crate::run`], which wires all of this together.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::parse::{Reason, Record, Rejection};
use rosetta_pipeline::trace::Trace;

use crate::cache::RegionWait;
use crate::channel::{Receiver, Send, Sender};

// ANCHOR: enrich_and_hand_off
/// Enriches `record` with the region `region` resolves to, then hands it to the worker whose
/// queue is `queue` (worker number `worker`). An unknown station goes to `rejected` instead.
pub fn enrich_and_hand_off<'a>(
    record: Record,
    region: RegionWait<'a>,
    worker: usize,
    queue: Sender<Enriched>,
    rejected: &'a RefCell<Vec<Rejection>>,
    trace: &'a Trace,
) -> EnrichAndHandOff<'a> {
    EnrichAndHandOff {
        worker,
        rejected,
        trace,
        state: EnrichState::Enriching {
            record,
            region,
            queue,
        },
    }
}

/// Future for [`enrich_and_hand_off`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct EnrichAndHandOff<'a> {
    /// The worker the record goes to, for the trace.
    worker: usize,
    /// Where unknown stations go.
    rejected: &'a RefCell<Vec<Rejection>>,
    /// Where hand-offs are recorded.
    trace: &'a Trace,
    /// Where the record is.
    state: EnrichState<'a>,
}

/// The states of an [`EnrichAndHandOff`].
#[derive(Debug)]
enum EnrichState<'a> {
    /// Waiting for the station's region (a cache hit is ready at the first poll).
    Enriching {
        /// The record to enrich.
        record: Record,
        /// The cache's answer.
        region: RegionWait<'a>,
        /// The worker's queue, kept open until the record is in it.
        queue: Sender<Enriched>,
    },
    /// Waiting for room in the worker's queue.
    HandingOff(Send<Enriched>),
    /// The record is in the queue, or rejected.
    Done,
}

impl Future for EnrichAndHandOff<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &mut self.state {
                EnrichState::Enriching { region, .. } => {
                    let region = ready!(Pin::new(region).poll(cx));
                    // Take the record and the queue out of the old state to build the next one.
                    let EnrichState::Enriching { record, queue, .. } =
                        std::mem::replace(&mut self.state, EnrichState::Done)
                    else {
                        unreachable!("we are in the Enriching state")
                    };
                    let Some(region) = region else {
                        // Enriching -> Done: an unknown station.
                        let (source, line) = (record.source, record.line);
                        let reason = Reason::UnknownStation;
                        self.rejected.borrow_mut().push(Rejection {
                            source,
                            line,
                            reason,
                        });
                        return Poll::Ready(());
                    };
                    // Enriching -> HandingOff.
                    let region = region.to_string();
                    self.state = EnrichState::HandingOff(queue.send(Enriched { record, region }));
                }
                EnrichState::HandingOff(send) => {
                    // Pending while the queue is full: backpressure.
                    let sent = ready!(Pin::new(send).poll(cx));
                    sent.expect("a worker's queue stays open until every record is handed off");
                    // HandingOff -> Done.
                    self.trace.hand_off(self.worker);
                    self.state = EnrichState::Done;
                    return Poll::Ready(());
                }
                EnrichState::Done => panic!("EnrichAndHandOff polled after it completed"),
            }
        }
    }
}
// ANCHOR_END: enrich_and_hand_off

// ANCHOR: worker
/// A worker: adds every record of `queue` to a tally, and resolves to the tally when the queue
/// is closed and empty.
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

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WorkerTally> {
        let this = &mut *self;
        // Polled again after it handed its tally over: a bug in the caller. Answering with an
        // empty tally would lose every record of the first answer without a word.
        let tally = this.tally.as_mut().expect("Worker polled after completion");
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

    use rosetta_pipeline::registry::Registry;

    use crate::cache::SingleFlightCache;
    use crate::channel::channel;
    use crate::executor::Executor;
    use crate::test_support::CountingWaker;

    fn record(station: &str, line: u32) -> Record {
        Record {
            source: 0,
            line,
            station: station.into(),
            tenths: 10,
        }
    }

    #[test]
    fn a_record_waits_for_its_region_then_for_room_in_the_queue() {
        let registry = Registry::from(BTreeMap::from([("Oslo".into(), "north".into())]));
        let (trace, rejected) = (Trace::new(), RefCell::new(Vec::new()));
        let executor = Executor::new();
        let reactor = executor.reactor();
        let cache = SingleFlightCache::new(&registry, Duration::from_secs(1), &trace);
        let (queue, mut receiver) = channel(1);
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);

        // Fill the queue, so that the hand-off will have to wait.
        assert!(Pin::new(&mut queue.send(filler())).poll(&mut cx).is_ready());
        let region = cache.region("Oslo", &executor);
        let mut task = enrich_and_hand_off(record("Oslo", 1), region, 0, queue, &rejected, &trace);

        // Enriching: the lookup is in flight.
        assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
        assert!(matches!(task.state, EnrichState::Enriching { .. }));
        executor.block_on(std::future::ready(())); // the lookup task starts its timer
        reactor.fire_due(Instant::now() + Duration::from_secs(2));
        executor.block_on(std::future::ready(())); // ...and finishes, waking us
        assert_eq!(wakes.count(), 1);

        // Enriching -> HandingOff: the queue is full.
        assert!(Pin::new(&mut task).poll(&mut cx).is_pending());
        assert!(matches!(task.state, EnrichState::HandingOff(_)));

        // The worker side takes the filler out: room, so HandingOff -> Done.
        assert!(Pin::new(&mut receiver.recv()).poll(&mut cx).is_ready());
        assert_eq!(wakes.count(), 2);
        assert!(Pin::new(&mut task).poll(&mut cx).is_ready());
        let Poll::Ready(Some(enriched)) = Pin::new(&mut receiver.recv()).poll(&mut cx) else {
            panic!("the record is in the queue");
        };
        assert_eq!(enriched.region, "north");
        assert!(rejected.borrow().is_empty());
        drop(task);
        assert!(
            Pin::new(&mut receiver.recv()).poll(&mut cx).is_ready(),
            "closed"
        );
    }

    #[test]
    fn an_unknown_station_is_rejected_without_a_hand_off() {
        let registry = Registry::default();
        let (trace, rejected) = (Trace::new(), RefCell::new(Vec::new()));
        let executor = Executor::new();
        let cache = SingleFlightCache::new(&registry, Duration::ZERO, &trace);
        let (queue, _receiver) = channel(1);
        let region = cache.region("Atlantis", &executor);
        let task = enrich_and_hand_off(record("Atlantis", 7), region, 0, queue, &rejected, &trace);
        executor.block_on(task);
        let expected = Rejection {
            source: 0,
            line: 7,
            reason: Reason::UnknownStation,
        };
        assert_eq!(*rejected.borrow(), [expected]);
        assert_eq!(trace.summary().lookups, 1);
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
            assert!(Pin::new(&mut queue.send(filler())).poll(&mut cx).is_ready());
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
        // Like every other future of the crate: a second answer would be an empty tally, and
        // the records of the first would be silently lost.
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
