//! Integration tests of the combinators style: the standard conformance battery
//! (report equal to the reference's, trace invariants; see
//! `rosetta-conformance`) on both transports, no socket left open on `tcp`, and
//! what is particular to this style: everything is polled on the calling
//! thread, whichever helper thread (the timer's, the reactor's) does the
//! waking.

use std::sync::Arc;

use rosetta_combinators as style;
use rosetta_conformance::tcp::{TCP_SLOWDOWN, check_style_on_tcp, feed_server};
use rosetta_conformance::{
    check_against_reference, check_style, time_scale_for,
};
use rosetta_pipeline::transport::Transport;
use rosetta_pipeline::{RunOptions, Scenario, Trace};

#[test]
fn conforms_to_the_specification() {
    check_style(style::NAME, style::run);
}

#[test]
fn conforms_to_the_specification_over_tcp() {
    check_style_on_tcp(style::NAME, style::run);
}

/// A run full of hangs and timeouts closes every socket it opened: each
/// attempt's socket is dropped with its chain, when the response is complete or
/// the deadline wins.
#[cfg(target_os = "linux")]
#[test]
fn closes_every_socket() {
    rosetta_conformance::tcp::check_sockets_closed(style::NAME, style::run);
}

#[test]
fn everything_is_polled_on_the_calling_thread() {
    // `futures-timer` has a helper thread, but it only wakes futures;
    // `block_on` polls them all on the thread that called `run`, so that is the
    // only thread in the trace.
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
fn over_tcp_everything_is_polled_on_the_calling_thread_too() {
    // `async-io`'s reactor has a thread of its own, but it only wakes futures,
    // as the timer's does: connects, writes and reads all happen when
    // `block_on` polls, on this thread.
    let scenario = Scenario::builtin("classroom").unwrap();
    let time_scale = TCP_SLOWDOWN * time_scale_for("classroom");
    let feeds = feed_server().host(Arc::new(scenario.clone()), time_scale);
    let opts =
        RunOptions::with_time_scale(time_scale).on(Transport::Tcp(feeds));
    let trace = Trace::new();
    style::run(&scenario, &opts, &trace).unwrap();
    feed_server().retire(feeds);
    assert!(trace.summary().attempts > 0);
    assert_eq!(trace.summary().threads, 1);
}
