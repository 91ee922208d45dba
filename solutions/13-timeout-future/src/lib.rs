//! Solution of exercise 13: `RetryWithin`, a hand-written future that retries attempts under
//! one deadline for all of them, replacing its pinned attempt in place.
//!
//! The exercise (`exercises/13-timeout-future/src/lib.rs`) explains the task; chapter 6 of the
//! book (`book/src/futures-by-hand.md`) explains the style. `crates/state-machines/src/fetch.rs`
//! (`FetchWithRetry`) is its cousin in the pipeline, where each attempt has a deadline of its
//! own and a pause comes between attempts.

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

    // ANCHOR: poll
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // A loop, because a failed attempt is followed by a new one that must be polled now:
        // until it has been polled, nothing would wake this task. The loop ends: every turn
        // either returns or makes one more of at most `max_attempts` attempts.
        loop {
            // `as_mut` reborrows the pinned attempt, so that `this.attempt` can be replaced
            // below. The attempt is polled before the deadline: if both are ready at this
            // poll, the attempt's outcome was there in time and counts.
            match this.attempt.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => return Poll::Ready(Ok(value)),
                Poll::Ready(Err(error)) if *this.attempts_made == *this.max_attempts => {
                    return Poll::Ready(Err(RetryError::Exhausted(error)));
                }
                Poll::Ready(Err(_)) => {
                    // `Pin::set` drops the finished attempt where it lies and writes the new
                    // one in its place: nothing pinned is ever moved.
                    this.attempt.set((this.make_attempt)());
                    *this.attempts_made += 1;
                }
                Poll::Pending => break,
            }
        }
        // The attempt is pending and has registered our waker; the deadline registers it
        // too, so whichever comes first wakes this task. The deadline was made once, in
        // `retry_within`: a new attempt does not reset it.
        Pin::new(this.deadline)
            .poll(cx)
            .map(|()| Err(RetryError::Elapsed))
    }
    // ANCHOR_END: poll
}
