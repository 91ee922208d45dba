//! # Exercise 23: a client with a deadline, that leaks no socket
//!
//! Chapter 9, Real I/O (`book/src/real-io.md`). About 15 minutes.
//!
//! Write [`fetch`], an async/await HTTP client on tokio: connect to `addr`, send
//! [`request`]`(addr, path)`, read the response into the sans-I/O parser ([`ResponseParser`]),
//! and return it. The contract:
//!
//! - **one deadline for the whole exchange**: connecting, writing and reading all end by
//!   `deadline`, or `fetch` returns [`FetchError::Timeout`]. A server that sends one byte every
//!   20 ms must not stretch the exchange past the deadline: a timeout on each read would let
//!   it, since no single read ever waits long (the tests have such a server);
//! - the response is complete when the parser says so, not when the server closes; a close
//!   before that is the parser's `eof` error; connect, write and read errors are
//!   [`FetchError::Io`];
//! - **no socket outlives the call**: when `fetch` returns, whatever it returns (a timeout
//!   included), its connection is closed. The tests count this process's sockets connected to
//!   the server, and check that the server sees the close.
//!
//! tokio's `TcpStream` (`tokio::net`), its `AsyncReadExt` and `AsyncWriteExt` (`tokio::io`) and
//! its timers (`tokio::time`) are all you need.
//!
//! Check your work with `cargo run -- learn check 23`. Stuck? `cargo run -- learn hint 23`.

use std::io;
use std::net::SocketAddr;

use rosetta_pipeline::http::{HttpError, Response, ResponseParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How many bytes one read may bring: the largest piece fed to the parser at once.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// Why [`fetch`] has no response.
#[derive(Debug)]
pub enum FetchError {
    /// The deadline passed before the response was complete.
    Timeout,
    /// Connecting, writing or reading failed (refused, reset).
    Io(io::Error),
    /// The bytes are not one whole, well-formed response: malformed, or cut short by the close.
    Http(HttpError),
}

impl From<io::Error> for FetchError {
    fn from(error: io::Error) -> Self {
        FetchError::Io(error)
    }
}

impl From<HttpError> for FetchError {
    fn from(error: HttpError) -> Self {
        FetchError::Http(error)
    }
}

/// The request for `path` on the server at `addr`: a `GET`, one per connection.
pub fn request(addr: SocketAddr, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Fetches `path` from the HTTP server at `addr`: connects, sends [`request`], reads the
/// response, all by `deadline`, or fails with [`FetchError::Timeout`]. The connection is closed
/// when this returns, whatever it returns.
pub async fn fetch(
    addr: SocketAddr,
    path: &str,
    deadline: Instant,
) -> Result<Response, FetchError> {
    // TODO: the exchange (connect, write, read into the parser until it has the response),
    // with one deadline around all of it.
    todo!("connect, write, read, all by the deadline")
}
