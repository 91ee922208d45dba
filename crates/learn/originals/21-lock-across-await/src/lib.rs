//! # Exercise 21: a lock held across `.await`
//!
//! Chapter 13, Pitfalls (`book/src/pitfalls.md`). About 15 minutes.
//!
//! This exercise starts with a compile error, on purpose: run `cargo run -- learn check 21` and
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
//! 1. Fix [`record_visit`]: end the guard's life before the `.await`, by putting the locking and
//!    counting in a block of their own that yields the count. The lock only needs to cover the
//!    counting, not the writing.
//! 2. Write [`book_next_slot`], where the lock *must* cover the wait: find the next free slot,
//!    wait for the confirmation, then write the booking. Released during the wait, two bookings
//!    could find the same free slot. That is the job of an **async** mutex
//!    (`tokio::sync::Mutex`): `lock().await` waits without blocking a thread, and its guard is
//!    `Send`, so it may be held across an `.await`.
//!
//! Check your work with `cargo run -- learn check 21`. Stuck? `cargo run -- learn hint 21`.

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
    // Lock, count and read the count in a block of their own, `let count = { ... };`, so that
    // the guard is dropped before the `.await`.
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

/// Books the next free slot for `who`: finds it, waits `confirm_time` for the confirmation, then
/// writes the booking; returns the slot's number. Two bookings never get the same slot.
pub async fn book_next_slot(
    calendar: Arc<tokio::sync::Mutex<Calendar>>,
    who: &str,
    confirm_time: Duration,
) -> usize {
    // TODO: lock the calendar (`calendar.lock().await`); the next free slot is the number of
    // slots booked so far; wait `confirm_time` (`tokio::time::sleep`); push `who`; return the
    // slot. Keep the guard for the whole booking.
    todo!("find the slot, wait for the confirmation, book it: all under one lock")
}
