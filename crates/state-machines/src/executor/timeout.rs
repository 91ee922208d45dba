//! [`Timeout`]: a future raced against a deadline.
//!
//! This is the smallest useful combinator, and the shape every other future in
//! this crate follows (the shape of futures-lite): a documented constructor
//! function, a struct made with `pin_project!`, `#[must_use]`, and a `poll` of
//! a few lines that polls the parts and decides.
//!
//! `pin_project!` is what lets `poll` reach the inner future. `poll` receives
//! `Pin<&mut Self>`, a promise that `self` will not move again; the inner
//! future `F` may rely on not moving (a future holding a reference into itself
//! does), so we may only touch it as `Pin<&mut F>`. `project()` gives exactly
//! that for the fields marked `#[pin]`, and a plain `&mut` for the others,
//! without `unsafe`.
//!
//! # The deadlines decide, not the order of a poll
//!
//! A poll says *that* a future is ready, never *since when*. An executor
//! running late (a loaded machine, thousands of tasks, a task that blocked the
//! thread) may poll a `Timeout` only when both the inner future and the
//! deadline are long due; whichever of the two `poll` looked at first would
//! then win, and a feed that answered after the deadline would count as
//! answered. So the race is decided by instants: the inner future says when it
//! was due ([`Due`]), and a result due after the deadline is a timeout, however
//! late the poll that finds it. The `threads` and `callbacks` styles follow the
//! same rule.
//!
//! Read next: [`crate::fetch`], where a `Timeout` decides each fetch attempt.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::executor::reactor::{Reactor, Sleep, sleep};

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
// ANCHOR: due
/// A future that becomes ready at an instant known in advance: a timer, or a
/// future that waits for one. [`Timeout`] asks for that instant, because a poll
/// cannot tell it.
///
/// A future that waits for something else (a socket) has no such instant known
/// in advance. The best it can say is when it *finished*:
/// [`TcpAttempt`](crate::fetch::TcpAttempt) notes the instant its poll
/// completed the response, so a late poll can make an answer late, never early.
/// (The true arrival time would have to come with the data: Linux can stamp
/// each received packet, `SO_TIMESTAMP`.) tokio's `timeout` does not try, and
/// lets the inner future win when a late poll finds both ready.
pub trait Due {
    /// When this future's result is, or was, due; `None` while that is not
    /// known (an exchange on a socket still in flight) or never will be (a feed
    /// that never answers).
    fn due_at(&self) -> Option<Instant>;
}

impl Due for Sleep {
    fn due_at(&self) -> Option<Instant> {
        Some(self.deadline())
    }
}
// ANCHOR_END: due

// ANCHOR: timeout_fn
/// Runs `future`, but gives up after `duration`: resolves to `Ok(output)` if
/// the future was due by the deadline, to `Err(Elapsed)` if not. The loser is
/// dropped with the `Timeout`, which cancels it (a dropped `Sleep` leaves the
/// reactor).
pub fn timeout<F: Future + Due>(
    reactor: &Reactor,
    duration: Duration,
    future: F,
) -> Timeout<F> {
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
// ANCHOR_END: timeout_fn

// ANCHOR: timeout_poll
impl<F: Future + Due> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        // The future first. Ready: but this poll may come late, with our
        // deadline long past too, so the instants decide, not the order in
        // which we look. Due by the deadline, it is in time (a tie goes to the
        // work that got done); due after it, it is a timeout, and its late
        // result is dropped. A late poll must not turn a late answer into an
        // on-time one, nor an on-time answer into a late one.
        let deadline = this.deadline.deadline();
        if let Poll::Ready(output) = this.future.as_mut().poll(cx) {
            // A finished future knows when it was due.
            let in_time =
                this.future.due_at().is_none_or(|due| due <= deadline);
            return Poll::Ready(if in_time {
                Ok(output)
            } else {
                Err(Elapsed)
            });
        }
        // Not ready: the deadline. Polling both with the same `cx` registers
        // our waker with both: whichever is due first wakes us.
        ready!(Pin::new(this.deadline).poll(cx));
        // The deadline has passed, and the future is not ready. If it was due
        // by the deadline, it is not late: its own wake-up just has not come
        // yet (on a busy executor, a timer can be overdue for a while, and this
        // deadline's first poll may come after it passed, which ends it at
        // once). Wait for that wake-up: the future holds our waker. Otherwise
        // (due after the deadline, or never), the deadline has won.
        match this.future.due_at() {
            Some(due) if due <= deadline => Poll::Pending,
            _ => Poll::Ready(Err(Elapsed)),
        }
    }
}
// ANCHOR_END: timeout_poll
// ANCHOR_END: timeout

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            Pin::new(&mut race).poll(&mut cx),
            Poll::Ready(Err(Elapsed))
        );
        assert_eq!(
            reactor.pending_timers(),
            1,
            "the loser is still registered..."
        );
        drop(race);
        assert_eq!(reactor.pending_timers(), 0, "...until it is dropped");
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one() {
        // The inner sleep is due after 10 s, the deadline after 1 s, and the
        // next poll comes at 20 s (a busy executor): both timers have fired by
        // then. The deadlines decide, not the order in which this poll looks at
        // the two.
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut race = timeout(&reactor, SECOND, sleep(&reactor, 10 * SECOND));
        assert!(Pin::new(&mut race).poll(&mut cx).is_pending());

        reactor.fire_due(Instant::now() + 20 * SECOND);
        assert_eq!(wakes.count(), 2, "both timers fired before the poll");
        assert_eq!(
            Pin::new(&mut race).poll(&mut cx),
            Poll::Ready(Err(Elapsed))
        );
    }

    #[test]
    fn a_late_poll_does_not_turn_an_on_time_answer_into_a_late_one() {
        // The other way round: due after 1 s, deadline after 10 s, polled at 20
        // s. The answer came in time, however late we look at it.
        let reactor = Reactor::new();
        let (waker, _) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut race = timeout(&reactor, 10 * SECOND, sleep(&reactor, SECOND));
        assert!(Pin::new(&mut race).poll(&mut cx).is_pending());

        reactor.fire_due(Instant::now() + 20 * SECOND);
        assert_eq!(Pin::new(&mut race).poll(&mut cx), Poll::Ready(Ok(())));
    }

    #[test]
    fn a_ready_future_needs_no_timer() {
        let reactor = Reactor::new();
        let (waker, _) = CountingWaker::new();
        let mut race =
            timeout(&reactor, SECOND, sleep(&reactor, Duration::ZERO));
        let poll = Pin::new(&mut race).poll(&mut Context::from_waker(&waker));
        assert_eq!(poll, Poll::Ready(Ok(())));
        assert_eq!(reactor.pending_timers(), 0);
    }

    /// A future that says it was due at `due`, pending until `ready_after`
    /// polls.
    struct Scripted {
        due: Option<Instant>,
        polls: u32,
        ready_after: u32,
    }

    impl Future for Scripted {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
            self.polls += 1;
            if self.polls > self.ready_after {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Due for Scripted {
        fn due_at(&self) -> Option<Instant> {
            self.due
        }
    }

    /// Regression test: on a busy executor a feed's timer can still be waiting
    /// to fire when the deadline's first poll comes after the deadline has
    /// passed (a `Sleep` first polled late is ready at once). The timeout then
    /// declared a feed that answered 9 ms before its deadline late: with two
    /// thousand attempts in flight on two loaded cores, fast feeds were
    /// reported as timed out. A future due by the deadline is now waited for.
    #[test]
    fn a_future_due_by_the_deadline_is_waited_for_even_once_the_deadline_has_passed()
     {
        let reactor = Reactor::new();
        let (waker, _wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let now = Instant::now();
        let on_time = Scripted {
            due: Some(now),
            polls: 0,
            ready_after: 1,
        };
        let mut race = timeout(&reactor, Duration::ZERO, on_time);
        assert_eq!(Pin::new(&mut race).poll(&mut cx), Poll::Pending);
        assert_eq!(Pin::new(&mut race).poll(&mut cx), Poll::Ready(Ok(())));

        // Due after the deadline, or never: the deadline wins at once.
        for due in [Some(now + SECOND), None] {
            let late = Scripted {
                due,
                polls: 0,
                ready_after: 1,
            };
            let mut race = timeout(&reactor, Duration::ZERO, late);
            assert_eq!(
                Pin::new(&mut race).poll(&mut cx),
                Poll::Ready(Err(Elapsed))
            );
        }
    }
}
