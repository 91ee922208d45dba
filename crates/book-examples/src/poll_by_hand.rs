//! Chapter 6: a future with nothing around it, polled by hand; and why some
//! futures must be pinned.
//!
//! [`Countdown`] is the smallest future that is not ready at once: it answers
//! `Pending` a given number of times, then `Ready`. [`poll_to_completion`]
//! drives any future the way an executor does, minus the sleeping: call `poll`,
//! and if the answer is `Pending`, call it again. It uses a no-op waker, which
//! is enough because [`Countdown`] is always ready to be polled again; a future
//! that waits for a timer needs a real waker (see `rosetta-state-machines`'s
//! executor).
//!
//! Read next: [`crate::generated`], where the compiler writes the state
//! machine.

use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

// ANCHOR: countdown
/// A future that is `Pending` for `remaining` polls, then `Ready` with how many
/// polls it took.
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct Countdown {
    /// Polls to go before the future is ready.
    remaining: u32,
    /// Polls so far.
    polls: u32,
}

/// A [`Countdown`] from `remaining`.
pub fn countdown(remaining: u32) -> Countdown {
    Countdown {
        remaining,
        polls: 0,
    }
}

impl Future for Countdown {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls += 1;
        if self.remaining == 0 {
            return Poll::Ready(self.polls);
        }
        self.remaining -= 1;
        // "Poll me again": a future that returns `Pending` must arrange to be
        // woken, or it will never be polled again. Here there is nothing to
        // wait for, so wake at once.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
// ANCHOR_END: countdown

// ANCHOR: poll_to_completion
/// Polls `future` until it is ready, and returns its output with the number of
/// polls.
///
/// An executor without the sleeping: correct only for futures that are always
/// ready to make progress, like [`Countdown`]. A real executor parks the thread
/// after `Pending` and polls again only when the waker is called.
pub fn poll_to_completion<F: Future>(future: F) -> (F::Output, u32) {
    // `poll` takes `Pin<&mut F>`: pin the future where it is, on this stack
    // frame.
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return (output, polls);
        }
    }
}
// ANCHOR_END: poll_to_completion

// ANCHOR: self_referential
/// A future that is ready on its second poll (it yields once).
#[derive(Debug, Default)]
#[must_use = "futures do nothing unless you poll them"]
pub struct YieldNow {
    /// True once it has yielded.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The sum of `readings`, with a pause in the middle. While paused, the
/// future's state holds both the array *and* a reference into it
/// (`first_half`): the future points into itself.
pub async fn sum_with_a_pause(readings: [i32; 4]) -> i32 {
    let owned = readings; // Moved into the future's state.
    let first_half = &owned[..2]; // A reference into that same state...
    YieldNow::default().await; // ...kept alive across the suspension point.
    first_half.iter().sum::<i32>() + owned[2..].iter().sum::<i32>()
}
// ANCHOR_END: self_referential

/// True for every `T: Unpin`: a type that may be moved even after it has been
/// pinned. A call that compiles is the proof.
///
/// The hand-written futures are `Unpin` (they hold no reference into
/// themselves):
///
/// ```
/// use rosetta_book_examples::poll_by_hand::{countdown, is_unpin};
/// assert!(is_unpin(&countdown(3)));
/// ```
///
/// The compiler's future for [`sum_with_a_pause`] is not `Unpin`, so this does
/// not compile: "error\[E0277\]: `{async fn body of
/// poll_by_hand::sum_with_a_pause()}` cannot be unpinned". Every `async` future
/// is `!Unpin`, self-referential or not (`is_unpin(&async {})` fails too);
/// self-reference is why the compiler makes them so.
///
/// ```compile_fail,E0277
/// use rosetta_book_examples::poll_by_hand::{is_unpin, sum_with_a_pause};
/// is_unpin(&sum_with_a_pause([1, 2, 3, 4]));
/// ```
pub fn is_unpin<T: Unpin>(_: &T) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_countdown_is_pending_then_ready() {
        assert_eq!(poll_to_completion(countdown(0)), (1, 1));
        assert_eq!(poll_to_completion(countdown(3)), (4, 4));
    }

    #[test]
    fn creating_a_future_runs_nothing() {
        let mut future = countdown(1);
        assert_eq!(future.polls, 0, "not polled yet");
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(Pin::new(&mut future).poll(&mut cx), Poll::Pending);
        assert_eq!(Pin::new(&mut future).poll(&mut cx), Poll::Ready(2));
    }

    #[test]
    fn a_self_referential_future_runs_once_pinned() {
        // `pin!` inside `poll_to_completion` keeps it in place: it yields once,
        // then sums.
        assert_eq!(poll_to_completion(sum_with_a_pause([1, 2, 3, 4])), (10, 2));
        // `Box::pin` pins it on the heap instead; the box can move, the future
        // cannot.
        let boxed = Box::pin(sum_with_a_pause([5, 5, 5, 5]));
        let moved = boxed; // Moving the box moves a pointer, not the future.
        assert_eq!(poll_to_completion(moved).0, 20);
    }
}
