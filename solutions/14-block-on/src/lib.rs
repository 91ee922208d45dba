//! Solution of exercise 14: `block_on` with a time limit, an executor for one future that
//! sleeps with `thread::park_timeout` and is woken with `Thread::unpark`.
//!
//! The exercise (`exercises/14-block-on/src/lib.rs`) explains the task; chapter 6 of the book
//! (`book/src/futures-by-hand.md`) explains the style. `crates/state-machines/src/executor/`
//! adds a run queue, so that it can run many tasks, and timers, which wait the same way: until
//! the next deadline or a wake, whichever comes first.

use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// The future was still pending when the time limit of [`block_on_timeout`] was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the future was still pending at the time limit")
    }
}

impl std::error::Error for TimedOut {}

/// A waker that unparks the thread running [`block_on_timeout`].
struct ThreadWaker {
    /// The thread to unpark.
    thread: Thread,
}

// ANCHOR: wake
impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // If the thread is not parked yet, this leaves it a token: its next `park_timeout`
        // returns at once. So a wake-up that comes between a poll and the park is not lost.
        self.thread.unpark();
    }
}
// ANCHOR_END: wake

// ANCHOR: block_on_timeout
/// Runs `future` on the current thread until it finishes or `limit` has passed, whichever
/// comes first; returns its output, or [`TimedOut`]. The thread sleeps whenever the future is
/// pending, until the future's waker is called or the time is up.
pub fn block_on_timeout<F: Future>(future: F, limit: Duration) -> Result<F::Output, TimedOut> {
    // One deadline for the whole call, fixed now: waiting "`limit` after each wake" would never
    // end for a future that is woken more often than that. `None`: a limit past the end of the
    // clock (`Instant + Duration::MAX` would panic), which is no limit.
    let deadline = Instant::now().checked_add(limit);
    // Pinned on this function's stack: it will not move again until it is dropped here, which
    // is also what drops it on a time-out, before we return.
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker {
        thread: thread::current(),
    }));
    let mut cx = Context::from_waker(&waker);
    loop {
        // Poll first, then look at the clock: a future that is ready when the time is up still
        // wins (as `Timeout` in the chapter decides).
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return Ok(output);
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(TimedOut);
                }
                // Sleeps until woken, until the deadline, or for no reason at all ("spuriously"):
                // in every case, poll again and look at the clock again. Polling once too often
                // is harmless; trusting that a return means "woken" or "time is up" is not.
                thread::park_timeout(deadline - now);
            }
        }
    }
}
// ANCHOR_END: block_on_timeout
