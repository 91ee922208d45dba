//! Chapter 7.1: the first `tokio::spawn`, and the fixes for the two errors it
//! meets (`book/src/spawning.md`).
//!
//! `tokio::spawn` asks for a future that is `Send` (a worker thread of the
//! multi-threaded runtime may poll it, and another one may poll it next) and
//! `'static` (the task may outlive the function that spawned it). The programs
//! that break those rules are compile-fail tests in `crates/async-await/tests/
//! ui/` (`spawn_borrowed_local`, `spawn_borrowed_parameter`,
//! `refcell_across_await`); this module holds what the chapter does instead:
//!
//! - [`start_in_background`]: why `'static`: a task goes on after its spawner
//!   has returned;
//! - [`lengths_in_scoped_threads`]: threads that borrow, because a scope waits
//!   for them, and why tasks cannot do the same;
//! - [`regions_in_tasks`]: what each task owns (a clone of an `Arc`, its own
//!   copy of a name), moved in, and the value returned by the task instead of
//!   written into a borrowed place;
//! - [`record_then_wait`]: a guard's scope ended before the `.await`;
//! - [`lengths_on_one_thread`]: `!Send` state kept, with `spawn_local` on a
//!   `LocalSet`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, ThreadId};

use tokio::sync::oneshot;
use tokio::task::{self, JoinHandle, LocalSet};

// ANCHOR: outlives
/// Starts a task that sends `label` when it has run, and returns at once: the
/// task goes on after this function has returned, and after `label`'s owner
/// here is gone. That is why it may borrow nothing from this function.
pub fn start_in_background(label: String, done: oneshot::Sender<String>) {
    tokio::spawn(async move {
        task::yield_now().await; // Still running: the caller has returned.
        let _ = done.send(label); // The receiver may be gone: that is fine.
    });
}
// ANCHOR_END: outlives

// ANCHOR: scoped_threads
/// The length of each name, each measured by a thread that borrows it.
pub fn lengths_in_scoped_threads(names: &[String]) -> Vec<usize> {
    thread::scope(|scope| {
        let threads: Vec<_> = names
            .iter()
            .map(|name| scope.spawn(move || name.len())) // Borrows `name`.
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a thread panicked"))
            .collect()
    }) // `scope` returns only once every thread has ended.
}
// ANCHOR_END: scoped_threads

/// What [`lengths_on_one_thread`] found.
#[derive(Debug)]
pub struct Measured {
    /// Each name's length, and the thread its task ran on, in input order.
    pub lengths: Vec<(usize, ThreadId)>,
    /// The names in the order their tasks measured them.
    pub log: Vec<String>,
}

/// A station registry: station name to region.
pub type Registry = HashMap<String, String>;

// ANCHOR: arc_move
/// Looks every station up in `registry`, one spawned task per station, and
/// returns their regions in the order of `stations`.
pub async fn regions_in_tasks(
    registry: &Arc<Registry>,
    stations: &[String],
) -> Vec<Option<String>> {
    let mut tasks = Vec::with_capacity(stations.len());
    for station in stations {
        // What every task reads: one more handle on the same map, no copy.
        let registry = Arc::clone(registry);
        // What only this task uses: a copy of its own.
        let station = station.clone();
        // `async move` moves both into the task, which now owns them.
        tasks.push(tokio::spawn(async move {
            task::yield_now().await; // A lookup would wait here.
            registry.get(&station).cloned()
        }));
    }
    // ANCHOR_END: arc_move
    // ANCHOR: return_value
    // Every task is running. Each returns its answer through its handle, so
    // nothing is written into a shared place, and awaiting the handles in the
    // order of `stations` puts the answers in that order, whichever task
    // finished first.
    let mut regions = Vec::with_capacity(tasks.len());
    for task in tasks {
        regions.push(task.await.expect("a lookup task panicked"));
    }
    regions
}
// ANCHOR_END: return_value

// ANCHOR: guard_block
/// Adds `name` to the shared `seen` list in a task of its own, then waits;
/// the task returns how many names the list held after its own.
pub fn record_then_wait(
    seen: Arc<Mutex<Vec<String>>>,
    name: String,
) -> JoinHandle<usize> {
    tokio::spawn(async move {
        let count = {
            let mut list = seen.lock().unwrap_or_else(PoisonError::into_inner);
            list.push(name);
            list.len()
        }; // The guard ends with the block, before the `.await`.
        task::yield_now().await;
        count
    })
}
// ANCHOR_END: guard_block

// ANCHOR: local_set
/// The length of each name, each measured by a task of its own; the tasks
/// share a `!Send` log (an `Rc<RefCell<_>>`) of the names they measured, so
/// they all run on the thread that polls this function's future.
pub async fn lengths_on_one_thread(names: Vec<String>) -> Measured {
    let log = Rc::new(RefCell::new(Vec::new()));
    let local = LocalSet::new();
    let mut tasks = Vec::with_capacity(names.len());
    for name in names {
        let log = Rc::clone(&log);
        // `spawn_local` asks for `'static`, but not for `Send`.
        tasks.push(local.spawn_local(async move {
            task::yield_now().await; // The `Rc` lives across this `.await`.
            let length = name.len();
            log.borrow_mut().push(name);
            (length, thread::current().id())
        }));
    }
    // The tasks run only while the `LocalSet` is polled: `run_until` polls
    // it, on this thread, until the handles have answered.
    let lengths = local
        .run_until(async {
            let mut lengths = Vec::with_capacity(tasks.len());
            for task in tasks {
                lengths.push(task.await.expect("a local task panicked"));
            }
            lengths
        })
        .await;
    Measured {
        lengths,
        log: log.take(),
    }
}
// ANCHOR_END: local_set

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|&item| item.to_owned()).collect()
    }

    #[tokio::test]
    async fn a_spawned_task_runs_on_after_its_spawner_has_returned() {
        let (done, finished) = oneshot::channel();
        start_in_background(String::from("report"), done);
        // `start_in_background` has returned; its task has not run yet (this
        // current-thread runtime runs it only when the test's body waits).
        assert_eq!(finished.await.as_deref(), Ok("report"));
    }

    #[test]
    fn scoped_threads_borrow_and_are_joined_before_the_scope_ends() {
        let names = strings(&["oslo", "bergen", "tromsø"]);
        assert_eq!(lengths_in_scoped_threads(&names), [4, 6, 7]);
        // `names` was only borrowed: it is still here.
        assert_eq!(names.len(), 3);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_task_owns_a_clone_and_answers_in_the_order_asked() {
        let registry: Arc<Registry> = Arc::new(
            [("oslo", "east"), ("bergen", "west")]
                .into_iter()
                .map(|(station, region)| (station.into(), region.into()))
                .collect(),
        );
        let stations = strings(&["bergen", "nowhere", "oslo"]);
        let regions = regions_in_tasks(&registry, &stations).await;
        assert_eq!(
            regions,
            [Some("west".to_owned()), None, Some("east".to_owned())]
        );
        // Every task has ended and dropped its clone of the `Arc`.
        assert_eq!(Arc::strong_count(&registry), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_guard_dropped_before_the_await_lets_the_task_be_spawned() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let names = strings(&["oslo", "bergen", "tromsø", "bodø"]);
        let tasks: Vec<_> = names
            .iter()
            .map(|name| record_then_wait(Arc::clone(&seen), name.clone()))
            .collect();
        let mut counts = Vec::new();
        for task in tasks {
            counts.push(task.await.unwrap());
        }
        // Each task saw the list after its own push: 1, 2, 3 and 4, in some
        // order, so no push was lost or seen twice.
        counts.sort_unstable();
        assert_eq!(counts, [1, 2, 3, 4]);
        let mut recorded = seen.lock().unwrap().clone();
        recorded.sort();
        let mut expected = names;
        expected.sort();
        assert_eq!(recorded, expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn local_tasks_share_an_rc_and_all_run_on_the_polling_thread() {
        let names = strings(&["oslo", "bergen", "tromsø"]);
        // The `LocalSet` is not `Send`, so neither is this future: it is not
        // spawned, it runs on the thread that polls it, the test's own.
        let here = thread::current().id();
        let measured = lengths_on_one_thread(names.clone()).await;
        let lengths: Vec<usize> =
            measured.lengths.iter().map(|&(length, _)| length).collect();
        assert_eq!(lengths, [4, 6, 7]);
        assert!(measured.lengths.iter().all(|&(_, thread)| thread == here));
        let mut log = measured.log;
        log.sort();
        let mut expected = names;
        expected.sort();
        assert_eq!(log, expected);
    }
}
