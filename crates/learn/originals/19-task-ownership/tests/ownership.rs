//! Tests of exercise 19: `fetch_all` owns the tasks it starts. Its fetches run in tasks of their
//! own, its bodies come in the order of the names, the first error (in time) returns at once
//! and cancels the rest, a panic comes back as a panic, and a dropped `fetch_all` leaves no
//! fetch running.
//!
//! Every test runs on tokio's paused clock: time moves only when every task waits, straight to
//! the next timer, so the times the tests see are exact and no test waits for a real second.
//! Every test is bounded by a day of that clock: a `fetch_all` that hangs fails instead.
//!
//! The shortcuts these tests catch:
//!
//! - `tokio::spawn` and a `Vec` of `JoinHandle`s: a dropped `JoinHandle` detaches its task, so
//!   the fetches run on after the caller gives up, or after the first error
//!   (`dropping_fetch_all_cancels_every_fetch`,
//!   `the_first_error_in_time_returns_at_once_and_cancels_the_rest`);
//! - `join_all` (or a `FuturesUnordered`) of the fetches, without spawning: nothing runs while
//!   the caller does not poll (`the_fetches_run_in_tasks_of_their_own`);
//! - keeping the bodies in the order they arrive (`bodies_come_in_the_order_of_names`);
//! - awaiting the handles one by one, in `names` order: the error that comes first in `names`
//!   is returned, late, instead of the first in time; and waiting for every fetch
//!   (`JoinSet::join_all`) before looking at the errors: late too
//!   (`the_first_error_in_time_returns_at_once_and_cancels_the_rest`);
//! - fetching one name after the other (`bodies_come_in_the_order_of_names`, which checks the
//!   time it all took);
//! - turning a panic into a new one with `unwrap` or `expect`: the payload changes
//!   (`a_panicking_fetch_panics_fetch_all_with_its_payload`).

use std::fmt::Debug;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt as _;
use task_ownership::{FetchError, fetch_all};
use tokio::time::{Instant, sleep};

/// Where to read about this exercise.
const REREAD: &str = "chapter 8.1, Who owns a task (book/src/tasks.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// What a test feed does, after its latency.
#[derive(Debug, Clone, Copy)]
enum Then {
    /// Answers `NAME: body`.
    Answer,
    /// Fails.
    Fail,
    /// Panics with the payload `"parser bug"` (a `&'static str`).
    Panic,
}

/// A test feed: its name, its latency in seconds, and what it does then.
type Feed = (&'static str, u64, Then);

/// What happened to the fetches a test started.
#[derive(Debug, Default)]
struct Probe {
    /// Fetches created by calling `fetch`.
    created: AtomicUsize,
    /// Fetches that ran to their end (answered, failed or panicked).
    finished: AtomicUsize,
    /// Fetches dropped before their end: cancelled.
    cancelled: AtomicUsize,
}

impl Probe {
    fn counts(&self) -> [usize; 3] {
        [&self.created, &self.finished, &self.cancelled].map(|count| count.load(Ordering::SeqCst))
    }
}

/// Moves into a fetch's future; dropped before `finish`, it counts a cancellation (even if
/// the future was never polled).
struct Guard(Arc<Probe>, bool);

impl Guard {
    fn finish(mut self) {
        self.1 = true;
        self.0.finished.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.cancelled.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// One fetch, as the tests' `fetch` makes it.
type Fetching = Pin<Box<dyn Future<Output = Result<String, FetchError>> + Send>>;

/// The `fetch` argument for `feeds`, and the probe that sees what happens to its fetches.
fn fetcher(feeds: &[Feed]) -> (Arc<Probe>, impl Fn(String) -> Fetching) {
    let probe = Arc::new(Probe::default());
    let feeds = feeds.to_vec();
    let fetch = {
        let probe = Arc::clone(&probe);
        move |name: String| {
            let &(_, latency, then) = feeds
                .iter()
                .find(|feed| feed.0 == name)
                .unwrap_or_else(|| panic!("`fetch` was called with {name:?}, not a name given"));
            probe.created.fetch_add(1, Ordering::SeqCst);
            let guard = Guard(Arc::clone(&probe), false);
            async move {
                sleep(Duration::from_secs(latency)).await;
                guard.finish();
                match then {
                    Then::Answer => Ok(format!("{name}: body")),
                    Then::Fail => Err(FetchError {
                        reason: format!("failed after {latency} s"),
                        name,
                    }),
                    Then::Panic => panic!("parser bug"),
                }
            }
            .boxed()
        }
    };
    (probe, fetch)
}

fn names(feeds: &[Feed]) -> Vec<&'static str> {
    feeds.iter().map(|feed| feed.0).collect()
}

/// Runs `test`, failing it if it has not finished after a day on the paused clock (which takes
/// no real time): a `fetch_all` that never returns must not hang the tests.
async fn bounded<T>(what: &str, test: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(24 * 3600), test).await {
        Ok(output) => output,
        Err(_) => panic!("{what} had not returned after a day\n    reread: {REREAD}"),
    }
}

/// Waits long after every test feed's latency, so that any fetch still running has finished.
async fn long_after() {
    sleep(Duration::from_secs(10 * 3600)).await;
}

/// Four feeds that answer in an order of their own: d, b, c, a.
const ANSWERING: [Feed; 4] = [
    ("a", 4, Then::Answer),
    ("b", 2, Then::Answer),
    ("c", 3, Then::Answer),
    ("d", 1, Then::Answer),
];

/// The contract's second point, and the fetches run at the same time (4 s, not 10 s).
#[tokio::test(start_paused = true)]
async fn bodies_come_in_the_order_of_names() {
    let (probe, fetch) = fetcher(&ANSWERING);
    let start = Instant::now();
    let bodies = bounded("fetch_all", fetch_all(&names(&ANSWERING), fetch)).await;
    check(
        "the bodies, in the order of the names (the feeds answer d, b, c, a)",
        bodies,
        Ok(["a: body", "b: body", "c: body", "d: body"]
            .map(String::from)
            .to_vec()),
    );
    check(
        "seconds it took: as long as the slowest fetch, since they all run at once",
        start.elapsed().as_secs(),
        4,
    );
    check(
        "fetches [created, finished, cancelled]",
        probe.counts(),
        [4, 4, 0],
    );
}

#[tokio::test(start_paused = true)]
async fn no_names_no_bodies() {
    let (probe, fetch) = fetcher(&[]);
    let bodies = bounded("fetch_all with no names", fetch_all(&[], fetch)).await;
    check("the bodies of no feeds", bodies, Ok(Vec::new()));
    check(
        "fetches [created, finished, cancelled]",
        probe.counts(),
        [0, 0, 0],
    );
}

/// The contract's first point: the fetches make progress while the caller does not poll
/// `fetch_all`'s future. Fetches polled by `fetch_all` itself (`join_all`, `FuturesUnordered`,
/// `select`) would all wait for the caller.
#[tokio::test(start_paused = true)]
async fn the_fetches_run_in_tasks_of_their_own() {
    let (probe, fetch) = fetcher(&ANSWERING);
    let names = names(&ANSWERING);
    let mut all = pin!(fetch_all(&names, fetch));
    // One poll starts the work; then the caller does something else for a minute.
    check(
        "the first poll of fetch_all is pending (the fetches take seconds)",
        futures::poll!(all.as_mut()).is_pending(),
        true,
    );
    sleep(Duration::from_secs(60)).await;
    check(
        "fetches [created, finished, cancelled] a minute after the first poll, fetch_all not \
         polled since (each fetch should be a task of its own)",
        probe.counts(),
        [4, 4, 0],
    );
    let bodies = bounded("fetch_all", all).await;
    check(
        "the number of bodies",
        bodies.map(|bodies| bodies.len()),
        Ok(4),
    );
}

/// The contract's third point: the first error in time wins, at once, and the other fetches
/// are cancelled, including those that would have failed later.
#[tokio::test(start_paused = true)]
async fn the_first_error_in_time_returns_at_once_and_cancels_the_rest() {
    let feeds = [
        ("slow", 60, Then::Answer),
        ("fails-late", 3, Then::Fail),
        ("fails-early", 1, Then::Fail),
        ("slowest", 3600, Then::Answer),
    ];
    let (probe, fetch) = fetcher(&feeds);
    let start = Instant::now();
    let result = bounded("fetch_all", fetch_all(&names(&feeds), fetch)).await;
    check(
        "the error returned: the first to happen, not the first in the names",
        result.map_err(|error| error.name),
        Err("fails-early".to_string()),
    );
    check(
        "seconds until fetch_all returned: the first error ends it at once",
        start.elapsed().as_secs(),
        1,
    );
    long_after().await;
    check(
        "fetches [created, finished, cancelled], hours later: only the failed one ran to its \
         end; the three others were cancelled when it failed",
        probe.counts(),
        [4, 1, 3],
    );
}

/// The contract's fourth point: a panic in a fetch is a panic in `fetch_all`, with the same
/// payload, and the other fetches are cancelled.
#[tokio::test(start_paused = true)]
async fn a_panicking_fetch_panics_fetch_all_with_its_payload() {
    let feeds = [
        ("a", 60, Then::Answer),
        ("panics", 1, Then::Panic),
        ("c", 3600, Then::Answer),
    ];
    let (probe, fetch) = fetcher(&feeds);
    let names = names(&feeds);
    let outcome = AssertUnwindSafe(fetch_all(&names, fetch)).catch_unwind();
    let panic = bounded("fetch_all", outcome)
        .await
        .expect_err("fetch_all should panic when a fetch panics");
    let payload = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str));
    check(
        "the payload of fetch_all's panic: the fetch's own (raise it again, do not wrap it)",
        payload,
        Some("parser bug"),
    );
    long_after().await;
    check(
        "fetches [created, finished, cancelled], hours later",
        probe.counts(),
        [3, 1, 2],
    );
}

/// The contract's last point: a caller that gives up (here, a timeout) cancels every fetch.
#[tokio::test(start_paused = true)]
async fn dropping_fetch_all_cancels_every_fetch() {
    let feeds = [
        ("a", 60, Then::Answer),
        ("b", 30, Then::Answer),
        ("c", 3600, Then::Fail),
    ];
    let (probe, fetch) = fetcher(&feeds);
    let names = names(&feeds);
    let gave_up = tokio::time::timeout(Duration::from_secs(10), fetch_all(&names, fetch)).await;
    check("fetch_all timed out after 10 s", gave_up.is_err(), true);
    long_after().await;
    check(
        "fetches [created, finished, cancelled], hours after the caller dropped fetch_all: none \
         should have run on",
        probe.counts(),
        [3, 0, 3],
    );
}
