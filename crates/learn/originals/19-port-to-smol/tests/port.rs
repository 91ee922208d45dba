//! Tests of exercise 19: the ported `fetch_all` gives the tokio version's outcomes on smol, on
//! tokio and on async-std, and names no tokio API.
//!
//! Times: answers come after 5 to 30 ms, the limit is 150 ms, a slow feed takes 600 ms.

use std::fmt::Debug;
use std::time::Duration;

use port_to_smol::{Feed, Outcome, fetch_all, tokio_version};
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

const fn feed(latency_ms: u64, hangs: bool, body: &'static str) -> Feed {
    Feed {
        latency: Duration::from_millis(latency_ms),
        hangs,
        body,
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

/// Runs the port on runtime `R`.
fn port_on<R: Runtime>() -> Vec<Outcome> {
    R::block_on(|runtime| async move { fetch_all(&runtime, &FEEDS, LIMIT).await })
        .expect("the runtime starts")
}

#[test]
fn the_port_runs_on_smol() {
    check(
        "on smol, the same outcomes as the tokio original (if some are missing: a dropped smol \
         `Task` cancels its task; keep the handles and await them)",
        port_on::<Smol>(),
        expected(),
    );
}

#[test]
fn the_port_still_runs_on_tokio() {
    check(
        "on tokio, the same outcomes as the tokio original",
        port_on::<Tokio>(),
        expected(),
    );
}

#[test]
fn the_port_runs_on_async_std() {
    check(
        "on async-std, the same outcomes as the tokio original",
        port_on::<AsyncStd>(),
        expected(),
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
