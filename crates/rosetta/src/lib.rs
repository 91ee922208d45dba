//! The `rosetta` command-line tool, as a library the tests and benchmarks share.
//!
//! The binary (`src/main.rs`) only parses arguments and prints; everything it does lives here
//! so that the conformance suite can call the same code.
//!
//! # Layout
//!
//! - [`styles`]: the one list of styles that the CLI, the tests and the benchmarks iterate.
//!   Adding a style means adding one entry there.
//! - [`select`]: turns `--scenario NAME|FILE` or `--sources N --seed S` into a scenario.
//! - [`compare`]: runs styles side by side, checks their reports against the reference, and
//!   renders the comparison table.
//! - [`bench`](mod@bench): scale runs of the generated scenario against the model's ideal time.
//! - [`measure`], [`raw`], [`sleepers`]: re-exported from `rosetta-measure` (`crates/measure`):
//!   a measurement in a child process and its peak memory, the raw hyper baseline of `bench
//!   --transport tcp`, and `bench --sleepers`.
//! - [`memory`]: `bench --scenario FILE`, each style's peak memory on one scenario against its
//!   size.
//! - [`network`]: where runs get their feeds: timers, a feed server in this process, or one
//!   already running (`--feeds URL`); a run of its own on the server for every style run.
//! - [`live`]: `compare --live`, the classroom mode: each style's lanes drawn as it runs.
//! - [`view`], [`svg`], [`table`]: re-exported from `rosetta-views` (`crates/views`): drawing a
//!   trace (terminal timeline, Chrome trace file, SVG), the one SVG writer, the one table layout.
//!
//! Read next: [`styles`].

pub mod bench;
pub mod compare;
pub mod live;
pub mod memory;
pub mod network;
pub mod select;
pub mod styles;

// The drawing of traces and the tables' layout live in `rosetta-views`; these names keep the
// paths the commands and the tests use.
pub use rosetta_views::timeline as view;
pub use rosetta_views::{svg, table};
// How the bench measures lives in `rosetta-measure`.
pub use rosetta_measure::{measure, raw, sleepers};
