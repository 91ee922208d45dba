//! Listening, accepting, and serving each connection with hyper.
//!
//! One task accepts; every accepted connection gets a task of its own that runs hyper's
//! HTTP/1.1 state machine over it ([`http1::Builder::serve_connection`]) and ends when the
//! connection does. Dropping a connection's task closes its socket: that is how shutdown closes
//! connections that hang (see `lib.rs`).
//!
//! Read next: `routes.rs` for what each request is answered.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::routes::{self, Site};

/// How long a client may take to send a whole request head. A client that connects and sends
/// half a head, then neither finishes nor closes, would otherwise hold its connection (and a
/// file descriptor) forever; a real client sends its few hundred bytes at once.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the accept loop pauses after an `accept` that failed for want of resources (out
/// of file descriptors: `EMFILE`, `ENFILE`; out of memory). Retrying at once would spin on the
/// same error; pausing lets connections end and give their descriptors back. Short, because our
/// connections are short: a load of many feeds frees descriptors every few milliseconds.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Binds a listening socket on `addr` with room for `backlog` connections waiting to be
/// accepted (the kernel caps it at `net.core.somaxconn`). A burst of thousands of connects,
/// which a load test makes, overflows the usual 128 or 1024; the overflow waits a second for
/// the client's SYN to be retried, which would show up as a server far slower than it is.
///
/// Must be called inside the server's runtime (the listener registers with its reactor).
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Lets `rosetta feeds serve --addr 127.0.0.1:8080` start again at once on the port it just
    // left, while that port's closed connections linger in TIME_WAIT (std's listener does the
    // same on Unix).
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Accepts connections for ever, each served on a task of its own. Never returns: the server
/// stops by dropping the runtime, which drops this task and its listener.
pub async fn accept_loop(listener: TcpListener, site: Arc<Site>) {
    let mut http = http1::Builder::new();
    http
        // One request per connection, as the specification says; hyper also writes
        // `Connection: close` itself, and closes the connection after the response.
        .keep_alive(false)
        // A client that closes its side while its request waits (latency, or a `hang`) is
        // gone: end the connection, dropping the waiting handler. This is hyper's default; it
        // is spelled out because the server depends on it. With half-close allowed, hyper
        // would keep a hanging connection open after the client left, until shutdown.
        .half_close(false)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                tokio::spawn(serve(http.clone(), stream, Arc::clone(&site)));
            }
            Err(error) => {
                site.counters.accept_error();
                // A connection reset or aborted before we accepted it is that connection's
                // problem: go on at once. Anything else (out of descriptors or memory) will
                // fail again right away, so wait a little first. Never stop accepting.
                if !is_per_connection(&error) {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
}

/// Whether an `accept` error concerns one connection only.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// Serves one connection until hyper is done with it.
async fn serve(http: http1::Builder, stream: TcpStream, site: Arc<Site>) {
    // Counted as open from here until this future is dropped, however it ends.
    let _open = site.counters.open_connection();
    // A response is written in one go and the connection closed: no point waiting for
    // Nagle's algorithm to gather more.
    let _ = stream.set_nodelay(true);
    let service = service_fn(|request| routes::answer(&site, request));
    // An error here is the client's doing: a malformed request (hyper has answered `400`), a
    // head that never finished, or a client that left early. Nothing to do but close.
    let _ = http.serve_connection(TokioIo::new(stream), service).await;
}
