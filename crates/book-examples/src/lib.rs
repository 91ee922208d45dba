//! Small examples the book shows, compiled and tested here because no style crate needs them.
//!
//! The style crates hold the pipeline; the book also needs a few things beside it: a future
//! polled by hand, an `async fn` to set next to a hand-written state machine, the exact messages
//! of a few runtime mistakes, the arithmetic of the performance model. Each lives in a module
//! named after what it shows, with tests that prove what the book says about it. The book
//! includes them by anchor (`// ANCHOR: name`), so a listing cannot drift from code that works.
//!
//! # Layout
//!
//! - [`ordering`] (chapter 2): why the report keeps integer tenths: float sums depend on order.
//! - [`future_trait`] (chapter 6): `std`'s `Future` trait and `Poll` enum, declared again with
//!   the same shape so that the book can include them, with tests that prove the shapes match.
//! - [`poll_by_hand`] (chapter 6): `Future`, `Poll`, `Context` and `Waker` with nothing else
//!   around them, and why a self-referential future must be pinned.
//! - [`generated`] (chapter 7): the hand-written `FetchWithRetry` of `rosetta-state-machines`
//!   written again as an `async fn` on the same executor, and the sizes of both futures.
//! - [`select_loop`] (chapter 7): a task that loops over `tokio::select!` (`biased`) choosing
//!   between an `mpsc` message, an `interval` tick and a shutdown signal, tested on paused time.
//! - [`spawning`] (chapter 7.1): the fixes for a first `tokio::spawn`'s errors: owned data and
//!   `Arc` clones moved in, values returned by tasks, a guard ended before `.await`, `spawn_local`.
//! - [`tasks`] (chapter 8.1): who owns a task: `abort`, `AbortHandle`, `JoinSet`, and what
//!   dropping a handle, a set or a runtime does on tokio, smol and async-std, each one a test.
//! - [`async_traits`] (chapter 8.2): a trait whose async method promises a `Send` future, its
//!   boxed twin for `dyn`, and async closures (`AsyncFnMut`, and `AsyncFnOnce` in the lookup
//!   of a single-flight cache).
//! - [`backpressure`] (chapter 10): what a bounded queue does to a fast producer.
//! - [`streams`] (chapter 10.1): the `Stream` trait, `Changes` written by hand and polled by
//!   hand, `StreamExt`, `FuturesUnordered`, and `buffer_unordered` set beside spawning.
//! - [`shutdown`] (chapter 10.2): a `select!` loop with a pinned, fused future, cancellation
//!   safety, `CancellationToken`, and draining workers under a `TaskTracker` within a grace period.
//! - [`caching`] (chapter 11): why a plain cache looks the same key up many times under
//!   concurrency, and how a shared future makes it single-flight.
//! - [`model`] (chapter 12): the performance model, with units checked, and the seed article's
//!   formula shown to come out in seconds per megabyte.
//! - [`runtime_errors`] (chapter 13): the messages of a missing runtime and a nested one.
//! - [`testing`] (chapter 13.1): a retry tested on tokio's paused clock, what that clock cannot
//!   pause, and a hang bounded by a timeout and found in a `tracing` trace.
//!
//! `tests/listings.rs` runs the book's JavaScript and Python listings (chapter 14) with `node`
//! and `python3` and checks what they print.

pub mod async_traits;
pub mod backpressure;
pub mod caching;
pub mod future_trait;
pub mod generated;
pub mod model;
pub mod ordering;
pub mod poll_by_hand;
pub mod runtime_errors;
pub mod select_loop;
pub mod shutdown;
pub mod spawning;
pub mod streams;
pub mod tasks;
pub mod testing;
