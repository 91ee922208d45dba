//! Tests of exercise 23: `fetch` returns the response, times out by its deadline however the
//! server behaves (a trickle of bytes, or nothing at all), and leaves no socket open.
//!
//! Each test starts a small server of its own on a thread, on `127.0.0.1:0`: it reads the
//! request, then answers, trickles or hangs, and reports whether it saw the client close the
//! connection. Every wait in it is bounded, so a client that never closes, or never returns,
//! fails the test instead of hanging it. The socket count reads the kernel's tables
//! (`rosetta_conformance::tcp::sockets_to`): this process's sockets connected to the server's
//! port.

use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use deadline_client::{FetchError, fetch};
use rosetta_pipeline::http::{HttpError, Response};
use tokio::time::Instant;

/// Where to read about this exercise.
const REREAD: &str = "chapter 9, Real I/O: sockets, readiness and the reactor \
                      (book/src/real-io.md)";

/// How long anything in a test may take before the test gives up on it. A correct client needs
/// well under a second; this is only there so that a broken one fails instead of hanging.
const WATCHDOG: Duration = Duration::from_secs(10);

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// What the test server does once it has read the request.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    /// Sends these bytes, then waits for the client to close.
    Answer(&'static [u8]),
    /// Sends these bytes, then closes.
    AnswerAndClose(&'static [u8]),
    /// Sends a head announcing 100 body bytes, then one body byte every 20 ms (two seconds in
    /// all), as long as the client listens.
    Trickle,
    /// Sends nothing, and waits for the client to close.
    Hang,
}

/// A running test server.
struct Server {
    /// Where it listens.
    addr: SocketAddr,
    /// Whether it saw the client close the connection (sent once it knows).
    saw_close: mpsc::Receiver<bool>,
}

impl Server {
    /// Whether the server saw the client close, within a bounded wait.
    fn saw_close(&self) -> bool {
        self.saw_close.recv_timeout(WATCHDOG).unwrap_or(false)
    }
}

/// Starts a server that accepts one connection and behaves as told.
fn serve(behaviour: Behaviour) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let addr = listener.local_addr().unwrap();
    let (report, saw_close) = mpsc::channel();
    std::thread::spawn(move || {
        let Some(mut client) = accept_within(&listener, WATCHDOG) else {
            return; // no client came: the test fails on its own
        };
        client.set_read_timeout(Some(WATCHDOG)).unwrap();
        if !read_request(&mut client) {
            let _ = report.send(true); // the client closed before the request was complete
            return;
        }
        let closed = match behaviour {
            Behaviour::Answer(bytes) => {
                let _ = client.write_all(bytes);
                sees_the_close(&mut client)
            }
            Behaviour::AnswerAndClose(bytes) => {
                let _ = client.write_all(bytes);
                return; // `client` is dropped: closed
            }
            Behaviour::Trickle => {
                let mut closed = client
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
                    .is_err();
                for _ in 0..100 {
                    if closed {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                    // The client has gone: the write fails (at once, or at the next one).
                    closed = client.write_all(b"x").is_err();
                }
                closed || sees_the_close(&mut client)
            }
            Behaviour::Hang => sees_the_close(&mut client),
        };
        let _ = report.send(closed);
    });
    Server { addr, saw_close }
}

/// Accepts one connection, waiting at most `limit`.
fn accept_within(listener: &TcpListener, limit: Duration) -> Option<TcpStream> {
    listener.set_nonblocking(true).unwrap();
    let polls = limit.as_millis() / 5;
    for _ in 0..polls {
        match listener.accept() {
            Ok((client, _)) => {
                client.set_nonblocking(false).unwrap();
                return Some(client);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    None
}

/// Reads the request's head (up to its empty line). `false` if the client closed first.
fn read_request(client: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buffer = [0; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    true
}

/// Whether the client has closed the connection: a read returns 0 (the end of the stream), or a
/// reset, within the read timeout, instead of data or the time-out.
fn sees_the_close(client: &mut TcpStream) -> bool {
    let mut byte = [0; 1];
    match client.read(&mut byte) {
        Ok(0) => true,
        Err(error) => error.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

/// Runs `fetch` under the watchdog.
async fn fetch_within_watchdog(server: &Server, deadline_ms: u64) -> Result<Response, FetchError> {
    let deadline = Instant::now() + Duration::from_millis(deadline_ms);
    match tokio::time::timeout(WATCHDOG, fetch(server.addr, "/feeds/oslo", deadline)).await {
        Ok(result) => result,
        Err(_) => panic!(
            "`fetch` with a deadline {deadline_ms} ms away had not returned {} s later: where \
             is the deadline?\n    reread: {REREAD}",
            WATCHDOG.as_secs()
        ),
    }
}

/// This process's sockets connected to the server (Linux: counted in `/proc`).
#[cfg(target_os = "linux")]
fn sockets_to(server: &Server) -> usize {
    rosetta_conformance::tcp::sockets_to(server.addr.port())
}

/// Elsewhere the count is not available; the server's view of the close is checked instead.
#[cfg(not(target_os = "linux"))]
fn sockets_to(_server: &Server) -> usize {
    0
}

/// Checks that `fetch` left no socket open: none in the process, and the server saw the close.
#[track_caller]
fn check_no_socket_left(server: &Server, after: &str) {
    check(
        &format!(
            "{after}: this process's sockets still connected to the server, right after `fetch` \
             returned (the stream must be dropped by then: not kept, not left in a spawned task)"
        ),
        sockets_to(server),
        0,
    );
    check(
        &format!("{after}: the server saw the client close the connection"),
        server.saw_close(),
        true,
    );
}

#[tokio::test]
async fn a_200_is_the_response() {
    let server = serve(Behaviour::Answer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nOslo;4.2\n",
    ));
    check(
        "sockets to the server before `fetch`",
        sockets_to(&server),
        0,
    );
    let result = fetch_within_watchdog(&server, 5_000).await;
    match result {
        Ok(response) => check(
            "the response",
            response,
            Response {
                status: 200,
                body: "Oslo;4.2\n".into(),
            },
        ),
        Err(error) => panic!(
            "a server that answers at once: expected Ok(..), got Err({error:?}). The response \
             is complete when the parser says so (the server keeps the connection open)\n    \
             reread: {REREAD}"
        ),
    }
    check_no_socket_left(&server, "after a 200");
}

#[tokio::test]
async fn a_short_response_is_an_error() {
    let server = serve(Behaviour::AnswerAndClose(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOslo",
    ));
    let result = fetch_within_watchdog(&server, 5_000).await;
    if !matches!(
        result,
        Err(FetchError::Http(HttpError::ShortBody {
            received: 4,
            expected: 10
        }))
    ) {
        panic!(
            "the server announced 10 body bytes, sent 4 and closed: expected \
             Err(Http(ShortBody {{ received: 4, expected: 10 }})), got {result:?}. A read of 0 \
             bytes is the close: ask `parser.eof()` what it means\n    reread: {REREAD}"
        );
    }
    check(
        "after a short response: sockets still connected to the server",
        sockets_to(&server),
        0,
    );
}

#[tokio::test]
async fn a_trickle_cannot_outlast_the_deadline() {
    // A byte every 20 ms for two seconds, against a deadline 250 ms away: every single read
    // is quick, so only a deadline for the whole exchange ends it in time.
    let server = serve(Behaviour::Trickle);
    let result = fetch_within_watchdog(&server, 250).await;
    if !matches!(result, Err(FetchError::Timeout)) {
        panic!(
            "a server that trickles a byte every 20 ms for 2 s, against a deadline 250 ms \
             away: expected Err(Timeout), got {result:?}. A timeout on each read never fires \
             here, since each read waits 20 ms: put one deadline around the whole exchange \
             (`tokio::time::timeout_at`)\n    reread: {REREAD}"
        );
    }
    check_no_socket_left(&server, "after a trickle timed out");
}

#[tokio::test]
async fn a_hang_is_a_timeout_and_the_socket_is_closed() {
    let server = serve(Behaviour::Hang);
    let result = fetch_within_watchdog(&server, 100).await;
    if !matches!(result, Err(FetchError::Timeout)) {
        panic!(
            "a server that never answers, against a deadline 100 ms away: expected \
             Err(Timeout), got {result:?}\n    reread: {REREAD}"
        );
    }
    check_no_socket_left(&server, "after a hang timed out");
}
