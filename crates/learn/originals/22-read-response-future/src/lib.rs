//! # Exercise 22: a future that reads a response from the reactor
//!
//! Chapter 9, Real I/O (`book/src/real-io.md`). About 20 minutes.
//!
//! The hand-written executor of `rosetta-state-machines` has a reactor for sockets. A socket is
//! registered with it as a [`Registration`], which owns the socket: `get_ref()` lends it for a
//! non-blocking call, and `poll_ready(Direction::Read, cx)` says whether the socket has been
//! reported readable since the last time it said so (`Ready`), or else keeps `cx`'s waker, asks
//! the operating system to report the socket readable, and is `Pending`. Dropping the
//! registration deletes the socket from the poller, then closes it.
//!
//! Write `poll` for [`ReadResponse`]: read one whole HTTP response, by hand, no `async`. The
//! contract:
//!
//! - each poll reads what has arrived, feeds it to the sans-I/O parser ([`ResponseParser`]),
//!   and returns `Ready` only once the parser has the whole response (or an error: a failed
//!   read, a malformed response, a close before the response was complete);
//! - when a read says `WouldBlock`, the future registers its interest with the reactor and
//!   returns `Pending` only if the reactor says it must wait: it never waits in a read (the
//!   executor's thread runs every other task), never spins, and never wakes itself: the
//!   reactor wakes it when bytes arrive;
//! - the connection is closed as soon as the future returns `Ready` (the server sees the
//!   close), and polling it again after that panics with "`ReadResponse` polled after
//!   completion".
//!
//! No `async` and no `.await` in this file (a test checks).
//!
//! Check your work with `cargo run -- learn check 22`. Stuck? `cargo run -- learn hint 22`.

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
        // TODO: read, feed, and decide, for each kind of read result; on `WouldBlock`, ask the
        // reactor. (`ReadResponse` is `Unpin`, so `self.state` works through the `Pin`.)
        todo!("read until the response is complete, waiting on the reactor")
    }
}
