//! Tests of exercise 24: every record reaches the worker that owns its station, every record is
//! counted before `finish` returns, and a full queue makes `hand_off` wait.

use std::fmt::Debug;
use std::time::Duration;

use futures::FutureExt;
use partitioned_workers::start_workers;
use rosetta_pipeline::aggregate::{Enriched, merge};
use rosetta_pipeline::parse::Record;
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::tenths::Tenths;

/// Where to read about this exercise.
const REREAD: &str = "chapter 10, Communication (book/src/communication.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const STATIONS: [&str; 6] = ["Oslo", "Bergen", "Riga", "Tromsø", "Turku", "Aarhus"];

/// Record number `n`: a station from the list, a temperature from -5.0 to 4.9.
fn record(n: usize) -> Enriched {
    Enriched {
        record: Record {
            source: 0,
            line: n as u32 + 1,
            station: STATIONS[n % STATIONS.len()].to_string(),
            tenths: Tenths((n % 100) as i32 - 50),
        },
        region: "somewhere".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_reaches_the_worker_that_owns_its_station() {
    let workers = start_workers(3, 4);
    for n in 0..120 {
        workers.hand_off(record(n)).await;
    }
    let finished = tokio::time::timeout(Duration::from_secs(10), workers.finish()).await;
    let Ok(tallies) = finished else {
        panic!(
            "`finish` did not return in 10 s: does it close the queues, so that each worker's \
             `recv` loop ends?\n    reread: {REREAD}"
        );
    };
    check("one tally per worker", tallies.len(), 3);
    for (index, tally) in tallies.iter().enumerate() {
        for station in tally.stations.keys() {
            check(
                &format!("worker {index} has records of {station}: the worker that owns it"),
                worker_for(station, 3),
                index,
            );
        }
    }
    let records: u64 = tallies.iter().map(|tally| tally.records).sum();
    check(
        "every record counted, once, before `finish` returned",
        records,
        120,
    );
    let merged = merge(&tallies);
    check("twenty records of Oslo", merged["Oslo"].count, 20);
}

#[tokio::test]
async fn the_queues_are_bounded() {
    let workers = start_workers(3, 2);
    check(
        "each worker's queue holds `capacity` records (`async_channel::bounded`)",
        workers.capacities(),
        vec![Some(2); 3],
    );
    let tallies = workers.finish().await;
    check("no records, empty tallies", tallies.len(), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_queue_makes_hand_off_wait() {
    // One thread: the worker task cannot run while this test does not yield, so its queue
    // fills up.
    let workers = start_workers(1, 2);
    for n in 0..2 {
        check(
            &format!("record {n}: there is room in the queue, so `hand_off` completes at once"),
            workers.hand_off(record(n)).now_or_never(),
            Some(()),
        );
    }
    check(
        "the queue is full: `hand_off` must wait (that is backpressure: a producer cannot run \
         ahead of its consumer by more than the queue's capacity)",
        workers.hand_off(record(2)).now_or_never(),
        None,
    );
    let tallies = workers.finish().await;
    check(
        "the two records that got in are counted",
        tallies[0].records,
        2,
    );
}
