//! Integration tests of the async/await styles: one binary, one module per concern.
//!
//! - here: each runtime passes the standard conformance battery (`rosetta-conformance`);
//! - `traces`: what each runtime's trace shows in particular (several threads);
//! - `deadlines`: a race between two timers, polled late, is decided by their deadlines;
//! - `runtimes`: the adapters side by side: what they share, and where they differ;
//! - `compile_errors`: the compiler messages the book shows, pinned with `trybuild`.

mod compile_errors;
mod deadlines;
mod runtimes;
mod traces;

use rosetta_async_await::{async_std_style, smol_style, tokio_style};
use rosetta_conformance::StyleFn;

/// The three styles of this crate, by name, as the lead's style registry lists them.
const STYLES: [(&str, StyleFn); 3] = [
    (tokio_style::NAME, tokio_style::run),
    (async_std_style::NAME, async_std_style::run),
    (smol_style::NAME, smol_style::run),
];

#[test]
fn every_runtime_conforms_to_the_specification() {
    for (name, style) in STYLES {
        rosetta_conformance::check_style(name, style);
    }
}
