//! Chapter 6: the `Future` trait and the `Poll` enum, declared again with
//! exactly `std`'s shape, so that the book can show them from compiled code.
//!
//! The book cannot include `std`'s own source, and a listing typed into the
//! book could drift from the real thing unnoticed. So [`Future`] and [`Poll`]
//! here copy `std::future::Future` and `std::task::Poll` (without their
//! documentation and attributes), and the tests prove that the copies match: a
//! blanket impl turns every `std` future into one of ours and a wrapper turns
//! ours back into `std`'s, each forwarding `poll` unchanged, which compiles
//! only if the two signatures are the same; and `Poll` converts both ways,
//! variant for variant.
//!
//! Read next: [`crate::poll_by_hand`], which implements the real trait.

use std::pin::Pin;
use std::task::Context;

// ANCHOR: future_trait
/// A value that may not be ready yet.
pub trait Future {
    /// What the future resolves to.
    type Output;
    /// Makes progress if it can: `Ready(output)` when done, otherwise
    /// `Pending`, after arranging for `cx.waker()` to be called when polling
    /// again is worth it.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output>;
}

/// The answer of [`Future::poll`].
pub enum Poll<T> {
    /// Done, with the output.
    Ready(T),
    /// Not yet; the waker will be called.
    Pending,
}
// ANCHOR_END: future_trait

/// Every `std` future is a [`Future`] of ours: `poll` is forwarded unchanged.
impl<F: std::future::Future + ?Sized> Future for F {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::future::Future::poll(self, cx).into()
    }
}

/// A [`Future`] of ours, as a `std` future (for `Unpin` futures, so that no pin
/// projection is needed to reach the inner one).
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct AsStd<F>(pub F);

impl<F: Future + Unpin> std::future::Future for AsStd<F> {
    type Output = F::Output;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        Future::poll(Pin::new(&mut self.0), cx).into()
    }
}

impl<T> From<std::task::Poll<T>> for Poll<T> {
    fn from(poll: std::task::Poll<T>) -> Self {
        match poll {
            std::task::Poll::Ready(output) => Poll::Ready(output),
            std::task::Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> From<Poll<T>> for std::task::Poll<T> {
    fn from(poll: Poll<T>) -> Self {
        match poll {
            Poll::Ready(output) => std::task::Poll::Ready(output),
            Poll::Pending => std::task::Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll_by_hand::{countdown, poll_to_completion};

    #[test]
    fn the_two_polls_have_one_signature() {
        // The same function-pointer type holds `std`'s `poll` and ours (up to
        // the `Poll` type, which is the same shape and converts both ways): the
        // receiver is `Pin<&mut Self>` and the context `&mut Context<'_>` in
        // both.
        type PollFn<P> =
            fn(Pin<&mut crate::poll_by_hand::Countdown>, &mut Context<'_>) -> P;
        let _std: PollFn<std::task::Poll<u32>> =
            <crate::poll_by_hand::Countdown as std::future::Future>::poll;
        let _ours: PollFn<Poll<u32>> =
            <crate::poll_by_hand::Countdown as Future>::poll;
    }

    #[test]
    fn a_std_future_runs_as_ours_and_back() {
        // `countdown` is a `std` future; through our trait (the blanket impl)
        // and back to `std`'s (`AsStd`), it behaves the same: ready on the
        // fourth poll.
        assert_eq!(poll_to_completion(AsStd(countdown(3))), (4, 4));
    }

    #[test]
    fn poll_converts_variant_for_variant() {
        assert!(matches!(
            Poll::from(std::task::Poll::Ready(1)),
            Poll::Ready(1)
        ));
        assert!(matches!(
            Poll::<u8>::from(std::task::Poll::Pending),
            Poll::Pending
        ));
        assert_eq!(
            std::task::Poll::from(Poll::Ready(2)),
            std::task::Poll::Ready(2)
        );
        assert_eq!(
            std::task::Poll::<u8>::from(Poll::Pending),
            std::task::Poll::Pending
        );
    }
}
