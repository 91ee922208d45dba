//! # Exercise 24: a partitioned worker stage
//!
//! Chapter 10, Communication (`book/src/communication.md`). About 20 minutes.
//!
//! The pipeline's fourth step: each accepted record goes to one of `workers` workers, chosen by
//! a hash of its station (`rosetta_pipeline::partition::worker_for`), so that all records of a
//! station meet in one worker, which can keep its totals without sharing them. Each worker is
//! a task that drains a **bounded** queue. Write the stage:
//!
//! 1. [`start_workers`]: `count` workers, each a task of its own draining its own queue of
//!    `capacity` records (`async_channel`);
//! 2. `worker`: every record of its queue in its tally, and the tally returned once the queue
//!    is closed and empty;
//! 3. [`Workers::hand_off`]: the record reaches its station's worker; while that queue is
//!    full, the sender waits: that is **backpressure**, the producer slowed down to the pace
//!    of the consumer, with at most `capacity` records waiting in between;
//! 4. [`Workers::finish`]: every worker ends once it has drained its queue, and the tallies
//!    come back by worker index.
//!
//! Check your work with `cargo run -- learn check 24`. Stuck? `cargo run -- learn hint 24`.

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

/// Starts `count` workers, each a tokio task draining a queue of `capacity` records. Must be
/// called inside a tokio runtime.
pub fn start_workers(count: usize, capacity: usize) -> Workers {
    // TODO: `count` workers, each a spawned task with its own queue of `capacity` records.
    todo!("one bounded queue and one task per worker")
}

/// One worker: adds every record from its queue to its tally, until the queue is closed.
async fn worker(inbox: Receiver<Enriched>) -> WorkerTally {
    // TODO: every record of the queue in the tally, returned once the queue is closed and
    // empty.
    todo!("drain the queue into a tally")
}

impl Workers {
    /// Hands `record` to the worker that owns its station (`worker_for`), waiting while that
    /// worker's queue is full.
    pub async fn hand_off(&self, record: Enriched) {
        // TODO: the record in its station's worker's queue, waiting while that queue is full (a
        // worker that is gone is a bug: panic with a clear message).
        todo!("send the record to its station's worker")
    }

    /// Closes every queue, then waits for each worker to drain its queue, and returns their
    /// tallies, by worker index.
    pub async fn finish(self) -> Vec<WorkerTally> {
        // TODO: every worker drains what is queued and stops; their tallies, by worker index.
        todo!("close the queues, collect the tallies")
    }

    /// The capacity of each worker's queue (`None`: unbounded), for the tests.
    pub fn capacities(&self) -> Vec<Option<usize>> {
        self.queues.iter().map(Sender::capacity).collect()
    }
}
