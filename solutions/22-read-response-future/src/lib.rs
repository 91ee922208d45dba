//! Solution of exercise 22: reading an HTTP response as a hand-written future on the reactor.
//!
//! The exercise (`exercises/22-read-response-future/src/lib.rs`) states the task; chapter 9 of
//! the book (`book/src/real-io.md`) explains the reactor. The pipeline's own version is
//! `ReadResponse` in `crates/state-machines/src/fetch.rs`, which also yields after a budget of
//! reads.

use std::io::{self, Read};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{Context, Poll};

use rosetta_pipeline::http::{HttpError, Response, ResponseParser};
use rosetta_state_machines::reactor::{Direction, Registration};

/// How many bytes one read may bring. The buffer lives on `poll`'s stack, for one poll: what the
/// future keeps between polls is the parser.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Why no response could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The socket failed (a reset, say), or the reactor could not wait for it.
    Io(io::Error),
    /// The bytes are not one whole, well-formed response: malformed, or cut short by the close.
    Http(HttpError),
}

/// Reads one HTTP response from `stream`, a non-blocking socket registered with a reactor. The
/// connection is closed (deregistered, then closed) when the future completes, or when it is
/// dropped before that.
pub fn read_response(stream: Registration<TcpStream>) -> ReadResponse {
    ReadResponse {
        state: State::Reading {
            stream,
            parser: ResponseParser::new(),
        },
    }
}

/// Future for [`read_response`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct ReadResponse {
    /// Where the read is.
    state: State,
}

/// The states of a [`ReadResponse`].
#[derive(Debug)]
enum State {
    /// Reading: the connection, and the parser that has been fed every byte read so far.
    Reading {
        /// The connection, registered with the reactor.
        stream: Registration<TcpStream>,
        /// The sans-I/O parser.
        parser: ResponseParser,
    },
    /// `Ready` has been returned, and the connection closed.
    Done,
}

impl Future for ReadResponse {
    type Output = Result<Response, ReadError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `ReadResponse` is `Unpin` (no field is pinned), so the `Pin` derefs to `&mut Self`.
        let State::Reading { stream, parser } = &mut self.state else {
            panic!("`ReadResponse` polled after completion");
        };
        let mut buffer = [0; READ_BUFFER_BYTES];
        let finished = loop {
            match stream.get_ref().read(&mut buffer) {
                // The server closed before the response was complete: the parser says how.
                Ok(0) => break parser.eof().map_err(ReadError::Http),
                Ok(read) => match parser.feed(&buffer[..read]) {
                    // Not complete yet: Reading -> Reading, read on.
                    Ok(None) => {}
                    Ok(Some(response)) => break Ok(response),
                    Err(error) => break Err(ReadError::Http(error)),
                },
                // Nothing more has arrived. Leave our waker with the reactor, for "readable",
                // and return `Pending`: the reactor wakes the task when bytes (or the close)
                // arrive. `Ready(Ok)` means the socket was reported readable since the last
                // time we asked: read again at once (readiness is a hint; the read decides).
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    match stream.poll_ready(Direction::Read, cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(error)) => break Err(ReadError::Io(error)),
                    }
                }
                // A signal cut the call short: call again.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => break Err(ReadError::Io(error)),
            }
        };
        // Reading -> Done. Overwriting the state drops the registration, which deletes the socket
        // from the poller and then closes it: the server sees the close now, not whenever the
        // caller gets round to dropping this future.
        self.state = State::Done;
        Poll::Ready(finished)
    }
}
