//! A single-threaded executor, small enough to read in one sitting.
//!
//! An executor is the loop that polls futures. Ours has three parts, the same
//! three as the tutorial of smol's task crate and every runtime built on the
//! idea:
//!
//! 1. **A run queue** of task ids that are ready to be polled ([`RunQueue`]).
//! 2. **Tasks**: boxed futures, by id ([`Executor::spawn`] adds one). A task's
//!    [`Waker`] is a [`TaskWaker`] that, when called, pushes the task's id back
//!    onto the run queue. That is the whole contract between a future and its
//!    executor: "poll me again".
//! 3. **The loop** ([`Executor::block_on`]), in ticks: pop an id and poll that
//!    task, up to [`EVENT_INTERVAL`] times; then ask the reactor what has
//!    happened meanwhile (sockets that became ready, timers that are due),
//!    which wakes their tasks, which refills the queue. When the queue is
//!    empty, wait in the reactor's poller until a socket is ready or the next
//!    deadline passes (or a waker on another thread notifies the poller). When
//!    the future given to `block_on` is ready, return.
//!
//! Writing it by hand is the lesson: after this file, tokio's scheduler is "the
//! same, with several threads, work stealing, and ten years of tuning"; its I/O
//! driver is our reactor, with the same poller call at its heart.
//!
//! This folder is the style's machinery, what a runtime would otherwise
//! provide; the crate's other files (`fetch.rs`, `cache.rs`, `workers.rs`) are
//! the pipeline, built on it:
//!
//! - this file: run queue, tasks, wakers, `spawn` and `block_on`;
//! - [`reactor`]: timers and sockets, and the wait in the poller (epoll,
//!   kqueue): [`Sleep`](reactor::Sleep) and
//!   [`Registration`](reactor::Registration), the two ways a future waits on
//!   it;
//! - [`net`]: [`Connect`](net::Connect) and [`WriteAll`](net::WriteAll), socket
//!   futures that handle `WouldBlock` by registering interest with the reactor;
//! - [`timeout`]: [`Timeout`](timeout::Timeout), a future raced against a
//!   deadline;
//! - [`join`]: [`BoundedJoin`](join::BoundedJoin), at most `concurrency`
//!   futures at a time;
//! - [`channel`]: a bounded channel with `Send` and `Recv` futures;
//! - `sync`: the cross-thread primitives, loom's in the model-checking build,
//!   and `loom_tests`, which model-check the wake paths.
//!
//! Read next: [`reactor`], where the loop waits when it has nothing to run.

pub mod channel;
pub mod join;
pub mod net;
pub mod reactor;
mod sync;
pub mod timeout;

#[cfg(all(test, loom))]
mod loom_tests;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{Ordering, fence};
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::executor::reactor::Reactor;
use crate::executor::sync::poller::Poller;
use crate::executor::sync::thread::{self, ThreadId};
use crate::executor::sync::{AtomicBool, Mutex};

/// Names a task. `0` is the future given to [`Executor::block_on`], which is
/// polled like a task but lives on `block_on`'s stack rather than in the task
/// map.
type TaskId = u64;

/// The id of `block_on`'s own future. One id is enough because `block_on`
/// refuses to nest.
const MAIN: TaskId = 0;

/// Tasks polled per tick. After this many polls the loop asks the reactor for
/// ready sockets and due timers, even if tasks are still queued: otherwise a
/// task that keeps waking itself (or a steady stream of ready tasks) would keep
/// the queue from ever emptying, and no timer would fire, nor any socket's
/// readiness be seen. tokio calls the same number `event_interval`, with the
/// same default, 61 (a prime, so that the check does not fall into step with a
/// task that yields every 2, 4 or 8 polls).
pub const EVENT_INTERVAL: usize = 61;

// ANCHOR: executor
// ANCHOR: executor_struct
/// A single-threaded executor with an I/O and timer reactor.
///
/// Tasks may borrow anything that outlives the executor (`'a`): unlike
/// `tokio::spawn`, which needs `'static` tasks because they may outlive the
/// caller, this executor and its tasks are gone when the function that created
/// them returns, and the borrow checker can see it.
pub struct Executor<'a> {
    /// Unfinished tasks by id. A task is taken *out* of the map while it is
    /// polled, so that no borrow of the map is held while the task's code runs
    /// (that code might spawn).
    tasks: RefCell<HashMap<TaskId, Task<'a>>>,
    /// Ids of tasks to poll. Shared with every waker, hence `Arc`.
    run_queue: Arc<RunQueue>,
    /// The timers and sockets; futures get a handle through
    /// [`Executor::reactor`].
    reactor: Reactor,
    /// The id of the next spawned task.
    next_id: Cell<TaskId>,
    /// True while [`Executor::block_on`] runs, to refuse a nested call.
    in_block_on: Cell<bool>,
}

/// A spawned task: its future, and its waker's shared part.
struct Task<'a> {
    /// The future, boxed so that tasks of different types fit in one map, and
    /// pinned because a future may not move once polled.
    future: Pin<Box<dyn Future<Output = ()> + 'a>>,
    /// What the task's waker points to; the executor resets its `scheduled`
    /// flag before a poll.
    waker: Arc<TaskWaker>,
}
// ANCHOR_END: executor_struct

// ANCHOR: run_queue
// ANCHOR: run_queue_type
/// The queue of task ids ready to be polled, and how to reach the thread that
/// polls them.
///
/// A `Mutex` and not a `RefCell`, because a `Waker` is `Send + Sync`: any
/// thread that holds one may call it, and the tasks of this crate cannot stop a
/// future from handing a clone of its waker to a helper thread. Everything a
/// waker touches must therefore be thread-safe: the push must not race with the
/// executor's pop, and it must end the executor's wait in the poller in case it
/// is waiting there. In production you would use a lock-free queue here.
#[derive(Debug)]
pub struct RunQueue {
    /// Ready task ids, oldest first.
    ready: Mutex<VecDeque<TaskId>>,
    /// The executor's thread. A wake on this thread needs no notify: the
    /// executor is running (it is running the code that wakes), not waiting,
    /// and looks at the queue before it waits.
    owner: ThreadId,
    /// The reactor's poller, whose `notify` ends the executor's wait (or, if it
    /// is not waiting yet, makes its next wait return at once, so a wake
    /// between its last look at the queue and the wait is not lost).
    poller: Arc<Poller>,
}
// ANCHOR_END: run_queue_type

// ANCHOR: task_waker
/// The waker of one task: "poll task `id` again".
#[derive(Debug)]
pub struct TaskWaker {
    /// The task to poll.
    id: TaskId,
    /// Where to put the id.
    run_queue: Arc<RunQueue>,
    /// Set while the id is in the run queue, so that ten wakes before the next
    /// poll queue it once (smol's task crate calls it the `SCHEDULED` bit).
    scheduled: AtomicBool,
}

impl TaskWaker {
    fn new(id: TaskId, run_queue: &Arc<RunQueue>) -> Arc<Self> {
        Arc::new(TaskWaker {
            id,
            run_queue: Arc::clone(run_queue),
            scheduled: AtomicBool::new(false),
        })
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // `swap` reads and sets in one step: of two threads waking at once,
        // exactly one sees `false` and queues the task.
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            self.run_queue.push(self.id);
        }
    }
}
// ANCHOR_END: task_waker

// ANCHOR: run_queue_impl
impl RunQueue {
    fn push(&self, id: TaskId) {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(id);
        // After the push, not before: an executor that wakes up must find the
        // id. A wake on the executor's own thread needs no notify: that thread
        // is running this code, so it is not waiting in the poller, and it
        // looks at the queue before it next waits. (The check also saves a
        // system call per wake: `notify` writes to an eventfd or a pipe.)
        if thread::current().id() != self.owner
            && let Err(error) = self.poller.notify()
        {
            // A lost notify could leave the executor waiting forever: fail
            // loudly instead.
            panic!("waking the executor: notifying its poller failed: {error}");
        }
    }

    fn pop(&self) -> Option<TaskId> {
        let mut ready =
            self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        ready.pop_front()
    }

    fn is_empty(&self) -> bool {
        let ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        ready.is_empty()
    }
}
// ANCHOR_END: run_queue_impl
// ANCHOR_END: run_queue

impl<'a> Executor<'a> {
    /// An executor for the current thread, with no tasks, no timers and no
    /// sockets.
    ///
    /// # Panics
    ///
    /// If the operating system refuses the reactor a poller (see
    /// [`Reactor::new`]).
    pub fn new() -> Self {
        let reactor = Reactor::new();
        Executor {
            tasks: RefCell::new(HashMap::new()),
            run_queue: Arc::new(RunQueue {
                ready: Mutex::new(VecDeque::new()),
                owner: thread::current().id(),
                poller: reactor.poller(),
            }),
            reactor,
            next_id: Cell::new(MAIN + 1),
            in_block_on: Cell::new(false),
        }
    }

    /// The executor's reactor, for creating
    /// [`Sleep`](crate::executor::reactor::Sleep)s and
    /// [`Registration`](crate::executor::reactor::Registration)s.
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// Number of tasks spawned and not finished.
    pub fn tasks(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Number of tasks ever spawned on this executor, finished or not (tokio's
    /// runtime metrics call it `spawned_tasks_count`). A test of the pipeline
    /// uses it to check that the tasks it starts grow with its sources and
    /// stations, never with its records.
    pub fn spawned(&self) -> u64 {
        // Ids are handed out in order, from `MAIN + 1`.
        self.next_id.get() - (MAIN + 1)
    }

    // ANCHOR: spawn
    /// Starts `future` as a task of its own and returns a handle that resolves
    /// to its output.
    ///
    /// The task runs whether or not the handle is polled; dropping the handle
    /// detaches it.
    pub fn spawn<T: 'a>(
        &self,
        future: impl Future<Output = T> + 'a,
    ) -> JoinHandle<T> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let join = Rc::new(RefCell::new(JoinState::Running { waiter: None }));
        let waker = TaskWaker::new(id, &self.run_queue);
        let task = Spawned {
            future,
            join: Rc::clone(&join),
        };
        let task = Task {
            future: Box::pin(task),
            waker: Arc::clone(&waker),
        };
        self.tasks.borrow_mut().insert(id, task);
        // Schedule the first poll.
        waker.wake();
        JoinHandle { join }
    }
    // ANCHOR_END: spawn

    // ANCHOR: block_on_doc
    /// Runs tasks until `future` is ready, and returns its output.
    ///
    /// Spawned tasks that are not finished when `future` is stay in the
    /// executor and go on at the next `block_on`. Timers that are due fire, and
    /// sockets that are ready wake their futures, at least once every
    /// [`EVENT_INTERVAL`] polls, however busy the run queue is. When nothing is
    /// ready, the thread waits in the reactor's poller until a socket is ready
    /// or the next timer is due, or, with neither, until a waker notifies the
    /// poller: a waker may be called from any thread (that is what
    /// `Waker: Send + Sync` promises), so a future may hand its waker to a
    /// helper thread and be woken from there.
    ///
    /// # Panics
    ///
    /// - If called from inside a `block_on` of the same executor (from a task,
    ///   or from the future being blocked on). Poll the inner future from the
    ///   outer one, or spawn it.
    /// - If `future` is not ready, no task is ready, no timer is pending, and
    ///   no waker of `future` or of any task exists outside the executor (a
    ///   socket's waiter keeps its waker in the reactor, which counts as
    ///   outside): then nothing, on this thread or any other, can ever wake
    ///   anything again, and waiting would hang forever. That is a deadlock in
    ///   the program being run (a future that returns `Pending` without leaving
    ///   its waker anywhere, say), reported instead of hung. A deadlock in
    ///   which the wakers are still held (two tasks each waiting for the other)
    ///   cannot be told apart from a wait for another thread, and hangs.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // ANCHOR_END: block_on_doc
        // ANCHOR: block_on_nested
        // Refused rather than supported. This executor has one run queue and
        // one `MAIN` id, so a nested loop would consume the outer future's
        // wake-ups; worse, the future that calls `block_on` is in the middle of
        // its own `poll` and could not be polled again until it returns, and a
        // task that calls it is out of the task map while it runs. Giving each
        // call its own id and queue would fix the first problem, not the other
        // two, and would hide the real mistake: blocking a thread that is
        // supposed to be running futures. tokio refuses for the same reason
        // ("Cannot start a runtime from within a runtime").
        assert!(
            !self.in_block_on.replace(true),
            "Executor::block_on called while this executor is already \
             inside block_on: an executor cannot run itself from within one \
             of its own futures (poll the inner future from the outer one, \
             or spawn it, instead of blocking on it)"
        );
        let _leave = LeaveBlockOn(&self.in_block_on);
        // ANCHOR_END: block_on_nested

        // ANCHOR: block_on_tick
        let mut future = pin!(future);
        let main = TaskWaker::new(MAIN, &self.run_queue);
        main.wake_by_ref();
        loop {
            // 1. A tick: poll what is ready, at most `EVENT_INTERVAL` tasks.
            for _ in 0..EVENT_INTERVAL {
                let Some(id) = self.run_queue.pop() else {
                    break;
                };
                if id != MAIN {
                    self.poll_task(id);
                    continue;
                }
                main.scheduled.swap(false, Ordering::AcqRel);
                let waker = Waker::from(Arc::clone(&main));
                if let Poll::Ready(output) =
                    future.as_mut().poll(&mut Context::from_waker(&waker))
                {
                    return output;
                }
            }
            // ANCHOR_END: block_on_tick
            // ANCHOR: block_on_park
            // 2. Between ticks, the reactor. Tasks still queued: look at the
            //    sockets without waiting (a zero timeout) and fire the due
            //    timers. Nothing queued: wait in the poller until a socket is
            //    ready or the next deadline (or, with no timer, until a waker
            //    notifies the poller), then wake what is ready.
            if !self.run_queue.is_empty() {
                self.reactor.turn(Some(Duration::ZERO));
                continue;
            }
            if self.reactor.pending_timers() == 0 {
                assert!(
                    !self.nothing_can_wake(&main),
                    "deadlock: the future given to block_on is pending, no \
                     task is ready to run, no timer is pending, and no waker \
                     of the future or of any task exists, so nothing can ever \
                     wake them ({} tasks are stuck)",
                    self.tasks()
                );
            }
            // A wake from another thread between the `is_empty` above and this
            // wait is not lost: its `notify` makes the wait return at once.
            self.reactor.park();
        }
    }
    // ANCHOR_END: block_on_park

    // ANCHOR: nothing_can_wake
    /// True if no waker of `main` or of any task exists outside the executor
    /// and the run queue is empty: then no code anywhere can queue a task again
    /// (a wake needs a waker; a spawn needs a task to run; no other thread can
    /// reach the executor, which is neither `Send` nor `Sync`).
    fn nothing_can_wake(&self, main: &Arc<TaskWaker>) -> bool {
        // The executor holds exactly one `Arc` of each waker: `main`, and each
        // task's `waker`. A count above one is a waker somewhere else: in a
        // timer, in a socket's entry in the reactor, in a channel, in a slot,
        // or on another thread.
        let held = |waker: &Arc<TaskWaker>| Arc::strong_count(waker) > 1;
        if held(main)
            || self.tasks.borrow().values().any(|task| held(&task.waker))
        {
            return false;
        }
        // A thread that called a waker and then dropped it pushed before it
        // dropped. The drop released the count (`Release`); this fence pairs
        // with it, so the push is visible to the check below.
        fence(Ordering::Acquire);
        self.run_queue.is_empty()
    }
    // ANCHOR_END: nothing_can_wake

    // ANCHOR: poll_task
    /// Polls task `id` once, if it still exists.
    fn poll_task(&self, id: TaskId) {
        // A finished task can still be woken (by a stale waker): nothing to do
        // then.
        let Some(mut task) = self.tasks.borrow_mut().remove(&id) else {
            return;
        };
        // Clear the flag before polling: a wake during the poll must queue the
        // task again. (`swap`, not `store`: reading the flag a waker set makes
        // what that waker's thread did before waking visible to this poll.)
        task.waker.scheduled.swap(false, Ordering::AcqRel);
        let waker = Waker::from(Arc::clone(&task.waker));
        if task
            .future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
        {
            self.tasks.borrow_mut().insert(id, task);
        }
    }
    // ANCHOR_END: poll_task
}

/// Clears the executor's "inside `block_on`" flag when `block_on` returns, or
/// unwinds.
struct LeaveBlockOn<'e>(&'e Cell<bool>);

impl Drop for LeaveBlockOn<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl Default for Executor<'_> {
    fn default() -> Self {
        Executor::new()
    }
}

impl fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("tasks", &self.tasks())
            .field("reactor", &self.reactor)
            .finish()
    }
}
// ANCHOR_END: executor

/// Where a task's output waits for its [`JoinHandle`].
#[derive(Debug)]
enum JoinState<T> {
    /// The task is running; `waiter` is the waker of whoever polled the handle
    /// last.
    Running {
        /// Woken when the task finishes.
        waiter: Option<Waker>,
    },
    /// The task finished; its output has not been taken yet.
    Finished(T),
    /// The handle has returned the output.
    Taken,
}

pin_project! {
    /// A spawned future, wrapped so that its output goes to its [`JoinHandle`]:
    /// the task the executor stores always has output `()`, whatever the
    /// future's output is.
    #[must_use = "futures do nothing unless you poll them"]
    struct Spawned<F: Future> {
        // The future of the task.
        #[pin]
        future: F,
        // Shared with the handle.
        join: Rc<RefCell<JoinState<F::Output>>>,
    }
}

impl<F: Future> Future for Spawned<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let output = std::task::ready!(this.future.poll(cx));
        let previous = this.join.replace(JoinState::Finished(output));
        if let JoinState::Running {
            waiter: Some(waiter),
        } = previous
        {
            waiter.wake();
        }
        Poll::Ready(())
    }
}

// ANCHOR: join_handle
/// A handle to a spawned task: a future that resolves to the task's output.
#[derive(Debug)]
#[must_use = "a dropped JoinHandle detaches its task; \
              poll it to get the output"]
pub struct JoinHandle<T> {
    /// Shared with the task.
    join: Rc<RefCell<JoinState<T>>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut join = self.join.borrow_mut();
        match std::mem::replace(&mut *join, JoinState::Taken) {
            // Finished -> Taken: hand the output over.
            JoinState::Finished(output) => Poll::Ready(output),
            // Still running: leave our waker for the task to call when it
            // finishes.
            JoinState::Running { .. } => {
                *join = JoinState::Running {
                    waiter: Some(cx.waker().clone()),
                };
                Poll::Pending
            }
            JoinState::Taken => {
                panic!("JoinHandle polled after it returned the output")
            }
        }
    }
}
// ANCHOR_END: join_handle

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Read, Write};
    use std::time::Instant;

    use crate::executor::reactor::{Direction, Registration, sleep};
    use crate::test_support::{CountingWaker, loopback_pair};

    #[test]
    fn block_on_returns_the_output_of_a_ready_future() {
        let executor = Executor::new();
        assert_eq!(executor.block_on(std::future::ready(42)), 42);
    }

    #[test]
    fn spawned_tasks_run_and_hand_their_output_to_the_handle() {
        let log = RefCell::new(Vec::new());
        let executor = Executor::new();
        let reactor = executor.reactor();
        // Tasks borrow `log`, which outlives the executor: no `'static` needed.
        let slow = executor.spawn({
            let sleep = sleep(reactor, Duration::from_millis(20));
            let log = &log;
            Then::new(sleep, move || {
                log.borrow_mut().push("slow");
                2
            })
        });
        let fast = executor.spawn({
            let sleep = sleep(reactor, Duration::from_millis(1));
            let log = &log;
            Then::new(sleep, move || {
                log.borrow_mut().push("fast");
                1
            })
        });
        assert_eq!(executor.tasks(), 2);
        // Waiting for the slow one runs the fast one too, on the way.
        assert_eq!(executor.block_on(slow), 2);
        assert_eq!(executor.block_on(fast), 1);
        assert_eq!(*log.borrow(), ["fast", "slow"]);
        assert_eq!(executor.tasks(), 0);
        assert_eq!(
            executor.spawned(),
            2,
            "finished tasks still count as spawned"
        );
        assert_eq!(reactor.pending_timers(), 0);
    }

    #[test]
    fn a_join_handle_is_woken_when_its_task_finishes() {
        let executor = Executor::new();
        let mut handle =
            executor.spawn(sleep(executor.reactor(), Duration::from_millis(1)));
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        // Running: the handle is pending and leaves its waker.
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        // Run the task to completion (`block_on` of something that needs it to
        // finish).
        executor.block_on(sleep(executor.reactor(), Duration::from_millis(5)));
        assert_eq!(wakes.count(), 1, "the finished task woke the handle");
        assert!(Pin::new(&mut handle).poll(&mut cx).is_ready());
    }

    #[test]
    fn wakes_before_a_poll_queue_the_task_once() {
        let executor = Executor::new();
        let _handle = executor.spawn(std::future::pending::<()>());
        // Spawning queued the first poll; further wakes of the same task add
        // nothing.
        let waker = executor.tasks.borrow()[&1].waker.clone();
        waker.wake_by_ref();
        waker.wake_by_ref();
        assert_eq!(executor.run_queue.ready.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_future_given_to_block_on_may_spawn_tasks() {
        // What the pipeline does: its main future spawns a task per source as
        // sources answer.
        let executor = Executor::new();
        let spawned = RefCell::new(None);
        let main = std::future::poll_fn(|_| {
            *spawned.borrow_mut() =
                Some(executor.spawn(std::future::ready("spawned")));
            Poll::Ready("main")
        });
        assert_eq!(executor.block_on(main), "main");
        let spawned = spawned.borrow_mut().take().unwrap();
        assert_eq!(executor.block_on(spawned), "spawned");
    }

    #[test]
    fn block_on_sleeps_in_the_reactor_until_the_timer_fires() {
        let executor = Executor::new();
        let mut sleep = sleep(executor.reactor(), Duration::from_millis(10));
        let (waker, _) = CountingWaker::new();
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        // Nothing to run, one timer: `block_on` parks until it fires instead of
        // reporting a deadlock, and the fired timer leaves the reactor.
        executor.block_on(&mut sleep);
        assert_eq!(executor.reactor().pending_timers(), 0);
    }

    #[test]
    #[should_panic(expected = "already inside block_on")]
    fn a_nested_block_on_is_refused() {
        // The main future registers a timer, then blocks on the same executor.
        // The inner `block_on` would share the outer one's run queue and
        // consume its wake-ups.
        let executor = Executor::new();
        let reactor = executor.reactor();
        let mut first = sleep(reactor, Duration::from_millis(1));
        executor.block_on(std::future::poll_fn(|cx| {
            if Pin::new(&mut first).poll(cx).is_ready() {
                return Poll::Ready(());
            }
            executor.block_on(sleep(reactor, Duration::from_millis(2)));
            Poll::Pending
        }));
    }

    #[test]
    fn due_timers_fire_while_the_run_queue_is_busy() {
        let executor = Executor::new();
        // A timer that is already due, and a main future that yields (wakes
        // itself) until the timer has fired: the run queue is never empty.
        let (timer_waker, fired) = CountingWaker::new();
        executor.reactor().register(Instant::now(), &timer_waker);
        let mut yields = 0;
        executor.block_on(std::future::poll_fn(|cx| {
            if fired.count() > 0 {
                return Poll::Ready(());
            }
            yields += 1;
            // A watchdog instead of a hang: without the fix the timer never
            // fires.
            assert!(
                yields <= 1_000,
                "the due timer starved behind a busy run queue"
            );
            cx.waker().wake_by_ref();
            Poll::Pending
        }));
        assert!(
            yields <= EVENT_INTERVAL,
            "fired within one tick ({yields} yields)"
        );
    }

    #[test]
    fn a_wake_from_another_thread_ends_the_wait() {
        use std::sync::atomic::AtomicBool;
        let executor = Executor::new();
        let done = Arc::new(AtomicBool::new(false));
        let mut helper = None;
        // No timer, no task: only the helper thread can wake the main future.
        let answer = executor.block_on(std::future::poll_fn(|cx| {
            if done.load(Ordering::Acquire) {
                return Poll::Ready(42);
            }
            if helper.is_none() {
                let (waker, done) = (cx.waker().clone(), Arc::clone(&done));
                helper = Some(std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(10));
                    done.store(true, Ordering::Release);
                    waker.wake();
                }));
            }
            Poll::Pending
        }));
        assert_eq!(answer, 42);
        helper.unwrap().join().unwrap();
    }

    /// A future that reads one byte from `registration`'s socket: the
    /// `WouldBlock` loop of every socket future, in its smallest form.
    fn read_one_byte(
        registration: &Registration<std::net::TcpStream>,
    ) -> impl Future<Output = u8> + '_ {
        std::future::poll_fn(move |cx| {
            let mut byte = [0];
            loop {
                match registration.get_ref().read(&mut byte) {
                    Ok(1) => return Poll::Ready(byte[0]),
                    Ok(_) => panic!("the test's server closed the connection"),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        std::task::ready!(
                            registration.poll_ready(Direction::Read, cx)
                        )
                        .unwrap();
                    }
                    Err(error) => panic!("read: {error}"),
                }
            }
        })
    }

    #[test]
    fn block_on_waits_in_the_poller_until_a_socket_is_readable() {
        // No timer, no task, no waker on another thread: only the socket's
        // readiness, reported by the poller the executor waits in, can wake the
        // main future.
        let executor = Executor::new();
        let (client, mut server) = loopback_pair();
        let registration =
            Registration::new(executor.reactor(), client).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            server.write_all(b"x").unwrap();
            server
        });
        assert_eq!(executor.block_on(read_one_byte(&registration)), b'x');
        drop(writer.join().unwrap());
    }

    #[test]
    fn socket_readiness_is_seen_while_the_run_queue_is_busy() {
        // The twin of the timer test above, for sockets: a byte is waiting on
        // the socket, and the main future yields (wakes itself) until the
        // reactor has reported it. Without a look at the poller between ticks,
        // the readiness would never be seen.
        let executor = Executor::new();
        let (client, mut server) = loopback_pair();
        let registration =
            Registration::new(executor.reactor(), client).unwrap();
        let (reader, reads) = CountingWaker::new();
        let pending = registration
            .poll_ready(Direction::Read, &Context::from_waker(&reader));
        assert!(pending.is_pending());
        // On loopback the byte is in the receive buffer when `write_all`
        // returns.
        server.write_all(b"x").unwrap();
        let mut yields = 0;
        executor.block_on(std::future::poll_fn(|cx| {
            if reads.count() > 0 {
                return Poll::Ready(());
            }
            yields += 1;
            // A watchdog instead of a hang: without the look, the reader is
            // never woken.
            assert!(
                yields <= 1_000,
                "the socket's readiness starved behind a busy run queue"
            );
            cx.waker().wake_by_ref();
            Poll::Pending
        }));
        assert!(
            yields <= EVENT_INTERVAL,
            "seen within one tick ({yields} yields)"
        );
    }

    #[test]
    #[should_panic(expected = "deadlock")]
    fn a_future_nothing_can_wake_is_reported_as_a_deadlock() {
        Executor::new().block_on(std::future::pending::<()>());
    }

    /// A tiny combinator for the tests above: waits for `first`, then calls
    /// `then`.
    struct Then<F, G> {
        first: F,
        then: Option<G>,
    }

    impl<F, G> Then<F, G> {
        fn new(first: F, then: G) -> Self {
            Then {
                first,
                then: Some(then),
            }
        }
    }

    impl<F: Future + Unpin, G: FnOnce() -> T + Unpin, T> Future for Then<F, G> {
        type Output = T;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            std::task::ready!(Pin::new(&mut self.first).poll(cx));
            Poll::Ready((self.then.take().expect("polled after completion"))())
        }
    }
}
