//! Solution of exercise 30: a `std` mutex guard scoped before the `.await`, and an async mutex
//! where the lock must be held across the wait.
//!
//! The exercise (`exercises/30-lock-across-await/src/lib.rs`) explains the task; chapter 13 of
//! the book (`book/src/pitfalls.md`) explains the pitfall. `crates/async-await/src/pitfalls.rs`
//! shows both fixes too.

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

// ANCHOR: record_visit
/// Counts a visit of `station`, then takes `write_time` to write it to a log (a stand-in for
/// any I/O); returns the station's count after this visit.
pub async fn record_visit(stats: Arc<Mutex<Stats>>, station: String, write_time: Duration) -> u64 {
    let count = {
        let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
        let count = stats.visits.entry(station).or_default();
        *count += 1;
        *count
    }; // The guard is dropped here, before the `.await`: the future holds nothing that is not
    // `Send` while it waits, and other tasks can lock the stats meanwhile.
    tokio::time::sleep(write_time).await;
    count
}
// ANCHOR_END: record_visit

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

// ANCHOR: book_next_slot
/// Books the next free slot for `who`: finds it, waits for `confirmation`, then writes the
/// booking; returns the slot's number. Two bookings never get the same slot, and a booking
/// shows in the calendar only once it is confirmed.
pub async fn book_next_slot(
    calendar: Arc<tokio::sync::Mutex<Calendar>>,
    who: &str,
    confirmation: impl Future<Output = ()>,
) -> usize {
    // The lock must cover the whole booking, wait included: released during the wait, another
    // booking could find the same free slot. (Writing the booking first and confirming it
    // afterwards, without the lock, would keep the slots apart, but show unconfirmed bookings.)
    // An async mutex may be held across `.await`: its guard is `Send`, and a task that wants the
    // lock meanwhile waits without blocking a thread.
    let mut calendar = calendar.lock().await;
    let slot = calendar.booked.len();
    confirmation.await;
    calendar.booked.push(who.to_string());
    slot
}
// ANCHOR_END: book_next_slot
