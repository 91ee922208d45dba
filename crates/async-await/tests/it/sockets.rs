//! The tcp attempt ([`tcp_attempt`]) on every runtime, against tiny servers on loopback that
//! write canned bytes: what it answers, which socket phases it reaches, and that its socket is
//! closed when the attempt is abandoned at its deadline.
//!
//! Every test asserts an outcome, never a duration: the deadlines are far from what the
//! servers do (an answer within milliseconds, or never), so a slow machine cannot flip a
//! result. Every server thread gives up after [`WATCHDOG`], so a broken client fails a test
//! instead of hanging it.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rosetta_async_await::fetch::tcp_attempt;
use rosetta_async_await::runtime::{AsyncStd, Runtime, Smol, Tokio};
use rosetta_pipeline::options::later;
use rosetta_pipeline::run::AttemptOutcome;
use rosetta_pipeline::trace::SocketPhase;
use rosetta_pipeline::transport::Feeds;

/// Long enough for an answering server on the slowest machine.
const PATIENT: Duration = Duration::from_secs(10);
/// Far shorter than what a trickling or hanging server takes, and far longer than a connect
/// and a write on loopback: an attempt given this much is abandoned in its read loop.
const IMPATIENT: Duration = Duration::from_millis(300);
/// How long a test server waits for anything before giving up.
const WATCHDOG: Duration = Duration::from_secs(20);

/// The next connection to `listener`, waited for at most [`WATCHDOG`] (its reads and writes
/// too): a client that never connects fails the test instead of hanging it.
pub fn accept_within_watchdog(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let started = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(WATCHDOG)).unwrap();
                stream.set_write_timeout(Some(WATCHDOG)).unwrap();
                return stream;
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                assert!(started.elapsed() < WATCHDOG, "the client never connected");
                thread::sleep(Duration::from_millis(1));
            }
            Err(error) => panic!("accept: {error}"),
        }
    }
}

/// Reads a request up to its empty line, and checks that it asks for source `Oslo west`.
fn read_request(stream: &mut TcpStream) {
    let mut request = Vec::new();
    let mut byte = [0];
    while !request.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "a whole request");
        request.push(byte[0]);
    }
    assert!(request.starts_with(b"GET /runs/1/feeds/Oslo%20west HTTP/1.1\r\n"));
}

/// A server on `127.0.0.1:0` that accepts one connection, reads its request, and runs `serve`
/// on it, on a thread of its own.
fn serve_once<T: Send + 'static>(
    serve: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (Feeds, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let feeds = Feeds {
        addr: listener.local_addr().unwrap(),
        run: 1,
    };
    let server = thread::spawn(move || {
        let mut stream = accept_within_watchdog(&listener);
        read_request(&mut stream);
        serve(stream)
    });
    (feeds, server)
}

/// Writes `pieces` one at a time, pausing between them so that they arrive in separate reads,
/// then closes the connection.
fn write_in_pieces(pieces: &'static [&'static [u8]]) -> impl FnOnce(TcpStream) + Send {
    move |mut stream| {
        for piece in pieces {
            stream.write_all(piece).unwrap();
            stream.flush().unwrap();
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Waits until the client closes its end: `true` if it did (a read of 0 bytes or a reset),
/// `false` if the watchdog ran out first.
fn sees_the_close(mut stream: TcpStream) -> bool {
    let mut buffer = [0; 64];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// Runs one tcp attempt for source `Oslo west` on `R`, limited to `limit` from now. Returns its
/// outcome and body, and the socket phases it reached.
fn attempt_on<R: Runtime>(
    feeds: Feeds,
    limit: Duration,
) -> ((AttemptOutcome, Option<String>), Vec<SocketPhase>) {
    R::block_on(|runtime| async move {
        let mut phases = Vec::new();
        let deadline = later(Instant::now(), limit);
        let reached = |phase| phases.push(phase);
        let outcome = tcp_attempt(&runtime, &feeds, "Oslo west", deadline, reached).await;
        (outcome, phases)
    })
    .unwrap()
}

/// Every phase an answered attempt passes.
const ALL_PHASES: [SocketPhase; 3] = [
    SocketPhase::Connected,
    SocketPhase::RequestSent,
    SocketPhase::FirstByte,
];

/// A `200` response, split inside its head and inside its body.
const ANSWER_IN_PIECES: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Le",
    b"ngth: 9\r\n\r\nOslo",
    b";1.0\n",
];

fn answers_across_several_reads<R: Runtime>() {
    let (feeds, server) = serve_once(write_in_pieces(ANSWER_IN_PIECES));
    let (outcome, phases) = attempt_on::<R>(feeds, PATIENT);
    server.join().unwrap();
    let answered = (AttemptOutcome::Answered, Some("Oslo;1.0\n".to_string()));
    assert_eq!(outcome, answered, "{}", R::NAME);
    assert_eq!(phases, ALL_PHASES, "{}", R::NAME);
}

#[test]
fn a_response_split_across_reads_is_answered_on_every_runtime() {
    answers_across_several_reads::<Tokio>();
    answers_across_several_reads::<AsyncStd>();
    answers_across_several_reads::<Smol>();
}

fn errors<R: Runtime>(answer: &'static [&'static [u8]]) {
    let (feeds, server) = serve_once(write_in_pieces(answer));
    let (outcome, phases) = attempt_on::<R>(feeds, PATIENT);
    server.join().unwrap();
    assert_eq!(outcome, (AttemptOutcome::Error, None), "{}", R::NAME);
    assert_eq!(phases, ALL_PHASES, "{}", R::NAME);
}

#[test]
fn a_non_2xx_status_is_an_error_on_every_runtime() {
    const UNAVAILABLE: &[&[u8]] =
        &[b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"];
    errors::<Tokio>(UNAVAILABLE);
    errors::<AsyncStd>(UNAVAILABLE);
    errors::<Smol>(UNAVAILABLE);
}

#[test]
fn a_short_body_is_an_error_on_every_runtime() {
    // Nine bytes announced, four sent, then the close.
    const SHORT: &[&[u8]] = &[b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nOslo"];
    errors::<Tokio>(SHORT);
    errors::<AsyncStd>(SHORT);
    errors::<Smol>(SHORT);
}

fn refused<R: Runtime>() {
    // A port nobody listens on: bound, then closed. (Another program could take it in
    // between; on loopback, within a test, that does not happen.)
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (outcome, phases) = attempt_on::<R>(Feeds { addr, run: 1 }, PATIENT);
    assert_eq!(outcome, (AttemptOutcome::Error, None), "{}", R::NAME);
    assert_eq!(phases, Vec::new(), "{}: never connected", R::NAME);
}

#[test]
fn a_refused_connection_is_an_error_on_every_runtime() {
    refused::<Tokio>();
    refused::<AsyncStd>();
    refused::<Smol>();
}

/// A server that sends a byte of a valid head every 20 ms: each read gets something, so only a
/// deadline for the whole attempt can stop it. It writes until the client has closed (a write
/// fails), at most a thousand bytes.
fn trickles_until_the_deadline<R: Runtime>() {
    let (feeds, server) = serve_once(|mut stream| {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Padding: ";
        let endless = head.iter().chain(std::iter::repeat(&b'x')).take(1_000);
        for &byte in endless {
            if stream.write_all(&[byte]).is_err() {
                return true; // the client closed
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    });
    let (outcome, phases) = attempt_on::<R>(feeds, IMPATIENT);
    assert_eq!(outcome, (AttemptOutcome::Timeout, None), "{}", R::NAME);
    assert_eq!(phases, ALL_PHASES, "{}", R::NAME);
    assert!(server.join().unwrap(), "{}: the trickle ran out", R::NAME);
}

#[test]
fn a_trickle_cannot_outlast_the_deadline_on_every_runtime() {
    trickles_until_the_deadline::<Tokio>();
    trickles_until_the_deadline::<AsyncStd>();
    trickles_until_the_deadline::<Smol>();
}

// ANCHOR: abandoned_attempt
/// An attempt against a server that reads the request and never answers: it is abandoned at
/// its deadline, and by the time `tcp_attempt` returns, its socket is closed (not later, when
/// the runtime shuts down): the process holds no socket to the server any more, and the server
/// reads the end of the stream.
fn abandoned_at_the_deadline_closes_its_socket<R: Runtime>() {
    let (feeds, server) = serve_once(sees_the_close);
    let (outcome, phases, open) = R::block_on(|runtime| async move {
        let mut phases = Vec::new();
        let deadline = later(Instant::now(), IMPATIENT);
        let reached = |phase| phases.push(phase);
        let outcome = tcp_attempt(&runtime, &feeds, "Oslo west", deadline, reached).await;
        // Counted at once, inside the runtime, which is still running.
        (outcome, phases, open_sockets_to(feeds))
    })
    .unwrap();
    assert_eq!(outcome, (AttemptOutcome::Timeout, None), "{}", R::NAME);
    // Abandoned while waiting for the answer, after the request went out.
    let sent = [SocketPhase::Connected, SocketPhase::RequestSent];
    assert_eq!(phases, sent, "{}", R::NAME);
    assert_eq!(
        open,
        0,
        "{}: sockets open when the attempt returned",
        R::NAME
    );
    let closed = server.join().unwrap();
    assert!(closed, "{}: the server never saw the close", R::NAME);
}

/// How many sockets of this process are connected to the server of `feeds` (Linux: counted
/// in `/proc`; elsewhere the server's view, `sees_the_close`, is the only check).
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
