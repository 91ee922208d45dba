//! The tcp attempt ([`tcp_attempt`]) on every runtime, against canned servers
//! on loopback ([`rosetta_conformance::canned`]): what it answers, which socket
//! phases it reaches, and that its socket is closed when the attempt is
//! abandoned at its deadline.
//!
//! Every test asserts an outcome, never a duration: the deadlines are far from
//! what the servers do (an answer within milliseconds, or never), so a slow
//! machine cannot flip a result. Every canned server gives up after its
//! watchdog, so a broken client fails a test instead of hanging it.

use std::time::{Duration, Instant};

use rosetta_async_await::fetch::tcp_attempt;
use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};
use rosetta_conformance::canned::{
    ALL_PHASES, ANSWER_BODY, ANSWER_IN_PIECES, CannedServer,
    PHASES_UNTIL_REQUEST_SENT, Reply, SHORT_BODY, SOURCE, UNAVAILABLE,
    endless_head, refusing_feeds,
};
use rosetta_pipeline::options::later;
use rosetta_pipeline::run::AttemptOutcome;
use rosetta_pipeline::trace::SocketPhase;
use rosetta_pipeline::transport::Feeds;

/// Long enough for an answering server on the slowest machine.
const PATIENT: Duration = Duration::from_secs(10);
/// Far shorter than what a trickling or hanging server takes, and far longer
/// than a connect and a write on loopback: an attempt given this much is
/// abandoned in its read loop.
const IMPATIENT: Duration = Duration::from_millis(300);

/// Runs one tcp attempt for source [`SOURCE`] on `R`, limited to `limit` from
/// now. Returns its outcome and body, and the socket phases it reached.
fn attempt_on<R: Runtime>(
    feeds: Feeds,
    limit: Duration,
) -> ((AttemptOutcome, Option<String>), Vec<SocketPhase>) {
    R::block_on(|runtime| async move {
        let mut phases = Vec::new();
        let deadline = later(Instant::now(), limit);
        let reached = |phase| phases.push(phase);
        let outcome =
            tcp_attempt(&runtime, &feeds, SOURCE, deadline, reached).await;
        (outcome, phases)
    })
    .unwrap()
}

fn answers_across_several_reads<R: Runtime>() {
    let server = CannedServer::start([Reply::in_pieces(
        ANSWER_IN_PIECES,
        Duration::from_millis(5),
    )]);
    let (outcome, phases) = attempt_on::<R>(server.feeds(), PATIENT);
    server.join();
    let answered = (AttemptOutcome::Answered, Some(ANSWER_BODY.to_string()));
    assert_eq!(outcome, answered, "{}", R::NAME);
    assert_eq!(phases, ALL_PHASES, "{}", R::NAME);
}

#[test]
fn a_response_split_across_reads_is_answered_on_every_runtime() {
    answers_across_several_reads::<Tokio>();
    answers_across_several_reads::<AsyncStd>();
    answers_across_several_reads::<Smol>();
}

fn errors<R: Runtime>(response: &'static [u8]) {
    let server = CannedServer::start([Reply::answer(response)]);
    let (outcome, phases) = attempt_on::<R>(server.feeds(), PATIENT);
    server.join();
    assert_eq!(outcome, (AttemptOutcome::Error, None), "{}", R::NAME);
    assert_eq!(phases, ALL_PHASES, "{}", R::NAME);
}

#[test]
fn a_non_2xx_status_is_an_error_on_every_runtime() {
    errors::<Tokio>(UNAVAILABLE);
    errors::<AsyncStd>(UNAVAILABLE);
    errors::<Smol>(UNAVAILABLE);
}

#[test]
fn a_short_body_is_an_error_on_every_runtime() {
    // Ten bytes announced, four sent, then the close.
    errors::<Tokio>(SHORT_BODY);
    errors::<AsyncStd>(SHORT_BODY);
    errors::<Smol>(SHORT_BODY);
}

fn reset<R: Runtime>() {
    let server = CannedServer::start([Reply::reset()]);
    let (outcome, phases) = attempt_on::<R>(server.feeds(), PATIENT);
    server.join();
    assert_eq!(outcome, (AttemptOutcome::Error, None), "{}", R::NAME);
    assert_eq!(phases, PHASES_UNTIL_REQUEST_SENT, "{}", R::NAME);
}

#[test]
fn a_reset_is_an_error_on_every_runtime() {
    reset::<Tokio>();
    reset::<AsyncStd>();
    reset::<Smol>();
}

fn refused<R: Runtime>() {
    let (outcome, phases) = attempt_on::<R>(refusing_feeds(), PATIENT);
    assert_eq!(outcome, (AttemptOutcome::Error, None), "{}", R::NAME);
    assert_eq!(phases, Vec::new(), "{}: never connected", R::NAME);
}

#[test]
fn a_refused_connection_is_an_error_on_every_runtime() {
    refused::<Tokio>();
    refused::<AsyncStd>();
    refused::<Smol>();
}

/// A server that sends a byte of a head that never ends every 20 ms: each read
/// gets something, so only a deadline for the whole attempt can stop it. It
/// writes until the client has closed (a write fails), at most a thousand
/// bytes.
fn trickles_until_the_deadline<R: Runtime>() {
    let trickle =
        Reply::trickle(endless_head(1_000), Duration::from_millis(20));
    let server = CannedServer::start([trickle]);
    let (outcome, phases) = attempt_on::<R>(server.feeds(), IMPATIENT);
    assert_eq!(outcome, (AttemptOutcome::Timeout, None), "{}", R::NAME);
    assert_eq!(phases, ALL_PHASES, "{}", R::NAME);
    let closed = server.join()[0].closed_by_client;
    assert!(closed, "{}: the trickle ran out", R::NAME);
}

#[test]
fn a_trickle_cannot_outlast_the_deadline_on_every_runtime() {
    trickles_until_the_deadline::<Tokio>();
    trickles_until_the_deadline::<AsyncStd>();
    trickles_until_the_deadline::<Smol>();
}

// ANCHOR: abandoned_attempt
/// An attempt against a server that reads the request and never answers: it is
/// abandoned at its deadline, and by the time `tcp_attempt` returns, its socket
/// is closed (not later, when the runtime shuts down): the process holds no
/// socket to the server any more, and the server reads the end of the stream.
fn abandoned_at_the_deadline_closes_its_socket<R: Runtime>() {
    let server = CannedServer::start([Reply::hang()]);
    let feeds = server.feeds();
    let (outcome, phases, open) = R::block_on(|runtime| async move {
        let mut phases = Vec::new();
        let deadline = later(Instant::now(), IMPATIENT);
        let reached = |phase| phases.push(phase);
        let outcome =
            tcp_attempt(&runtime, &feeds, SOURCE, deadline, reached).await;
        // Counted at once, inside the runtime, which is still running.
        (outcome, phases, open_sockets_to(feeds))
    })
    .unwrap();
    assert_eq!(outcome, (AttemptOutcome::Timeout, None), "{}", R::NAME);
    // Abandoned while waiting for the answer, after the request went out.
    assert_eq!(phases, PHASES_UNTIL_REQUEST_SENT, "{}", R::NAME);
    assert_eq!(
        open,
        0,
        "{}: sockets open when the attempt returned",
        R::NAME
    );
    let closed = server.join()[0].closed_by_client;
    assert!(closed, "{}: the server never saw the close", R::NAME);
}

/// How many sockets of this process are connected to the server of `feeds`
/// (Linux: counted in `/proc`; elsewhere the server's view, `closed_by_client`,
/// is the only check).
fn open_sockets_to(feeds: Feeds) -> usize {
    #[cfg(target_os = "linux")]
    return rosetta_conformance::tcp::sockets_to(feeds.addr.port());
    #[cfg(not(target_os = "linux"))]
    return {
        let _ = feeds;
        0
    };
}
// ANCHOR_END: abandoned_attempt

#[test]
fn an_attempt_abandoned_at_its_deadline_closes_its_socket_on_tokio() {
    abandoned_at_the_deadline_closes_its_socket::<Tokio>();
}

#[test]
fn an_attempt_abandoned_at_its_deadline_closes_its_socket_on_async_std() {
    abandoned_at_the_deadline_closes_its_socket::<AsyncStd>();
}

#[test]
fn an_attempt_abandoned_at_its_deadline_closes_its_socket_on_smol() {
    abandoned_at_the_deadline_closes_its_socket::<Smol>();
}
