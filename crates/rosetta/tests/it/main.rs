//! The conformance suite and the command-line tests, in one test binary.
//!
//! - `conformance`: every registered style, on every built-in scenario, produces the reference's
//!   report (insta snapshots under `allow_duplicates!`, plus plain equality), and a broken style
//!   is caught and named.
//! - `differential`: the same, on randomly generated scenarios (proptest).
//! - `bench`: the bench's measurements, in this process (the `cli` tests run them in children).
//! - `compare`: the comparison table and the notes under it.
//! - `layout`: the shared helpers: table columns by display width, the SVG writer's escaping.
//! - `live`: the classroom mode (`compare --live`).
//! - `trace`: the trace views (timeline, Chrome trace, SVG) of every style.
//! - `memory`: every style's peak memory on a long feed, against the file's size.
//! - `timing`: reports under load and at every time scale.
//! - `cli`: the `rosetta` binary as a user runs it: output, JSON keys, exit codes, bad input.
//! - `other_languages`: the JavaScript and Python styles on the command line: in the table, "not
//!   installed" without their interpreter, `tcp` only, drawn beside a Rust style.
//! - `transport`: `--transport tcp|sim`, `--feeds URL` and `rosetta feeds serve`, as a user runs
//!   them.

mod bench;
mod cli;
mod compare;
mod conformance;
mod differential;
mod layout;
mod live;
mod memory;
mod other_languages;
mod timing;
mod trace;
mod transport;

use rosetta::styles::{self, Style};

/// Every registered style except the reference.
pub fn concurrent_styles() -> impl Iterator<Item = &'static Style> {
    styles::ALL
        .iter()
        .filter(|style| style.name != styles::reference().name)
}
