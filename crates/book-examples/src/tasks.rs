//! Chapter 8.1: who owns a task. What `abort` does, what dropping a task's
//! handle does on each runtime, and fan-outs that own their tasks.
//!
//! A cancelled future leaves one sign: whatever it held is dropped without the
//! rest of its code running. A [`Witness`] makes that sign visible: a task
//! holds one and calls [`Witness::finished`] at its end; a witness dropped
//! before that reports [`Ending::Cancelled`]. The tests wait for the report on
//! a channel, so none of them sleeps on the wall clock or polls a flag.
//!
//! - [`first_answer`] runs fetches in a `tokio::task::JoinSet` and returns the
//!   first answer; the set, dropped on the way out, aborts the rest.
//! - [`first_answer_smol`] is the same on smol, with its tasks in a
//!   `FuturesUnordered`: a dropped `smol::Task` cancels its task.
//! - [`with_watchdog`] cancels a task from elsewhere, through an
//!   `AbortHandle`, while the task's owner keeps the result.
//!
//! The tests prove each cell of the chapter's table: tokio's `JoinHandle` and
//! async-std's detach on drop, smol's `Task` cancels, a dropped `JoinSet`
//! aborts its tasks, and a dropped tokio runtime drops every task it still
//! holds.

use std::time::Duration;

use async_channel::{Receiver, Sender};
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use tokio::task::{JoinError, JoinSet};

/// How a task ended, as its [`Witness`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The task ran to its end.
    Finished,
    /// The task was dropped before its end.
    Cancelled,
}

// ANCHOR: witness
/// Goes into a task and reports how the task ended. Dropped before
/// [`Witness::finished`] is called, it reports `Cancelled`: a dropped future
/// drops what it holds, and runs none of its remaining code.
#[derive(Debug)]
pub struct Witness {
    report: Option<Sender<Ending>>,
}

impl Witness {
    /// A witness that reports on `report` (an unbounded channel: reporting
    /// never waits, so it can happen in `drop`).
    pub fn new(report: &Sender<Ending>) -> Self {
        let report = Some(report.clone());
        Witness { report }
    }

    /// The task reached its end.
    pub fn finished(mut self) {
        if let Some(report) = self.report.take() {
            let _ = report.try_send(Ending::Finished);
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        if let Some(report) = self.report.take() {
            let _ = report.try_send(Ending::Cancelled);
        }
    }
}
// ANCHOR_END: witness

// ANCHOR: gated
/// A task's body: waits for `gate` to open, then reports that it finished.
/// Runs on any runtime: `async-channel` needs none.
pub async fn gated(gate: Receiver<()>, witness: Witness) {
    // `Ok` when the gate opens, `Err` when it closes: go on either way.
    let _ = gate.recv().await;
    witness.finished();
}
// ANCHOR_END: gated

// ANCHOR: first_answer
/// Runs every fetch in a task of its own, and returns the first answer (a
/// `Some`), or `None` if every fetch came back empty-handed. The tasks still
/// running when it returns are aborted: the set owns them, and dropping the
/// set aborts every task in it.
pub async fn first_answer<F, T>(
    fetches: impl IntoIterator<Item = F>,
) -> Option<T>
where
    F: Future<Output = Option<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut set = JoinSet::new();
    for fetch in fetches {
        set.spawn(fetch);
    }
    // `join_next` gives each task's result as it finishes: completion order.
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Some(answer)) => return Some(answer),
            Ok(None) => {} // Nothing from this one: wait for the next.
            // Nobody else holds an `AbortHandle` to these tasks, so one can
            // only fail by panicking: raise the panic here, in its owner.
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    None
}
// ANCHOR_END: first_answer

// ANCHOR: first_answer_smol
/// [`first_answer`] on smol: the tasks go into a `FuturesUnordered`, which
/// yields each task's output as it finishes. Returning drops the collection
/// and every `Task` in it, and a dropped `Task` cancels its task. (A task's
/// panic is raised again where its `Task` is awaited: here.)
pub async fn first_answer_smol<F, T>(
    executor: &smol::Executor<'_>,
    fetches: impl IntoIterator<Item = F>,
) -> Option<T>
where
    F: Future<Output = Option<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut tasks: FuturesUnordered<smol::Task<Option<T>>> = fetches
        .into_iter()
        .map(|fetch| executor.spawn(fetch))
        .collect();
    while let Some(answer) = tasks.next().await {
        if answer.is_some() {
            return answer;
        }
    }
    None
}
// ANCHOR_END: first_answer_smol

// ANCHOR: watchdog
/// Runs `work` in a task, and a watchdog task that aborts it after `limit`
/// unless it has finished. The watchdog holds only an `AbortHandle`: it can
/// cancel the task, but the result goes to whoever awaits the `JoinHandle`.
pub async fn with_watchdog<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
    limit: Duration,
) -> Result<T, JoinError> {
    let task = tokio::spawn(work);
    let abort = task.abort_handle();
    let watchdog = tokio::spawn(async move {
        tokio::time::sleep(limit).await;
        abort.abort(); // Does nothing if the task has already finished.
    });
    let result = task.await;
    // The watchdog is not needed any more; left alone, it would sleep on
    // detached (dropping its handle would not stop it).
    watchdog.abort();
    result
}
// ANCHOR_END: watchdog

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// A fetch for the tests: after `latency` (tokio time), returns `answer`,
    /// and reports to `witness` how it ended.
    async fn mirror(
        latency: Duration,
        answer: Option<&'static str>,
        witness: Witness,
    ) -> Option<&'static str> {
        tokio::time::sleep(latency).await;
        witness.finished();
        answer
    }

    fn seconds(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// The next `n` endings reported, in the order they came.
    async fn endings(endings: &Receiver<Ending>, n: usize) -> Vec<Ending> {
        let mut seen = Vec::new();
        for _ in 0..n {
            seen.push(endings.recv().await.expect("every witness reports"));
        }
        seen
    }

    // ANCHOR: tokio_detaches
    #[tokio::test]
    async fn a_dropped_tokio_join_handle_detaches_its_task() {
        let (report, ending) = async_channel::unbounded();
        let (open, gate) = async_channel::bounded(1);
        let handle = tokio::spawn(gated(gate, Witness::new(&report)));
        drop(handle); // The task is waiting at the gate: it cannot be done.
        open.send(()).await.unwrap();
        assert_eq!(ending.recv().await, Ok(Ending::Finished));
    }
    // ANCHOR_END: tokio_detaches

    // ANCHOR: smol_cancels
    #[test]
    fn a_dropped_smol_task_cancels_its_task_and_detach_keeps_it() {
        let (report, ending) = async_channel::unbounded();
        smol::block_on(async {
            let (open, gate) = async_channel::bounded(2);
            let dropped =
                smol::spawn(gated(gate.clone(), Witness::new(&report)));
            drop(dropped);
            let detached = smol::spawn(gated(gate, Witness::new(&report)));
            detached.detach();
            open.send(()).await.unwrap();
            open.send(()).await.unwrap();
            let mut seen = endings(&ending, 2).await;
            seen.sort_by_key(|ending| *ending == Ending::Finished);
            assert_eq!(seen, [Ending::Cancelled, Ending::Finished]);
        });
    }
    // ANCHOR_END: smol_cancels

    #[test]
    fn a_dropped_async_std_join_handle_detaches_its_task() {
        let (report, ending) = async_channel::unbounded();
        async_std::task::block_on(async {
            let (open, gate) = async_channel::bounded(1);
            let handle =
                async_std::task::spawn(gated(gate, Witness::new(&report)));
            drop(handle);
            open.send(()).await.unwrap();
            assert_eq!(ending.recv().await, Ok(Ending::Finished));
        });
    }

    #[test]
    fn cancelling_a_smol_task_by_hand_waits_until_it_is_gone() {
        let (report, ending) = async_channel::unbounded();
        smol::block_on(async {
            let (_open, gate) = async_channel::bounded::<()>(1);
            let task = smol::spawn(gated(gate, Witness::new(&report)));
            // `cancel` returns the output if the task had already finished.
            assert_eq!(task.cancel().await, None);
            // Gone by the time `cancel` returns: the report is already sent.
            assert_eq!(ending.try_recv(), Ok(Ending::Cancelled));
        });
    }

    #[test]
    fn cancelling_an_async_std_task_by_hand_waits_until_it_is_gone() {
        let (report, ending) = async_channel::unbounded();
        async_std::task::block_on(async {
            let (_open, gate) = async_channel::bounded::<()>(1);
            let handle =
                async_std::task::spawn(gated(gate, Witness::new(&report)));
            assert_eq!(handle.cancel().await, None);
            assert_eq!(ending.try_recv(), Ok(Ending::Cancelled));
        });
    }

    #[test]
    fn a_dropped_smol_executor_drops_every_task_it_holds() {
        let (report, ending) = async_channel::unbounded();
        let (_open, gate) = async_channel::bounded::<()>(1);
        let executor = smol::Executor::new();
        let first = executor.spawn(gated(gate.clone(), Witness::new(&report)));
        first.detach();
        // Run the first task to the gate; the second is never polled.
        assert!(executor.try_tick());
        executor.spawn(gated(gate, Witness::new(&report))).detach();
        assert!(ending.is_empty(), "both tasks are still alive");
        drop(executor);
        let seen = [ending.try_recv(), ending.try_recv()];
        assert_eq!(seen, [Ok(Ending::Cancelled), Ok(Ending::Cancelled)]);
    }

    // ANCHOR: runtime_drop
    #[test]
    fn a_dropped_tokio_runtime_drops_every_task_it_holds() {
        let (report, ending) = async_channel::unbounded();
        let (_open, gate) = async_channel::bounded::<()>(1);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::spawn(gated(gate.clone(), Witness::new(&report)));
            // Let the first task run to the gate, where it waits.
            tokio::task::yield_now().await;
            // The second is queued, never polled: `block_on` returns first.
            tokio::spawn(gated(gate, Witness::new(&report)));
        });
        assert!(ending.is_empty(), "both tasks are still alive");
        drop(runtime);
        let seen = [ending.try_recv(), ending.try_recv()];
        assert_eq!(seen, [Ok(Ending::Cancelled), Ok(Ending::Cancelled)]);
    }
    // ANCHOR_END: runtime_drop

    // ANCHOR: abort
    #[test]
    fn abort_takes_effect_at_the_next_await() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let steps = Arc::new(AtomicU32::new(0));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (inside, entered) = async_channel::bounded::<()>(1);
        let task = runtime.spawn({
            let steps = Arc::clone(&steps);
            async move {
                inside.send(()).await.unwrap();
                // Code with no `.await`: an abort cannot stop it. (It blocks
                // its worker thread until the test releases it: fine in a
                // test, never in real code.)
                released.recv().unwrap();
                steps.store(1, Ordering::SeqCst);
                tokio::task::yield_now().await; // The abort happens here.
                steps.store(2, Ordering::SeqCst); // Never runs.
            }
        });
        runtime.block_on(async {
            entered.recv().await.unwrap(); // The task is running now.
            task.abort();
            release.send(()).unwrap();
            let error = task.await.expect_err("the task was aborted");
            assert!(error.is_cancelled());
        });
        assert_eq!(steps.load(Ordering::SeqCst), 1);
    }
    // ANCHOR_END: abort

    // ANCHOR: join_error
    #[tokio::test]
    async fn a_panic_comes_back_as_a_join_error() {
        let task = tokio::spawn(async { panic!("parser bug") });
        let error = task.await.expect_err("the task panicked");
        assert!(error.is_panic() && !error.is_cancelled());
        let payload = error.into_panic(); // What `panic!` was given.
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"parser bug"));
    }
    // ANCHOR_END: join_error

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_aborts_only_what_runs_too_long() {
        let (report, ending) = async_channel::unbounded();
        let slow = mirror(seconds(60), Some("slow"), Witness::new(&report));
        let error = with_watchdog(slow, seconds(5)).await.unwrap_err();
        assert!(error.is_cancelled());
        assert_eq!(ending.recv().await, Ok(Ending::Cancelled));

        let quick = mirror(seconds(1), Some("quick"), Witness::new(&report));
        let answer = with_watchdog(quick, seconds(5)).await;
        assert_eq!(answer.unwrap(), Some("quick"));
        assert_eq!(ending.recv().await, Ok(Ending::Finished));
    }

    #[tokio::test]
    async fn a_dropped_abort_handle_leaves_its_task_alone() {
        let (report, ending) = async_channel::unbounded();
        let (open, gate) = async_channel::bounded(1);
        let task = tokio::spawn(gated(gate, Witness::new(&report)));
        drop(task.abort_handle());
        open.send(()).await.unwrap();
        task.await.unwrap();
        assert_eq!(ending.recv().await, Ok(Ending::Finished));
    }

    // ANCHOR: timeout_on_handle
    #[tokio::test(start_paused = true)]
    async fn a_timeout_around_a_join_handle_leaves_the_task_running() {
        let (report, ending) = async_channel::unbounded();
        let slow = mirror(seconds(60), Some("slow"), Witness::new(&report));
        let task = tokio::spawn(slow);
        let waited = tokio::time::timeout(seconds(5), task).await;
        assert!(waited.is_err(), "the wait timed out...");
        // ...and dropped the `JoinHandle`, which detached the task.
        assert_eq!(ending.recv().await, Ok(Ending::Finished));
    }
    // ANCHOR_END: timeout_on_handle

    #[tokio::test(start_paused = true)]
    async fn first_answer_returns_the_first_and_aborts_the_rest() {
        let (report, ending) = async_channel::unbounded();
        let start = tokio::time::Instant::now();
        let fetches = [
            mirror(seconds(30), Some("slow"), Witness::new(&report)),
            mirror(seconds(1), None, Witness::new(&report)),
            mirror(seconds(2), Some("quick"), Witness::new(&report)),
            mirror(seconds(60), Some("slower"), Witness::new(&report)),
        ];
        assert_eq!(first_answer(fetches).await, Some("quick"));
        assert_eq!(start.elapsed(), seconds(2), "paused clock: exact");
        let mut seen = endings(&ending, 4).await;
        seen.sort_by_key(|ending| *ending == Ending::Cancelled);
        use Ending::{Cancelled, Finished};
        assert_eq!(seen, [Finished, Finished, Cancelled, Cancelled]);
        // The cancelled tasks never finish, however long you wait.
        tokio::time::sleep(seconds(120)).await;
        assert!(ending.is_empty());
    }

    #[tokio::test]
    #[should_panic(expected = "parser bug")]
    async fn first_answer_raises_a_fetch_panic_in_its_owner() {
        let panics = async { panic!("parser bug") };
        let _: Option<()> = first_answer([panics]).await;
    }

    // ANCHOR: join_set_drop
    #[tokio::test]
    async fn a_dropped_join_set_aborts_its_tasks_soon_after() {
        let (report, ending) = async_channel::unbounded();
        let (_open, gate) = async_channel::bounded::<()>(1);
        let mut set = JoinSet::new();
        set.spawn(gated(gate, Witness::new(&report)));
        tokio::task::yield_now().await; // The task now waits at the gate.
        drop(set);
        // Aborting is a request: this test's thread is the runtime's only
        // one, and it has not yet been back to the runtime to drop the task.
        assert!(ending.is_empty());
        assert_eq!(ending.recv().await, Ok(Ending::Cancelled));
    }

    #[tokio::test]
    async fn shutdown_aborts_and_waits_until_every_task_is_gone() {
        let (report, ending) = async_channel::unbounded();
        let (_open, gate) = async_channel::bounded::<()>(1);
        let mut set = JoinSet::new();
        for _ in 0..3 {
            set.spawn(gated(gate.clone(), Witness::new(&report)));
        }
        set.shutdown().await; // `abort_all`, then `join_next` until `None`.
        assert_eq!(ending.len(), 3, "every task is gone already");
    }
    // ANCHOR_END: join_set_drop

    #[test]
    fn first_answer_smol_cancels_the_rest() {
        let executor = smol::Executor::new();
        let (report, ending) = async_channel::unbounded();
        let (open, gate) = async_channel::bounded::<()>(1);
        let (_shut, never) = async_channel::bounded::<()>(1);
        let answering = {
            let witness = Witness::new(&report);
            async move {
                let _ = gate.recv().await;
                witness.finished();
                Some("answer")
            }
        };
        let waiting = |gate: Receiver<()>| {
            let witness = Witness::new(&report);
            async move {
                gated(gate, witness).await;
                Some("late")
            }
        };
        let fetches = [
            futures::future::Either::Left(answering),
            futures::future::Either::Right(waiting(never.clone())),
            futures::future::Either::Right(waiting(never)),
        ];
        let answer = smol::block_on(executor.run(async {
            open.send(()).await.unwrap();
            let answer = first_answer_smol(&executor, fetches).await;
            let seen = endings(&ending, 3).await;
            (answer, seen)
        }));
        let (answer, mut seen) = answer;
        assert_eq!(answer, Some("answer"));
        seen.sort_by_key(|ending| *ending == Ending::Cancelled);
        use Ending::{Cancelled, Finished};
        assert_eq!(seen, [Finished, Cancelled, Cancelled]);
    }
}
