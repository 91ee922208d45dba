//! Steps 2 to 4 for each answered source, and the workers: bounded queues, and
//! folds over them.
//!
//! [`hand_off`] takes one answered source from parse to partition: it surveys
//! the body for its stations, waits for their regions through the
//! [cache](crate::cache), and sends each record to its worker's queue. Each
//! [`worker`] is a [`StreamExt::fold`] over the receiving end of its queue, the
//! stream version of `Array.prototype.reduce`: start from an empty tally, add
//! each record, and resolve to the tally when the queue is closed and empty.
//!
//! The queues are [`futures::channel::mpsc`] channels, and two details of that
//! channel shape this file:
//!
//! - **Capacity is `buffer + number of senders`.** Every `Sender` has one
//!   guaranteed slot of its own on top of the shared buffer, so that a sender
//!   that was told "ready" can always send. We want exactly `channel_capacity`
//!   records in a queue, so each queue has exactly one `Sender` and a buffer of
//!   `channel_capacity - 1`. Cloning the sender per record would be a bug:
//!   every fresh clone may push one record past a full buffer, and the bound
//!   would be gone.
//! - **`send` borrows the sender** (`&mut self`). futures 0.1's `send` took the
//!   sender by value and gave it back when done, which chains; 0.3's returns a
//!   future that *borrows* it, and a chain cannot own the sender and also hold
//!   a future borrowing it (that would be a struct pointing into itself, which
//!   only compiler-generated futures may be). So the one sender lives in a
//!   [`Mutex`] (an async one, which waits without blocking the thread),
//!   [`WorkerQueue::send`] calls queue for it, and the holder of the lock sends
//!   through a small [`future::poll_fn`]. That `poll_fn` is one of the two
//!   places in this crate where combinators run out and we write a poll by hand
//!   (the other is the socket steps of [`crate::owned_io`], which meet the same
//!   wall with a socket); the next style, hand-written state machines, is all
//!   about that.
//!
//! The mutex is `async_lock::Mutex`, not `futures::lock::Mutex`: both wait
//! without blocking, but futures' keeps its waiters in a slab and, on each
//! unlock, scans it from the start for a waiter to wake. With a hundred
//! thousand hand-offs queued for one sender (`rosetta bench --tasks --sizes
//! 100000`) that scan made the whole run five times slower than the ideal;
//! async-lock's waiters form a FIFO list, and waking the next one costs the
//! same however many wait.
//!
//! Read next: [`crate::run`], which puts the stages together.

use std::borrow::Cow;
use std::cell::RefCell;
use std::task::Poll;

use async_lock::Mutex;
use futures::channel::mpsc;
use futures::future::{self, Either, FutureExt, TryFutureExt};
use futures::ready;
use futures::stream::{self, StreamExt, TryStreamExt};
use rosetta_pipeline::RunError;
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::enrich;
use rosetta_pipeline::parse::Rejection;
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::trace::Trace;

use crate::NAME;
use crate::cache::SingleFlightCache;

// ANCHOR: hand_off
// ANCHOR: hand_off_survey
/// Parses and enriches the body of an answered source (`None`: the source
/// failed) and hands each record to its worker. The body is borrowed from the
/// scenario on `sim` and owned on `tcp`, where it was read from a socket; the
/// survey keeps it either way.
///
/// It reads the body twice, as [`rosetta_pipeline::enrich`] explains: a future
/// per record would hold every record of a 50 MB body at once, while only its
/// few stations need to wait. Pass 1 waits for the regions of the body's
/// distinct stations, all at once; pass 2 is a stream of the records, each
/// handed off before the next one is read.
///
/// Two lifetimes: `'s` is the scenario's (the body, the registry), `'r` the
/// run's (the cache, the queues and the list of rejections live in
/// [`crate::run`]'s stack frame).
pub fn hand_off<'r, 's: 'r>(
    index: usize,
    body: Option<Cow<'s, str>>,
    cache: &'r SingleFlightCache<'s>,
    queues: &'r [WorkerQueue],
    rejected: &'r RefCell<Vec<Rejection>>,
    trace: &'r Trace,
) -> impl Future<Output = Result<(), RunError>> + 'r {
    // 2. Parse. Pass 1: the body's distinct stations, and its unparsable lines
    //    for the report. A failed source has no body, and the empty body has no
    //    stations and no records.
    let mut survey = enrich::survey(index, body.unwrap_or_default());
    rejected.borrow_mut().append(&mut survey.rejected);
    // 3. Enrich: `Promise.all` over one lookup per station. They are the
    //    cache's shared futures, so a station that another source is looking up
    //    already is waited for, not looked up again.
    let lookups = survey
        .stations
        .iter()
        .map(|station| cache.region_of(station));
    // ANCHOR_END: hand_off_survey
    // ANCHOR: hand_off_records
    future::join_all(lookups)
        .map(move |found| {
            // Pass 2 takes the survey and the regions by value: a chain cannot
            // own a value and hold a stream that borrows it (that stream would
            // point into the future holding it, as a future borrowing the
            // sender of a `WorkerQueue` would; see the module docs), so the
            // pipeline's second pass is an iterator that owns what it reads.
            // The regions are copied out of the registry, which the cache lends
            // them from.
            let regions =
                found.into_iter().map(|region| region.map(str::to_string));
            // The records as a stream of `Result<_, RunError>`, the kind
            // `try_for_each` takes.
            stream::iter(survey.into_enriched(regions.collect())).map(Ok)
        })
        .flatten_stream()
        // ANCHOR_END: hand_off_records
        // ANCHOR: hand_off_partition
        // 4. Partition. Pass 2, one record at a time: `try_for_each` reads the
        //    next record only when the previous send is done, so while a queue
        //    is full the rest of the body waits unread. The first error (a
        //    closed queue, which would be a bug) ends the source.
        .try_for_each(move |record| match record {
            Ok(enriched) => {
                let queue =
                    &queues[worker_for(&enriched.record.station, queues.len())];
                Either::Left(queue.send(enriched, trace))
            }
            Err(unknown_station) => {
                rejected.borrow_mut().push(unknown_station);
                Either::Right(future::ok(()))
            }
        })
}
// ANCHOR_END: hand_off_partition
// ANCHOR_END: hand_off

// ANCHOR: worker
/// A worker: folds every record of its queue into one tally, and resolves to
/// the tally once the queue is [closed](WorkerQueue::close) and empty.
pub fn worker(
    queue: mpsc::Receiver<Enriched>,
) -> impl Future<Output = WorkerTally> {
    queue.fold(WorkerTally::new(), |mut tally, enriched| {
        tally.add(enriched);
        // `fold` wants a future for each step (a step could wait); ours is
        // ready at once.
        future::ready(tally)
    })
}
// ANCHOR_END: worker

/// The sending end of one worker's bounded queue.
#[derive(Debug)]
pub struct WorkerQueue {
    /// The worker's index, for the `HandedOff` trace event.
    worker: usize,
    /// The queue's one and only sender (see the module docs for why only one).
    sender: Mutex<mpsc::Sender<Enriched>>,
}

/// Creates `workers` queues of `capacity` records each, and the workers that
/// drain them.
///
/// Each worker resolves to its tally once its queue is
/// [closed](WorkerQueue::close) and empty.
pub fn start_workers(
    workers: usize,
    capacity: usize,
) -> (Vec<WorkerQueue>, Vec<impl Future<Output = WorkerTally>>) {
    assert!(capacity > 0, "validation guarantees channel_capacity >= 1");
    (0..workers)
        .map(|index| {
            // One sender: total capacity = buffer + 1 = `capacity`.
            let (sender, receiver) = mpsc::channel(capacity - 1);
            let queue = WorkerQueue {
                worker: index,
                sender: Mutex::new(sender),
            };
            (queue, worker(receiver))
        })
        .unzip()
}

impl WorkerQueue {
    // ANCHOR: send
    /// Puts `enriched` into this worker's queue, waiting while the queue is
    /// full: that wait is the backpressure that keeps a slow worker from being
    /// buried in records.
    pub fn send<'q>(
        &'q self,
        enriched: Enriched,
        trace: &'q Trace,
    ) -> impl Future<Output = Result<(), RunError>> + 'q {
        let worker = self.worker;
        // Wait for our turn at the sender, then for room in the queue, then
        // send.
        self.sender
            .lock()
            .then(move |mut sender| {
                let mut record = Some(enriched);
                future::poll_fn(move |cx| {
                    // `poll_ready` is `Pending` while the queue is full, and
                    // wakes us when the worker takes a record out.
                    ready!(sender.poll_ready(cx))?;
                    let record = record
                        .take()
                        .expect("poll_fn is not polled after Ready");
                    Poll::Ready(sender.start_send(record))
                })
            })
            .map_err(|closed| RunError::Internal {
                style: NAME,
                message: format!(
                    "a worker's queue closed before the hand-off: {closed}"
                ),
            })
            .inspect_ok(move |()| trace.hand_off(worker))
    }
    // ANCHOR_END: send

    /// Closes the queue: its worker finishes once it has taken the records
    /// still in it.
    ///
    /// Call it after the last [`send`](WorkerQueue::send) has completed; a send
    /// still holding the sender is a bug of the caller, reported as an error.
    pub fn close(&self) -> Result<(), RunError> {
        let mut sender =
            self.sender.try_lock().ok_or_else(|| RunError::Internal {
                style: NAME,
                message: format!(
                    "worker {}'s queue is closed mid-hand-off",
                    self.worker
                ),
            })?;
        sender.close_channel();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::task::Context;
    use std::time::Duration;

    use futures::executor::block_on;
    use futures::task::noop_waker;
    use rosetta_pipeline::parse::Record;
    use rosetta_pipeline::registry::Registry;
    use rosetta_pipeline::tenths::Tenths;

    fn enriched(station: &str, tenths: i32) -> Enriched {
        Enriched {
            record: Record {
                source: 0,
                line: 1,
                station: station.into(),
                tenths: Tenths(tenths),
            },
            region: "north".into(),
        }
    }

    #[test]
    fn workers_tally_what_they_are_handed_and_finish_when_closed() {
        let trace = Trace::new();
        let (queues, workers) = start_workers(2, 1);
        let hand_offs = future::try_join_all(
            [("Oslo", 10), ("Bergen", 20), ("Oslo", 30)]
                .into_iter()
                .enumerate()
                .map(|(i, (station, tenths))| {
                    queues[i % 2].send(enriched(station, tenths), &trace)
                }),
        )
        .map_ok(|_| queues.iter().try_for_each(WorkerQueue::close));
        let (closed, tallies) =
            block_on(future::join(hand_offs, future::join_all(workers)));
        closed.unwrap().unwrap();
        assert_eq!(tallies[0].records, 2);
        assert_eq!(tallies[1].records, 1);
        assert_eq!(trace.summary().handed_off, 3, "every record handed off");
    }

    #[test]
    fn a_full_queue_makes_the_sender_wait() {
        let trace = Trace::new();
        let (queues, mut workers) = start_workers(1, 1);
        let queue = &queues[0];
        // Capacity 1 and no worker running: the first hand-off fits, the second
        // must wait.
        let mut first = Box::pin(queue.send(enriched("Oslo", 1), &trace));
        let mut second = Box::pin(queue.send(enriched("Oslo", 2), &trace));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(first.poll_unpin(&mut cx).is_ready());
        assert!(second.poll_unpin(&mut cx).is_pending(), "the queue is full");
        // The worker takes the first record out; now the second fits.
        let mut worker = Box::pin(workers.remove(0));
        assert!(worker.poll_unpin(&mut cx).is_pending());
        assert!(second.poll_unpin(&mut cx).is_ready());
        queue.close().unwrap();
        assert_eq!(block_on(worker).records, 2);
    }

    #[test]
    fn closing_during_a_send_is_an_error() {
        let trace = Trace::new();
        let (queues, _workers) = start_workers(1, 1);
        let queue = &queues[0];
        let mut first = Box::pin(queue.send(enriched("Oslo", 1), &trace));
        let mut second = Box::pin(queue.send(enriched("Oslo", 2), &trace));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(first.poll_unpin(&mut cx).is_ready());
        // `second` holds the lock while it waits for room.
        assert!(second.poll_unpin(&mut cx).is_pending());
        assert!(queue.close().is_err());
    }

    /// A body of 10,000 records that name three stations in turn; the registry
    /// below knows two.
    fn big_body() -> String {
        ["Oslo;1.0\n", "Bergen;2.0\n", "Atlantis;3.0\n"]
            .into_iter()
            .cycle()
            .take(10_000)
            .collect()
    }

    fn registry() -> Registry {
        Registry::from(BTreeMap::from([
            ("Oslo".to_string(), "north".to_string()),
            ("Bergen".to_string(), "west".to_string()),
        ]))
    }

    #[test]
    fn a_source_waits_once_per_station_not_once_per_record() {
        let (registry, trace, body) = (registry(), Trace::new(), big_body());
        // Lookups that cannot finish during the test: what we look at is who
        // waits for them.
        let cache = SingleFlightCache::new(
            &registry,
            Duration::from_secs(3600),
            &trace,
        );
        let (queues, _workers) = start_workers(1, 1);
        let rejected = RefCell::new(Vec::new());
        let mut enrich = Box::pin(hand_off(
            0,
            Some(Cow::Borrowed(&body)),
            &cache,
            &queues,
            &rejected,
            &trace,
        ));
        let waker = noop_waker();
        assert!(
            enrich
                .poll_unpin(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(
            trace.summary().lookups,
            3,
            "every station's lookup started"
        );
        for station in ["Oslo", "Bergen", "Atlantis"] {
            assert_eq!(
                cache.waiting_for(station),
                1,
                "one future waits for {station}, not one per record"
            );
        }
    }

    #[test]
    fn records_are_read_only_as_fast_as_the_queues_take_them() {
        let (registry, trace, body) = (registry(), Trace::new(), big_body());
        let cache = SingleFlightCache::new(&registry, Duration::ZERO, &trace);
        // Finish every lookup first, so that the source below waits for nothing
        // but its queue.
        block_on(future::join3(
            cache.region_of("Oslo"),
            cache.region_of("Bergen"),
            cache.region_of("Atlantis"),
        ));
        // One worker with room for one record, and the worker is never polled.
        let (queues, _workers) = start_workers(1, 1);
        let rejected = RefCell::new(Vec::new());
        let mut enrich = Box::pin(hand_off(
            0,
            Some(Cow::Borrowed(&body)),
            &cache,
            &queues,
            &rejected,
            &trace,
        ));
        let waker = noop_waker();
        assert!(
            enrich
                .poll_unpin(&mut Context::from_waker(&waker))
                .is_pending()
        );
        // Record 1 (Oslo) is in the queue and record 2 (Bergen) waits for room.
        // Record 3, the first Atlantis, has not been read yet, so nothing has
        // been rejected.
        assert_eq!(trace.summary().handed_off, 1);
        assert_eq!(
            rejected.borrow().len(),
            0,
            "the body is read no further than the record waiting for room"
        );
    }
}
