//! Integration tests of the combinators style: the standard conformance battery (report equal to
//! the reference's, trace invariants; see `rosetta-conformance`), and what is particular to this
//! style: everything is polled on the calling thread.

use rosetta_combinators as style;
use rosetta_conformance::{check_against_reference, check_style, time_scale_for};
use rosetta_pipeline::Scenario;

#[test]
fn conforms_to_the_specification() {
    check_style(style::NAME, style::run);
}

#[test]
fn everything_is_polled_on_the_calling_thread() {
    // `futures-timer` has a helper thread, but it only wakes futures; `block_on` polls them all
    // on the thread that called `run`, so that is the only thread in the trace.
    let scenario = Scenario::builtin("classroom").unwrap();
    let (_, trace) = check_against_reference(
        style::NAME,
        style::run,
        &scenario,
        time_scale_for("classroom"),
    );
    assert_eq!(trace.summary().threads, 1);
}
