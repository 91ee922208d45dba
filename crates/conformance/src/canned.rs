//! Canned feed servers: tiny servers on loopback that do exactly what a test scripts, for the
//! unit tests of each style's tcp attempt.
//!
//! The real feed server (`rosetta-feeds`) answers as a scenario says; the conformance battery in
//! [`crate::tcp`] runs against it. A unit test of one attempt needs the other end to misbehave
//! on cue instead: answer in pieces, trickle a byte now and then, never answer, close early,
//! reset. A [`CannedServer`] does that. It listens on `127.0.0.1:0`, takes one connection per
//! [`Reply`] in turn, reads each request up to its empty line and checks that it is the one
//! the specification says an attempt sends for [`SOURCE`] ([`Feeds::request`]), then follows
//! the reply's script. [`CannedServer::join`] hands back what it saw of each connection
//! ([`Served`]): the request, and whether the client closed the connection.
//!
//! ```no_run
//! use rosetta_conformance::canned::{CannedServer, Reply, ANSWER};
//!
//! let server = CannedServer::start([Reply::answer(ANSWER).awaiting_the_close()]);
//! // ... one attempt at `canned::SOURCE` on `server.feeds()` ...
//! assert!(server.join()[0].closed_by_client, "the client closed the connection");
//! ```
//!
//! Nothing here measures a duration: a canned server answers within milliseconds or never, far
//! from any deadline a test sets, and everything it waits for is bounded by [`WATCHDOG`], so that
//! a broken client fails a test instead of hanging it.
//!
//! (The pipeline crate's own tests of the blocking `exchange` cannot use this module:
//! `rosetta-conformance` depends on `rosetta-pipeline`, not the other way round. They keep a
//! server of their own.)

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rosetta_pipeline::trace::SocketPhase;
use rosetta_pipeline::transport::Feeds;

/// How long a canned server waits for anything (a connection, a read, a write) before it gives
/// up, so that a client that never does its part fails the test instead of hanging it.
pub const WATCHDOG: Duration = Duration::from_secs(20);

/// The source every canned server expects a request for. The space in it shows that the request
/// percent-encodes the name (`Oslo%20west`).
pub const SOURCE: &str = "Oslo west";

/// A `200` whose body is [`ANSWER_BODY`], complete by its `Content-Length`: a client that reads
/// it need not wait for the server to close.
pub const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nOslo;1.0\n";

/// The body of [`ANSWER`].
pub const ANSWER_BODY: &str = "Oslo;1.0\n";

/// [`ANSWER`] cut into three pieces, inside its head and inside its body, for
/// [`Reply::in_pieces`]: the client has to put a response together from several reads.
pub const ANSWER_IN_PIECES: [&[u8]; 3] = [
    b"HTTP/1.1 200 OK\r\nContent-Le",
    b"ngth: 9\r\n\r\nOslo",
    b";1.0\n",
];

/// A `503` with a body: an error, whose body must not be taken for a feed's answer.
pub const UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";

/// A `200` that announces 10 bytes of body and has 4: followed by the server's close, a short
/// response (`HttpError::ShortBody { received: 4, expected: 10 }`).
pub const SHORT_BODY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOslo";

/// The socket phases of an attempt that was answered: every one.
pub const ALL_PHASES: [SocketPhase; 3] = [
    SocketPhase::Connected,
    SocketPhase::RequestSent,
    SocketPhase::FirstByte,
];

/// The socket phases of an attempt that sent its request and never heard a byte back.
pub const PHASES_UNTIL_REQUEST_SENT: [SocketPhase; 2] =
    [SocketPhase::Connected, SocketPhase::RequestSent];

/// A response head that never ends, `len` bytes long: a valid status line, then a padding
/// header that goes on and on. Trickled ([`Reply::trickle`]), it keeps every read of a client
/// busy and never completes, so that only a deadline for the whole attempt can end it.
pub fn endless_head(len: usize) -> Vec<u8> {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Padding: ";
    head.iter()
        .copied()
        .chain(std::iter::repeat(b'x'))
        .take(len)
        .collect()
}

/// [`Feeds`] at a port nobody listens on: a port bound, noted and closed again, so that a
/// connect is refused. (Another program could take the port in between; on loopback, within a
/// test, that does not happen.)
pub fn refusing_feeds() -> Feeds {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port on loopback");
    Feeds {
        addr: listener.local_addr().expect("a bound listener's address"),
        run: 1,
    }
}

/// What a canned server does with one connection: the script of one [`Reply`].
#[derive(Debug, Clone)]
pub struct Reply {
    /// How long the server waits before it reads the request.
    delay_before_reading: Duration,
    /// What it writes, in order; nothing for a server that never answers.
    pieces: Vec<Vec<u8>>,
    /// How long it waits after each piece, so that each arrives in a read of its own.
    pause: Duration,
    /// What it does once it has written everything.
    then: Then,
}

/// How a canned server ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// Closes it (a FIN): the end of the response, for a client that reads to the end.
    Close,
    /// Waits for the client to close it, and reports whether it saw that.
    AwaitClose,
    /// Closes it with a reset (RST) instead of a FIN.
    Reset,
}

impl Reply {
    /// Writes `response` at once, then closes the connection.
    pub fn answer(response: impl Into<Vec<u8>>) -> Reply {
        Reply::in_pieces([response], Duration::ZERO)
    }

    /// Writes `pieces` one at a time, `pause` after each, then closes the connection. Stops
    /// early if the client closes first.
    pub fn in_pieces<P: Into<Vec<u8>>>(
        pieces: impl IntoIterator<Item = P>,
        pause: Duration,
    ) -> Reply {
        Reply {
            delay_before_reading: Duration::ZERO,
            pieces: pieces.into_iter().map(Into::into).collect(),
            pause,
            then: Then::Close,
        }
    }

    /// Writes `response` one byte `every` so often: every read of the client gets something,
    /// and the whole takes as long as the bytes times `every`. Stops once the client has closed
    /// (a write fails), which [`Served::closed_by_client`] then says.
    pub fn trickle(response: impl Into<Vec<u8>>, every: Duration) -> Reply {
        let pieces = response.into().into_iter().map(|byte| vec![byte]);
        Reply::in_pieces(pieces, every)
    }

    /// Never answers (a `hang` feed): reads the request, then waits for the client to close.
    pub fn hang() -> Reply {
        Reply::in_pieces(Vec::<Vec<u8>>::new(), Duration::ZERO).awaiting_the_close()
    }

    /// Answers nothing and closes the connection with a reset (RST). The kernel resets a
    /// connection closed with data still unread in its receive buffer, so the server reads all
    /// of the request but its last byte, waits until that byte has come, and closes.
    pub fn reset() -> Reply {
        Reply {
            then: Then::Reset,
            ..Reply::in_pieces(Vec::<Vec<u8>>::new(), Duration::ZERO)
        }
    }

    /// After writing, does not close the connection but waits for the client to: a response
    /// complete by its `Content-Length` is one the client must close, and this checks that it
    /// does.
    pub fn awaiting_the_close(self) -> Reply {
        Reply {
            then: Then::AwaitClose,
            ..self
        }
    }

    /// Waits `delay` after the connection is accepted before reading the request, so that a
    /// large request fills the kernel's buffers and the client's writes stop part-way.
    pub fn reading_after(self, delay: Duration) -> Reply {
        Reply {
            delay_before_reading: delay,
            ..self
        }
    }
}

/// What a canned server saw of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The request, as read (it has been checked already: it is the one for the expected
    /// source; after a [`Reply::reset`], all of it but its last byte).
    pub request: Vec<u8>,
    /// Whether the server saw the client close the connection: a read of 0 bytes or a reset
    /// while it waited ([`Reply::hang`], [`Reply::awaiting_the_close`]), or a write that failed
    /// because the client had gone. `false` if the server closed first, or if its
    /// [`WATCHDOG`] ran out.
    pub closed_by_client: bool,
}

/// A server on `127.0.0.1:0` that serves one connection per [`Reply`], in turn, on a thread of
/// its own.
#[derive(Debug)]
pub struct CannedServer {
    feeds: Feeds,
    thread: JoinHandle<Vec<Served>>,
}

impl CannedServer {
    /// Starts a server whose every connection must ask for [`SOURCE`] (of run 1).
    pub fn start(replies: impl IntoIterator<Item = Reply>) -> CannedServer {
        CannedServer::start_for_source(SOURCE, replies)
    }

    /// Starts a server whose every connection must ask for `source` (of run 1).
    pub fn start_for_source(
        source: &str,
        replies: impl IntoIterator<Item = Reply>,
    ) -> CannedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port on loopback");
        let feeds = Feeds {
            addr: listener.local_addr().expect("a bound listener's address"),
            run: 1,
        };
        let expected = feeds.request(source);
        let replies: Vec<Reply> = replies.into_iter().collect();
        let thread = thread::spawn(move || {
            replies
                .into_iter()
                .map(|reply| {
                    let stream = accept_within_watchdog(&listener);
                    serve_connection(stream, &expected, reply)
                })
                .collect()
        });
        CannedServer { feeds, thread }
    }

    /// Where the server listens, as an attempt's transport takes it (run 1).
    pub fn feeds(&self) -> Feeds {
        self.feeds
    }

    /// Waits for the server to finish its replies, and returns what it saw of each connection,
    /// in order. A failed check on the server's thread (no connection within the
    /// [`WATCHDOG`], a request for another source) fails the test here.
    pub fn join(self) -> Vec<Served> {
        self.thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// One connection: read the request, check it, follow the reply's script.
fn serve_connection(mut stream: TcpStream, expected: &[u8], reply: Reply) -> Served {
    thread::sleep(reply.delay_before_reading);
    if reply.then == Then::Reset {
        return reset(stream, expected);
    }
    let request = read_request(&mut stream);
    assert!(
        request == expected,
        "the request is not the one for the expected source:\n{}",
        String::from_utf8_lossy(&request[..request.len().min(200)])
    );
    // Each piece goes out at once, not gathered with the next (Nagle's algorithm).
    stream.set_nodelay(true).expect("TCP_NODELAY");
    for piece in &reply.pieces {
        match stream.write_all(piece) {
            Ok(()) => thread::sleep(reply.pause),
            Err(error) => {
                return Served {
                    request,
                    closed_by_client: client_went_away(&error),
                };
            }
        }
    }
    let closed_by_client = match reply.then {
        Then::AwaitClose => sees_the_close(&mut stream),
        Then::Close | Then::Reset => false,
    };
    Served {
        request,
        closed_by_client,
    }
}

/// The reset: reads all of the request but its last byte, waits for that byte without reading
/// it, and closes with it unread, which the kernel answers with a reset (RST), not a FIN.
fn reset(mut stream: TcpStream, expected: &[u8]) -> Served {
    let mut request = vec![0; expected.len() - 1];
    stream.read_exact(&mut request).expect("the request");
    assert!(
        request == expected[..request.len()],
        "the request is not the one for the expected source"
    );
    let mut last = [0];
    assert_eq!(stream.peek(&mut last).expect("the request's last byte"), 1);
    drop(stream);
    Served {
        request,
        closed_by_client: false,
    }
}

/// The next connection to `listener`, waited for at most [`WATCHDOG`]; its reads and writes
/// wait at most that long too. A client that never connects fails the test instead of hanging
/// it. (A blocking `accept` has no timeout, so the listener is polled, every millisecond.)
pub fn accept_within_watchdog(listener: &TcpListener) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let started = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).expect("a blocking stream");
                stream
                    .set_read_timeout(Some(WATCHDOG))
                    .expect("a read timeout");
                stream
                    .set_write_timeout(Some(WATCHDOG))
                    .expect("a write timeout");
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

/// Reads a request up to its empty line, in pieces of up to 64 KiB (a request may be
/// megabytes: a very long source name). The client sends nothing after its request, so nothing
/// past the empty line is read.
fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut request = Vec::new();
    let mut buffer = vec![0; 64 * 1024];
    while !request.ends_with(b"\r\n\r\n") {
        let read = stream.read(&mut buffer).expect("the request");
        assert!(read > 0, "the client closed before the end of its request");
        request.extend_from_slice(&buffer[..read]);
    }
    request
}

/// Waits until the client closes its end of `stream`, reading and discarding whatever it
/// sends: `true` if it did (a read of 0 bytes, or a reset), `false` if the [`WATCHDOG`] (the
/// stream's read timeout) ran out first.
pub fn sees_the_close(stream: &mut TcpStream) -> bool {
    let mut buffer = [0; 64];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(error) => return client_went_away(&error),
        }
    }
}

/// Whether a failed read or write says that the client has closed the connection (rather than
/// that a timeout ran out).
fn client_went_away(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

#[cfg(test)]
mod tests {
    //! The canned server's own checks, with a blocking std client: a request for another source
    //! fails the server, and a reset is a reset.

    use super::*;

    /// Connects to `feeds`, sends the request for `source`, and reads until the server closes:
    /// the bytes read, or the error that ended the read.
    fn fetch(feeds: Feeds, source: &str) -> io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(feeds.addr)?;
        stream.set_read_timeout(Some(WATCHDOG))?;
        stream.write_all(&feeds.request(source))?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(response)
    }

    #[test]
    fn an_answer_is_written_whole_and_the_request_is_kept() {
        let server = CannedServer::start([Reply::in_pieces(ANSWER_IN_PIECES, Duration::ZERO)]);
        let feeds = server.feeds();
        assert_eq!(fetch(feeds, SOURCE).unwrap(), ANSWER);
        let served = server.join();
        let expected = Served {
            request: feeds.request(SOURCE),
            closed_by_client: false,
        };
        assert_eq!(served, [expected]);
    }

    #[test]
    fn a_request_for_another_source_fails_the_server() {
        let server = CannedServer::start([Reply::answer(ANSWER)]);
        // The server panics instead of answering: the client reads nothing, or a reset.
        let _ = fetch(server.feeds(), "Bergen");
        let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.join()));
        let panic = joined.expect_err("the join fails");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(
            message.contains("not the one for the expected source"),
            "{message}"
        );
    }

    #[test]
    fn a_reset_is_a_reset_to_the_client() {
        let server = CannedServer::start([Reply::reset()]);
        let error = fetch(server.feeds(), SOURCE).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
        server.join();
    }

    #[test]
    fn a_hang_sees_the_client_close() {
        let server = CannedServer::start([Reply::hang()]);
        let mut stream = TcpStream::connect(server.feeds().addr).unwrap();
        stream.write_all(&server.feeds().request(SOURCE)).unwrap();
        drop(stream);
        assert!(server.join()[0].closed_by_client);
    }
}
