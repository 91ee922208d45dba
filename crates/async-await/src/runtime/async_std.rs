//! The [`Runtime`] adapter for async-std, which is **discontinued**.
//!
//! async-std set out to be "the standard library, but async". Its authors
//! discontinued it in March 2025, with release 1.13.1 (RustSec advisory
//! RUSTSEC-2025-0052), and recommend [smol](https://github.com/smol-rs/smol)
//! instead, which is what async-std had been built on for years: its executor
//! is `async-global-executor`, a wrapper around smol's `async-executor`, and
//! its timers are `async-io`'s. New code should use smol; this adapter stays
//! because a great deal of existing code and teaching material uses async-std,
//! and porting it is mostly a matter of renaming (compare `runtime/smol.rs`).
//!
//! async-std has one global executor, started on first use with one thread per
//! core (all named `async-std/runtime`; `ASYNC_STD_THREAD_COUNT` changes the
//! count), so there is nothing to build or shut down: `block_on` just runs the
//! main future, and a trace shows the executor's threads. Its `TcpStream` is
//! `async-io`'s `Async<std::net::TcpStream>` underneath, like smol's, and
//! speaks the `futures::io` traits as it is. Read next: `runtime/tokio.rs`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt as _;

use super::{Panic, Runtime};

// ANCHOR: async_std_block_on
/// A handle to async-std's global executor. It holds nothing: the executor is a
/// global.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncStd;

impl Runtime for AsyncStd {
    const NAME: &'static str = "async-std";

    fn block_on<Main, Fut>(main: Main) -> io::Result<Fut::Output>
    where
        Main: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        // The global executor lives as long as the process: tasks still running
        // when this returns would run on (the pipeline leaves none).
        Ok(async_std::task::block_on(main(AsyncStd)))
    }
    // ANCHOR_END: async_std_block_on

    // ANCHOR: async_std_tasks
    fn spawn<F>(
        &self,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Panic>> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // async-std re-raises a task's panic in whoever awaits its
        // `JoinHandle`. Catching it inside the task turns it into a value, the
        // way tokio reports it. `AssertUnwindSafe`: after a panic the pipeline
        // stops and reports it; nothing observes broken state.
        async_std::task::spawn(AssertUnwindSafe(future).catch_unwind())
    }

    fn sleep(
        &self,
        duration: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        async_std::task::sleep(duration)
    }

    type Stream = async_std::net::TcpStream;

    fn connect(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + 'static {
        async_std::net::TcpStream::connect(addr)
    }
}
// ANCHOR_END: async_std_tasks
