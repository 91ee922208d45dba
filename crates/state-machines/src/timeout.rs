//! [`Timeout`]: a future raced against a deadline.
//!
//! This is the smallest useful combinator, and the shape every other future in this crate
//! follows (the shape of futures-lite): a documented constructor function, a struct made with
//! `pin_project!`, `#[must_use]`, and a `poll` of a few lines that polls the parts and decides.
//!
//! `pin_project!` is what lets `poll` reach the inner future. `poll` receives `Pin<&mut Self>`,
//! a promise that `self` will not move again; the inner future `F` may rely on not moving (a
//! future holding a reference into itself does), so we may only touch it as `Pin<&mut F>`.
//! `project()` gives exactly that for the fields marked `#[pin]`, and a plain `&mut` for the
//! others, without `unsafe`.
//!
//! Read next: [`crate::fetch`], where a `Timeout` decides each fetch attempt.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::reactor::{Reactor, Sleep, sleep};

/// The error of a [`Timeout`] whose deadline came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

// ANCHOR: timeout
/// Runs `future`, but gives up after `duration`: resolves to `Ok(output)` if the future finishes
/// first, to `Err(Elapsed)` if the deadline comes first. The loser is dropped with the
/// `Timeout`, which cancels it (a dropped `Sleep` leaves the reactor).
pub fn timeout<F: Future>(reactor: &Reactor, duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        deadline: sleep(reactor, duration),
    }
}

pin_project! {
    /// Future for [`timeout`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you poll them"]
    pub struct Timeout<F> {
        // The future being raced.
        #[pin]
        future: F,
        // When to give up. `Sleep` is `Unpin`, so it needs no `#[pin]`.
        deadline: Sleep,
    }
}

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
// ANCHOR_END: timeout

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use crate::test_support::CountingWaker;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_future_wins_when_it_is_first() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut race = timeout(&reactor, 2 * SECOND, sleep(&reactor, SECOND));
        assert!(Pin::new(&mut race).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 2, "both timers are registered");

        reactor.fire_due(Instant::now() + SECOND + SECOND / 2);
        assert_eq!(wakes.count(), 1, "the inner sleep woke us");
        assert_eq!(Pin::new(&mut race).poll(&mut cx), Poll::Ready(Ok(())));
        drop(race);
        assert_eq!(reactor.pending_timers(), 0, "the deadline was cancelled");
    }

    #[test]
    fn the_deadline_wins_when_it_is_first() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut race = timeout(&reactor, SECOND, sleep(&reactor, 10 * SECOND));
        assert!(Pin::new(&mut race).poll(&mut cx).is_pending());

        reactor.fire_due(Instant::now() + 2 * SECOND);
        assert_eq!(wakes.count(), 1, "the deadline woke us");
        assert_eq!(Pin::new(&mut race).poll(&mut cx), Poll::Ready(Err(Elapsed)));
        assert_eq!(
            reactor.pending_timers(),
            1,
            "the loser is still registered..."
        );
        drop(race);
        assert_eq!(reactor.pending_timers(), 0, "...until it is dropped");
    }

    #[test]
    fn a_ready_future_needs_no_timer() {
        let reactor = Reactor::new();
        let (waker, _) = CountingWaker::new();
        let mut race = timeout(&reactor, SECOND, std::future::ready(7));
        let poll = Pin::new(&mut race).poll(&mut Context::from_waker(&waker));
        assert_eq!(poll, Poll::Ready(Ok(7)));
        assert_eq!(reactor.pending_timers(), 0);
    }
}
