//! Solution of exercise 12: a timer future, woken from a thread, that always wakes the latest
//! waker it was given.
//!
//! The exercise (`exercises/12-timer-future/src/lib.rs`) explains the task; chapter 6 of the
//! book (`book/src/futures-by-hand.md`) explains the style. `crates/state-machines/src/reactor.rs`
//! does the same for many timers with one heap instead of one thread each.

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
    // ANCHOR: new
    /// Starts the timer now: a thread sleeps for `duration`, then marks the future completed
    /// and wakes the last task that polled it.
    pub fn new(duration: Duration) -> TimerFuture {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let for_thread = Arc::clone(&shared);
        thread::spawn(move || {
            thread::sleep(duration);
            let waker = {
                let mut shared = for_thread.lock().unwrap_or_else(PoisonError::into_inner);
                shared.completed = true;
                shared.waker.take()
            };
            // Wake outside the lock: waking may run code (an executor's) that wants to poll us,
            // and `poll` takes the same lock.
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        TimerFuture { shared }
    }
    // ANCHOR_END: new
}

// ANCHOR: poll
impl Future for TimerFuture {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        if shared.completed {
            return Poll::Ready(());
        }
        // Keep the *latest* waker: a future can move between tasks (or an executor can change
        // wakers), and only the last task that polled it is waiting for it. `will_wake` saves a
        // clone when the waker has not changed.
        match &mut shared.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
// ANCHOR_END: poll
