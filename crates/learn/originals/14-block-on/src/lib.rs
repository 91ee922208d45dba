//! # Exercise 14: `block_on`
//!
//! Chapter 6, Futures by hand (`book/src/futures-by-hand.md`). About 15 minutes.
//!
//! Every runtime has a `block_on`: run this future to the end, on this thread, and give me its
//! output. It is the smallest executor there is, and the place where "who polls the future,
//! and when?" gets its answer: poll it; if it is pending, **sleep until its waker is called**;
//! poll again.
//!
//! Threads can sleep like that already: `std::thread::park()` sleeps until another thread
//! calls `unpark()` on this thread's `Thread` handle. So a waker for `block_on` is just
//! "unpark the thread that runs `block_on`":
//!
//! 1. [`ThreadWaker`]'s `wake`: unpark its thread. `std::task::Wake` turns an
//!    `Arc<ThreadWaker>` into a `Waker` (`Waker::from(arc)`), no `unsafe` needed.
//! 2. [`block_on`]: pin the future (`std::pin::pin!`), make a `Waker` for the current thread
//!    (`thread::current()`) and a `Context` from it, then loop: poll; `Ready` returns the output,
//!    `Pending` parks.
//!
//! Two properties of `park` make this correct: an `unpark` that comes *before* the `park`
//! (the future was woken while it was still being polled) leaves a token, so the `park` returns
//! at once and no wake-up is lost; and `park` may return for no reason at all, which is
//! harmless here (one poll too many). What is not harmless is to skip `park` and poll in a
//! loop: the tests count the polls.
//!
//! No `async` and no `.await` in this file (a test checks).
//!
//! Check your work with `cargo run -- learn check 14`. Stuck? `cargo run -- learn hint 14`.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// A waker that unparks the thread running [`block_on`].
struct ThreadWaker {
    /// The thread to unpark.
    thread: Thread,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        // TODO: unpark `self.thread`.
        todo!("wake the thread that runs `block_on`")
    }
}

/// Runs `future` to completion on the current thread and returns its output. The thread
/// sleeps whenever the future is pending, until the future's waker is called.
pub fn block_on<F: Future>(future: F) -> F::Output {
    // TODO: `let mut future = pin!(future);`, a `Waker::from(Arc::new(ThreadWaker { ... }))`
    // for `thread::current()`, a `Context::from_waker(&waker)`, then a loop that polls
    // `future.as_mut()` and parks on `Pending`.
    todo!("poll, park, repeat")
}
