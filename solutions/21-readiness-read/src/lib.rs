//! Solution of exercise 21: a whole HTTP response read from a non-blocking socket, one
//! readiness callback at a time.
//!
//! The exercise (`exercises/21-readiness-read/src/lib.rs`) states the task; chapter 9 of the
//! book (`book/src/real-io.md`) explains readiness. The pipeline's own version is
//! `TcpAttempt::read` in `crates/callbacks/src/fetch.rs`, which also records socket phases and
//! races a timeout.

use std::io::{self, Read};
use std::net::TcpStream;

use rosetta_callbacks::event_loop::{EventLoop, SocketId};
use rosetta_pipeline::http::{HttpError, Response, ResponseParser};

/// How many bytes one read may bring. The buffer is on the callback's stack, for one callback:
/// what the reader keeps between callbacks is the parser.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Why no response could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The socket failed (a reset, say), or the loop could not wait for it.
    Io(io::Error),
    /// The bytes are not one whole, well-formed response: malformed, or cut short by the close.
    Http(HttpError),
}

/// The continuation: called once, with the response or the reason there is none.
pub type Done = Box<dyn FnOnce(Result<Response, ReadError>)>;

/// Reads one HTTP response from `socket`, registered with `event_loop`, and calls `done` with
/// it (or with the error) exactly once. The socket is closed before `done` is called.
///
/// Returns at once: the reading happens in readiness callbacks, as the loop runs.
pub fn read_response(
    event_loop: &EventLoop,
    socket: SocketId,
    done: impl FnOnce(Result<Response, ReadError>) + 'static,
) {
    let reader = Reader {
        event_loop: event_loop.clone(),
        socket,
        parser: ResponseParser::new(),
        done: Box::new(done),
    };
    reader.wait_for_readable();
}

/// What the read keeps from one callback to the next. It has no owner but the callback armed on
/// the socket: each callback takes it by value, and passes it on to the next callback it arms,
/// or consumes it in [`Reader::finish`].
struct Reader {
    /// The loop, to arm callbacks and to close the socket. (A handle: cloning it is cheap.)
    event_loop: EventLoop,
    /// The socket, owned by the loop.
    socket: SocketId,
    /// Every byte read so far has been fed to it.
    parser: ResponseParser,
    /// The continuation, called once, by [`Reader::finish`].
    done: Done,
}

impl Reader {
    /// Asks the loop to call [`Reader::read`] the next time the socket is readable, and returns:
    /// the loop is free to run other callbacks meanwhile.
    fn wait_for_readable(self) {
        let event_loop = self.event_loop.clone();
        event_loop.on_readable(self.socket, move |ready| self.read(ready));
    }

    /// The socket is readable: read what has arrived, feeding the parser, until the response is
    /// complete, the server closes, or a read says `WouldBlock` (nothing more for now).
    fn read(mut self, ready: io::Result<&TcpStream>) {
        // Error-first: the loop could not wait for the socket.
        let mut stream = match ready {
            Ok(stream) => stream,
            Err(error) => return self.finish(Err(ReadError::Io(error))),
        };
        let mut buffer = [0; READ_BUFFER_BYTES];
        // Not bounded in count: the parser bounds what a response may hold. (The pipeline's
        // version stops after 32 reads and arms again, so that one fast socket cannot keep the
        // loop from the others; the socket is still readable, so the next event comes at once.)
        loop {
            match stream.read(&mut buffer) {
                // The server closed: a complete response has already been delivered, so this is
                // a short one. The parser says which error.
                Ok(0) => {
                    let short = self.parser.eof().map_err(ReadError::Http);
                    return self.finish(short);
                }
                Ok(read) => match self.parser.feed(&buffer[..read]) {
                    // Not complete: read on.
                    Ok(None) => {}
                    // Complete: deliver it now, without waiting for the server's close.
                    Ok(Some(response)) => return self.finish(Ok(response)),
                    Err(error) => return self.finish(Err(ReadError::Http(error))),
                },
                // "Not now", not an error: everything that had arrived has been read. Return to
                // the loop, and be called again when more arrives. Looping here instead would
                // spin, and hold the loop's only thread while the server pauses.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    return self.wait_for_readable();
                }
                // A signal cut the call short: simply call again.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return self.finish(Err(ReadError::Io(error))),
            }
        }
    }

    /// The one way out: closes the socket (deregistered from the poller, then closed), then calls
    /// the continuation. `self` is consumed, so no path can call `done` twice, and no callback is
    /// left armed: every path that does not arm a callback comes here.
    fn finish(self, result: Result<Response, ReadError>) {
        self.event_loop.close(self.socket);
        (self.done)(result);
    }
}
