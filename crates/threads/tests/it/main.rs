//! Integration tests of the threads style: the standard conformance battery
//! (report equal to the reference's, trace invariants; see
//! `rosetta-conformance`) on both transports, no socket left open, and what is
//! particular to this style: threads named after their job, attempts only on
//! the fetch threads; and timing as tight as the specification allows, with
//! thousands of threads competing for the cores.

mod scale;
mod timing;
mod trace;

use rosetta_conformance::check_style;
use rosetta_conformance::tcp::{check_sockets_closed, check_style_on_tcp};

#[test]
fn conforms_to_the_specification() {
    check_style(rosetta_threads::NAME, rosetta_threads::run);
}

#[test]
fn conforms_over_tcp() {
    check_style_on_tcp(rosetta_threads::NAME, rosetta_threads::run);
}

#[test]
fn closes_every_socket() {
    check_sockets_closed(rosetta_threads::NAME, rosetta_threads::run);
}
