//! The pipeline in the async/await style, on three runtimes: tokio, async-std and smol.
//!
//! This is the style most Rust code is written in today: `async fn` and `.await`, on a runtime
//! that runs the resulting futures as tasks. The pipeline is written once, in [`pipeline`],
//! generic over a small [`runtime::Runtime`] trait, and each runtime gets an adapter of about
//! sixty lines. Diff the three adapters to see what changes between runtimes, and compare
//! [`pipeline`] with the other styles' crates to see what `async`/`.await` buys: it reads like
//! the sequential reference, with the waiting rearranged.
//!
//! Three styles are registered, one per runtime, each with the shape every style has
//! (`NAME`, `MODEL`, `run`):
//!
//! - [`tokio_style`]: `tokio`, on tokio's multi-threaded runtime;
//! - [`async_std_style`]: `async-std`, on async-std's global executor (async-std is
//!   **discontinued**; use smol for new code);
//! - [`smol_style`]: `smol`, on a smol executor run by a few threads.
//!
//! They are modules rather than one function with a runtime argument so that the style
//! registry, the CLI and the book treat them exactly like every other style.
//!
//! # Layout
//!
//! - [`runtime`]: the `Runtime` trait, what does *not* port between runtimes, and the three
//!   adapters (`runtime/tokio.rs`, `runtime/async_std.rs`, `runtime/smol.rs`). Start here.
//! - [`pipeline`]: the pipeline itself: fetch with retries and timeouts, the single-flight
//!   cache, the workers. Read it next to `rosetta_pipeline::reference`.
//! - [`pitfalls`]: four mistakes async Rust makes easy (blocking the executor, a lock held
//!   across `.await`, a future never awaited, cancellation by `select`), each tested.
//!
//! `tests/it/` checks every runtime against the reference run; `examples/scale.rs` times them
//! on 1,000 and 10,000 sources against the ideal time.

pub mod pipeline;
pub mod pitfalls;
pub mod runtime;

/// The `tokio` style: the async/await pipeline on tokio's multi-threaded runtime.
pub mod tokio_style {
    use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

    use crate::runtime::{Runtime, Tokio};

    /// The style's name, as the command line, the snapshots and the book write it.
    pub const NAME: &str = Tokio::NAME;

    /// The model of concurrency, in one phrase.
    pub const MODEL: &str = "async/await tasks on tokio's work-stealing thread pool";

    /// Runs the pipeline in this style.
    pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
        crate::pipeline::run::<Tokio>(scenario, opts, trace)
    }
}

/// The `async-std` style: the async/await pipeline on async-std's global executor.
///
/// async-std is **discontinued**: its authors announced it with release 1.13.1 (March 2025;
/// RUSTSEC-2025-0052) and recommend smol ([`crate::smol_style`]). The style stays because so
/// much existing code and teaching material uses async-std; porting it to smol changes little
/// (compare `runtime/async_std.rs` with `runtime/smol.rs`).
pub mod async_std_style {
    use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

    use crate::runtime::{AsyncStd, Runtime};

    /// The style's name, as the command line, the snapshots and the book write it.
    pub const NAME: &str = AsyncStd::NAME;

    /// The model of concurrency, in one phrase (async-std is discontinued; see the module docs).
    pub const MODEL: &str = "async/await tasks on async-std's global executor (discontinued)";

    /// Runs the pipeline in this style.
    pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
        crate::pipeline::run::<AsyncStd>(scenario, opts, trace)
    }
}

/// The `smol` style: the async/await pipeline on a smol executor run by a few threads.
pub mod smol_style {
    use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

    use crate::runtime::{Runtime, Smol};

    /// The style's name, as the command line, the snapshots and the book write it.
    pub const NAME: &str = Smol::NAME;

    /// The model of concurrency, in one phrase.
    pub const MODEL: &str = "async/await tasks on a smol executor shared by a few threads";

    /// Runs the pipeline in this style.
    pub fn run(scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> Result<Report, RunError> {
        crate::pipeline::run::<Smol>(scenario, opts, trace)
    }
}
