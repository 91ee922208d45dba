//! [`BoundedJoin`]: run futures at most `limit` at a time, started in order.
//!
//! This is futures-rs's `buffer_unordered` and `for_each_concurrent` in one
//! small future, and the interesting part is not the limit but the *wakers*.
//! The simple way to join many futures is to poll every one of them whenever
//! any of them wakes the task. With 100 fetches in flight that is 100 polls for
//! every timer that fires, and the run spends its time polling futures that
//! have nothing to say.
//!
//! So, like `FuturesUnordered`, each slot gets a waker of its own (a
//! `SlotWaker`). When it is called, it notes *which* slot woke in a shared list
//! and then wakes the task that polls the join. The join's `poll` then polls
//! only the slots in that list.
//!
//! And, like `FuturesUnordered`, the join bounds the work of one `poll`. It
//! takes the list once, at the start, and polls each listed slot once; a slot
//! that wakes again meanwhile (a future that yields: wakes itself and returns
//! `Pending`) waits for the next `poll`. Draining the list until it is empty
//! instead would never end while one future keeps yielding, and the executor,
//! stuck inside this one `poll`, could neither fire a timer nor run another
//! task.
//!
//! Read next: [`crate::cache`].

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use crate::executor::sync::{AtomicBool, Mutex, MutexGuard};

// ANCHOR: bounded_join
// ANCHOR: bounded_join_fn
/// Runs the futures of `futures`, at most `limit` at a time, starting each one
/// (in iterator order) as soon as a slot is free, and calls `on_done(index,
/// output)` the moment one finishes. Resolves when all have finished.
///
/// One `poll` polls each running future at most once; a future started in a
/// freed slot gets its first poll at the next `poll` (the join wakes its task
/// for it).
///
/// The futures must be `Unpin` (they live in a `Vec` and are polled through
/// `Pin::new`); `Box::pin` a future that is not.
pub fn bounded_join<I, F>(
    futures: I,
    limit: usize,
    on_done: F,
) -> BoundedJoin<I, F>
where
    I: Iterator<Item: Future + Unpin>,
    F: FnMut(usize, <I::Item as Future>::Output),
{
    // ANCHOR_END: bounded_join_fn
    assert!(limit > 0, "at least one future must be allowed to run");
    let woken = Arc::new(WokenSlots::default());
    let slots = (0..limit)
        .map(|slot| {
            let slot_waker = Arc::new(SlotWaker {
                slot,
                queued: AtomicBool::new(false),
                woken: Arc::clone(&woken),
            });
            Slot {
                running: None,
                waker: Waker::from(Arc::clone(&slot_waker)),
                slot_waker,
            }
        })
        .collect();
    BoundedJoin {
        futures: futures.enumerate(),
        exhausted: false,
        slots,
        free: (0..limit).rev().collect(),
        woken,
        on_done,
    }
}

// ANCHOR: bounded_join_struct
/// Future for [`bounded_join`].
#[must_use = "futures do nothing unless you poll them"]
pub struct BoundedJoin<I: Iterator, F> {
    /// The futures not started yet, numbered in order.
    futures: std::iter::Enumerate<I>,
    /// True once `futures` has returned `None`.
    exhausted: bool,
    /// `limit` slots, each running one future or empty.
    slots: Vec<Slot<I::Item>>,
    /// Indexes of the empty slots.
    free: Vec<usize>,
    /// The slots whose futures asked to be polled.
    woken: Arc<WokenSlots>,
    /// Called with each output.
    on_done: F,
}

/// One place for a running future.
struct Slot<Fut> {
    /// The future and its index in the iterator, while one is running here.
    running: Option<(usize, Fut)>,
    /// This slot's waker, made once and reused for every future that runs here.
    waker: Waker,
    /// The same waker's shared part, for its `queued` flag.
    slot_waker: Arc<SlotWaker>,
}
// ANCHOR_END: bounded_join_struct

// ANCHOR: slot_waker
/// What the slot wakers share with the join.
#[derive(Debug, Default)]
struct WokenSlots {
    /// Slots woken since the join last took the list, each at most once (see
    /// [`SlotWaker::queued`]).
    slots: Mutex<Vec<usize>>,
    /// The waker of the task that polls the join, from its latest poll.
    parent: Mutex<Option<Waker>>,
}

/// The waker of one slot: "slot `slot` wants a poll".
#[derive(Debug)]
struct SlotWaker {
    /// The slot.
    slot: usize,
    /// True while the slot is in the woken list, so that a future that wakes
    /// its slot a thousand times before the next poll lists it once (the
    /// executor's `scheduled` flag, again).
    queued: AtomicBool,
    /// Where to say so.
    woken: Arc<WokenSlots>,
}
// ANCHOR_END: slot_waker

// ANCHOR: slot_waker_wake
impl SlotWaker {
    /// Puts the slot on the woken list, unless it is already there. Returns
    /// true if it was not.
    fn list(&self) -> bool {
        if self.queued.swap(true, Ordering::AcqRel) {
            return false;
        }
        lock(&self.woken.slots).push(self.slot);
        true
    }
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Already listed: whoever listed it has woken the parent (or will poll
        // the list).
        if self.list()
            && let Some(parent) = lock(&self.woken.parent).as_ref()
        {
            parent.wake_by_ref();
        }
    }
}
// ANCHOR_END: slot_waker_wake

// ANCHOR: bounded_join_poll_take
impl<I, F> Future for BoundedJoin<I, F>
where
    I: Iterator<Item: Future + Unpin> + Unpin,
    F: FnMut(usize, <I::Item as Future>::Output) + Unpin,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.remember_parent(cx.waker());
        this.start_more();
        // Take the list once: the slots that woke before this poll (and the
        // ones just started). Whatever is listed from now on waits for the next
        // poll, so this loop ends.
        let woken = std::mem::take(&mut *lock(&this.woken.slots));
        // ANCHOR_END: bounded_join_poll_take
        // ANCHOR: bounded_join_poll_slots
        for slot in woken {
            let Slot {
                running,
                waker,
                slot_waker,
            } = &mut this.slots[slot];
            // Off the list before the poll, so that a wake during the poll
            // lists it again. (`swap`, not `store`: reading the flag a waker
            // set makes what that waker's thread did before waking visible to
            // the poll.)
            slot_waker.queued.swap(false, Ordering::AcqRel);
            let Some((index, future)) = running else {
                continue; // stale: the future that woke has finished
            };
            let Poll::Ready(output) =
                Pin::new(future).poll(&mut Context::from_waker(waker))
            else {
                continue;
            };
            let index = *index;
            *running = None;
            this.free.push(slot);
            (this.on_done)(index, output);
            // The freed slot takes the next future, which is listed for the
            // next poll.
            this.start_more();
        }
        if this.exhausted && this.free.len() == this.slots.len() {
            return Poll::Ready(());
        }
        // Slots listed during this poll: a slot that woke has woken our task
        // already, but one that `start_more` filled has not. Ask for the next
        // poll ourselves (a wake too many is harmless: the executor queues a
        // task once).
        if !lock(&this.woken.slots).is_empty() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
// ANCHOR_END: bounded_join_poll_slots

// ANCHOR: bounded_join_helpers
impl<I, F> BoundedJoin<I, F>
where
    I: Iterator<Item: Future + Unpin>,
{
    /// Fills free slots with the next futures, in order, and lists them for a
    /// first poll.
    fn start_more(&mut self) {
        while !self.exhausted
            && let Some(&slot) = self.free.last()
        {
            match self.futures.next() {
                Some(next) => {
                    self.free.pop();
                    self.slots[slot].running = Some(next);
                    self.slots[slot].slot_waker.list();
                }
                None => self.exhausted = true,
            }
        }
    }

    /// Stores the waker of the task polling us, for the slot wakers to call.
    fn remember_parent(&self, waker: &Waker) {
        let mut parent = lock(&self.woken.parent);
        if !parent
            .as_ref()
            .is_some_and(|parent| parent.will_wake(waker))
        {
            *parent = Some(waker.clone());
        }
    }
}
// ANCHOR_END: bounded_join_helpers

impl<I: Iterator, F> fmt::Debug for BoundedJoin<I, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedJoin")
            .field("limit", &self.slots.len())
            .field("running", &(self.slots.len() - self.free.len()))
            .field("exhausted", &self.exhausted)
            .finish_non_exhaustive()
    }
}
// ANCHOR_END: bounded_join

/// Locks a mutex, ignoring poisoning: the data behind these locks (lists of
/// slot numbers and a waker) is valid whatever a panicking thread was doing.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::{Duration, Instant};

    use crate::executor::reactor::{Reactor, Sleep, sleep};
    use crate::test_support::CountingWaker;

    /// A sleep of `ms` that resolves to `ms`.
    struct Labelled(Sleep, u64);

    impl Future for Labelled {
        type Output = u64;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
            Pin::new(&mut self.0).poll(cx).map(|()| self.1)
        }
    }

    #[test]
    fn at_most_limit_run_and_freed_slots_take_the_next_in_order() {
        let reactor = Reactor::new();
        let done = RefCell::new(Vec::new());
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        // `map` is lazy: each sleep is created (and its clock started) when its
        // slot takes it.
        let sleeps = [300, 100, 200, 100]
            .into_iter()
            .map(|ms| Labelled(sleep(&reactor, Duration::from_millis(ms)), ms));
        let mut join = bounded_join(sleeps, 2, |index, ms| {
            done.borrow_mut().push((index, ms))
        });

        // Two slots: futures 0 and 1 start (and register their timers); 2 and 3
        // wait.
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 2);

        // 150 ms on, future 1 is done and its slot takes future 2, which is
        // polled (and starts its timer) at the next poll: the join wakes its
        // task for it.
        reactor.fire_due(Instant::now() + Duration::from_millis(150));
        assert_eq!(wakes.count(), 1, "a slot waker woke the parent");
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(*done.borrow(), [(1, 100)]);
        assert_eq!(wakes.count(), 2, "the join asked for a poll for future 2");
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 2, "futures 0 and 2");

        // Futures 0 and 2 are done; future 3 takes a slot.
        reactor.fire_due(Instant::now() + Duration::from_millis(400));
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(done.borrow().len(), 3);
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 1, "future 3");

        reactor.fire_due(Instant::now() + Duration::from_millis(400));
        assert!(Pin::new(&mut join).poll(&mut cx).is_ready());
        assert_eq!(
            done.borrow()[3],
            (3, 100),
            "the last one started finishes last"
        );
    }

    #[test]
    fn only_woken_slots_are_polled() {
        // Each future counts its polls.
        struct Counted<'c>(&'c RefCell<Vec<u32>>, usize, Sleep);
        impl Future for Counted<'_> {
            type Output = ();
            fn poll(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<()> {
                self.0.borrow_mut()[self.1] += 1;
                Pin::new(&mut self.2).poll(cx)
            }
        }
        let reactor = Reactor::new();
        let polls = RefCell::new(vec![0; 3]);
        let (waker, _) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let futures = [1, 10, 10].into_iter().enumerate().map(|(i, secs)| {
            Counted(&polls, i, sleep(&reactor, Duration::from_secs(secs)))
        });
        let mut join = bounded_join(futures, 3, |_, ()| {});
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(*polls.borrow(), [1, 1, 1]);
        reactor.fire_due(Instant::now() + Duration::from_secs(2));
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(
            *polls.borrow(),
            [2, 1, 1],
            "the sleeping slots were left alone"
        );
    }

    #[test]
    fn a_slot_that_yields_does_not_keep_the_join_busy() {
        // Slot A yields (wakes itself, returns `Pending`) until slot B's sleep
        // sets a flag.
        let reactor = Reactor::new();
        let flag = std::cell::Cell::new(false);
        let a_polls = std::cell::Cell::new(0);
        let a = std::future::poll_fn(|cx| {
            if flag.get() {
                return Poll::Ready(());
            }
            a_polls.set(a_polls.get() + 1);
            // A watchdog instead of a hang: without the fix, one `poll` of the
            // join polls A forever and B's timer can never fire.
            assert!(a_polls.get() < 1_000, "the join spins on a yielding slot");
            cx.waker().wake_by_ref();
            Poll::Pending
        });
        let mut b_sleep = sleep(&reactor, Duration::from_millis(5));
        let b = std::future::poll_fn(|cx| {
            std::task::ready!(Pin::new(&mut b_sleep).poll(cx));
            flag.set(true);
            Poll::Ready(())
        });
        let futures: [Pin<Box<dyn Future<Output = ()> + '_>>; 2] =
            [Box::pin(a), Box::pin(b)];
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut join = bounded_join(futures.into_iter(), 2, |_, ()| {});

        // Each poll of the join polls A once, and asks to be polled again for
        // it.
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(a_polls.get(), 1);
        assert!(
            wakes.count() >= 1,
            "the yield woke the task polling the join"
        );
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(a_polls.get(), 2);

        // B's timer fires (time moved on by hand); a few more polls finish
        // both.
        reactor.fire_due(Instant::now() + Duration::from_millis(10));
        let mut polls = 0;
        while Pin::new(&mut join).poll(&mut cx).is_pending() {
            polls += 1;
            assert!(polls < 10, "the join finishes in a few polls");
        }
        assert!(flag.get());
    }

    #[test]
    fn an_empty_join_is_ready_at_once() {
        let (waker, _) = CountingWaker::new();
        let mut join = bounded_join(
            std::iter::empty::<std::future::Ready<()>>(),
            4,
            |_, ()| {},
        );
        assert!(
            Pin::new(&mut join)
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
        );
    }

    #[test]
    fn dropping_the_join_drops_the_running_futures_and_their_timers() {
        let reactor = Reactor::new();
        let (waker, _) = CountingWaker::new();
        let sleeps = (0..5).map(|_| sleep(&reactor, Duration::from_secs(1)));
        let mut join = bounded_join(sleeps, 3, |_, ()| {});
        assert!(
            Pin::new(&mut join)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(reactor.pending_timers(), 3);
        drop(join);
        assert_eq!(reactor.pending_timers(), 0);
    }
}
