//! Step 4, partition: bounded queues to the workers, and the workers as folds over them.
//!
//! Each worker is a [`StreamExt::fold`] over the receiving end of its queue, the stream version
//! of `Array.prototype.reduce`: start from an empty tally, add each record, and resolve to the
//! tally when the queue is closed and empty.
//!
//! The queues are [`futures::channel::mpsc`] channels, and two details of that channel shape
//! this file:
//!
//! - **Capacity is `buffer + number of senders`.** Every `Sender` has one guaranteed slot of its
//!   own on top of the shared buffer, so that a sender that was told "ready" can always send.
//!   We want exactly `channel_capacity` records in a queue, so each queue has exactly one
//!   `Sender` and a buffer of `channel_capacity - 1`. Cloning the sender per record would be a
//!   bug: every fresh clone may push one record past a full buffer, and the bound would be gone.
//! - **`send` borrows the sender** (`&mut self`). futures 0.1's `send` took the sender by value
//!   and gave it back when done, which chains; 0.3's returns a future that *borrows* it, and a
//!   chain cannot own the sender and also hold a future borrowing it (that would be a struct
//!   pointing into itself, which only compiler-generated futures may be). So the one sender
//!   lives in a [`Mutex`] (an async one, which waits without blocking the thread), hand-offs
//!   queue for it, and the holder of the lock sends through a small [`future::poll_fn`]. That
//!   `poll_fn` is the one place in this crate where combinators run out and we write a poll by
//!   hand; the next style, hand-written state machines, is all about that.
//!
//! The mutex is `async_lock::Mutex`, not `futures::lock::Mutex`: both wait without blocking,
//! but futures' keeps its waiters in a slab and, on each unlock, scans it from the start for a
//! waiter to wake. With a hundred thousand hand-offs queued for one sender (`rosetta bench
//! --tasks --sizes 100000`) that scan made the whole run five times slower than the ideal;
//! async-lock's waiters form a FIFO list, and waking the next one costs the same however many
//! wait.
//!
//! Read next: [`crate::run`], which puts the stages together.

use std::task::Poll;

use async_lock::Mutex;
use futures::channel::mpsc;
use futures::future::{self, FutureExt, TryFutureExt};
use futures::ready;
use futures::stream::StreamExt;
use rosetta_pipeline::RunError;
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::trace::Trace;

use crate::NAME;

/// The sending end of one worker's bounded queue.
#[derive(Debug)]
pub struct WorkerQueue {
    /// The worker's index, for the `HandedOff` trace event.
    worker: usize,
    /// The queue's one and only sender (see the module docs for why only one).
    sender: Mutex<mpsc::Sender<Enriched>>,
}

/// Creates `workers` queues of `capacity` records each, and the workers that drain them.
///
/// Each worker resolves to its tally once its queue is [closed](WorkerQueue::close) and empty.
pub fn start_workers(
    workers: usize,
    capacity: usize,
) -> (Vec<WorkerQueue>, Vec<impl Future<Output = WorkerTally>>) {
    assert!(capacity > 0, "validation guarantees channel_capacity >= 1");
    (0..workers)
        .map(|worker| {
            // One sender: total capacity = buffer + 1 = `capacity`.
            let (sender, receiver) = mpsc::channel(capacity - 1);
            let queue = WorkerQueue {
                worker,
                sender: Mutex::new(sender),
            };
            (queue, run_worker(receiver))
        })
        .unzip()
}

// ANCHOR: worker
/// A worker: folds every record of its queue into one tally.
fn run_worker(queue: mpsc::Receiver<Enriched>) -> impl Future<Output = WorkerTally> {
    queue.fold(WorkerTally::new(), |mut tally, enriched| {
        tally.add(enriched);
        // `fold` wants a future for each step (a step could wait); ours is ready at once.
        future::ready(tally)
    })
}
// ANCHOR_END: worker

impl WorkerQueue {
    // ANCHOR: hand_off
    /// Puts `enriched` into this worker's queue, waiting while the queue is full: that wait is
    /// the backpressure that keeps a slow worker from being buried in records.
    pub fn hand_off<'q>(
        &'q self,
        enriched: Enriched,
        trace: &'q Trace,
    ) -> impl Future<Output = Result<(), RunError>> + 'q {
        let worker = self.worker;
        // Wait for our turn at the sender, then for room in the queue, then send.
        self.sender
            .lock()
            .then(move |mut sender| {
                let mut record = Some(enriched);
                future::poll_fn(move |cx| {
                    // `poll_ready` is `Pending` while the queue is full, and wakes us when the
                    // worker takes a record out.
                    ready!(sender.poll_ready(cx))?;
                    let record = record.take().expect("poll_fn is not polled after Ready");
                    Poll::Ready(sender.start_send(record))
                })
            })
            .map_err(|closed| RunError::Internal {
                style: NAME,
                message: format!("a worker's queue closed before the hand-off: {closed}"),
            })
            .inspect_ok(move |()| trace.hand_off(worker))
    }
    // ANCHOR_END: hand_off

    /// Closes the queue: its worker finishes once it has taken the records still in it.
    ///
    /// Call it after the last hand-off has completed; a hand-off still holding the sender is a
    /// bug of the caller, reported as an error.
    pub fn close(&self) -> Result<(), RunError> {
        let mut sender = self.sender.try_lock().ok_or_else(|| RunError::Internal {
            style: NAME,
            message: format!("worker {}'s queue is closed mid-hand-off", self.worker),
        })?;
        sender.close_channel();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use rosetta_pipeline::parse::Record;

    fn enriched(station: &str, tenths: i32) -> Enriched {
        Enriched {
            record: Record {
                source: 0,
                line: 1,
                station: station.into(),
                tenths,
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
                    queues[i % 2].hand_off(enriched(station, tenths), &trace)
                }),
        )
        .map_ok(|_| queues.iter().try_for_each(WorkerQueue::close));
        let (closed, tallies) = block_on(future::join(hand_offs, future::join_all(workers)));
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
        // Capacity 1 and no worker running: the first hand-off fits, the second must wait.
        let mut first = Box::pin(queue.hand_off(enriched("Oslo", 1), &trace));
        let mut second = Box::pin(queue.hand_off(enriched("Oslo", 2), &trace));
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
    fn closing_during_a_hand_off_is_an_error() {
        let trace = Trace::new();
        let (queues, _workers) = start_workers(1, 1);
        let queue = &queues[0];
        let mut first = Box::pin(queue.hand_off(enriched("Oslo", 1), &trace));
        let mut second = Box::pin(queue.hand_off(enriched("Oslo", 2), &trace));
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(first.poll_unpin(&mut cx).is_ready());
        // `second` holds the lock while it waits for room.
        assert!(second.poll_unpin(&mut cx).is_pending());
        assert!(queue.close().is_err());
    }
}
