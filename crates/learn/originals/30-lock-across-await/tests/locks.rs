//! Tests of exercise 30: `record_visit`'s future is `Send` and counts every visit;
//! `book_next_slot` never gives two bookings the same slot, and writes a booking only once it
//! is confirmed.
//!
//! The first test is checked by the compiler: if this file does not compile because a
//! `MutexGuard` "cannot be sent between threads safely", the future of `record_visit` keeps a
//! `std` mutex guard alive across an `.await`.

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lock_across_await::{Calendar, Stats, book_next_slot, record_visit};

/// Where to read about this exercise.
const REREAD: &str = "chapter 13, Pitfalls (book/src/pitfalls.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// Compiles only if `T` is `Send`: if this fails for a future, the future holds something
/// that must not cross threads (a `std::sync::MutexGuard`) across an `.await`.
fn assert_send<T: Send>(_: &T) {}

const MS: Duration = Duration::from_millis(1);

#[test]
fn record_visit_is_send() {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let future = record_visit(stats, "Oslo".into(), MS);
    assert_send(&future);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_visit_is_counted_by_tasks_on_several_threads() {
    let stats = Arc::new(Mutex::new(Stats::default()));
    let tasks: Vec<_> = (0..10)
        .map(|_| tokio::spawn(record_visit(Arc::clone(&stats), "Oslo".into(), 5 * MS)))
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    check(
        "each visit sees its own count: 1 to 10",
        counts,
        (1..=10).collect(),
    );
    check(
        "ten visits in all",
        stats.lock().unwrap().visits("Oslo"),
        10,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_at_the_same_time_get_different_slots() {
    let calendar = Arc::new(tokio::sync::Mutex::new(Calendar::default()));
    let names = ["ana", "bo", "cy", "di", "ed", "flo"];
    let tasks: Vec<_> = names
        .map(|name| {
            let calendar = Arc::clone(&calendar);
            tokio::spawn(
                async move { book_next_slot(calendar, name, tokio::time::sleep(5 * MS)).await },
            )
        })
        .into_iter()
        .collect();
    let mut slots = Vec::new();
    for task in tasks {
        slots.push(task.await.unwrap());
    }
    slots.sort_unstable();
    check(
        "six bookings at the same time get six different slots, 0 to 5 (if two share a slot, \
         the lock was released during the confirmation wait, and both found the same free slot)",
        slots,
        (0..6).collect(),
    );
    check(
        "six names in the calendar",
        calendar.lock().await.booked().len(),
        6,
    );
}

#[tokio::test]
async fn a_booking_shows_only_once_it_is_confirmed() {
    // Writing the booking first and sleeping through the confirmation without the lock also
    // keeps the slots apart (the test above passes), but shows a booking nobody has confirmed.
    // Here the test decides when the confirmation comes, and looks at the calendar meanwhile.
    let calendar = Arc::new(tokio::sync::Mutex::new(Calendar::default()));
    let (asked, waiting) = tokio::sync::oneshot::channel::<()>();
    let (confirm, confirmed) = tokio::sync::oneshot::channel::<()>();
    let confirmation = async move {
        // The booking has come as far as its confirmation: tell the test, then wait for it.
        let _ = asked.send(());
        let _ = confirmed.await;
    };
    let booking = tokio::spawn({
        let calendar = Arc::clone(&calendar);
        async move { book_next_slot(calendar, "ana", confirmation).await }
    });
    match tokio::time::timeout(Duration::from_secs(10), waiting).await {
        Ok(Ok(())) => {}
        // The confirmation was dropped without being awaited: the booking ended without it.
        Ok(Err(_)) => match booking.await {
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            _ => panic!(
                "`book_next_slot` returned without waiting for its `confirmation`\n    reread: \
                 {REREAD}"
            ),
        },
        Err(_) => panic!(
            "`book_next_slot` did not come to its `confirmation` within 10 s\n    reread: \
             {REREAD}"
        ),
    }
    // Locked (the booking holds the lock through its wait) is the right answer; a calendar we
    // can read must not show the booking yet.
    if let Ok(seen) = calendar.try_lock() {
        check(
            "the calendar, read while ana's booking waits for its confirmation (a booking is \
             written after its confirmation; and for no other booking to take its slot \
             meanwhile, the lock must be held through the wait)",
            seen.booked().to_vec(),
            Vec::<String>::new(),
        );
    }
    confirm
        .send(())
        .expect("the booking waits for its confirmation");
    let slot = tokio::time::timeout(Duration::from_secs(10), booking)
        .await
        .expect("the booking finishes once confirmed")
        .expect("the booking does not panic");
    check("ana's slot", slot, 0);
    check(
        "the calendar once the booking is confirmed",
        calendar.lock().await.booked().to_vec(),
        vec!["ana".to_string()],
    );
}
