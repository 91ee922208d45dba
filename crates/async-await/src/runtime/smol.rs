//! The [`Runtime`] adapter for smol: a small executor, on threads we start
//! ourselves.
//!
//! smol is a toolkit more than a runtime: `async-executor` runs tasks,
//! `async-io` drives timers and sockets, and you choose the threads.
//! (`smol::spawn` uses a global executor with one thread, or `SMOL_THREADS`.)
//! Each run here gets its own [`Executor`], run by one thread per core: the
//! calling thread, which also runs the main future, and `smol-N` helpers. A
//! trace shows events on several of them. Its sockets (`smol::net`, the
//! `async-net` crate) are `async-io`'s `Async<std::net::TcpStream>`: a
//! non-blocking std socket registered with `async-io`'s reactor, which a thread
//! of its own (`async-io`) drives when no executor thread is parked on it. They
//! already speak the `futures::io` traits, so the adapter hands them over as
//! they are. Read next: `runtime/async_std.rs`, the same executor behind a
//! global.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use smol::{Executor, Timer};

use super::{Panic, Runtime};

// ANCHOR: smol_block_on
/// A handle to one run's smol executor, created by [`Runtime::block_on`].
#[derive(Debug, Clone)]
pub struct Smol {
    /// The executor every thread of the run takes tasks from.
    executor: Arc<Executor<'static>>,
}

impl Runtime for Smol {
    const NAME: &'static str = "smol";

    fn block_on<Main, Fut>(main: Main) -> io::Result<Fut::Output>
    where
        Main: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        let smol = Smol {
            executor: Arc::new(Executor::new()),
        };
        let cores =
            std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
        // Helpers run the executor until `stop` is dropped: then
        // `stopped.recv()` returns.
        let (stop, stopped) = async_channel::bounded::<()>(1);
        std::thread::scope(|scope| {
            let started = (1..cores).try_for_each(|n| {
                let helper =
                    || smol::block_on(smol.executor.run(stopped.recv())).ok();
                let thread =
                    std::thread::Builder::new().name(format!("smol-{n}"));
                thread.spawn_scoped(scope, helper).map(drop)
            });
            let output = started.map(|()| {
                smol::block_on(smol.executor.run(main(smol.clone())))
            });
            // Also on error, or the helpers already started keep `scope`
            // waiting.
            drop(stop);
            output
        })
    }
    // ANCHOR_END: smol_block_on

    // ANCHOR: smol_tasks
    fn spawn<F>(
        &self,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Panic>> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // smol re-raises a task's panic in whoever awaits it; catch it inside
        // the task instead (see `runtime/async_std.rs`). Unlike tokio's, a
        // dropped `Task` *cancels* its task.
        self.executor.spawn(AssertUnwindSafe(future).catch_unwind())
    }

    fn sleep(
        &self,
        duration: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        // A `Timer` yields the `Instant` it fired at; drop it.
        Timer::after(duration).map(drop)
    }

    type Stream = smol::net::TcpStream;

    fn connect(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + 'static {
        smol::net::TcpStream::connect(addr)
    }
}
// ANCHOR_END: smol_tasks
