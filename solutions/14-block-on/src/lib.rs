//! Solution of exercise 14: `block_on`, an executor for one future, that sleeps with
//! `thread::park` and is woken with `Thread::unpark`.
//!
//! The exercise (`exercises/14-block-on/src/lib.rs`) explains the task; chapter 6 of the book
//! (`book/src/futures-by-hand.md`) explains the style. `crates/state-machines/src/executor.rs`
//! adds a run queue, so that it can run many tasks.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// A waker that unparks the thread running [`block_on`].
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
        // If the thread is not parked yet, this leaves it a token: its next `park` returns at
        // once. So a wake-up that comes between a poll and the park is not lost.
        self.thread.unpark();
    }
}
// ANCHOR_END: wake

// ANCHOR: block_on
/// Runs `future` to completion on the current thread and returns its output. The thread
/// sleeps whenever the future is pending, until the future's waker is called.
pub fn block_on<F: Future>(future: F) -> F::Output {
    // Pinned on this function's stack: it will not move again until it is dropped here.
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker {
        thread: thread::current(),
    }));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // Sleep until woken. `park` may also return for no reason ("spuriously"); polling
            // once too often is harmless, so no check is needed.
            Poll::Pending => thread::park(),
        }
    }
}
// ANCHOR_END: block_on
