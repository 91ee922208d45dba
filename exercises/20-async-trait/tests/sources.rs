//! Tests of exercise 20: the two sources behave as their contract says; `fetch_all` runs every
//! fetch on a task of its own, all at once, over any `FeedSource` (a source of the tests' own,
//! written with `async fn fetch`), and keeps the order of the names; `retry` calls its async
//! closure exactly as often as needed, and the closure borrows and changes its captures.
//!
//! Shortcuts these tests catch:
//! - a trait that returns boxed futures (`Pin<Box<dyn Future ..>>`) instead of `impl Future +
//!   Send`: the tests' `async fn fetch` no longer implements it, and this file does not compile;
//! - `fetch_all` that fetches one name after the other (spawned or not): the fetches of
//!   `Gathering` wait for one another, and the test's time limit ends it;
//! - `fetch_all` that runs the fetches together without tasks (`join_all`), or on a `LocalSet`
//!   (its future is not `Send` then, and this file does not compile), or on threads: the task
//!   each fetch ran on is checked;
//! - results collected in the order the fetches finish: they finish in reverse;
//! - `retry` that calls once, or calls once and hands back that result again (cloned or
//!   cached) instead of calling again: the calls are counted, and each error carries its
//!   fetch's number.
//!
//! Every test runs on tokio's paused clock: no test waits for real time, and a test whose
//! fetches wait for ever fails at its time limit instead of hanging.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::{FeedSource, FetchError, Flaky, Library, fetch_all, retry};
use tokio::sync::Barrier;
use tokio::task::{self, JoinHandle};
use tokio::time::{self, Instant};

/// Where to read about this exercise.
const REREAD: &str = "chapter 8.2, async functions in traits (book/src/async-traits.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// The time limit of a test's work (on the paused clock, which jumps to it as soon as every
/// task is stuck).
const LIMIT: Duration = Duration::from_secs(600);

/// Awaits `task` for at most [`LIMIT`]; re-raises its panic (a `todo!()`, for example).
async fn finish<T>(what: &str, task: JoinHandle<T>) -> T {
    match time::timeout(LIMIT, task).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => std::panic::resume_unwind(error.into_panic()),
        Err(_) => panic!(
            "{what} never finished: does it start every fetch before it waits for any?\n    \
             reread: {REREAD}"
        ),
    }
}

const BODY: &str = "Oslo;3.5";

#[tokio::test(start_paused = true)]
async fn the_library_answers_what_it_holds() {
    let library = Library::new([("oslo", BODY), ("rome", "Rome;21.0")]);
    check(
        "fetch(\"oslo\")",
        library.fetch("oslo").await,
        Ok(BODY.to_string()),
    );
    check(
        "fetch(\"rome\")",
        library.fetch("rome").await,
        Ok("Rome;21.0".to_string()),
    );
    check(
        "fetch(\"lima\"), which the library does not hold",
        library.fetch("lima").await,
        Err(FetchError::NotFound("lima".to_string())),
    );
}

#[tokio::test(start_paused = true)]
async fn a_flaky_feed_fails_its_first_fetches_then_answers() {
    let flaky = Flaky::new(BODY, 2, Duration::from_secs(3));
    let start = Instant::now();
    let mut results = Vec::new();
    for _ in 0..3 {
        results.push(flaky.fetch("oslo").await);
    }
    check(
        "three fetches, one after the other, of a feed with 2 failures",
        results,
        vec![
            Err(FetchError::Unavailable { attempt: 1 }),
            Err(FetchError::Unavailable { attempt: 2 }),
            Ok(BODY.to_string()),
        ],
    );
    check("fetches()", flaky.fetches(), 3);
    check(
        "time taken by three fetches of 3 s each",
        start.elapsed(),
        Duration::from_secs(9),
    );
}

#[tokio::test(start_paused = true)]
async fn a_flaky_feed_numbers_its_fetches_as_they_start() {
    let flaky = Flaky::new(BODY, 1, Duration::from_secs(10));
    let midway = async {
        time::sleep(Duration::from_secs(1)).await;
        flaky.fetches()
    };
    let (first, second, midway) = tokio::join!(flaky.fetch("a"), flaky.fetch("b"), midway);
    check(
        "fetches() 1 s into two fetches of 10 s (a fetch counts when it starts)",
        midway,
        2,
    );
    check(
        "two fetches at once of a feed with 1 failure",
        (first, second),
        (
            Err(FetchError::Unavailable { attempt: 1 }),
            Ok(BODY.to_string()),
        ),
    );
}

/// The names `Gathering` serves.
const NAMES: &[&str] = &["oslo", "rome", "lima", "cairo"];

/// A source of the tests' own: every fetch notes the task it runs on, waits until every name
/// is being fetched, then answers, the last name first.
struct Gathering {
    /// Every fetch waits here until all of them have started.
    all_started: Barrier,
    /// The name of each fetch and the task it ran on, as they start.
    started: Mutex<Vec<(String, Option<task::Id>)>>,
    /// The names, in the order their fetches finished.
    finished: Mutex<Vec<String>>,
}

impl Gathering {
    fn new() -> Self {
        Gathering {
            all_started: Barrier::new(NAMES.len()),
            started: Mutex::new(Vec::new()),
            finished: Mutex::new(Vec::new()),
        }
    }
}

impl FeedSource for Gathering {
    async fn fetch(&self, name: &str) -> Result<String, FetchError> {
        let this_task = task::try_id();
        lock(&self.started).push((name.to_string(), this_task));
        self.all_started.wait().await;
        // The later a name comes, the sooner it answers.
        let position = NAMES.iter().position(|known| *known == name);
        let Some(position) = position else {
            return Err(FetchError::NotFound(name.to_string()));
        };
        time::sleep(Duration::from_secs((NAMES.len() - position) as u64)).await;
        lock(&self.finished).push(name.to_string());
        Ok(format!("body of {name}"))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[tokio::test(start_paused = true)]
async fn fetch_all_runs_every_fetch_on_a_task_of_its_own() {
    let gathering = Arc::new(Gathering::new());
    // `fetch_all` itself runs as a task: its future must be `Send`.
    let caller = tokio::spawn({
        let gathering = Arc::clone(&gathering);
        async move {
            let caller = task::id();
            (caller, fetch_all(gathering, NAMES).await)
        }
    });
    let (caller, results) = finish("fetch_all over four names", caller).await;
    let expected: Vec<_> = NAMES
        .iter()
        .map(|name| Ok(format!("body of {name}")))
        .collect();
    check("the results, in the order of the names", results, expected);
    check(
        "the order the fetches finished in (the last name answers first)",
        lock(&gathering.finished).clone(),
        NAMES.iter().rev().map(|name| name.to_string()).collect(),
    );
    let started = lock(&gathering.started).clone();
    let mut names: Vec<_> = started.iter().map(|(name, _)| name.clone()).collect();
    names.sort();
    let mut expected: Vec<_> = NAMES.iter().map(|name| name.to_string()).collect();
    expected.sort();
    check("the names fetched, each once", names, expected);
    for (name, task) in &started {
        let Some(task) = task else {
            panic!(
                "the fetch of {name:?} did not run on a tokio task: spawn it\n    reread: {REREAD}"
            );
        };
        if *task == caller {
            panic!(
                "the fetch of {name:?} ran on the task that called fetch_all: give each fetch \
                 a task of its own\n    reread: {REREAD}"
            );
        }
    }
    let mut tasks: Vec<_> = started.iter().map(|(_, task)| *task).collect();
    tasks.sort();
    tasks.dedup();
    check(
        "how many tasks the four fetches ran on",
        tasks.len(),
        NAMES.len(),
    );
}

#[tokio::test(start_paused = true)]
async fn fetch_all_works_over_both_sources() {
    let library = Arc::new(Library::new([("oslo", BODY)]));
    let results = finish(
        "fetch_all over a library",
        tokio::spawn(async move { fetch_all(library, &["oslo", "lima", "oslo"]).await }),
    )
    .await;
    check(
        "fetch_all over a library, one name missing",
        results,
        vec![
            Ok(BODY.to_string()),
            Err(FetchError::NotFound("lima".to_string())),
            Ok(BODY.to_string()),
        ],
    );

    let flaky = Arc::new(Flaky::new(BODY, 1, Duration::from_secs(5)));
    let start = Instant::now();
    let results = finish(
        "fetch_all over a flaky feed",
        tokio::spawn({
            let flaky = Arc::clone(&flaky);
            async move { fetch_all(flaky, &["a", "b", "c"]).await }
        }),
    )
    .await;
    let failed: Vec<_> = results.iter().filter(|result| result.is_err()).collect();
    check(
        "the failures among three fetches at once of a feed with 1 failure",
        failed,
        vec![&Err(FetchError::Unavailable { attempt: 1 })],
    );
    check(
        "fetches() after fetch_all of three names",
        flaky.fetches(),
        3,
    );
    check(
        "time taken by three fetches of 5 s at once",
        start.elapsed(),
        Duration::from_secs(5),
    );
    let nothing = finish(
        "fetch_all of no names",
        tokio::spawn(async move { fetch_all(Arc::new(Library::default()), &[]).await }),
    )
    .await;
    check("fetch_all of no names", nothing, Vec::new());
}

#[tokio::test(start_paused = true)]
async fn retry_stops_at_the_first_success() {
    let flaky = Flaky::new(BODY, 2, Duration::from_secs(1));
    let mut tried = Vec::new();
    // The closure borrows `flaky` across an `.await`, and changes `tried`, call after call:
    // only an `AsyncFnMut` allows both.
    let result = retry(5, async || {
        tried.push(tried.len() + 1);
        flaky.fetch("oslo").await
    })
    .await;
    check(
        "retry(5, ..) of a feed with 2 failures",
        result,
        Ok(BODY.to_string()),
    );
    check("the calls of the closure", tried, vec![1, 2, 3]);
    check("fetches() after retry", flaky.fetches(), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_after_max_attempts_with_the_last_error() {
    let flaky = Flaky::new(BODY, 10, Duration::from_secs(1));
    let mut calls = 0;
    let result = retry(4, async || {
        calls += 1;
        flaky.fetch("oslo").await
    })
    .await;
    check(
        "retry(4, ..) of a feed with 10 failures: the last error",
        result,
        Err(FetchError::Unavailable { attempt: 4 }),
    );
    check("the calls of the closure", calls, 4);
    check("fetches() after retry", flaky.fetches(), 4);
}

#[tokio::test(start_paused = true)]
async fn retry_calls_once_when_the_first_call_succeeds() {
    let flaky = Flaky::new(BODY, 0, Duration::from_secs(1));
    let result = retry(3, async || flaky.fetch("oslo").await).await;
    check(
        "retry(3, ..) of a healthy feed",
        result,
        Ok(BODY.to_string()),
    );
    check("fetches() after retry", flaky.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_with_no_attempts_still_calls_once() {
    let flaky = Flaky::new(BODY, 5, Duration::from_secs(1));
    let result = retry(0, async || flaky.fetch("oslo").await).await;
    check(
        "retry(0, ..) of a feed with 5 failures",
        result,
        Err(FetchError::Unavailable { attempt: 1 }),
    );
    check("fetches() after retry(0, ..)", flaky.fetches(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_lends_the_closure_what_it_owns() {
    let library = Library::new([("oslo", BODY)]);
    // An `async move` closure owns `names`, and each call's future borrows it: a closure that
    // returns a future (`FnMut() -> Fut`) cannot lend its future what it owns.
    let names = ["lima", "rome", "oslo"].map(String::from);
    let mut next = 0;
    let result = retry(3, async move || {
        let name = &names[next];
        next += 1;
        library.fetch(name).await
    })
    .await;
    check("the third name's body", result, Ok(BODY.to_string()));
}
