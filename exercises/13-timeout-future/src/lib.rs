//! # Exercise 13: a deadline shared by every retry
//!
//! Chapter 6, Futures by hand (`book/src/futures-by-hand.md`). About 20 minutes.
//!
//! Exercise 09 built a timeout from combinators, and the chapter's `Timeout<F>` races *one*
//! future against a deadline. A fetch is seldom one attempt, though: it retries, and the
//! caller's patience is for the whole fetch, not for each attempt. Write the future for that:
//! [`RetryWithin`], which makes an attempt, starts another when one fails, and gives up when
//! the one deadline for all of them passes or the attempts run out.
//!
//! Write `poll` for [`RetryWithin`]. Its contract:
//!
//! - `Ready(Ok(value))` as soon as an attempt succeeds;
//! - after a failed attempt, the next one is started (`make_attempt` called once more) and
//!   **polled in the same `poll`**: a future that has never been polled has registered no
//!   waker, so returning `Pending` then would leave the task asleep for ever;
//! - after `max_attempts` failures, `Ready(Err(RetryError::Exhausted(last_error)))`;
//! - the deadline is set once, when the `RetryWithin` is made, and is **not** reset by a new
//!   attempt; when it passes, `Ready(Err(RetryError::Elapsed))`, and the attempt still
//!   running is dropped (cancelled) with the `RetryWithin`;
//! - if an attempt and the deadline are ready at the same poll, the attempt's outcome counts:
//!   it was there in time;
//! - `Pending` otherwise, with both the running attempt and the deadline sure to wake the
//!   task.
//!
//! What is new since exercise 11 (`Join2`): the future inside is *replaced* while pinned.
//! `this.attempt` is a `Pin<&mut Fut>`; `Pin::set` drops the old attempt in place and puts
//! the new one where it was, which is allowed because the old one is dropped, never moved.
//! (`Pin::as_mut` lets you poll it and still use `this.attempt` afterwards.)
//!
//! No `async` and no `.await` in this file (a test checks).
//!
//! Check your work with `cargo run -- learn check 13`. Stuck? `cargo run -- learn hint 13`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_timer::Delay;
use pin_project_lite::pin_project;

/// Why a [`RetryWithin`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryError<E> {
    /// The deadline passed before any attempt succeeded.
    Elapsed,
    /// Every attempt failed before the deadline; this is the last one's error.
    Exhausted(E),
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::Elapsed => f.write_str("deadline has elapsed"),
            RetryError::Exhausted(last) => write!(f, "every attempt failed; the last: {last}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for RetryError<E> {}

/// Runs attempts made by `make_attempt`, one after another, until one succeeds, `max_attempts`
/// have failed, or `limit` has passed since this call, whichever comes first. The limit is for
/// all the attempts together. Dropping the `RetryWithin` cancels the attempt that is running.
///
/// # Panics
///
/// If `max_attempts` is 0: there must be at least one attempt.
pub fn retry_within<Mk, Fut, T, E>(
    limit: Duration,
    max_attempts: u32,
    mut make_attempt: Mk,
) -> RetryWithin<Mk, Fut>
where
    Mk: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    assert!(
        max_attempts > 0,
        "`retry_within` needs at least one attempt"
    );
    // Futures are lazy: making the first attempt here starts nothing until the first poll.
    let attempt = make_attempt();
    RetryWithin {
        make_attempt,
        attempt,
        attempts_made: 1,
        max_attempts,
        deadline: Delay::new(limit),
    }
}

pin_project! {
    /// Future for [`retry_within`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct RetryWithin<Mk, Fut> {
        // Makes the next attempt.
        make_attempt: Mk,
        // The attempt running now; pinned, since it may rely on not moving. It is replaced
        // (with `Pin::set`), never moved out.
        #[pin]
        attempt: Fut,
        // How many attempts have been made, the running one included.
        attempts_made: u32,
        // How many attempts may be made in all.
        max_attempts: u32,
        // When to give up, for all the attempts together. `Delay` is `Unpin`.
        deadline: Delay,
    }
}

impl<Mk, Fut, T, E> Future for RetryWithin<Mk, Fut>
where
    Mk: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<T, RetryError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // TODO: the first success; after a failure, the next attempt, made and polled at once,
        // until `max_attempts` have failed (`Exhausted` with the last error); `Elapsed` once
        // the one deadline has passed, unless an attempt was ready at the same poll;
        // `Pending` otherwise, with the attempt and the deadline sure to wake this task.
        todo!("attempt, retry at once, or give up at the deadline")
    }
}
