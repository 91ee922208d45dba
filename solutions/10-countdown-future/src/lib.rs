//! Solution of exercise 10: a countdown, as a hand-written future that wakes itself.
//!
//! The exercise (`exercises/10-countdown-future/src/lib.rs`) explains the task; chapter 6 of
//! the book (`book/src/futures-by-hand.md`) explains the style. `crates/state-machines` writes
//! every future of the pipeline this way.

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

// ANCHOR: poll
impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.state {
            State::Counting(0) => {
                self.state = State::Done;
                Poll::Ready(LIFTOFF)
            }
            State::Counting(remaining) => {
                self.state = State::Counting(remaining - 1);
                // `Pending` is a promise to wake the task when polling again would help. Nothing
                // else will wake it, so the countdown does it now: "poll me again".
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            State::Done => panic!("`Countdown` polled after completion"),
        }
    }
}
// ANCHOR_END: poll
