//! Integration tests of the threads style: the standard conformance battery (report equal to the
//! reference's, trace invariants; see `rosetta-conformance`), and what is particular to this
//! style: threads named after their job, attempts only on the fetch threads; and timing as
//! tight as the specification allows, with thousands of threads competing for the cores.

mod scale;
mod timing;
mod trace;

use rosetta_conformance::check_style;

#[test]
fn conforms_to_the_specification() {
    check_style(rosetta_threads::NAME, rosetta_threads::run);
}
