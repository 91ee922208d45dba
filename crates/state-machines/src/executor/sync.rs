//! The thread-safe parts of the crate take their primitives from here: `std`'s normally, loom's
//! in the model-checking build (the crate's own tests with `RUSTFLAGS="--cfg loom"`, see
//! `loom_tests`; loom is a dev-dependency, so only the test build switches).
//!
//! Almost everything in this crate lives on one thread (`Rc`, `RefCell`, `Cell`). The exceptions
//! are what a [`Waker`](std::task::Waker) touches, because a waker is `Send + Sync`: any thread
//! that holds one may call it. The run queue and each task's `scheduled` flag (in
//! [`crate::executor`]), the woken list and each slot's `queued` flag (in
//! [`crate::executor::join`]), and the executor's thread handle, which a wake unparks. Those are the parts where a wake from
//! another thread can race with the executor, and so the parts loom checks: under `cfg(loom)`,
//! loom replaces them with versions that explore every interleaving of the model's threads.
//!
//! `Arc` stays `std`'s in both builds: `Waker::from` (the `Wake` trait) takes a `std` `Arc`, and
//! a reference count cannot race in a way that matters here (it only decides when memory is
//! freed, which loom need not explore for this crate's questions: is a wake ever lost? is a task
//! ever queued twice?).

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// The thread operations the executor parks and unparks with.
pub(crate) mod thread {
    #[cfg(all(test, loom))]
    pub(crate) use loom::thread::{Thread, current, park};
    #[cfg(not(all(test, loom)))]
    pub(crate) use std::thread::{Thread, current, park, park_timeout};

    /// Under loom there is no clock. `park_timeout` may return at any moment (the timeout can be
    /// as short as the caller likes, and spurious wake-ups are allowed), so "return now" is one
    /// of its correct behaviours; yielding lets loom run the other threads first.
    #[cfg(all(test, loom))]
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::yield_now();
    }
}
