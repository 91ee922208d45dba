//! # Exercise 14: `block_on`, with a time limit
//!
//! Chapter 6, Futures by hand (`book/src/futures-by-hand.md`). About 20 minutes.
//!
//! Every runtime has a `block_on`: run this future to the end, on this thread, and give me its
//! output. It is the smallest executor there is, and the place where "who polls the future,
//! and when?" gets its answer: poll it; if it is pending, **sleep until its waker is called**;
//! poll again. A thread can sleep like that already: `std::thread::park()` sleeps until
//! another thread calls `unpark()` on this thread's `Thread` handle, and
//! `std::thread::park_timeout(d)` sleeps at most `d`.
//!
//! This `block_on` also gives up: [`block_on_timeout`] runs a future for at most `limit`, and
//! returns [`TimedOut`] if it is still pending then. Its contract (the tests check each point):
//!
//! - a future that finishes within the limit gives its output, however many times it was
//!   woken before (a wake that comes while the future is being polled is not lost);
//! - the thread **sleeps** while the future is pending, and polls it again only when it was
//!   woken or the time is up: no polling in a loop (the tests count the polls);
//! - the limit is for the **whole call**: a future that is woken again and again, but never
//!   finishes, still times out;
//! - a future that is ready at its first poll wins, even with a limit of zero; a limit too
//!   long for the clock (`Duration::MAX`) is no limit at all;
//! - on a time-out, the future is dropped before `block_on_timeout` returns.
//!
//! No `async` and no `.await` in this file (a test checks).
//!
//! Check your work with `cargo run -- learn check 14`. Stuck? `cargo run -- learn hint 14`.

use std::fmt;
use std::sync::Arc;
use std::task::Wake;
use std::thread::Thread;
use std::time::Duration;

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

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        // TODO: wake the thread that waits in `block_on_timeout`, even if it is not asleep yet.
        todo!("wake the thread that runs `block_on_timeout`")
    }
}

/// Runs `future` on the current thread until it finishes or `limit` has passed, whichever
/// comes first; returns its output, or [`TimedOut`]. The thread sleeps whenever the future is
/// pending, until the future's waker is called or the time is up.
pub fn block_on_timeout<F: Future>(future: F, limit: Duration) -> Result<F::Output, TimedOut> {
    // TODO: keep the contract at the top of this file: the output if the future finishes in
    // time, `TimedOut` once `limit` has passed since the call, asleep whenever it is pending.
    todo!("poll, sleep until woken or out of time, repeat")
}
