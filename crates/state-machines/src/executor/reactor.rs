//! The timer reactor, and [`Sleep`], the future it drives.
//!
//! A future that waits for time to pass cannot watch the clock itself: it would have to be
//! polled over and over (a busy loop). Instead it hands its [`Waker`] to a *reactor*, the part of
//! a runtime that knows about events (timers here; sockets and files in tokio), and returns
//! `Pending`. When the deadline passes, the reactor calls the waker, the executor polls the
//! future again, and this time it is ready.
//!
//! Our reactor is a priority queue of timers ordered by deadline. The executor fires the timers
//! that are due between ticks ([`Reactor::fire_due`]), which puts their tasks back on its run
//! queue. When it has nothing to run, it calls [`Reactor::park`]: the thread sleeps until the
//! earliest deadline (`std::thread::park_timeout`), then every timer that is due is fired.
//! Everything happens on the one thread that runs the executor; there is no timer thread.
//!
//! Read next: [`crate::executor::timeout`], the first future built on top of [`Sleep`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::executor::sync::thread;

/// Names one registered timer: its deadline, then a sequence number that tells apart timers
/// with the same deadline. Ordering by this pair is ordering by deadline, ties in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerId {
    deadline: Instant,
    seq: u64,
}

// ANCHOR: reactor
/// A handle to the timer reactor. Cloning it is cheap and gives another handle to the same
/// timers; every [`Sleep`] keeps one, to register, refresh and cancel its timer.
///
/// It is `Rc<RefCell<..>>`, not `Arc<Mutex<..>>`, because the reactor and every future that uses
/// it live on the executor's thread; the compiler checks that (`Rc` is not `Send`).
#[derive(Clone, Default)]
pub struct Reactor {
    timers: Rc<RefCell<Timers>>,
}

/// The timers waiting to fire.
#[derive(Default)]
struct Timers {
    /// Pending timers by (deadline, seq), each with the waker of the future waiting for it.
    ///
    /// A `BTreeMap` is used as the heap: like `BinaryHeap` it gives the earliest deadline
    /// quickly (`first_key_value`, O(log n)), and unlike `BinaryHeap` it can also *remove* any
    /// timer in O(log n), which is what a dropped `Sleep` needs. With a `BinaryHeap`, cancelled
    /// timers would have to stay in the heap, marked dead, until they reach the top.
    pending: BTreeMap<TimerId, Waker>,
    /// The next sequence number.
    next_seq: u64,
}

impl Reactor {
    /// A reactor with no timers.
    pub fn new() -> Self {
        Reactor::default()
    }

    /// Number of timers waiting to fire.
    pub fn pending_timers(&self) -> usize {
        self.timers.borrow().pending.len()
    }

    /// The earliest deadline of a pending timer, if there is one.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timers = self.timers.borrow();
        timers.pending.first_key_value().map(|(id, _)| id.deadline)
    }

    /// Fires every timer whose deadline is `now` or earlier: removes it and wakes its waker.
    /// Returns how many fired.
    ///
    /// `now` is a parameter, not `Instant::now()`, so that tests can move time forward without
    /// sleeping.
    pub fn fire_due(&self, now: Instant) -> usize {
        let mut due = Vec::new();
        {
            let mut timers = self.timers.borrow_mut();
            while let Some(entry) = timers.pending.first_entry() {
                if entry.key().deadline > now {
                    break;
                }
                due.push(entry.remove());
            }
        }
        // Wake only after the borrow has ended: a waker may run arbitrary code, and code that
        // touches the reactor again (a `Sleep` in a test, say) must not find it borrowed.
        let fired = due.len();
        due.into_iter().for_each(Waker::wake);
        fired
    }

    /// What the executor calls when it has nothing to run: parks the thread until the earliest
    /// deadline, or, with no timer pending, until something unparks it (a waker, called on
    /// another thread). Then fires the timers that are due, and returns how many fired.
    ///
    /// The park may end early (`park_timeout` can wake spuriously, and every wake unparks the
    /// executor's thread); firing nothing is then harmless, the executor just looks again. With
    /// no timer pending and no other thread holding a waker, this parks forever: the executor
    /// checks for that before it calls us (see `Executor::block_on`).
    pub fn park(&self) -> usize {
        match self.next_deadline() {
            Some(deadline) => {
                let now = Instant::now();
                if deadline > now {
                    thread::park_timeout(deadline - now);
                }
            }
            None => thread::park(),
        }
        self.fire_due(Instant::now())
    }

    /// Registers a timer for `deadline` that will wake `waker`.
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> TimerId {
        let mut timers = self.timers.borrow_mut();
        let id = TimerId {
            deadline,
            seq: timers.next_seq,
        };
        timers.next_seq += 1;
        timers.pending.insert(id, waker.clone());
        id
    }

    /// If timer `id` is still pending, makes sure it will wake `waker` (a future may be polled
    /// with a different waker than last time) and returns `true`; returns `false` if it fired.
    fn refresh(&self, id: TimerId, waker: &Waker) -> bool {
        let mut timers = self.timers.borrow_mut();
        match timers.pending.get_mut(&id) {
            Some(registered) => {
                if !registered.will_wake(waker) {
                    registered.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Removes timer `id`, if it has not fired yet.
    fn cancel(&self, id: TimerId) {
        self.timers.borrow_mut().pending.remove(&id);
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("pending_timers", &self.pending_timers())
            .finish()
    }
}
// ANCHOR_END: reactor

// ANCHOR: sleep
/// Waits until `duration` has passed. The deadline is fixed now, when the future is created;
/// the timer is registered at the first poll, because only then is there a waker to register.
pub fn sleep(reactor: &Reactor, duration: Duration) -> Sleep {
    Sleep {
        reactor: reactor.clone(),
        deadline: Instant::now() + duration,
        state: SleepState::Created,
    }
}

/// Future for [`sleep`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct Sleep {
    /// The reactor that fires the timer.
    reactor: Reactor,
    /// When the sleep ends.
    deadline: Instant,
    /// Where the sleep is in its life.
    state: SleepState,
}

/// The states of a [`Sleep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SleepState {
    /// Not polled yet: the reactor does not know about us.
    Created,
    /// Polled, and waiting in the reactor under this id.
    Registered(TimerId),
    /// The deadline has passed (the reactor fired the timer). Polling again stays ready.
    Fired,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.state = match self.state {
            // A deadline already in the past needs no timer (a zero-length sleep, say).
            SleepState::Created if Instant::now() >= self.deadline => SleepState::Fired,
            // Created -> Registered: give the reactor our waker.
            SleepState::Created => {
                SleepState::Registered(self.reactor.register(self.deadline, cx.waker()))
            }
            // Still in the reactor: stay registered (with the current waker). Not in the
            // reactor any more: it fired, Registered -> Fired.
            SleepState::Registered(id) if self.reactor.refresh(id, cx.waker()) => self.state,
            SleepState::Registered(_) | SleepState::Fired => SleepState::Fired,
        };
        match self.state {
            SleepState::Fired => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }
}

impl Drop for Sleep {
    /// A `Sleep` dropped while registered (the loser of a race, say) takes its timer out of the
    /// reactor. Otherwise the executor would keep waking up for a timer nobody waits for, and a
    /// run could not end before its last abandoned timeout.
    fn drop(&mut self) {
        if let SleepState::Registered(id) = self.state {
            self.reactor.cancel(id);
        }
    }
}
// ANCHOR_END: sleep

impl Sleep {
    /// The instant the sleep ends (tokio's `Sleep::deadline`). Fixed when the sleep is created,
    /// so it says when the sleep was *due*, however late the poll that finds it ready: what
    /// [`Timeout`](crate::executor::timeout::Timeout) compares to decide a race between two timers.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::CountingWaker;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn sleep_registers_at_the_first_poll_and_is_woken_when_it_fires() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut sleep = sleep(&reactor, SECOND);
        assert_eq!(reactor.pending_timers(), 0, "created, not registered yet");

        // Created -> Registered.
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 1);
        // A poll before the deadline stays registered, and registers nothing new.
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 1);
        assert_eq!(wakes.count(), 0);

        // Nothing is due yet; then time moves on two seconds and the timer fires.
        assert_eq!(reactor.fire_due(Instant::now()), 0);
        assert_eq!(reactor.fire_due(Instant::now() + 2 * SECOND), 1);
        assert_eq!(wakes.count(), 1, "woken when the timer fired");
        assert_eq!(reactor.pending_timers(), 0);

        // Registered -> Fired, and it stays ready.
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_ready());
    }

    #[test]
    fn a_past_deadline_is_ready_at_once_without_a_timer() {
        let reactor = Reactor::new();
        let (waker, _) = CountingWaker::new();
        let mut sleep = sleep(&reactor, Duration::ZERO);
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
        );
        assert_eq!(reactor.pending_timers(), 0);
    }

    #[test]
    fn a_dropped_sleep_cancels_its_timer() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut sleep = sleep(&reactor, SECOND);
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(sleep);
        assert_eq!(reactor.pending_timers(), 0);
        assert_eq!(reactor.next_deadline(), None, "nothing left to wait for");
        assert_eq!(wakes.count(), 0);
    }

    #[test]
    fn the_latest_waker_is_the_one_woken() {
        let reactor = Reactor::new();
        let (first, first_wakes) = CountingWaker::new();
        let (second, second_wakes) = CountingWaker::new();
        let mut sleep = sleep(&reactor, SECOND);
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&first))
                .is_pending()
        );
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&second))
                .is_pending()
        );
        reactor.fire_due(Instant::now() + 2 * SECOND);
        assert_eq!((first_wakes.count(), second_wakes.count()), (0, 1));
    }

    #[test]
    fn timers_fire_in_deadline_order_and_the_reactor_waits_for_them() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut later = sleep(&reactor, 2 * SECOND);
        let mut sooner = sleep(&reactor, Duration::from_millis(1));
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut sooner).poll(&mut cx).is_pending());
        assert!(reactor.next_deadline() < Some(Instant::now() + SECOND));
        // Parks for about a millisecond, then fires the sooner timer only.
        while wakes.count() == 0 {
            reactor.park();
        }
        assert!(Pin::new(&mut sooner).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 1);
    }
}
