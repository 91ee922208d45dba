//! # Exercise 12: a timer future with a waker
//!
//! Chapter 6, Futures by hand (`book/src/futures-by-hand.md`). About 15 minutes.
//!
//! Exercise 10's countdown woke itself. A real future waits for something outside, and that
//! something must wake the task when it happens. Here the "something" is a thread that sleeps:
//! the classic first example of the async book, and all a waker is about.
//!
//! [`TimerFuture`] shares a [`Shared`] with its thread, behind `Arc<Mutex<…>>`:
//!
//! 1. [`TimerFuture::new`]: a thread completes the timer after `duration`, and wakes whoever
//!    waits for it, if anyone does;
//! 2. `poll`: `Ready(())` once the timer has completed; otherwise `Pending`, with the task
//!    that polled **last** sure to be woken (a future can move between tasks).
//!
//! Whatever the order in which the thread and `poll` run, no wake-up may be lost, and no
//! deadlock is allowed: waking may make an executor poll the future at once, on the thread
//! that wakes it.
//!
//! No `async` and no `.await` in this file (a test checks).
//!
//! Check your work with `cargo run -- learn check 12`. Stuck? `cargo run -- learn hint 12`.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// What the future and its timer thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Set by the thread once the time has passed.
    completed: bool,
    /// The waker of the task that polled last, for the thread to wake.
    waker: Option<Waker>,
}

/// A future that completes once `duration` has passed, woken by a thread of its own.
///
/// One thread per timer is what the async book's first example does, and it is a fine way to
/// see how wakers work. A runtime keeps all its timers in one structure instead, served by one
/// thread (or by the executor itself): see `crates/state-machines/src/reactor.rs`.
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct TimerFuture {
    /// Shared with the timer thread.
    shared: Arc<Mutex<Shared>>,
}

impl TimerFuture {
    /// Starts the timer now: a thread sleeps for `duration`, then marks the future completed
    /// and wakes the last task that polled it.
    pub fn new(duration: Duration) -> TimerFuture {
        let shared = Arc::new(Mutex::new(Shared::default()));
        // TODO: after `duration`, the timer is completed and the waiting task, if any, woken.
        todo!("start a thread that completes the timer and wakes the task")
    }
}

impl Future for TimerFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // TODO: `Ready(())` once completed; otherwise `Pending`, with this poll's task sure to
        // be woken on completion, even if it completes right now.
        todo!("ready, or remember who to wake")
    }
}
