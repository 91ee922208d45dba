//! # Exercise 13: `Timeout<F>`
//!
//! Chapter 6, Futures by hand (`book/src/futures-by-hand.md`). About 15 minutes.
//!
//! Exercise 09 built a timeout from combinators. Write the future those combinators stand for:
//! a struct that holds the future and a deadline (a `futures_timer::Delay`), and a `poll` that
//! polls both and lets the first to be ready decide.
//!
//! 1. `poll` for [`Timeout`]: `Ready(Ok(output))` when the future is ready,
//!    `Ready(Err(Elapsed))` when the deadline is, `Pending` while neither is, and woken by
//!    whichever comes first. If both are ready at once, the work that got done wins, as with
//!    `tokio::time::timeout` (a generic future cannot say *when* it became ready; chapter 6's
//!    `Timeout` asks its feed for that and compares deadlines).
//! 2. [`TimeoutExt::timeout`]: the same as a method, so that any future can write
//!    `.timeout(duration)`, the way `FutureExt` gives every future `.map(...)`. (The blanket
//!    `impl<F: Future> TimeoutExt for F {}` below is what puts it on every future.)
//!
//! `future` is marked `#[pin]` (see exercise 11 for what that gives you); `deadline` is a
//! `Delay`, which is `Unpin`. Cancellation needs no code: dropping the `Timeout` drops both.
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

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // TODO: the future's output if it is ready (even if the deadline is too), `Elapsed` if
        // only the deadline is, `Pending` otherwise, with both sure to wake this task.
        todo!("the future first, then the deadline")
    }
}

/// `.timeout(duration)` on every future, the way `futures::FutureExt` offers `.map(...)` and
/// `tokio_util` offers `.timeout(...)`.
pub trait TimeoutExt: Future + Sized {
    /// This future, limited to `duration`: see [`timeout`].
    fn timeout(self, duration: Duration) -> Timeout<Self> {
        // TODO: `self`, limited to `duration`, as [`timeout`] does it.
        todo!("this future, limited to `duration`")
    }
}

/// Every future gets the method.
impl<F: Future> TimeoutExt for F {}
