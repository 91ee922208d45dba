//! The thread-safe parts of the crate take their primitives from here: `std`'s
//! and `polling`'s normally, loom's in the model-checking build (the crate's
//! own tests with `RUSTFLAGS="--cfg loom"`, see `loom_tests`; loom is a
//! dev-dependency, so only the test build switches).
//!
//! Almost everything in this crate lives on one thread (`Rc`, `RefCell`,
//! `Cell`). The exceptions are what a [`Waker`](std::task::Waker) touches,
//! because a waker is `Send + Sync`: any thread that holds one may call it. The
//! run queue and each task's `scheduled` flag (in [`crate::executor`]), the
//! woken list and each slot's `queued` flag (in [`crate::executor::join`]), and
//! the poller's `notify`, with which a wake from another thread ends the
//! executor's wait. Those are the parts where a wake from another thread can
//! race with the executor, and so the parts loom checks: under `cfg(loom)`,
//! loom replaces them with versions that explore every interleaving of the
//! model's threads.
//!
//! `Arc` stays `std`'s in both builds: `Waker::from` (the `Wake` trait) takes a
//! `std` `Arc`, and a reference count cannot race in a way that matters here
//! (it only decides when memory is freed, which loom need not explore for this
//! crate's questions: is a wake ever lost? is a task ever queued twice?).

#[cfg(all(test, loom))]
pub(crate) use loom::sync::atomic::AtomicBool;
#[cfg(all(test, loom))]
pub(crate) use loom::sync::{Mutex, MutexGuard};
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::atomic::AtomicBool;
#[cfg(not(all(test, loom)))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// The thread operations the executor uses: which thread is the executor's.
pub(crate) mod thread {
    #[cfg(all(test, loom))]
    pub(crate) use loom::thread::{ThreadId, current};
    #[cfg(not(all(test, loom)))]
    pub(crate) use std::thread::{ThreadId, current};
}

// ANCHOR: poller_stand_in
/// The poller: `polling`'s (epoll, kqueue), or, in the model-checking build, a
/// stand-in.
///
/// loom cannot model epoll: `epoll_wait` blocks the thread in the kernel, where
/// loom's scheduler cannot see it, and a model whose executor thread blocked
/// there would stop. What loom *can* check is the part of the poller that the
/// cross-thread wake relies on: `notify` from any thread ends the current or
/// the next `wait`, and is never lost. A thread's park token has exactly that
/// contract (an `unpark` before the `park` makes the `park` return at once), so
/// the stand-in's `wait` is a loom `park` and its `notify` a loom `unpark` of
/// the executor's thread. The rest of the executor (run queue, `scheduled`
/// flags, the check before the wait) runs unchanged in the model. Sockets are
/// not modelled: the stand-in refuses them.
#[cfg(all(test, loom))]
pub(crate) mod poller {
    use std::io;
    use std::time::Duration;

    pub(crate) use polling::{AsRawSource, AsSource, Event, Events};

    /// A poller with no sockets: `wait` parks, `notify` unparks (see the
    /// module's comment).
    #[derive(Debug)]
    pub(crate) struct Poller {
        /// The thread that created the poller, the executor's: the one `wait`
        /// parks.
        waiter: loom::thread::Thread,
    }

    fn not_modelled() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "loom does not model sockets",
        )
    }

    impl Poller {
        pub(crate) fn new() -> io::Result<Poller> {
            Ok(Poller {
                waiter: loom::thread::current(),
            })
        }

        /// Mirrors `polling::Poller::add`, which is `unsafe`, so that one call
        /// site fits both.
        #[allow(unsafe_code)]
        pub(crate) unsafe fn add(
            &self,
            _: impl AsRawSource,
            _: Event,
        ) -> io::Result<()> {
            Err(not_modelled())
        }

        pub(crate) fn modify(
            &self,
            _: impl AsSource,
            _: Event,
        ) -> io::Result<()> {
            Err(not_modelled())
        }

        pub(crate) fn delete(&self, _: impl AsSource) -> io::Result<()> {
            Err(not_modelled())
        }

        /// No timeout: park until notified. A zero timeout: return at once (a
        /// look, not a wait). Any other timeout: there is no clock under loom,
        /// and a wait may end early anyway (spurious wake-ups are allowed), so
        /// "return now" is a correct behaviour; yielding lets loom run the
        /// other threads first.
        pub(crate) fn wait(
            &self,
            _: &mut Events,
            timeout: Option<Duration>,
        ) -> io::Result<usize> {
            match timeout {
                None => loom::thread::park(),
                Some(timeout) if timeout.is_zero() => {}
                Some(_) => loom::thread::yield_now(),
            }
            Ok(0)
        }

        pub(crate) fn notify(&self) -> io::Result<()> {
            self.waiter.unpark();
            Ok(())
        }
    }
}
// ANCHOR_END: poller_stand_in

/// The poller: `polling`'s, which is epoll on Linux and kqueue on macOS.
#[cfg(not(all(test, loom)))]
pub(crate) mod poller {
    pub(crate) use polling::{AsSource, Event, Events, Poller};
}
