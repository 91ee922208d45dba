//! # Exercise 09: a timeout from combinators
//!
//! Chapter 5, Promises (`book/src/promises.md`). About 20 minutes.
//!
//! A timeout is a race between the work and a timer. Build one, then use it to write the
//! pipeline's fetch-with-retry, the way `crates/combinators` does:
//!
//! 1. [`with_timeout`]: `Ok(output)` if `future` finishes within `limit`, `Err(Elapsed)` if
//!    the time runs out first (and then the future is dropped: cancelled);
//! 2. [`fetch_with_retry`]: up to `settings.max_attempts()` attempts ([`call_feed`]), one after
//!    the other, each limited to `settings.timeout_ms`; it resolves with a [`Fetched`] (its
//!    summary from `FetchSummary::after`) as soon as one answers, or after the last. A loop
//!    cannot wait, as in exercise 03; and a future whose type would contain itself has no
//!    size, which is why the function returns a boxed `LocalBoxFuture`.
//!
//! No `async` and no `.await` in this file (a test checks). The placeholders
//! `future::poll_fn(|_| todo!(...))` are futures that panic when polled: replace them.
//!
//! Check your work with `cargo run -- learn check 9`. Stuck? `cargo run -- learn hint 9`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{self, Either, Future, FutureExt, LocalBoxFuture};
use futures_timer::Delay;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Response, Settings, Source};

/// The error of a future that did not finish in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// The feed answered with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedError;

/// What fetch-with-retry comes to: the summary the report needs, and the body if the last
/// attempt answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Attempts made, and whether (and why) the source failed.
    pub summary: FetchSummary,
    /// The body, if the last attempt answered.
    pub body: Option<String>,
}

thread_local! {
    /// What happened on this thread, in order: `attempt N` when an attempt starts, `cancel
    /// attempt N` when one is dropped before the feed answered.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Takes the log of this thread's attempts so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Notes `cancel attempt N` in the log if dropped before the feed answered.
struct CancelWatch {
    /// The attempt's number.
    attempt: u32,
    /// Set when the feed has answered.
    answered: bool,
}

impl Drop for CancelWatch {
    fn drop(&mut self) {
        if !self.answered {
            log(format!("cancel attempt {}", self.attempt));
        }
    }
}

/// Attempt number `attempt` at `source`, as the network sees it: after `latency_ms`, the feed
/// answers what [`Source::respond`] says; a hanging feed never answers. No timeout: that is the
/// client's business, and yours.
pub fn call_feed(
    source: Rc<Source>,
    attempt: u32,
) -> impl Future<Output = Result<String, FeedError>> {
    future::lazy(move |_| {
        log(format!("attempt {attempt}"));
        let watch = CancelWatch {
            attempt,
            answered: false,
        };
        (source, watch)
    })
    .then(|(source, watch)| {
        Delay::new(Duration::from_millis(source.latency_ms)).map(move |()| (source, watch))
    })
    .then(move |(source, mut watch)| match source.respond(attempt) {
        Response::Body(body) => {
            watch.answered = true;
            future::ready(Ok(body.to_string())).left_future()
        }
        Response::Error => {
            watch.answered = true;
            future::ready(Err(FeedError)).left_future()
        }
        // Silence, for ever (the watch stays alive, and notes the cancellation when dropped).
        Response::Never => future::pending()
            .map(move |never| {
                drop(watch);
                never
            })
            .right_future(),
    })
}

/// Runs `future` for at most `limit`: `Ok(output)` if it finishes first, `Err(Elapsed)` if the
/// timer fires first. The loser is dropped, which cancels it.
pub fn with_timeout<F: Future>(
    future: F,
    limit: Duration,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    // TODO: the future's output if it finishes within `limit`; `Elapsed` if not.
    future::poll_fn(|_| todo!("race the future against a timer"))
}

/// Fetches `source`: up to `settings.max_attempts()` attempts, each limited to
/// `settings.timeout_ms`, the next starting at once when one fails or times out.
pub fn fetch_with_retry(
    source: Rc<Source>,
    settings: Settings,
) -> LocalBoxFuture<'static, Fetched> {
    // TODO: attempts 1, 2, ... each limited by the timeout, until one answers or none are
    // left; every attempt's outcome (`Answered`, `Error`, `Timeout`) counts in the summary.
    future::poll_fn(|_| todo!("attempt, and on failure, the next attempt")).boxed_local()
}
