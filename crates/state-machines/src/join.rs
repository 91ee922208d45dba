//! [`BoundedJoin`]: run futures at most `limit` at a time, started in order.
//!
//! This is futures-rs's `buffer_unordered` and `for_each_concurrent` in one small future, and
//! the interesting part is not the limit but the *wakers*. The simple way to join many futures
//! is to poll every one of them whenever any of them wakes the task. With 100 fetches in flight
//! that is 100 polls for every timer that fires, and the run spends its time polling futures
//! that have nothing to say.
//!
//! So, like `FuturesUnordered`, each slot gets a waker of its own (a `SlotWaker`). When it is
//! called, it notes *which* slot woke in a shared list and then wakes the task that polls the
//! join. The join's `poll` then polls only the slots in that list.
//!
//! Read next: [`crate::cache`].

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

// ANCHOR: bounded_join
/// Runs the futures of `futures`, at most `limit` at a time, starting each one (in iterator
/// order) as soon as a slot is free, and calls `on_done(index, output)` the moment one finishes.
/// Resolves when all have finished.
///
/// The futures must be `Unpin` (they live in a `Vec` and are polled through `Pin::new`);
/// `Box::pin` a future that is not.
pub fn bounded_join<I, F>(futures: I, limit: usize, on_done: F) -> BoundedJoin<I, F>
where
    I: Iterator<Item: Future + Unpin>,
    F: FnMut(usize, <I::Item as Future>::Output),
{
    assert!(limit > 0, "at least one future must be allowed to run");
    let woken = Arc::new(WokenSlots::default());
    let slots = (0..limit)
        .map(|slot| Slot {
            running: None,
            waker: Waker::from(Arc::new(SlotWaker {
                slot,
                woken: Arc::clone(&woken),
            })),
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
}

/// What the slot wakers share with the join.
#[derive(Debug, Default)]
struct WokenSlots {
    /// Slots woken since the join last looked (a slot may appear more than once; polling a
    /// future one extra time is harmless).
    slots: Mutex<Vec<usize>>,
    /// The waker of the task that polls the join, from its latest poll.
    parent: Mutex<Option<Waker>>,
}

/// The waker of one slot: "slot `slot` wants a poll".
#[derive(Debug)]
struct SlotWaker {
    /// The slot.
    slot: usize,
    /// Where to say so.
    woken: Arc<WokenSlots>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.woken.slots).push(self.slot);
        if let Some(parent) = lock(&self.woken.parent).as_ref() {
            parent.wake_by_ref();
        }
    }
}

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
        // Poll the slots that woke (and the ones just started). Finishing one starts the next
        // future in the freed slot, which adds that slot to the list: the loop polls it too.
        while let Some(slot) = this.next_woken() {
            let Slot { running, waker } = &mut this.slots[slot];
            let Some((index, future)) = running else {
                continue;
            }; // stale: already finished
            let Poll::Ready(output) = Pin::new(future).poll(&mut Context::from_waker(waker)) else {
                continue;
            };
            let index = *index;
            *running = None;
            this.free.push(slot);
            (this.on_done)(index, output);
            this.start_more();
        }
        if this.exhausted && this.free.len() == this.slots.len() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<I, F> BoundedJoin<I, F>
where
    I: Iterator<Item: Future + Unpin>,
{
    /// Fills free slots with the next futures, in order, and marks them for a first poll.
    fn start_more(&mut self) {
        while !self.exhausted
            && let Some(&slot) = self.free.last()
        {
            match self.futures.next() {
                Some(next) => {
                    self.free.pop();
                    self.slots[slot].running = Some(next);
                    lock(&self.woken.slots).push(slot);
                }
                None => self.exhausted = true,
            }
        }
    }

    /// Takes one slot off the woken list. (One at a time, so that the lock is never held while
    /// a future is polled: that future may wake a slot, which takes the lock.)
    fn next_woken(&self) -> Option<usize> {
        lock(&self.woken.slots).pop()
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

/// Locks a mutex, ignoring poisoning: the data behind these locks (lists of slot numbers and a
/// waker) is valid whatever a panicking thread was doing.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::{Duration, Instant};

    use crate::reactor::{Reactor, Sleep, sleep};
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
        // `map` is lazy: each sleep is created (and its clock started) when its slot takes it.
        let sleeps = [300, 100, 200, 100]
            .into_iter()
            .map(|ms| Labelled(sleep(&reactor, Duration::from_millis(ms)), ms));
        let mut join = bounded_join(sleeps, 2, |index, ms| done.borrow_mut().push((index, ms)));

        // Two slots: futures 0 and 1 start (and register their timers); 2 and 3 wait.
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 2);

        // 150 ms on, future 1 is done and its slot takes future 2.
        reactor.fire_due(Instant::now() + Duration::from_millis(150));
        assert_eq!(wakes.count(), 1, "a slot waker woke the parent");
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(*done.borrow(), [(1, 100)]);
        assert_eq!(reactor.pending_timers(), 2, "futures 0 and 2");

        // Futures 0 and 2 are done; future 3 takes a slot.
        reactor.fire_due(Instant::now() + Duration::from_millis(400));
        assert!(Pin::new(&mut join).poll(&mut cx).is_pending());
        assert_eq!(done.borrow().len(), 3);
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
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                self.0.borrow_mut()[self.1] += 1;
                Pin::new(&mut self.2).poll(cx)
            }
        }
        let reactor = Reactor::new();
        let polls = RefCell::new(vec![0; 3]);
        let (waker, _) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let futures = [1, 10, 10]
            .into_iter()
            .enumerate()
            .map(|(i, secs)| Counted(&polls, i, sleep(&reactor, Duration::from_secs(secs))));
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
    fn an_empty_join_is_ready_at_once() {
        let (waker, _) = CountingWaker::new();
        let mut join = bounded_join(std::iter::empty::<std::future::Ready<()>>(), 4, |_, ()| {});
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
