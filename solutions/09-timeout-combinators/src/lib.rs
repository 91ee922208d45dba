//! Solution of exercise 09: a timeout made of `select` and a timer, and fetch-with-retry as a
//! recursive chain of boxed futures.
//!
//! The exercise (`exercises/09-timeout-combinators/src/lib.rs`) explains the task; chapter 5 of
//! the book (`book/src/promises.md`) explains the style. `crates/combinators/src/fetch.rs` is
//! the same code in the real pipeline.

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

// ANCHOR: with_timeout
/// Runs `future` for at most `limit`: `Ok(output)` if it finishes first, `Err(Elapsed)` if the
/// timer fires first. The loser is dropped, which cancels it.
pub fn with_timeout<F: Future>(
    future: F,
    limit: Duration,
) -> impl Future<Output = Result<F::Output, Elapsed>> {
    // `select` polls its futures through `&mut`, so they must be `Unpin`: `Box::pin` makes any
    // future `Unpin` (the box moves, the future inside it does not). `Delay` is `Unpin` already.
    future::select(Box::pin(future), Delay::new(limit)).map(|either| match either {
        Either::Left((output, _timer)) => Ok(output),
        Either::Right(((), _unfinished)) => Err(Elapsed),
    })
}
// ANCHOR_END: with_timeout

// ANCHOR: fetch_with_retry
/// Fetches `source`: up to `settings.max_attempts()` attempts, each limited to
/// `settings.timeout_ms`, the next starting at once when one fails or times out.
pub fn fetch_with_retry(
    source: Rc<Source>,
    settings: Settings,
) -> LocalBoxFuture<'static, Fetched> {
    attempts_from(1, source, settings)
}

/// Attempt `attempt`, then, if it failed and attempts are left, the rest of them: a future
/// whose type contains itself, so it must be boxed to have a size.
fn attempts_from(
    attempt: u32,
    source: Rc<Source>,
    settings: Settings,
) -> LocalBoxFuture<'static, Fetched> {
    let limit = Duration::from_millis(settings.timeout_ms);
    with_timeout(call_feed(Rc::clone(&source), attempt), limit)
        .then(move |result| {
            let (outcome, body) = match result {
                Ok(Ok(body)) => (AttemptOutcome::Answered, Some(body)),
                Ok(Err(FeedError)) => (AttemptOutcome::Error, None),
                Err(Elapsed) => (AttemptOutcome::Timeout, None),
            };
            if outcome == AttemptOutcome::Answered || attempt == settings.max_attempts() {
                let summary = FetchSummary::after(attempt, outcome);
                future::ready(Fetched { summary, body }).left_future()
            } else {
                attempts_from(attempt + 1, source, settings).right_future()
            }
        })
        .boxed_local()
}
// ANCHOR_END: fetch_with_retry
