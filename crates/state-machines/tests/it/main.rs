//! Integration tests of the state-machines style: the standard conformance
//! battery (report equal to the reference's, trace invariants; see
//! `rosetta-conformance`) on both transports, no socket left open after a run
//! full of hangs and timeouts, and what is particular to this style: one thread
//! for everything, and a size for every hand-written future.

#[cfg(target_os = "linux")]
use rosetta_conformance::tcp::check_sockets_closed;
use rosetta_conformance::tcp::check_style_on_tcp;
use rosetta_conformance::{
    check_against_reference, check_style, time_scale_for,
};
use rosetta_pipeline::Scenario;
use rosetta_state_machines as style;

#[test]
fn conforms_to_the_specification() {
    check_style(style::NAME, style::run);
}

#[test]
fn conforms_to_the_specification_over_tcp() {
    check_style_on_tcp(style::NAME, style::run);
}

/// Linux only: the check counts sockets in `/proc`.
#[cfg(target_os = "linux")]
#[test]
fn closes_every_socket() {
    check_sockets_closed(style::NAME, style::run);
}

#[test]
fn everything_runs_on_the_calling_thread() {
    // One executor, one reactor, no helper thread: every event comes from the
    // caller's thread.
    let scenario = Scenario::builtin("classroom").unwrap();
    let (_, trace) = check_against_reference(
        style::NAME,
        style::run,
        &scenario,
        time_scale_for("classroom"),
    );
    assert_eq!(trace.summary().threads, 1);
}

#[test]
fn every_hand_written_future_has_a_size() {
    let sizes = style::future_sizes();
    assert!(sizes.len() >= 10);
    assert!(sizes.iter().all(|(_, size)| *size > 0));
}
