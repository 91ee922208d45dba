//! The async-rosetta pipeline, as a specification you can run.
//!
//! Every style in this project (threads, callbacks, combinators, state
//! machines, async/await) implements the same pipeline. This crate holds
//! everything they share, so that a style crate contains *orchestration only*:
//! how it waits, how it runs things concurrently, how it retries, times out,
//! caches and hands records over. Nothing here blocks, spawns or sleeps,
//! except [`reference`]: [`reference::run`], the sequential run every other
//! style is compared against, and [`reference::exchange`], the blocking TCP
//! attempt the threads style shares.
//!
//! The pipeline has five steps (the same five as the seed article's section
//! 3.2):
//!
//! 1. **fetch** each source, with latency, faults, retries and timeouts
//!    ([`scenario::Source`]);
//! 2. **parse** its body into records ([`parse`]);
//! 3. **enrich** each record with its station's region, through a single-flight
//!    cache ([`registry`]; [`enrich`] gives every style the same two passes
//!    over a body);
//! 4. **partition** records to workers over bounded queues, which aggregate
//!    them ([`partition`], [`aggregate`]);
//! 5. **merge** the workers' results into one [`report::Report`].
//!
//! # Layout
//!
//! - [`scenario`]: scenario files (TOML), their validation, the built-in
//!   scenarios and the generator. Start here: it is the input of everything
//!   else.
//! - [`tenths`]: a temperature in integer tenths, and the one way it is written
//!   and read (`-3.5`), both directions side by side.
//! - [`parse`]: one line of a feed into a [`parse::Record`], or a rejection
//!   reason.
//! - [`registry`]: station to region, the lookup a style must cache.
//! - [`enrich`]: a body's distinct stations (pass 1), then its records with
//!   their regions (pass 2), keeping nothing per record.
//! - [`partition`]: FNV-1a hashing that decides which worker gets a record.
//! - [`aggregate`]: per-station count, min, max and sum, and the merge of
//!   worker results.
//! - [`report`]: the final report, its text rendering and its JSON form.
//! - [`trace`]: the events a style records while it runs, and the figures
//!   derived from them.
//! - [`model`]: the ideal wall time of a scenario, the limit benchmarks compare
//!   against.
//! - [`options`]: how a run waits (the time scale) and where its bytes come
//!   from ([`transport`]: timers, or a feed server over TCP); [`outcome`]: how
//!   a fetch attempt ended, and the summary per source a style hands to the
//!   report.
//! - [`http`]: a feed server's response, parsed sans-I/O (bytes in, status and
//!   body out) for every style to feed from its own reads, and what a finished
//!   exchange counts as.
//! - [`run`]: what every style's entry point takes and returns
//!   ([`run::StyleFn`]).
//! - [`reference`](mod@reference): the sequential reference run. Read it next:
//!   it is the whole pipeline in about a hundred lines with no concurrency at
//!   all, under the step names every style crate uses (`fetch_with_retry`,
//!   `region_of`, `hand_off`).
//!
//! The modules import one another without a loop (`cargo xtask tidy` checks
//! it); from the bottom: `tenths`, `transport`, `options`, `outcome`,
//! `registry` and `partition` import nothing from the crate; then `http`,
//! `parse`, `scenario`, `trace`, `aggregate`, `enrich`, `report`, `model`,
//! `run`, and last `reference`, which uses them all.

pub mod aggregate;
pub mod enrich;
pub mod http;
pub mod model;
pub mod options;
pub mod outcome;
pub mod parse;
pub mod partition;
pub mod reference;
pub mod registry;
pub mod report;
pub mod run;
pub mod scenario;
pub mod tenths;
pub mod trace;
pub mod transport;

pub use report::Report;
pub use run::{RunError, RunOptions};
pub use scenario::Scenario;
pub use trace::Trace;
