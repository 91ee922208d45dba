//! Tests of exercise 31: `drain` handles every message, whatever the ticks do, and still does
//! its housekeeping; `fetch_with_progress` runs its fetch once and reports meanwhile.

use std::fmt::Debug;
use std::time::Duration;

use cancellation_safety::{Drained, drain, fetch_with_progress, slow_fetch, take_fetches_started};
use tokio::sync::mpsc;

/// Where to read about this exercise.
const REREAD: &str = "chapter 13, Pitfalls (book/src/pitfalls.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const MS: Duration = Duration::from_millis(1);

#[tokio::test]
async fn drain_loses_no_message_to_a_tick() {
    let (outbox, inbox) = mpsc::channel(8);
    for message in 1..=5 {
        outbox.send(message).await.unwrap();
    }
    drop(outbox); // Closed: `drain` returns once the five messages are handled.
    // Handling takes 30 ms, a tick comes every 10 ms: a tick always comes while a message is
    // being handled.
    let drained = drain(inbox, 30 * MS, 10 * MS).await;
    check(
        "every message handled, in order (a message is lost if the future that took it from \
         the channel is the one `select!` drops when a tick wins: race only `recv()`, and \
         handle the message in the branch)",
        drained.handled,
        vec![1, 2, 3, 4, 5],
    );
}

#[tokio::test]
async fn drain_does_its_housekeeping_while_the_inbox_is_quiet() {
    let (outbox, inbox) = mpsc::channel(8);
    tokio::spawn(async move {
        tokio::time::sleep(80 * MS).await;
        outbox.send(7).await.unwrap();
    }); // `outbox` is dropped when the task ends: the channel closes after the message.
    let Drained { handled, ticks } = drain(inbox, MS, 10 * MS).await;
    check("the late message is handled", handled, vec![7]);
    assert!(
        ticks >= 3,
        "a tick every 10 ms for the 80 ms before the message: expected several ticks, got \
         {ticks} (the `select!` should race `recv()` against `ticker.tick()`)\
         \n    reread: {REREAD}"
    );
}

#[tokio::test]
async fn fetch_with_progress_runs_the_fetch_once_and_reports_meanwhile() {
    take_fetches_started();
    let (body, reports) = fetch_with_progress(slow_fetch(100 * MS, "Oslo;3.5"), 20 * MS).await;
    check("the fetch's output", body, "Oslo;3.5");
    check(
        "fetches started: one (pin the future once, outside the loop, and race `&mut fetch`, so \
         that losing a race to the ticker never drops it)",
        take_fetches_started(),
        1,
    );
    assert!(
        (2..=20).contains(&reports),
        "a report every 20 ms during a 100 ms fetch: expected about 4, got {reports}\
         \n    reread: {REREAD}"
    );
}

#[tokio::test]
async fn fetch_with_progress_of_a_quick_fetch_reports_nothing() {
    let (body, reports) = fetch_with_progress(std::future::ready("at once"), 50 * MS).await;
    check(
        "a ready fetch: its output, no report",
        (body, reports),
        ("at once", 0),
    );
}
