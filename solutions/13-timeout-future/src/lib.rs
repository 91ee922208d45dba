//! Solution of exercise 13: `Timeout<F>`, a hand-written future raced against a deadline, and
//! an extension trait that offers it as a method.
//!
//! The exercise (`exercises/13-timeout-future/src/lib.rs`) explains the task; chapter 6 of the
//! book (`book/src/futures-by-hand.md`) explains the style. `crates/state-machines/src/timeout.rs`
//! is its cousin on the project's own timer reactor, with one rule more: there the inner future
//! says when it was due, so a late poll that finds both ready can still tell which came first.
//! This generic version cannot know that, and prefers the work, as `tokio::time::timeout` does.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_timer::Delay;
use pin_project_lite::pin_project;

/// The error of a [`Timeout`] whose deadline came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Runs `future`, but gives up after `duration`: resolves to `Ok(output)` if the future
/// finishes first, to `Err(Elapsed)` if the deadline comes first. Dropping the `Timeout` drops
/// both, which cancels the future and the timer.
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        deadline: Delay::new(duration),
    }
}

pin_project! {
    /// Future for [`timeout`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct Timeout<F> {
        // The future being raced; pinned, since it may rely on not moving.
        #[pin]
        future: F,
        // When to give up. `Delay` is `Unpin`, so it needs no `#[pin]`.
        deadline: Delay,
    }
}

// ANCHOR: poll
impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The future first: if both are ready in the same poll, the work that got done wins.
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // Polling both with the same `cx` registers our waker with both: whichever is ready
        // first wakes us.
        Pin::new(this.deadline).poll(cx).map(|()| Err(Elapsed))
    }
}
// ANCHOR_END: poll

// ANCHOR: ext
/// `.timeout(duration)` on every future, the way `futures::FutureExt` offers `.map(...)` and
/// `tokio_util` offers `.timeout(...)`.
pub trait TimeoutExt: Future + Sized {
    /// This future, limited to `duration`: see [`timeout`].
    fn timeout(self, duration: Duration) -> Timeout<Self> {
        timeout(duration, self)
    }
}

/// Every future gets the method.
impl<F: Future> TimeoutExt for F {}
// ANCHOR_END: ext
