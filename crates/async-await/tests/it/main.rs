//! Integration tests of the async/await styles: one binary, one module per
//! concern.
//!
//! - here: each runtime passes the standard conformance battery
//!   (`rosetta-conformance`), on the `sim` transport and on `tcp`, and leaves
//!   no socket open after a run of hangs and timeouts;
//! - `sockets`: the tcp attempt against canned servers, and its socket closed
//!   at the deadline;
//! - `traces`: what each runtime's trace shows in particular (several threads);
//! - `deadlines`: a race between two timers, polled late, is decided by their
//!   deadlines;
//! - `runtimes`: the adapters side by side: what they share, and where they
//!   differ.
//!
//! The compiler messages the book shows are pinned in `rosetta-compile-errors`.

mod deadlines;
mod runtimes;
mod sockets;
mod traces;

use rosetta_async_await::{async_std_style, smol_style, tokio_style};
use rosetta_conformance::StyleFn;

/// The three styles of this crate, by name, as the lead's style registry lists
/// them.
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

// Over tcp, one test per runtime: each is a few seconds of real sockets, and
// they run in parallel. Every run gets a run id of its own on the shared feed
// server.

#[test]
fn tokio_conforms_over_tcp() {
    rosetta_conformance::tcp::check_style_on_tcp(
        tokio_style::NAME,
        tokio_style::run,
    );
}

#[test]
fn async_std_conforms_over_tcp() {
    rosetta_conformance::tcp::check_style_on_tcp(
        async_std_style::NAME,
        async_std_style::run,
    );
}

#[test]
fn smol_conforms_over_tcp() {
    rosetta_conformance::tcp::check_style_on_tcp(
        smol_style::NAME,
        smol_style::run,
    );
}

#[cfg(target_os = "linux")]
#[test]
fn tokio_closes_every_socket() {
    rosetta_conformance::tcp::check_sockets_closed(
        tokio_style::NAME,
        tokio_style::run,
    );
}

#[cfg(target_os = "linux")]
#[test]
fn async_std_closes_every_socket() {
    rosetta_conformance::tcp::check_sockets_closed(
        async_std_style::NAME,
        async_std_style::run,
    );
}

#[cfg(target_os = "linux")]
#[test]
fn smol_closes_every_socket() {
    rosetta_conformance::tcp::check_sockets_closed(
        smol_style::NAME,
        smol_style::run,
    );
}
