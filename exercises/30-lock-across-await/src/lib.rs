//! # Exercise 30: a lock held across `.await`
//!
//! Chapter 13, Pitfalls (`book/src/pitfalls.md`). About 15 minutes.
//!
//! This exercise starts with a compile error, on purpose: run `cargo run -- learn check 30` and
//! read it. The compiler says that a `std::sync::MutexGuard` "cannot be sent between threads
//! safely", and that it is "used within this `async` fn body": the body of [`record_visit`],
//! whose future the tests need to be `Send`.
//!
//! Why: an `async fn`'s future keeps every variable that is alive at an `.await`, to have it
//! when it resumes. Here that includes the guard of a `std` mutex, which must be released on the
//! thread that locked it, so it is not `Send`, and neither is the future. A multi-threaded
//! runtime may resume a task on another thread, so `tokio::spawn` requires `Send` futures. (On a
//! single thread it would compile, and hold the lock during the whole wait, stalling every other
//! task that wants it.)
//!
//! **Goal**, in two parts:
//!
//! 1. [`record_visit`]'s future is `Send`, and the stats are locked only while they are
//!    counted, not while the visit is written.
//! 2. [`book_next_slot`] books the next free slot of a calendar, where finding the slot,
//!    waiting for the confirmation and writing the booking must be one step that no other
//!    booking can cut into, although the confirmation is an `.await`.
//!
//! **Contract**, checked by the tests:
//!
//! - `record_visit`: `Send`; ten visits from tasks on several threads get the counts 1 to 10;
//! - `book_next_slot`: bookings made at the same time get different slots, 0, 1, 2, ...; a
//!   booking is written only once confirmed: while it waits for its confirmation, whoever
//!   reads the calendar does not see it.
//!
//! Check your work with `cargo run -- learn check 30`. Stuck? `cargo run -- learn hint 30`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Visits per station.
#[derive(Debug, Default)]
pub struct Stats {
    /// Station to number of visits.
    visits: HashMap<String, u64>,
}

impl Stats {
    /// How many visits `station` has had.
    pub fn visits(&self, station: &str) -> u64 {
        self.visits.get(station).copied().unwrap_or(0)
    }
}

/// Counts a visit of `station`, then takes `write_time` to write it to a log (a stand-in for
/// any I/O); returns the station's count after this visit.
pub async fn record_visit(stats: Arc<Mutex<Stats>>, station: String, write_time: Duration) -> u64 {
    // TODO: this future is not `Send`: the guard `stats` is still alive at the `.await` below.
    // Make the lock cover the counting only, so that no guard is alive at the `.await`.
    let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
    let count = stats.visits.entry(station).or_default();
    *count += 1;
    tokio::time::sleep(write_time).await;
    *count
}

/// A calendar of numbered slots, booked in order.
#[derive(Debug, Default)]
pub struct Calendar {
    /// Who booked each slot, by slot number.
    booked: Vec<String>,
}

impl Calendar {
    /// Who booked each slot, by slot number.
    pub fn booked(&self) -> &[String] {
        &self.booked
    }
}

/// Books the next free slot for `who`: finds it, waits for `confirmation`, then writes the
/// booking; returns the slot's number. Two bookings never get the same slot, and a booking
/// shows in the calendar only once it is confirmed.
pub async fn book_next_slot(
    calendar: Arc<tokio::sync::Mutex<Calendar>>,
    who: &str,
    confirmation: impl Future<Output = ()>,
) -> usize {
    // TODO: the next free slot is the number of slots booked so far; `who` is written into it
    // after `confirmation` completes, never before; no other booking may find the same slot.
    todo!("find the slot, wait for the confirmation, book it, as one step")
}
