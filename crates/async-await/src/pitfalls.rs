//! Four mistakes async Rust makes easy, each small, runnable and tested.
//!
//! 1. [Blocking the executor](blocking_vs_async_wait): `std::thread::sleep` (or
//!    any blocking call) inside async code keeps its thread from running any
//!    other task: on a single-threaded executor that is every task; on tokio's
//!    multi-threaded one, the tasks queued on that worker until others steal
//!    them, and everything once every worker is blocked.
//! 2. [Holding a `std::sync::MutexGuard` across `.await`](add_then_wait): the
//!    future is no longer `Send`, so `tokio::spawn` refuses it, on every
//!    runtime flavour. Where nothing asks for `Send` (futures joined on one
//!    thread), it compiles and [deadlocks](second_lock_on_one_thread).
//! 3. [A future that is never awaited](created_but_never_awaited): it does
//!    nothing at all. This is the bug in the seed article's Python example
//!    (`process_data` called without `await`), and Rust has it too;
//!    `#[must_use]` warns.
//! 4. [Cancellation by `select`](drain_losing_messages): the branch that loses
//!    a race is dropped wherever it stood, so a message it had already taken
//!    from a channel is lost.
//!
//! The pipeline avoids all four; each section says where. Read next:
//! `tests/it/main.rs`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_channel::Receiver;
use rosetta_pipeline::Trace;
use rosetta_pipeline::run::AttemptOutcome;
use rosetta_pipeline::trace::{EventKind, TraceSummary};

use crate::fetch::with_timeout;
use crate::runtime::Runtime;

// ANCHOR: blocking
// ANCHOR: wait_enum
/// How a task waits, in [`blocking_vs_async_wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `std::thread::sleep`: blocks the thread, and with it every task the
    /// thread would run.
    Blocking,
    /// The runtime's sleep: the task yields, and the thread runs other tasks
    /// meanwhile.
    Async,
}
// ANCHOR_END: wait_enum

// ANCHOR: blocking_runtime
/// Pitfall 1: runs `tasks` tasks on tokio's *current-thread* runtime (one
/// thread for all tasks), each of which "fetches" for `wait`, waiting as `how`
/// says, and returns the figures of their trace.
///
/// With [`Wait::Async`] every task starts before the first one finishes:
/// `peak_attempts` is `tasks`. With [`Wait::Blocking`] a task never reaches an
/// `.await`, so the executor cannot run anything else until it ends: the tasks
/// run one after the other, `peak_attempts` is 1, and the program is as slow as
/// the sequential reference while looking concurrent. On tokio's multi-threaded
/// runtime the same mistake is rarer to see and worse to debug: it takes one
/// worker out of the pool; the other workers steal the tasks queued on it
/// (except the one in its LIFO slot, which waits for the blocking call to end),
/// and only when every worker is blocked at once does everything stop, timers
/// and I/O included.
///
/// The pipeline only ever waits with [`Runtime::sleep`]. Blocking work that
/// cannot be avoided belongs on a thread of its own
/// (`tokio::task::spawn_blocking`, `smol::unblock`).
pub fn blocking_vs_async_wait(
    tasks: usize,
    wait: Duration,
    how: Wait,
) -> TraceSummary {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect(
            "a current-thread runtime starts no thread, so it cannot fail \
             to start",
        );
    let trace = Trace::new();
    // ANCHOR_END: blocking_runtime
    // ANCHOR: blocking_tasks
    runtime.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|source| {
                let trace = trace.clone();
                tokio::spawn(async move {
                    trace.record(EventKind::AttemptStarted {
                        source,
                        attempt: 1,
                    });
                    match how {
                        // The mistake.
                        Wait::Blocking => std::thread::sleep(wait),
                        Wait::Async => tokio::time::sleep(wait).await,
                    }
                    let outcome = AttemptOutcome::Answered;
                    trace.record(EventKind::AttemptFinished {
                        source,
                        attempt: 1,
                        outcome,
                    });
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("the tasks do not panic");
        }
    });
    trace.summary()
}
// ANCHOR_END: blocking_tasks
// ANCHOR_END: blocking

// ANCHOR: mutex_guard
// ANCHOR: mutex_guard_scoped
/// Pitfall 2, fixed: adds one to `counter`, then waits `pause`; returns the new
/// count.
///
/// The obvious version does not compile when spawned. The guard of a
/// `std::sync::Mutex` must be released on the thread that took it, so it is not
/// `Send`; held across an `.await`, it becomes part of the future's state, and
/// a multi-threaded runtime may resume the future on another thread.
/// `tokio::spawn` demands `Send` futures, whatever the runtime's flavour, and
/// refuses this one with "future cannot be sent between threads safely":
/// `lock_across_await.rs` in `crates/compile-errors/tests/ui/` is that
/// program, and `lock_across_await.stderr` beside it the compiler's whole
/// answer, checked word for word by `trybuild`.
///
/// The fix is to end the guard's scope before the `.await`, as below (the
/// pipeline's [`SingleFlightCache`](crate::cache::SingleFlightCache) does the
/// same). When the lock really must be held across the wait, use an async
/// mutex, whose guard is `Send`: [`add_while_waiting`].
pub async fn add_then_wait(counter: Arc<Mutex<u64>>, pause: Duration) -> u64 {
    let count = {
        let mut count = counter.lock().unwrap_or_else(PoisonError::into_inner);
        *count += 1;
        *count
        // The guard is dropped here: nothing that is not `Send` lives across
        // the `.await`.
    };
    tokio::time::sleep(pause).await;
    count
}
// ANCHOR_END: mutex_guard_scoped

// ANCHOR: mutex_guard_async
/// Pitfall 2, the other fix: an async mutex (`async_lock::Mutex`;
/// `tokio::sync::Mutex` is the same idea) may be held across `.await`. Other
/// tasks that want it wait asynchronously, so increments are serialised
/// *including* the pause. Use it only when that is what you need: it is slower
/// than a `std` mutex, and holding any lock across a wait invites deadlocks.
pub async fn add_while_waiting(
    counter: Arc<async_lock::Mutex<u64>>,
    pause: Duration,
) -> u64 {
    let mut count = counter.lock().await;
    *count += 1;
    tokio::time::sleep(pause).await;
    *count
}
// ANCHOR_END: mutex_guard_async
// ANCHOR_END: mutex_guard

// ANCHOR: one_thread_deadlock
/// Pitfall 2 where it compiles: two futures joined on one thread, with no
/// `spawn` and so no `Send` bound. The first takes a `std` lock and holds the
/// guard across an `.await`; the second then wants the lock. Returns whether
/// the lock was taken when the second asked: `true`.
///
/// The second cannot wait for the first's `.await` to end: `lock()` would block
/// the thread, and the first future, the only one that can release the guard,
/// can resume only on that same thread. So `lock()` would never return (the
/// standard library says it may deadlock or panic; on Linux it hangs): a
/// deadlock, not a wait. This function asks with `try_lock`, which answers
/// `WouldBlock` instead of hanging.
pub fn second_lock_on_one_thread() -> bool {
    let counter = Mutex::new(0_u64);
    // The mistake, on purpose: clippy's `await_holding_lock` lint would catch
    // it.
    #[allow(clippy::await_holding_lock)]
    let first = async {
        let mut count = counter.lock().unwrap_or_else(PoisonError::into_inner);
        *count += 1;
        smol::future::yield_now().await; // Suspends once, with the guard alive.
        *count
    };
    let second = async { counter.try_lock().is_err() };
    // `join` polls `first` (lock taken, suspended), then `second`, on this one
    // thread.
    let (count, taken) =
        futures::executor::block_on(futures::future::join(first, second));
    assert_eq!(count, 1);
    taken
}
// ANCHOR_END: one_thread_deadlock

// ANCHOR: never_awaited
/// Pitfall 3: the seed's `process_data`, in Rust. Counts one processed item in
/// `processed`.
///
/// Calling an `async fn` runs *none* of its body: it returns a future, and the
/// body runs only when the future is polled (awaited, spawned, or passed to
/// `block_on`). A call without `.await` does nothing, which is exactly the
/// seed's Python bug. Python warns at run time ("coroutine was never awaited");
/// Rust warns at compile time, because futures are `#[must_use]`. The lint
/// `unused_must_use` is a warning by default, and this workspace denies it,
/// making it an error: `never_awaited.rs` in `crates/compile-errors/tests/ui/`
/// is the call without `.await`, and `never_awaited.stderr` beside it the
/// compiler's answer, checked by `trybuild`.
///
/// The lint only sees a future thrown away on the spot. `let _ =
/// process_data(..)` compiles (clippy's `let_underscore_future` lint flags it),
/// and a future stored and dropped later, as in [`created_but_never_awaited`],
/// is flagged by nothing; both do nothing just the same. The pipeline awaits
/// every future it creates, and the handle of every task it spawns.
pub async fn process_data(processed: &AtomicU32) {
    processed.fetch_add(1, Ordering::Relaxed);
}

/// Pitfall 3, shown: creates the future of [`process_data`] and drops it
/// without polling it. Returns how many items were processed: zero.
pub fn created_but_never_awaited() -> u32 {
    let processed = AtomicU32::new(0);
    // Creating a future runs none of its body...
    let future = process_data(&processed);
    // ...and dropping it never will.
    drop(future);
    processed.load(Ordering::Relaxed)
}
// ANCHOR_END: never_awaited

// ANCHOR: cancellation
// ANCHOR: steps_of_the_loser
/// Pitfall 4, the mechanism: races a slow future (`steps` is 1 after its first
/// step, 2 after its second) against a timeout, then lets the slow one's wait
/// end and gives it time for its second step, had it lived; returns `steps`: 1.
///
/// The loser of a race is dropped where it stood, at an `.await`, and never
/// polled again: whatever follows that `.await` never happens. This is not like
/// a thread, which cannot be stopped from outside, nor like a JavaScript
/// promise, which runs on when nobody listens. The pipeline relies on it: a
/// hanging feed's future is dropped when its timeout fires.
pub async fn steps_of_the_loser<R: Runtime>(
    runtime: &R,
    timeout: Duration,
) -> u32 {
    let steps = AtomicU32::new(0);
    // The slow future waits at a gate that opens only after the race, so the
    // timeout wins however late the threads run (a second timer could tie with
    // the first on a busy machine).
    let (open, gate) = async_channel::bounded::<()>(1);
    let slow = async {
        steps.fetch_add(1, Ordering::Relaxed);
        let _ = gate.recv().await; // Dropped here...
        steps.fetch_add(1, Ordering::Relaxed); // ...so this never runs.
    };
    let finished = with_timeout(runtime, timeout, slow).await;
    assert!(finished.is_none(), "the gate was shut for the whole race");
    // The gate opens (the channel closes): a live `slow` could now go on.
    drop(open);
    // Time enough for its second step, had it been alive.
    runtime.sleep(timeout).await;
    steps.load(Ordering::Relaxed)
}
// ANCHOR_END: steps_of_the_loser

// ANCHOR: drain_losing
/// Pitfall 4, the bug: a consumer that takes messages from `inbox`, handles
/// each for `handling`, and every `tick` stops to do something else (here,
/// nothing). Returns the messages it handled, until `inbox` is closed and
/// empty.
///
/// Receiving *and* handling are inside the raced future, so when the tick comes
/// first, the future is dropped with a message already taken from the channel
/// and not yet handled: the message is gone. With `handling` longer than
/// `tick`, every message is lost. A future is *cancellation-safe* if dropping
/// it at any `.await` loses nothing; this one is not. The pipeline's race is
/// safe: the feed's future takes nothing from anyone before it completes, so
/// dropping it loses nothing but the wait.
pub async fn drain_losing_messages<R: Runtime>(
    runtime: &R,
    inbox: &Receiver<u32>,
    handling: Duration,
    tick: Duration,
) -> Vec<u32> {
    let mut handled = Vec::new();
    loop {
        let receive_and_handle = async {
            let message = inbox.recv().await.ok()?;
            // If the tick wins now, `message` is dropped with us.
            runtime.sleep(handling).await;
            Some(message)
        };
        match with_timeout(runtime, tick, receive_and_handle).await {
            Some(Some(message)) => handled.push(message),
            Some(None) => return handled, // Closed and empty.
            None => continue, // The tick: housekeeping would go here.
        }
    }
}
// ANCHOR_END: drain_losing

// ANCHOR: drain_keeping
/// Pitfall 4, fixed: the same consumer, racing only `recv()` against the tick.
///
/// `async_channel`'s `recv()` is cancellation-safe: until it completes it has
/// taken nothing, so dropping it loses nothing. Handling happens after the
/// race, where no tick can interrupt it. (The other fix is to keep the
/// unfinished future and race *it* again after the tick, instead of making a
/// new one.)
pub async fn drain_keeping_messages<R: Runtime>(
    runtime: &R,
    inbox: &Receiver<u32>,
    handling: Duration,
    tick: Duration,
) -> Vec<u32> {
    let mut handled = Vec::new();
    loop {
        match with_timeout(runtime, tick, inbox.recv()).await {
            Some(Ok(message)) => {
                runtime.sleep(handling).await;
                handled.push(message);
            }
            Some(Err(_closed)) => return handled,
            None => continue,
        }
    }
}
// ANCHOR_END: drain_keeping
// ANCHOR_END: cancellation

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{AsyncStd, Smol, Tokio};

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_blocking_wait_serialises_tasks_on_one_thread() {
        let blocking = blocking_vs_async_wait(4, 5 * MS, Wait::Blocking);
        let asynchronous = blocking_vs_async_wait(4, 5 * MS, Wait::Async);
        assert_eq!((blocking.attempts, asynchronous.attempts), (4, 4));
        assert_eq!(blocking.peak_attempts, 1, "blocked: one task at a time");
        assert_eq!(asynchronous.peak_attempts, 4, "async: all four overlap");
        assert_eq!((blocking.threads, asynchronous.threads), (1, 1));
    }

    #[test]
    fn a_guard_scoped_before_the_await_makes_a_send_future() {
        Tokio::block_on(|_| async {
            let counter = Arc::new(Mutex::new(0));
            // `tokio::spawn` compiles only because `add_then_wait`'s future is
            // `Send`.
            let tasks: Vec<_> = (0..8)
                .map(|_| tokio::spawn(add_then_wait(Arc::clone(&counter), MS)))
                .collect();
            let mut seen = Vec::new();
            for task in tasks {
                seen.push(task.await.unwrap());
            }
            seen.sort();
            assert_eq!(
                seen,
                (1..=8).collect::<Vec<_>>(),
                "each saw its own increment"
            );
            assert_eq!(*counter.lock().unwrap(), 8);
        })
        .unwrap();
    }

    #[test]
    fn a_guard_held_across_an_await_blocks_a_second_locker_on_the_same_thread()
    {
        assert!(
            second_lock_on_one_thread(),
            "lock() here would never return"
        );
    }

    #[test]
    fn an_async_mutex_may_be_held_across_an_await() {
        Tokio::block_on(|_| async {
            let counter = Arc::new(async_lock::Mutex::new(0));
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    tokio::spawn(add_while_waiting(Arc::clone(&counter), MS))
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(*counter.lock().await, 8);
        })
        .unwrap();
    }

    #[test]
    fn a_future_does_nothing_until_it_is_awaited() {
        assert_eq!(created_but_never_awaited(), 0);
        let processed = AtomicU32::new(0);
        let future = process_data(&processed);
        assert_eq!(
            processed.load(Ordering::Relaxed),
            0,
            "created, not yet run"
        );
        futures::executor::block_on(future);
        assert_eq!(processed.load(Ordering::Relaxed), 1, "awaited: it ran");
    }

    #[test]
    fn the_loser_of_a_race_stops_at_its_await_on_every_runtime() {
        let timeout = 5 * MS;
        let tokio = Tokio::block_on(|rt| async move {
            steps_of_the_loser(&rt, timeout).await
        });
        let smol = Smol::block_on(|rt| async move {
            steps_of_the_loser(&rt, timeout).await
        });
        let async_std = AsyncStd::block_on(|rt| async move {
            steps_of_the_loser(&rt, timeout).await
        });
        assert_eq!(tokio.unwrap(), 1);
        assert_eq!(smol.unwrap(), 1);
        assert_eq!(async_std.unwrap(), 1);
    }

    /// Sends 1, 2, 3 into a closed channel and drains it with `drain`.
    fn drain_three<Drain, Fut>(drain: Drain) -> Vec<u32>
    where
        Drain: FnOnce(Smol, Receiver<u32>) -> Fut,
        Fut: Future<Output = Vec<u32>>,
    {
        let (outbox, inbox) = async_channel::unbounded();
        for message in [1, 2, 3] {
            outbox.try_send(message).unwrap();
        }
        // The messages stay; `recv` fails only once they are all taken.
        outbox.close();
        Smol::block_on(|runtime| drain(runtime, inbox)).unwrap()
    }

    #[test]
    fn a_message_taken_inside_a_losing_branch_is_lost() {
        // Handling takes far longer than a tick, so the tick always wins (a
        // scheduler stall of ten seconds aside) and every message is taken and
        // lost.
        let handled = drain_three(|runtime, inbox| async move {
            drain_losing_messages(&runtime, &inbox, 10_000 * MS, 5 * MS).await
        });
        assert_eq!(handled, Vec::<u32>::new());
    }

    #[test]
    fn racing_only_the_receive_loses_nothing() {
        let handled = drain_three(|runtime, inbox| async move {
            drain_keeping_messages(&runtime, &inbox, 10 * MS, 5 * MS).await
        });
        assert_eq!(handled, [1, 2, 3]);
    }
}
