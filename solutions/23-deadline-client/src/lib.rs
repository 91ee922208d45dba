//! Solution of exercise 23: an async/await client with one deadline for the whole exchange, that
//! leaves no socket open on any path.
//!
//! The exercise (`exercises/23-deadline-client/src/lib.rs`) states the task; chapter 9 of the
//! book (`book/src/real-io.md`) explains why a deadline is not a read timeout, and why
//! cancellation is drop. The pipeline's own version is `tcp_attempt` in
//! `crates/async-await/src/fetch.rs`, generic over three runtimes.

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
    // One timer for the whole exchange, raced against it. `timeout_at` takes an instant, not a
    // duration: however the time is spent (a slow connect, a server that trickles a byte at a
    // time), the exchange ends by `deadline`. A timeout on each read instead would let a server
    // that keeps every read short stretch the exchange for ever.
    match tokio::time::timeout_at(deadline, exchange(addr, path)).await {
        Ok(finished) => finished,
        // The timer won: `timeout_at` has dropped the exchange future wherever it stood, and
        // with it the `TcpStream` it owned. Dropping a tokio stream deregisters it from the
        // reactor and closes it, before this line runs: cancellation is drop.
        Err(_elapsed) => Err(FetchError::Timeout),
    }
}

/// The exchange itself, with no clock in it: [`fetch`] races it against the deadline.
async fn exchange(addr: SocketAddr, path: &str) -> Result<Response, FetchError> {
    // From here the stream is part of this future's state: closed when the function returns, on
    // every path (`?` included), or when the future is dropped before that.
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(&request(addr, path)).await?;
    let mut parser = ResponseParser::new();
    let mut buffer = [0; READ_BUFFER_BYTES];
    loop {
        // Each `.await` is where the task sleeps until the reactor reports the socket readable.
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            // The server closed before the response was complete: the parser says how short.
            return Ok(parser.eof()?);
        }
        if let Some(response) = parser.feed(&buffer[..read])? {
            return Ok(response);
        }
    }
}
