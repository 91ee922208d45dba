//! Solution of exercise 24: the pipeline's worker stage, records partitioned by station over
//! bounded channels to worker tasks.
//!
//! The exercise (`exercises/24-partitioned-workers/src/lib.rs`) explains the task; chapter 10 of
//! the book (`book/src/communication.md`) explains channels and backpressure.
//! `crates/async-await/src/workers.rs` has the same workers.

use async_channel::{Receiver, Sender};
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::partition::worker_for;
use tokio::task::JoinHandle;

/// The worker stage: one bounded queue and one task per worker.
#[derive(Debug)]
pub struct Workers {
    /// The sending side of each worker's queue, by worker index.
    queues: Vec<Sender<Enriched>>,
    /// Each worker's task, which ends with its tally once its queue is closed and empty.
    tallies: Vec<JoinHandle<WorkerTally>>,
}

// ANCHOR: start
/// Starts `count` workers, each a tokio task draining a queue of `capacity` records. Must be
/// called inside a tokio runtime.
pub fn start_workers(count: usize, capacity: usize) -> Workers {
    let (queues, tallies) = (0..count)
        .map(|_| {
            let (queue, inbox) = async_channel::bounded(capacity);
            (queue, tokio::spawn(worker(inbox)))
        })
        .unzip();
    Workers { queues, tallies }
}

/// One worker: adds every record from its queue to its tally, until the queue is closed.
async fn worker(inbox: Receiver<Enriched>) -> WorkerTally {
    let mut tally = WorkerTally::new();
    // `recv` fails only once the queue is closed *and* empty: no record is left behind.
    while let Ok(record) = inbox.recv().await {
        tally.add(record);
    }
    tally
}
// ANCHOR_END: start

impl Workers {
    // ANCHOR: hand_off
    /// Hands `record` to the worker that owns its station (`worker_for`), waiting while that
    /// worker's queue is full.
    pub async fn hand_off(&self, record: Enriched) {
        let worker = worker_for(&record.record.station, self.queues.len());
        // `send` waits while the queue is full: backpressure. It fails only if the queue is
        // closed, which happens only if the worker is gone (it panicked).
        self.queues[worker]
            .send(record)
            .await
            .unwrap_or_else(|_| panic!("worker {worker} stopped early"));
    }

    /// Closes every queue, then waits for each worker to drain its queue, and returns their
    /// tallies, by worker index.
    pub async fn finish(self) -> Vec<WorkerTally> {
        for queue in &self.queues {
            queue.close();
        }
        let mut tallies = Vec::with_capacity(self.tallies.len());
        for task in self.tallies {
            tallies.push(task.await.expect("a worker panicked"));
        }
        tallies
    }
    // ANCHOR_END: hand_off

    /// The capacity of each worker's queue (`None`: unbounded), for the tests.
    pub fn capacities(&self) -> Vec<Option<usize>> {
        self.queues.iter().map(Sender::capacity).collect()
    }
}
