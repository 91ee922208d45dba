//! The conformance suite and the command-line tests, in one test binary.
//!
//! - `conformance`: every registered style, on every built-in scenario, produces the reference's
//!   report (insta snapshots under `allow_duplicates!`, plus plain equality), and a broken style
//!   is caught and named.
//! - `differential`: the same, on randomly generated scenarios (proptest).
//! - `live`: the classroom mode (`compare --live`).
//! - `trace`: the trace views (timeline, Chrome trace, SVG) of every style.
//! - `cli`: the `rosetta` binary as a user runs it: output, JSON keys, exit codes, bad input.

mod cli;
mod conformance;
mod differential;
mod live;
mod memory;
mod timing;
mod trace;

use rosetta::styles::{self, Style};

/// Every registered style except the reference.
pub fn concurrent_styles() -> impl Iterator<Item = &'static Style> {
    styles::ALL
        .iter()
        .filter(|style| style.name != styles::reference().name)
}
