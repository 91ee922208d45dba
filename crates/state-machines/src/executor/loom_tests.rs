//! Model checks, with loom, of the parts a waker on another thread can race
//! with.
//!
//! Built only with `RUSTFLAGS="--cfg loom"` (`.ci/run` runs them):
//! `RUSTFLAGS="--cfg loom" cargo test -p rosetta-state-machines --release --lib
//! loom`.
//!
//! Every model has the same shape: a future hands a clone of its waker to a
//! second thread and returns `Pending`; that thread sets a flag and calls the
//! waker, while the executor polls, checks its run queue and waits in its
//! poller. loom runs the model once for every interleaving of the two threads
//! (up to a few preemptions) and fails if any of them panics (a false
//! "deadlock"), or leaves every thread blocked (a lost wake-up: the executor
//! waiting forever).
//!
//! loom cannot model epoll or kqueue (a thread blocked in the kernel is
//! invisible to it), so in this build the poller is a stand-in
//! (`sync::poller`): its `wait` parks the executor's thread and its `notify`
//! unparks it, which is the contract the real poller's `notify` keeps (a notify
//! before the wait makes the wait return at once). Everything else the wake
//! path touches, the run queue, the `scheduled` flags, the check of the waking
//! thread before the notify, and the look at the queue before the wait, is the
//! executor's real code.
//!
//! The flag is set and read with `Relaxed` on purpose. The future relies on the
//! executor for ordering, as futures do: what a thread did before calling
//! `wake` must be visible to the poll that the wake causes. That holds only
//! because the executor clears a task's `scheduled` flag with a `swap` that
//! reads the flag the waker set (a plain `store` would not do), and loom checks
//! it.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Poll, Waker};

use loom::sync::Arc;
use loom::sync::atomic::AtomicBool;
use loom::thread::{self, JoinHandle};

use crate::executor::Executor;
use crate::executor::join::bounded_join;

/// Runs `model` under loom, with at most three preemptions per run unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise: enough for these two-thread races,
/// small enough to finish in seconds.
fn check(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound.get_or_insert(3);
    // Counted with `std`'s atomics: the counter is the test's, not part of the
    // model.
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&runs);
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        model();
    });
    let runs = runs.load(Ordering::Relaxed);
    println!("{runs} interleavings checked");
    assert!(runs > 1, "a model with one interleaving checks nothing");
}

/// Calls `waker` from a new thread after setting `flag`; the thread's handle
/// goes to `helper`.
fn wake_from_another_thread(
    waker: &Waker,
    flag: &Arc<AtomicBool>,
    helper: &RefCell<Option<JoinHandle<()>>>,
) {
    let (waker, flag) = (waker.clone(), Arc::clone(flag));
    *helper.borrow_mut() = Some(thread::spawn(move || {
        flag.store(true, Ordering::Relaxed);
        waker.wake();
    }));
}

/// A future that is ready once `flag` is set; at its first poll it starts the
/// waking thread, and, if `yield_first`, also wakes itself (so that the
/// thread's wake can find the task already queued, or being polled).
fn ready_when_woken<'f>(
    flag: &'f Arc<AtomicBool>,
    helper: &'f RefCell<Option<JoinHandle<()>>>,
    yield_first: bool,
) -> impl Future<Output = u32> + Unpin + 'f {
    let polls = Cell::new(0);
    std::future::poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        if flag.load(Ordering::Relaxed) {
            return Poll::Ready(polls.get());
        }
        if helper.borrow().is_none() {
            wake_from_another_thread(cx.waker(), flag, helper);
            if yield_first {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    })
}

/// Lets the waking thread finish on its own. (Not `join`: loom 0.7's `join`
/// trips over the unpark token that a wake may leave on the executor's thread,
/// an artefact of the model checker, not of the executor; loom runs every
/// thread to its end anyway before it moves on to the next interleaving.)
fn join_helper(helper: &RefCell<Option<JoinHandle<()>>>) {
    drop(helper.borrow_mut().take());
}

#[test]
fn loom_a_wake_from_another_thread_ends_the_park() {
    // The executor has no task and no timer: it waits in the poller without a
    // timeout, and the other thread's wake (its `notify`) must end the wait,
    // whenever it comes.
    check(|| {
        let executor = Executor::new();
        let flag = Arc::new(AtomicBool::new(false));
        let helper = RefCell::new(None);
        let polls = executor.block_on(ready_when_woken(&flag, &helper, false));
        assert!(
            polls <= 2,
            "one poll to start, one after the wake ({polls})"
        );
        join_helper(&helper);
    });
}

#[test]
fn loom_a_wake_racing_with_the_poll_is_not_lost() {
    // The future also wakes itself, so the other thread's wake may find the
    // task already queued (and so not queue it again), or being polled. Either
    // way a poll must follow that sees the flag.
    check(|| {
        let executor = Executor::new();
        let flag = Arc::new(AtomicBool::new(false));
        let helper = RefCell::new(None);
        let polls = executor.block_on(ready_when_woken(&flag, &helper, true));
        assert!(
            polls <= 3,
            "scheduled at most once per wake ({polls} polls)"
        );
        join_helper(&helper);
    });
}

#[test]
fn loom_a_spawned_task_is_woken_from_another_thread() {
    // The same through a spawned task's waker (`poll_task`), with `block_on`
    // waiting on the task's handle.
    check(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let helper = RefCell::new(None);
        {
            let executor = Executor::new();
            let task = executor.spawn(ready_when_woken(&flag, &helper, true));
            assert!(executor.block_on(task) <= 3);
        }
        join_helper(&helper);
    });
}

#[test]
fn loom_a_join_slot_is_woken_from_another_thread() {
    // A slot waker called on another thread: it lists its slot and wakes the
    // task polling the join, while the join may be taking the list.
    check(|| {
        let executor = Executor::new();
        let flag = Arc::new(AtomicBool::new(false));
        let helper = RefCell::new(None);
        let slots = [
            Box::pin(ready_when_woken(&flag, &helper, true))
                as Pin<Box<dyn Future<Output = u32> + '_>>,
            Box::pin(std::future::ready(0)),
        ];
        let finished = Cell::new(0);
        executor.block_on(bounded_join(slots.into_iter(), 2, |_, _| {
            finished.set(finished.get() + 1);
        }));
        assert_eq!(finished.get(), 2);
        join_helper(&helper);
    });
}
