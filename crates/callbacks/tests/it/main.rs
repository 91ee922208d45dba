//! Integration tests of the callbacks style: the standard conformance battery
//! (report equal to the reference's, trace invariants; see
//! `rosetta-conformance`) on `sim` and on `tcp` (against a feed server, socket
//! phases included, and no socket left open after a run of hangs and timeouts),
//! and what is particular to this style: the whole run on one thread. That the
//! crate's code uses no futures is checked with the other tidy rules, in
//! `crates/xtask`.

use rosetta_conformance::tcp::{check_sockets_closed, check_style_on_tcp};
use rosetta_conformance::{check_style, time_scale_for};
use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::{RunOptions, Scenario, Trace};

#[test]
fn conforms_to_the_specification() {
    check_style(rosetta_callbacks::NAME, rosetta_callbacks::run);
}

#[test]
fn conforms_to_the_specification_over_tcp() {
    check_style_on_tcp(rosetta_callbacks::NAME, rosetta_callbacks::run);
}

#[cfg(target_os = "linux")]
#[test]
fn closes_every_socket() {
    check_sockets_closed(rosetta_callbacks::NAME, rosetta_callbacks::run);
}

#[test]
fn the_whole_run_uses_one_thread() {
    let scenario = Scenario::builtin("classroom").unwrap();
    let trace = Trace::new();
    // Record the run's start and end here, as the harness does, so that the
    // test's own thread counts too: every event must come from it.
    trace.record(EventKind::RunStarted);
    let opts = RunOptions::with_time_scale(time_scale_for("classroom"));
    rosetta_callbacks::run(&scenario, &opts, &trace).unwrap();
    trace.record(EventKind::RunFinished);
    assert!(trace.events().len() > 2);
    assert_eq!(trace.summary().threads, 1);
}
