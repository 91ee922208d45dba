//! # Exercise 21: a read driven by readiness callbacks
//!
//! Chapter 9, Real I/O (`book/src/real-io.md`). About 20 minutes.
//!
//! The event loop of the callbacks style owns non-blocking sockets: `register` hands one to it,
//! `on_readable(socket, callback)` asks it to call `callback` once, the next time the socket is
//! readable, and `close` deregisters and closes it. A read on such a socket never waits: with
//! nothing there, it fails at once with `io::ErrorKind::WouldBlock`, which means "not now".
//!
//! Write [`read_response`]: read one whole HTTP response from a registered socket, and deliver
//! it to the continuation `done`. The contract:
//!
//! - the response may arrive in any number of pieces, with pauses between them: each readable
//!   callback reads what has arrived, feeds it to the sans-I/O parser
//!   ([`ResponseParser`]), and if the response is not complete yet, arms `on_readable` again;
//! - a callback never waits: it reads until `WouldBlock`, then returns to the loop, which has
//!   other callbacks to run (the tests' server writes from timers on the same loop, so a read
//!   that loops on `WouldBlock`, or blocks, never sees the rest);
//! - `done` is called exactly once: with the response as soon as the parser has it (the server
//!   may keep the connection open), or with the error (the loop could not wait, a read failed,
//!   the response is malformed, or the server closed before it was complete: ask the parser's
//!   `eof` what a close means);
//! - the socket is closed before `done` is called, on every path: when the loop has nothing
//!   left to do, no socket is registered (`open_sockets()` is 0).
//!
//! No futures: this is the callbacks style. The [`Reader`] below is the state that travels from
//! one callback to the next; use it, or change it as you like.
//!
//! Check your work with `cargo run -- learn check 21`. Stuck? `cargo run -- learn hint 21`.

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
    // TODO: the read starts when the socket is readable, and ends with the socket closed and
    // `done` called once.
    todo!("start reading when the socket is readable")
}

/// What the read keeps from one callback to the next. It has no owner but the callback armed on
/// the socket: each callback takes it by value, and passes it on to the next callback it arms,
/// or consumes it when the read ends.
struct Reader {
    /// The loop, to arm callbacks and to close the socket. (A handle: cloning it is cheap.)
    event_loop: EventLoop,
    /// The socket, owned by the loop.
    socket: SocketId,
    /// Every byte read so far has been fed to it.
    parser: ResponseParser,
    /// The continuation, to call once.
    done: Done,
}

impl Reader {
    /// The socket is readable (or the loop could not wait for it: error-first): read, feed the
    /// parser, and either deliver the outcome or wait for readable again.
    fn read(mut self, ready: io::Result<&TcpStream>) {
        // TODO: the read loop, and what each kind of result means for the response.
        todo!("read until WouldBlock, then wait again or finish")
    }
}
