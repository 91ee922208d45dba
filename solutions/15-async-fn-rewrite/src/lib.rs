//! Solution of exercise 15: a hand-written fetch-with-retry state machine, rewritten as an
//! `async fn` that behaves the same.
//!
//! The exercise (`exercises/15-async-fn-rewrite/src/lib.rs`) explains the task; chapter 7 of the
//! book (`book/src/async-await.md`) explains what the compiler generates from an `async fn`.
//! Compare `crates/state-machines/src/fetch.rs` with `crates/async-await/src/fetch.rs`.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_timer::Delay;
use pin_project_lite::pin_project;

/// A feed: after `latency`, it answers `body`, except that its first `failures` attempts fail,
/// and that a feed that `hangs` never answers at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// How long an attempt takes to answer (or fail).
    pub latency: Duration,
    /// How many attempts fail before one answers.
    pub failures: u32,
    /// Never answers: only a timeout ends an attempt.
    pub hangs: bool,
    /// What it answers.
    pub body: &'static str,
}

/// How fetching a feed ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The last attempt answered.
    Answered,
    /// The last attempt failed.
    Error,
    /// The last attempt timed out.
    Timeout,
}

/// What fetch-with-retry comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Attempts made.
    pub attempts: u32,
    /// How the last one ended.
    pub outcome: Outcome,
    /// The body, if the last attempt answered.
    pub body: Option<String>,
}

thread_local! {
    /// What happened on this thread: `attempt N` when an attempt is created, then `answer N` or
    /// `error N` when it ends (a timed-out attempt just stops).
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// How many times this thread has polled a [`FetchWithRetry`].
    static STATE_MACHINE_POLLS: Cell<u64> = const { Cell::new(0) };
}

/// Takes the log of this thread's attempts so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

/// How many times this thread has polled a [`FetchWithRetry`] so far. The tests read it before
/// and after running the `async fn`: a rewrite that awaits the hand-written state machine (or
/// polls it) instead of replacing it would behave the same, and only this count tells.
pub fn state_machine_polls() -> u64 {
    STATE_MACHINE_POLLS.with(Cell::get)
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// An attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptFailed;

/// Attempt `number` (from 1) at `feed`.
pub fn attempt(feed: &Feed, number: u32) -> Attempt<'_> {
    log(format!("attempt {number}"));
    Attempt {
        feed,
        number,
        latency: Delay::new(feed.latency),
    }
}

/// Future for [`attempt`]: waits the feed's latency, then answers what the feed says.
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Attempt<'a> {
    /// The feed.
    feed: &'a Feed,
    /// The attempt's number.
    number: u32,
    /// The network's delay.
    latency: Delay,
}

impl Future for Attempt<'_> {
    type Output = Result<String, AttemptFailed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if Pin::new(&mut self.latency).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let number = self.number;
        if self.feed.hangs {
            // Silence, for ever. (No waker registered: nothing will ever happen here. The
            // timeout around this attempt ends it.)
            Poll::Pending
        } else if number <= self.feed.failures {
            log(format!("error {number}"));
            Poll::Ready(Err(AttemptFailed))
        } else {
            log(format!("answer {number}"));
            Poll::Ready(Ok(self.feed.body.to_string()))
        }
    }
}

/// The error of a [`Timeout`] whose deadline came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

/// Runs `future` for at most `limit` (exercise 13).
pub fn timeout<F: Future>(limit: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        deadline: Delay::new(limit),
    }
}

pin_project! {
    /// Future for [`timeout`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct Timeout<F> {
        // The future being raced.
        #[pin]
        future: F,
        // When to give up.
        deadline: Delay,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(this.deadline).poll(cx).map(|()| Err(Elapsed))
    }
}

// ANCHOR: state_machine
/// Fetches `feed` with up to `max_attempts` attempts, each limited to `limit`: the hand-written
/// state machine.
pub fn fetch_with_retry(feed: &Feed, max_attempts: u32, limit: Duration) -> FetchWithRetry<'_> {
    FetchWithRetry::Attempting {
        feed,
        number: 1,
        max_attempts,
        limit,
        attempt: timeout(limit, attempt(feed, 1)),
    }
}

/// Future for [`fetch_with_retry`]. Each state holds what the rest of the work needs: that is
/// all an `async fn`'s future is, too, with the states written by the compiler.
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await or poll them"]
pub enum FetchWithRetry<'a> {
    /// Attempt `number` is in flight.
    Attempting {
        /// The feed.
        feed: &'a Feed,
        /// The attempt in flight, from 1.
        number: u32,
        /// Attempts allowed.
        max_attempts: u32,
        /// The limit of each attempt.
        limit: Duration,
        /// The attempt, raced against its limit.
        attempt: Timeout<Attempt<'a>>,
    },
    /// The result has been returned.
    Done,
}

impl Future for FetchWithRetry<'_> {
    type Output = Fetched;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fetched> {
        STATE_MACHINE_POLLS.with(|polls| polls.set(polls.get() + 1));
        // Every field is `Unpin` (`Delay` is, and so are references), so the whole enum is, and
        // `&mut *self` is allowed: no pin projection needed.
        loop {
            let FetchWithRetry::Attempting {
                feed,
                number,
                max_attempts,
                limit,
                attempt,
            } = &mut *self
            else {
                panic!("`FetchWithRetry` polled after completion");
            };
            let (outcome, body) = match Pin::new(&mut *attempt).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Ok(body))) => (Outcome::Answered, Some(body)),
                Poll::Ready(Ok(Err(AttemptFailed))) => (Outcome::Error, None),
                Poll::Ready(Err(Elapsed)) => (Outcome::Timeout, None),
            };
            if outcome == Outcome::Answered || *number == *max_attempts {
                let fetched = Fetched {
                    attempts: *number,
                    outcome,
                    body,
                };
                *self = FetchWithRetry::Done;
                return Poll::Ready(fetched);
            }
            // Next attempt: the state stays `Attempting`, with a new attempt in it. Loop to
            // poll it at once (it must be polled to register its timers).
            *number += 1;
            *attempt = timeout(*limit, self::attempt(feed, *number));
        }
    }
}
// ANCHOR_END: state_machine

// ANCHOR: async_fn
/// Fetches `feed` with up to `max_attempts` attempts, each limited to `limit`: the same state
/// machine, written by the compiler from a loop.
pub async fn fetch_with_retry_async(feed: &Feed, max_attempts: u32, limit: Duration) -> Fetched {
    let mut number = 1;
    loop {
        let (outcome, body) = match timeout(limit, attempt(feed, number)).await {
            Ok(Ok(body)) => (Outcome::Answered, Some(body)),
            Ok(Err(AttemptFailed)) => (Outcome::Error, None),
            Err(Elapsed) => (Outcome::Timeout, None),
        };
        if outcome == Outcome::Answered || number == max_attempts {
            return Fetched {
                attempts: number,
                outcome,
                body,
            };
        }
        number += 1;
    }
}
// ANCHOR_END: async_fn
