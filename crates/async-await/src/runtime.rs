//! The [`Runtime`] trait: the four things the pipeline needs from an async
//! runtime, and no more.
//!
//! `async fn` and `.await` are part of the language, but nothing in the
//! language *runs* a future: that is the job of a runtime (an executor that
//! polls tasks, plus a reactor that owns timers and sockets). Rust leaves the
//! choice to you, and the three runtimes here are the ones you will meet:
//! [tokio](https://tokio.rs), [smol](https://github.com/smol-rs/smol) and
//! async-std.
//!
//! The pipeline needs surprisingly little from a runtime: a way to run the main
//! future ([`Runtime::block_on`]), a way to start a task ([`Runtime::spawn`]),
//! a timer ([`Runtime::sleep`]) and, on the `tcp` transport, a socket
//! ([`Runtime::connect`]). Everything else (channels, a semaphore, a once-cell,
//! racing two futures, reading and writing a socket) comes from
//! runtime-agnostic crates (`async-channel`, `async-lock`, `futures`), so the
//! pipeline ([`crate::run`](crate::run()) and its steps in `fetch.rs`,
//! `cache.rs` and `workers.rs`) is one piece of code for all three. Each
//! adapter is short, comments included (seventy to a hundred lines; tokio's,
//! which translates its socket traits, is the longest):
//!
//! - [`Tokio`] (`runtime/tokio.rs`): tokio's multi-threaded, work-stealing
//!   runtime;
//! - [`Smol`] (`runtime/smol.rs`): a `smol::Executor` run by a few threads of
//!   our own;
//! - [`AsyncStd`] (`runtime/async_std.rs`): async-std's global executor.
//!   **async-std is discontinued**: its authors announced it with release
//!   1.13.1 (March 2025; RustSec advisory RUSTSEC-2025-0052) and recommend
//!   smol. It is kept here because so much existing code and teaching material
//!   uses it.
//!
//! # What does not port between runtimes
//!
//! The trait hides the differences the pipeline does not care about. These are
//! the ones that bite when you move code from one runtime to another by hand:
//!
//! - **Runtime context.** `tokio::spawn` and `tokio::time::sleep` look for a
//!   runtime in a thread-local; outside one they panic with "there is no
//!   reactor running, must be called from the context of a Tokio 1.x runtime".
//!   smol and async-std start a global executor lazily, so the same call
//!   "works" anywhere, on a runtime you never configured. The [`Tokio`] adapter
//!   holds a `Handle` and spawns, sleeps and connects through it, so it works
//!   from any thread.
//! - **Sockets belong to their runtime's reactor too, and speak its dialect.**
//!   A socket is registered with the reactor that created it, which watches it
//!   (epoll on Linux, kqueue on macOS) and wakes the task that waits on it: a
//!   `tokio::net::TcpStream` needs a tokio runtime with its I/O driver enabled
//!   (`Builder::enable_io`), and is read through tokio's own
//!   `tokio::io::{AsyncRead, AsyncWrite}`, with a `ReadBuf`. smol's and
//!   async-std's `TcpStream` are `async-io`'s `Async<std::net::TcpStream>`
//!   underneath, driven by `async-io`'s reactor thread under any executor, and
//!   speak the `futures::io` traits. The two pairs of traits do the same job
//!   and are not interchangeable; `tokio-util`'s `compat` layer translates one
//!   into the other, which is how the generic code reads every runtime's
//!   [`Runtime::Stream`] with the same calls (`runtime/tokio.rs`).
//! - **Timers belong to their runtime's reactor.** `tokio::time::sleep` must be
//!   *created* inside a tokio runtime with the time driver enabled (it panics
//!   otherwise), and it fires only while that runtime runs. smol's and
//!   async-std's timers (`async-io`) are driven by a reactor of their own and
//!   work under any executor. That is why the timer is part of this trait, and
//!   why timeouts are written once, with [`crate::fetch::with_timeout`], on top
//!   of it.
//! - **Channels and locks.** `tokio::sync` (`mpsc`, `Mutex`, `Semaphore`) needs
//!   no tokio runtime and works under smol too, but code that names it reads as
//!   tokio code and pulls tokio into every build. `async-channel` and
//!   `async-lock` are runtime-neutral by design. The APIs differ where it hurts
//!   when porting by hand: `tokio::sync::mpsc` has one receiver and its `recv`
//!   returns an `Option`; an `async_channel::Receiver` can be cloned (several
//!   consumers) and its `recv` returns a `Result`; tokio's `Semaphore::acquire`
//!   can fail (a closed semaphore), async-lock's cannot.
//! - **Dropping a task's handle.** tokio's `JoinHandle` and async-std's
//!   `JoinHandle` *detach* the task when dropped: it runs on to the end,
//!   unobserved. smol's `Task` *cancels* it. Code written for tokio that drops
//!   handles loses its tasks on smol; code written for smol that relies on drop
//!   to cancel leaks tasks on tokio. A detached task lives as long as its
//!   runtime: tokio drops the tasks still there when its `Runtime` is dropped,
//!   wherever each stood, and async-std's global executor never stops, so its
//!   detached tasks outlive the caller. The pipeline awaits every handle it
//!   creates, also when a run fails, so it never depends on any of this
//!   (`tests/it/runtimes.rs` shows the difference; the pipeline's tests check
//!   that no task outlives a failed run).
//! - **Panics in tasks.** tokio catches a task's panic and hands it back as a
//!   `JoinError`; smol and async-std re-raise it in whoever awaits the handle.
//!   The adapters turn both into the same `Result<_, Panic>`.
//!
//! Read next: one adapter (`runtime/smol.rs` is the shortest), then
//! [`crate::run`](crate::run()) and the files of its steps.

use std::any::Any;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures::io::{AsyncRead, AsyncWrite};

mod async_std;
mod smol;
mod tokio;

pub use self::async_std::AsyncStd;
pub use self::smol::Smol;
pub use self::tokio::Tokio;

/// The payload of a panic, as `std::panic::catch_unwind` returns it.
pub type Panic = Box<dyn Any + Send + 'static>;

// ANCHOR: runtime_trait
// ANCHOR: runtime_block_on
/// An async runtime, as far as the pipeline is concerned.
///
/// A value of this type is a cheap *handle* to a running runtime (`Clone`),
/// that tasks can carry around (`Send + Sync + 'static`). It exists only inside
/// [`Runtime::block_on`], which creates the runtime, hands the handle to the
/// main future, and shuts the runtime down at the end.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The style's name (`"tokio"`), as the command line, the reports and
    /// errors write it.
    const NAME: &'static str;

    /// Starts the runtime, runs the future `main(handle)` on the calling thread
    /// until it completes, then shuts the runtime down (what happens to tasks
    /// still running then differs between runtimes; the pipeline leaves none).
    ///
    /// Fails only if the runtime could not start, for example if no thread
    /// could be spawned.
    fn block_on<Main, Fut>(main: Main) -> io::Result<Fut::Output>
    where
        Main: FnOnce(Self) -> Fut,
        Fut: Future;
    // ANCHOR_END: runtime_block_on

    // ANCHOR: runtime_tasks
    /// Starts `future` as a task, now: it runs even if the returned handle is
    /// never polled. Awaiting the handle gives the task's output, or the
    /// payload of its panic.
    ///
    /// What dropping the handle does is *not* the same everywhere (tokio and
    /// async-std detach the task, smol cancels it): await every handle, as the
    /// pipeline does.
    // ANCHOR: runtime_spawn
    fn spawn<F>(
        &self,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Panic>> + Send + 'static
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    // ANCHOR_END: runtime_spawn

    /// A future that completes once `duration` has passed, on this runtime's
    /// timer. Dropping it before then cancels the timer.
    fn sleep(
        &self,
        duration: Duration,
    ) -> impl Future<Output = ()> + Send + 'static;

    /// A TCP connection of this runtime, read and written through the
    /// `futures::io` traits (`AsyncReadExt::read`, `AsyncWriteExt::write_all`),
    /// whatever the runtime's own traits are. Dropping it closes the socket
    /// (after deregistering it from the reactor). smol's and async-std's
    /// streams are `Clone`, clones sharing one socket (an `Arc` inside), which
    /// closes with the last of them: the pipeline never clones one.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// A future that connects to `addr` on this runtime's reactor. It waits for
    /// the connection without blocking a thread: the socket is non-blocking,
    /// and the task is woken when the reactor sees it writable (connected) or
    /// in error (refused). Dropping the future before then abandons the
    /// connection and closes its socket.
    fn connect(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::Stream>> + Send + 'static;
    // ANCHOR_END: runtime_tasks
}
// ANCHOR_END: runtime_trait
