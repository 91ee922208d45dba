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
//! 1. [`TimerFuture::new`]: spawn a thread that sleeps `duration`, then sets `completed` and
//!    wakes the stored waker, if any. Take the waker out under the lock, and call `wake()`
//!    after releasing it (waking may make an executor poll us at once, and `poll` takes the
//!    same lock).
//! 2. `poll`: under the lock, if `completed`, `Ready(())`; otherwise store a clone of
//!    `cx.waker()` and return `Pending`. Store the waker of **every** poll, not just the first:
//!    only the task that polled last is waiting, and a future can move between tasks.
//!    (`Waker::will_wake` tells you when the stored one is the same, to save a clone.)
//!
//! Checking `completed` and storing the waker under one lock is what makes this correct: the
//! thread cannot complete between the check and the store, so no wake-up is lost.
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
        // TODO: spawn the timer thread with a clone of `shared`: sleep, then set `completed`
        // and take the waker under the lock; wake it after the lock is released.
        todo!("start a thread that completes the timer and wakes the task")
    }
}

impl Future for TimerFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // TODO: lock `self.shared`; if completed, `Ready(())`; otherwise keep a clone of
        // `cx.waker()` (replacing any older one) and return `Pending`.
        todo!("ready, or remember who to wake")
    }
}
