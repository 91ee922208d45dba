//! # Exercise 10: a countdown future
//!
//! Chapter 6, Futures by hand (`book/src/futures-by-hand.md`). About 10 minutes.
//!
//! A future is a value with a `poll` method. An executor calls `poll`; the future answers
//! `Poll::Ready(output)` when it is done, or `Poll::Pending` when it is not, **and** then it
//! must make sure that the executor polls it again when that could help, by calling the
//! waker in `cx`. That second half is the contract people forget: an executor never polls a
//! pending task on its own, so a future that says `Pending` without arranging a wake-up is
//! never polled again, and its task hangs for ever.
//!
//! Write `poll` for [`Countdown`]: a countdown from `n` returns `Pending` `n` times, then
//! `Ready(LIFTOFF)`. Nothing outside will ever wake it: each `Pending` must still lead to
//! another poll, on any executor. And a future polled again after `Ready` breaks the contract
//! too: panic with "`Countdown` polled after completion".
//!
//! No `async` and no `.await` in this file (a test checks).
//!
//! Check your work with `cargo run -- learn check 10`. Stuck? `cargo run -- learn hint 10`.

use std::pin::Pin;
use std::task::{Context, Poll};

/// What the countdown says when it reaches zero.
pub const LIFTOFF: &str = "liftoff";

/// Creates a countdown from `from`: a future that is pending `from` times, then ready with
/// [`LIFTOFF`].
pub fn countdown(from: u32) -> Countdown {
    Countdown {
        state: State::Counting(from),
    }
}

/// Future for [`countdown`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Countdown {
    /// Where the countdown stands.
    state: State,
}

/// The states of a [`Countdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// This many polls still return `Pending`.
    Counting(u32),
    /// `Ready` has been returned; the future must not be polled again.
    Done,
}

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // TODO: `Pending` `n` times, each time sure to be polled again; then `Ready(LIFTOFF)`;
        // a poll after that panics.
        todo!("count down, waking the task each time")
    }
}
