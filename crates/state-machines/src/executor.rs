//! A single-threaded executor, small enough to read in one sitting.
//!
//! An executor is the loop that polls futures. Ours has three parts, the same three as
//! the tutorial of smol's task crate and every runtime built on the idea:
//!
//! 1. **A run queue** of task ids that are ready to be polled ([`RunQueue`]).
//! 2. **Tasks**: boxed futures, by id ([`Executor::spawn`] adds one). A task's [`Waker`] is a
//!    [`TaskWaker`] that, when called, pushes the task's id back onto the run queue. That is the
//!    whole contract between a future and its executor: "poll me again".
//! 3. **The loop** ([`Executor::block_on`]): pop an id, poll that task; when the queue is empty,
//!    ask the timer reactor to sleep until the next deadline and fire it, which wakes some
//!    task, which refills the queue. When the future given to `block_on` is ready, return.
//!
//! Writing it by hand is the lesson: after this file, tokio's scheduler is "the same, with
//! several threads, work stealing, an I/O reactor and ten years of tuning".
//!
//! Read next: [`crate::reactor`], which the loop parks on.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use pin_project_lite::pin_project;

use crate::reactor::Reactor;

/// Names a task. `0` is the future given to [`Executor::block_on`], which is polled like a task
/// but lives on `block_on`'s stack rather than in the task map.
type TaskId = u64;

/// The id of `block_on`'s own future.
const MAIN: TaskId = 0;

// ANCHOR: executor
/// A single-threaded executor with a timer reactor.
///
/// Tasks may borrow anything that outlives the executor (`'a`): unlike `tokio::spawn`, which
/// needs `'static` tasks because they may outlive the caller, this executor and its tasks are
/// gone when the function that created them returns, and the borrow checker can see it.
pub struct Executor<'a> {
    /// Unfinished tasks by id. A task is taken *out* of the map while it is polled, so that no
    /// borrow of the map is held while the task's code runs (that code might spawn).
    tasks: RefCell<HashMap<TaskId, Task<'a>>>,
    /// Ids of tasks to poll. Shared with every waker, hence `Arc`.
    run_queue: Arc<RunQueue>,
    /// The timers; futures get a handle through [`Executor::reactor`].
    reactor: Reactor,
    /// The id of the next spawned task.
    next_id: Cell<TaskId>,
}

/// A spawned task: its future, and its waker's shared part.
struct Task<'a> {
    /// The future, boxed so that tasks of different types fit in one map, and pinned because a
    /// future may not move once polled.
    future: Pin<Box<dyn Future<Output = ()> + 'a>>,
    /// What the task's waker points to; the executor resets its `scheduled` flag before a poll.
    waker: Arc<TaskWaker>,
}

/// The queue of task ids ready to be polled, and the thread that polls them.
///
/// A `Mutex` and not a `RefCell`: `Waker` must be `Send + Sync` (any thread may call it), so
/// everything a waker touches must be thread-safe, even though our wakers are only ever called
/// on the executor's thread. In production you would use a lock-free queue here.
#[derive(Debug)]
pub struct RunQueue {
    /// Ready task ids, oldest first.
    ready: Mutex<VecDeque<TaskId>>,
    /// The executor's thread, unparked by wakes (in case one comes from another thread while
    /// the executor sleeps in the reactor).
    thread: Thread,
}

/// The waker of one task: "poll task `id` again".
#[derive(Debug)]
pub struct TaskWaker {
    /// The task to poll.
    id: TaskId,
    /// Where to put the id.
    run_queue: Arc<RunQueue>,
    /// Set while the id is in the run queue, so that ten wakes before the next poll queue it
    /// once (smol's task crate calls it the `SCHEDULED` bit).
    scheduled: AtomicBool,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            self.run_queue.push(self.id);
        }
    }
}

impl RunQueue {
    fn push(&self, id: TaskId) {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(id);
        self.thread.unpark();
    }

    fn pop(&self) -> Option<TaskId> {
        let mut ready = self.ready.lock().unwrap_or_else(PoisonError::into_inner);
        ready.pop_front()
    }
}

impl<'a> Executor<'a> {
    /// An executor for the current thread, with no tasks and no timers.
    pub fn new() -> Self {
        Executor {
            tasks: RefCell::new(HashMap::new()),
            run_queue: Arc::new(RunQueue {
                ready: Mutex::new(VecDeque::new()),
                thread: thread::current(),
            }),
            reactor: Reactor::new(),
            next_id: Cell::new(MAIN + 1),
        }
    }

    /// The executor's timer reactor, for creating [`Sleep`](crate::reactor::Sleep)s.
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// Number of tasks spawned and not finished.
    pub fn tasks(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Starts `future` as a task of its own and returns a handle that resolves to its output.
    ///
    /// The task runs whether or not the handle is polled; dropping the handle detaches it.
    pub fn spawn<T: 'a>(&self, future: impl Future<Output = T> + 'a) -> JoinHandle<T> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let join = Rc::new(RefCell::new(JoinState::Running { waiter: None }));
        let waker = Arc::new(TaskWaker {
            id,
            run_queue: Arc::clone(&self.run_queue),
            scheduled: AtomicBool::new(false),
        });
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

    /// Runs tasks until `future` is ready, and returns its output.
    ///
    /// Spawned tasks that are not finished when `future` is stay in the executor and go on at
    /// the next `block_on`.
    ///
    /// # Panics
    ///
    /// If `future` is not ready, no task can run and no timer is pending: nothing could ever
    /// wake anything again, so waiting would hang forever. That is a deadlock in the program
    /// being run (a task waiting for a queue nobody fills, say), reported instead of hung.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        let main = Arc::new(TaskWaker {
            id: MAIN,
            run_queue: Arc::clone(&self.run_queue),
            scheduled: AtomicBool::new(false),
        });
        let main_waker = Waker::from(Arc::clone(&main));
        main_waker.wake_by_ref();
        loop {
            // 1. Poll everything that is ready.
            while let Some(id) = self.run_queue.pop() {
                if id != MAIN {
                    self.poll_task(id);
                    continue;
                }
                main.scheduled.store(false, Ordering::Release);
                if let Poll::Ready(output) =
                    future.as_mut().poll(&mut Context::from_waker(&main_waker))
                {
                    return output;
                }
            }
            // 2. Nothing is ready: only a timer can change that. Sleep until the next one.
            assert!(
                self.reactor.wait_for_next_timer(),
                "deadlock: the future given to block_on is pending, no task is ready to run, \
                 and no timer is pending ({} tasks are stuck)",
                self.tasks()
            );
        }
    }

    /// Polls task `id` once, if it still exists.
    fn poll_task(&self, id: TaskId) {
        // A finished task can still be woken (by a stale waker): nothing to do then.
        let Some(mut task) = self.tasks.borrow_mut().remove(&id) else {
            return;
        };
        // Clear the flag before polling: a wake during the poll must queue the task again.
        task.waker.scheduled.store(false, Ordering::Release);
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
    /// The task is running; `waiter` is the waker of whoever polled the handle last.
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
    /// A spawned future, wrapped so that its output goes to its [`JoinHandle`]: the task the
    /// executor stores always has output `()`, whatever the future's output is.
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
#[must_use = "a dropped JoinHandle detaches its task; poll it to get the output"]
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
            // Still running: leave our waker for the task to call when it finishes.
            JoinState::Running { .. } => {
                *join = JoinState::Running {
                    waiter: Some(cx.waker().clone()),
                };
                Poll::Pending
            }
            JoinState::Taken => panic!("JoinHandle polled after it returned the output"),
        }
    }
}
// ANCHOR_END: join_handle

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::reactor::sleep;
    use crate::test_support::CountingWaker;

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
        assert_eq!(reactor.pending_timers(), 0);
    }

    #[test]
    fn a_join_handle_is_woken_when_its_task_finishes() {
        let executor = Executor::new();
        let mut handle = executor.spawn(sleep(executor.reactor(), Duration::from_millis(1)));
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        // Running: the handle is pending and leaves its waker.
        assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
        // Run the task to completion (`block_on` of something that needs it to finish).
        executor.block_on(sleep(executor.reactor(), Duration::from_millis(5)));
        assert_eq!(wakes.count(), 1, "the finished task woke the handle");
        assert!(Pin::new(&mut handle).poll(&mut cx).is_ready());
    }

    #[test]
    fn wakes_before_a_poll_queue_the_task_once() {
        let executor = Executor::new();
        let _handle = executor.spawn(std::future::pending::<()>());
        // Spawning queued the first poll; further wakes of the same task add nothing.
        let waker = executor.tasks.borrow()[&1].waker.clone();
        waker.wake_by_ref();
        waker.wake_by_ref();
        assert_eq!(executor.run_queue.ready.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_future_given_to_block_on_may_spawn_tasks() {
        // What the pipeline does: its main future spawns a task per record as sources answer.
        let executor = Executor::new();
        let spawned = RefCell::new(None);
        let main = std::future::poll_fn(|_| {
            *spawned.borrow_mut() = Some(executor.spawn(std::future::ready("spawned")));
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
        // Nothing to run, one timer: `block_on` parks until it fires instead of reporting a
        // deadlock, and the fired timer leaves the reactor.
        executor.block_on(&mut sleep);
        assert_eq!(executor.reactor().pending_timers(), 0);
    }

    #[test]
    #[should_panic(expected = "deadlock")]
    fn a_future_nothing_can_wake_is_reported_as_a_deadlock() {
        Executor::new().block_on(std::future::pending::<()>());
    }

    /// A tiny combinator for the tests above: waits for `first`, then calls `then`.
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
