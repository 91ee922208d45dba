//! Tests of exercise 17: the ported `fetch_all` gives the tokio version's outcomes on smol, on
//! tokio and on async-std; it fetches the feeds at the same time; it finishes with more feeds
//! than the original's channel holds; and it names no tokio API.
//!
//! Times: answers come after 5 to 30 ms, the limit is 150 ms, a slow feed takes 600 ms. No test
//! measures time: every run is watched by a watchdog that fails the test after 10 s, so that a
//! port that deadlocks fails instead of hanging.

use std::fmt::Debug;
use std::sync::mpsc;
use std::time::Duration;

use port_to_smol::{Batch, Feed, Outcome, fetch_all, tokio_version};
use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};

/// Where to read about this exercise.
const REREAD: &str = "chapter 8, Runtimes (book/src/runtimes.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const LIMIT: Duration = Duration::from_millis(150);

/// How long a run may take before the watchdog fails the test.
const WATCHDOG: Duration = Duration::from_secs(10);

const fn feed(latency_ms: u64, hangs: bool, body: &'static str) -> Feed {
    Feed {
        latency: Duration::from_millis(latency_ms),
        hangs,
        body,
        batch: None,
    }
}

const FEEDS: [Feed; 5] = [
    feed(30, false, "Oslo;3.5"),
    feed(5, true, "never"),
    feed(10, false, "Bergen;-1.0"),
    feed(600, false, "too late"),
    feed(20, false, "Riga;7.0"),
];

/// What the tokio original gives.
fn expected() -> Vec<Outcome> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .unwrap();
    let outcomes = runtime.block_on(tokio_version::fetch_all(&FEEDS, LIMIT));
    check(
        "the tokio original (this is the reference, not your code)",
        outcomes.clone(),
        vec![
            Outcome::Answered("Oslo;3.5"),
            Outcome::TimedOut,
            Outcome::Answered("Bergen;-1.0"),
            Outcome::TimedOut,
            Outcome::Answered("Riga;7.0"),
        ],
    );
    outcomes
}

/// Runs the port on runtime `R`, on a thread of its own, under the watchdog.
fn port_on<R: Runtime>(feeds: Vec<Feed>, limit: Duration) -> Vec<Outcome> {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let outcomes =
            R::block_on(|runtime| async move { fetch_all(&runtime, &feeds, limit).await })
                .expect("the runtime starts");
        let _ = done.send(outcomes);
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(outcomes) => outcomes,
        // It panicked (a `todo!()`, perhaps): fail with its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends its outcomes before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "on {}, `fetch_all` did not finish in {} s. Is something waiting for something \
             that waits for it? (A task waiting for room in a full channel, while `fetch_all` \
             waits for that task before it reads the channel, waits for ever.)\n    reread: \
             {REREAD}",
            R::NAME,
            WATCHDOG.as_secs()
        ),
    }
}

#[test]
fn the_port_runs_on_smol() {
    check(
        "on smol, the same outcomes as the tokio original (if some are missing: what does \
         smol do with a task whose handle is dropped?)",
        port_on::<Smol>(FEEDS.to_vec(), LIMIT),
        expected(),
    );
}

#[test]
fn the_port_still_runs_on_tokio() {
    check(
        "on tokio, the same outcomes as the tokio original",
        port_on::<Tokio>(FEEDS.to_vec(), LIMIT),
        expected(),
    );
}

#[test]
fn the_port_runs_on_async_std() {
    check(
        "on async-std, the same outcomes as the tokio original",
        port_on::<AsyncStd>(FEEDS.to_vec(), LIMIT),
        expected(),
    );
}

/// Three feeds behind one server that answers in batches of three: each answers only once all
/// three have been asked. A new batch for every run (a batch fills once).
fn batched_feeds() -> Vec<Feed> {
    let batch: &'static Batch = Box::leak(Box::new(Batch::new(3)));
    ["Oslo;3.5", "Bergen;-1.0", "Riga;7.0"]
        .map(|body| Feed {
            batch: Some(batch),
            ..feed(5, false, body)
        })
        .to_vec()
}

#[test]
fn the_port_fetches_the_feeds_at_the_same_time() {
    // Generous: asked at the same time, the three feeds fill their batch at once, and answer
    // after 5 ms. Asked one after another, the first waits for the other two, which are not
    // asked until it has timed out.
    let limit = Duration::from_secs(2);
    let all_answer = vec![
        Outcome::Answered("Oslo;3.5"),
        Outcome::Answered("Bergen;-1.0"),
        Outcome::Answered("Riga;7.0"),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_time()
        .build()
        .unwrap();
    check(
        "the tokio original, with feeds behind a batching server (this is the reference, not \
         your code)",
        runtime.block_on(tokio_version::fetch_all(&batched_feeds(), limit)),
        all_answer.clone(),
    );
    let what = |runtime: &str| {
        format!(
            "on {runtime}, three feeds that answer only once all three have been asked (if some \
             time out, the feeds are fetched one after another: start every fetch before you \
             wait for any)"
        )
    };
    check(
        &what("smol"),
        port_on::<Smol>(batched_feeds(), limit),
        all_answer.clone(),
    );
    check(
        &what("tokio"),
        port_on::<Tokio>(batched_feeds(), limit),
        all_answer.clone(),
    );
    check(
        &what("async-std"),
        port_on::<AsyncStd>(batched_feeds(), limit),
        all_answer,
    );
}

#[test]
fn the_port_finishes_with_more_feeds_than_the_mailbox_holds() {
    // Twelve feeds, more than the original's channel has room for (`MAILBOX`): a port that
    // keeps the original's channel must read it while the tasks run.
    let bodies = [
        "a;1.0", "b;2.0", "c;3.0", "d;4.0", "e;5.0", "f;6.0", "g;7.0", "h;8.0", "i;9.0", "j;10.0",
        "k;11.0", "l;12.0",
    ];
    assert!(bodies.len() > tokio_version::MAILBOX);
    let feeds: Vec<Feed> = bodies
        .iter()
        .enumerate()
        .map(|(index, &body)| feed(5 + 3 * (index as u64 % 4), false, body))
        .collect();
    let expected: Vec<Outcome> = bodies.iter().map(|&body| Outcome::Answered(body)).collect();
    check(
        "on smol, twelve feeds, all answering",
        port_on::<Smol>(feeds.clone(), LIMIT),
        expected.clone(),
    );
    check(
        "on tokio, twelve feeds, all answering",
        port_on::<Tokio>(feeds.clone(), LIMIT),
        expected.clone(),
    );
    check(
        "on async-std, twelve feeds, all answering",
        port_on::<AsyncStd>(feeds, LIMIT),
        expected,
    );
}

#[test]
fn the_port_names_no_tokio_api() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("src/lib.rs is readable");
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        if code.contains("tokio::") {
            panic!(
                "src/lib.rs:{}: names tokio (`{}`). Go through the `Runtime` trait \
                 (`runtime.spawn`, `runtime.sleep`) and runtime-neutral crates \
                 (`async_channel`, `rosetta_async_await::fetch::with_timeout`) instead\
                 \n    reread: {REREAD}",
                number + 1,
                code.trim()
            );
        }
    }
}
