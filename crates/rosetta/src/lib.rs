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
//! - [`measure`]: what every kind of bench shares: a measurement in a child process, its peak
//!   memory, and its [`measure::Status`].
//! - [`memory`]: `bench --scenario FILE`, each style's peak memory on one scenario against its
//!   size.
//! - [`network`]: where runs get their feeds: timers, a feed server in this process, or one
//!   already running (`--feeds URL`); a run of its own on the server for every style run.
//! - [`raw`]: the raw baseline of `bench --transport tcp`: the same fetches with hyper's client
//!   on tokio, as a user would write them without this toolkit.
//! - [`live`]: `compare --live`, the classroom mode: each style's lanes drawn as it runs.
//! - [`sleepers`]: `bench --sleepers`, the memory and time of N bare sleeping tasks per runtime.
//! - [`table`]: the one line layout of the tables, padded by display width.
//! - [`view`]: draws a trace as a terminal timeline, a Chrome trace file or an SVG.
//! - [`svg`]: the one SVG writer, for the timeline and the bench chart.
//!
//! Read next: [`styles`].

pub mod bench;
pub mod compare;
pub mod live;
pub mod measure;
pub mod memory;
pub mod network;
pub mod raw;
pub mod select;
pub mod sleepers;
pub mod styles;
pub mod svg;
pub mod table;
pub mod view;
