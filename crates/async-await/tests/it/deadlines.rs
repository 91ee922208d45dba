//! A race between two timers is decided by their deadlines, not by the order in
//! which a late poll finds them ready: `with_deadline` on every runtime, polled
//! late on purpose.

use std::time::{Duration, Instant};

use futures::future;
use rosetta_async_await::fetch::{Due, with_deadline};
use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};

/// A feed on `runtime`'s timer: answers `answer` at the instant `at`, and says
/// so.
async fn feed<R: Runtime>(
    runtime: &R,
    at: Instant,
    answer: &'static str,
) -> Due<&'static str> {
    runtime
        .sleep(at.saturating_duration_since(Instant::now()))
        .await;
    Due { value: answer, at }
}

/// Races a fast feed (5 ms, against a 60 ms timeout) and a slow one (60 ms,
/// against 20 ms), joined with a hog that blocks the thread for 200 ms on its
/// first poll. When the races are polled again, all four timers are due, and
/// `select` finds each feed first; what each race returns must be what the
/// deadlines say.
fn polled_late<R: Runtime>() -> (Option<&'static str>, Option<&'static str>) {
    let ms = Duration::from_millis(1);
    R::block_on(|runtime| async move {
        let start = Instant::now();
        let fast = with_deadline(
            &runtime,
            start + 60 * ms,
            feed(&runtime, start + 5 * ms, "fast"),
        );
        let slow = with_deadline(
            &runtime,
            start + 20 * ms,
            feed(&runtime, start + 60 * ms, "slow"),
        );
        // `join3` polls the races first (their timers start), then the hog.
        let hog = async { std::thread::sleep(200 * ms) };
        let (fast, slow, ()) = future::join3(fast, slow, hog).await;
        (fast, slow)
    })
    .unwrap()
}

#[test]
fn a_late_poll_changes_no_outcome_on_every_runtime() {
    // In time by its deadline, though seen late: answered. Late by its
    // deadline, though seen first: a timeout.
    assert_eq!(polled_late::<Tokio>(), (Some("fast"), None), "tokio");
    assert_eq!(polled_late::<AsyncStd>(), (Some("fast"), None), "async-std");
    assert_eq!(polled_late::<Smol>(), (Some("fast"), None), "smol");
}
