//! The [`Runtime`] adapter for tokio, the most widely used async runtime.
//!
//! The multi-threaded runtime runs tasks on one worker thread per core, which
//! steal work from each other, so a trace shows events on several
//! `tokio-rt-worker` threads (the thread that calls `block_on` runs only the
//! main future). Its timer has a resolution of 1 ms and rounds deadlines up:
//! each sleep lasts up to about a millisecond longer than asked, which shows at
//! small time scales. The adapter spawns, sleeps and connects through a
//! [`Handle`], not the free functions `tokio::spawn`, `tokio::time::sleep` and
//! a bare `TcpStream::connect`, which panic outside a runtime context.
//!
//! Its sockets are the one place where tokio speaks a dialect of its own: a
//! `tokio::net::TcpStream` implements `tokio::io::{AsyncRead, AsyncWrite}`
//! (reads fill a `ReadBuf`, which can track memory not yet initialised), not
//! the `futures::io` traits that smol, async-std and the rest of the ecosystem
//! share. `tokio-util`'s `compat()` wraps the stream in an adapter that
//! translates each `poll_read`/`poll_write` call, so the pipeline reads every
//! runtime's socket with the same `AsyncReadExt::read`. Read next:
//! `runtime/smol.rs`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use futures::future;
use tokio::net::TcpStream;
use tokio::runtime::{Builder, Handle};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt as _};

use super::{Panic, Runtime};

// ANCHOR: tokio_block_on
/// A handle to a tokio multi-threaded runtime, created by
/// [`Runtime::block_on`].
#[derive(Debug, Clone)]
pub struct Tokio {
    /// Where tasks and timers go. `block_on` owns the runtime itself, so that
    /// it is shut down on the thread that built it, never inside one of its own
    /// tasks (which would panic).
    handle: Handle,
}

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";

    fn block_on<Main, Fut>(main: Main) -> io::Result<Fut::Output>
    where
        Main: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        // The time driver (timers) and the I/O driver (sockets, on the `tcp`
        // transport): a runtime has only the drivers it is built with
        // (`enable_all()` would add them all).
        let runtime = Builder::new_multi_thread()
            .enable_time()
            .enable_io()
            .build()?;
        let handle = runtime.handle().clone();
        Ok(runtime.block_on(main(Tokio { handle })))
    }
    // ANCHOR_END: tokio_block_on

    // ANCHOR: tokio_spawn
    fn spawn<F>(
        &self,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Panic>> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let task = self.handle.spawn(future);
        // tokio catches a task's panic and returns it as a `JoinError`. Its
        // other case, a task cancelled by the runtime's shutdown, cannot happen
        // while `block_on` runs.
        async move {
            task.await.map_err(|error| match error.try_into_panic() {
                Ok(payload) => payload,
                Err(cancelled) => Box::new(cancelled.to_string()) as Panic,
            })
        }
    }

    fn sleep(
        &self,
        duration: Duration,
    ) -> impl Future<Output = ()> + Send + 'static {
        // A tokio timer belongs to the runtime that is current when it is
        // *created*.
        let _inside = self.handle.enter();
        tokio::time::sleep(duration)
    }
    // ANCHOR_END: tokio_spawn

    // ANCHOR: tokio_connect
    type Stream = Compat<TcpStream>;

    fn connect(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + 'static {
        let handle = self.handle.clone();
        async move {
            // The socket is registered with the I/O driver of the runtime that
            // is current when the connect is *polled*, so every poll enters
            // ours (the guard is not `Send`, so it lives inside one poll, never
            // across an `.await`).
            let mut connecting = pin!(TcpStream::connect(addr));
            let stream = future::poll_fn(|cx| {
                let _inside = handle.enter();
                connecting.as_mut().poll(cx)
            })
            .await?;
            // tokio's I/O traits, translated to `futures::io`'s
            Ok(stream.compat())
        }
    }
}
// ANCHOR_END: tokio_connect
