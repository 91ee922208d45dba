//! Socket futures: [`Connect`] and [`WriteAll`], written by hand on the
//! reactor.
//!
//! # Blocking and non-blocking sockets
//!
//! A socket's calls block by default: `connect` returns when the handshake is
//! done, `write` when the bytes are in the kernel's send buffer, `read` when
//! some bytes have arrived. A thread that makes the call waits in it, which is
//! how the reference and the threads style work (one thread per connection). An
//! executor cannot work that way: it has one thread for thousands of futures,
//! and a future that blocked it would stop all the others.
//!
//! So the sockets here are *non-blocking*: every call returns at once. When it
//! cannot do its work yet, it says so with an error,
//! [`io::ErrorKind::WouldBlock`] ("try again later"), or, for a connect, "in
//! progress". A future that gets one does what every future does when it cannot
//! go on: it leaves its waker with whoever will know when it can (here, the
//! reactor, through [`Registration::poll_ready`]), and returns `Pending`. When
//! the reactor sees the socket ready, it wakes the future, which makes the call
//! again. Each future below is that loop written out as an `enum` of states,
//! one transition per comment, in the shape of every other future of this
//! crate.
//!
//! These two are generic: any address, any bytes. The one that reads an HTTP
//! response, and the attempt that strings the three together, are in
//! [`crate::fetch`].
//!
//! Read next: [`crate::fetch`], the attempt over TCP.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use rosetta_pipeline::transport::connect_in_progress;
use socket2::{Domain, Protocol, Socket, Type};

use crate::executor::reactor::{Direction, Reactor, Registration};

/// A TCP connection registered with the reactor: what [`Connect`] gives, and
/// [`WriteAll`] and [`ReadResponse`](crate::fetch::ReadResponse) take.
pub type TcpConnection = Registration<TcpStream>;

// ANCHOR: connect
/// Connects to `addr` without blocking: resolves to the connection, registered
/// with `reactor`, or to the error that ended the attempt (a refused
/// connection, say). The socket is created at the first poll, not here.
pub fn connect(reactor: &Reactor, addr: SocketAddr) -> Connect {
    Connect {
        state: ConnectState::Start {
            reactor: reactor.clone(),
            addr,
        },
    }
}

/// Future for [`connect`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct Connect {
    /// Where the connect is.
    state: ConnectState,
}

/// The states of a [`Connect`]. Each holds what it needs and no more: the
/// address until the socket exists, then the socket (which knows its reactor).
#[derive(Debug)]
enum ConnectState {
    /// Not polled yet: no socket exists. (Lazy, like every future here: a
    /// socket made at creation would hold a file descriptor while its attempt
    /// waits for a slot.)
    Start {
        /// Where the socket will be registered.
        reactor: Reactor,
        /// Where to connect.
        addr: SocketAddr,
    },
    /// The handshake is under way: waiting for the socket to become writable,
    /// which is how the operating system says that a connect has ended, well or
    /// badly.
    Connecting {
        /// The socket, registered.
        stream: TcpConnection,
        /// What the first `connect` call said: "in progress", normally (see
        /// `start`).
        first: io::Error,
    },
    /// The future has returned its result.
    Done,
}

impl Future for Connect {
    type Output = io::Result<TcpConnection>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Self::Output> {
        // The state is taken out (`Done` left in its place) and put back where
        // the connect goes on: the socket moves between states, and out of the
        // future at the end.
        match std::mem::replace(&mut self.state, ConnectState::Done) {
            ConnectState::Start { reactor, addr } => {
                match start(&reactor, addr) {
                    // Start -> Done: connected at once (loopback may), or
                    // failed to make a socket.
                    Err(error) => Poll::Ready(Err(error)),
                    Ok((stream, None)) => Poll::Ready(Ok(stream)),
                    // Start -> Connecting, and straight into the first wait.
                    Ok((stream, Some(first))) => {
                        self.state = ConnectState::Connecting { stream, first };
                        self.poll(cx)
                    }
                }
            }
            ConnectState::Connecting { stream, first } => {
                match stream.poll_ready(Direction::Write, cx) {
                    // Not writable yet: Connecting -> Connecting, our waker
                    // with the reactor.
                    Poll::Pending => {
                        self.state = ConnectState::Connecting { stream, first };
                        Poll::Pending
                    }
                    // Connecting -> Done: the poller refused the interest.
                    Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
                    // Connecting -> Done: the connect has ended; the socket
                    // says how.
                    Poll::Ready(Ok(())) => Poll::Ready(finish(stream, first)),
                }
            }
            ConnectState::Done => panic!("Connect polled after it completed"),
        }
    }
}

/// Makes a non-blocking socket, registers it, and starts the handshake. Returns
/// the socket, and the error of the `connect` call unless it connected at once.
fn start(
    reactor: &Reactor,
    addr: SocketAddr,
) -> io::Result<(TcpConnection, Option<io::Error>)> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    // A non-blocking connect sends the SYN and returns at once: `Ok` if the
    // handshake is already done, "in progress" (EINPROGRESS) if it has started,
    // which is the usual case: then we wait for writability and ask the socket
    // (`finish`). Any other error is the connect's failure, at once (and
    // `socket` is closed as it drops).
    let first = match socket.connect(&addr.into()) {
        Ok(()) => None,
        Err(error) if connect_in_progress(&error) => Some(error),
        Err(error) => return Err(error),
    };
    // From here the socket is a `TcpStream` (socket2's `Socket` converts into
    // one), owned by its registration: if registering fails, dropping `stream`
    // closes it.
    let stream = TcpStream::from(socket);
    Ok((Registration::new(reactor, stream)?, first))
}

/// What a connect that has ended came to: a pending error on the socket
/// (`SO_ERROR`: refused, reset, unreachable) is the failure; a socket with a
/// peer is connected; a socket with neither failed at once, with the first
/// call's error.
fn finish(
    stream: TcpConnection,
    first: io::Error,
) -> io::Result<TcpConnection> {
    if let Some(error) = stream.get_ref().take_error()? {
        return Err(error);
    }
    match stream.get_ref().peer_addr() {
        Ok(_) => Ok(stream),
        Err(error) if error.kind() == io::ErrorKind::NotConnected => Err(first),
        Err(error) => Err(error),
    }
}
// ANCHOR_END: connect

// ANCHOR: write_all
/// Writes all of `bytes` to `stream` without blocking, then hands the
/// connection back.
///
/// The future owns the connection while it writes, and returns it: the way
/// futures 0.1 did it (`write_all(socket, buf)` resolved to `(socket, buf)`),
/// so that the next step can own it in turn. (futures 0.3's `write_all(&mut
/// self, ..)` borrows instead, which an `async fn` can hold across an `.await`,
/// but a struct that also owns the socket cannot.)
pub fn write_all(stream: TcpConnection, bytes: Vec<u8>) -> WriteAll {
    WriteAll {
        state: WriteState::Writing {
            stream,
            bytes,
            written: 0,
        },
    }
}

/// Future for [`write_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct WriteAll {
    /// Where the write is.
    state: WriteState,
}

/// The states of a [`WriteAll`].
#[derive(Debug)]
enum WriteState {
    /// Bytes are left to write.
    Writing {
        /// The connection.
        stream: TcpConnection,
        /// Everything to write.
        bytes: Vec<u8>,
        /// How much of it the kernel has taken so far.
        written: usize,
    },
    /// The connection has been handed back.
    Done,
}

impl Future for WriteAll {
    type Output = io::Result<TcpConnection>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Self::Output> {
        let this = &mut *self;
        let WriteState::Writing {
            stream,
            bytes,
            written,
        } = &mut this.state
        else {
            panic!("WriteAll polled after it completed");
        };
        // Bounded: each turn writes at least one byte, or returns, or (once per
        // readiness report) waits again.
        while *written < bytes.len() {
            let error = match stream.get_ref().write(&bytes[*written..]) {
                // A write may take only part of the bytes (the send buffer had
                // room for that much):
                // Writing { written } -> Writing { written + n }.
                Ok(0) => io::ErrorKind::WriteZero.into(),
                Ok(n) => {
                    *written += n;
                    continue;
                }
                // The send buffer is full: wait until it has room, then write
                // again. Pending leaves the state as it is, Writing { written
                // }.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    ready!(stream.poll_ready(Direction::Write, cx))?;
                    continue;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                    continue;
                }
                // A reset, say.
                Err(error) => error,
            };
            // Writing -> Done, with the error. Overwriting the state drops the
            // connection, which closes it.
            this.state = WriteState::Done;
            return Poll::Ready(Err(error));
        }
        // Writing -> Done: everything is written; hand the connection back.
        match std::mem::replace(&mut this.state, WriteState::Done) {
            WriteState::Writing { stream, .. } => Poll::Ready(Ok(stream)),
            WriteState::Done => unreachable!("checked above"),
        }
    }
}
// ANCHOR_END: write_all

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;
    use crate::test_support::{CountingWaker, loopback_pair};

    /// Turns the reactor until `future` is ready, polling it after every turn
    /// that woke it, at most `turns` turns of at most a second each: a future
    /// that is never woken fails the test instead of hanging it.
    fn drive<F: Future + Unpin>(
        reactor: &Reactor,
        future: &mut F,
        turns: usize,
    ) -> F::Output {
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut polled_at = usize::MAX;
        for _ in 0..turns {
            if polled_at != wakes.count() {
                polled_at = wakes.count();
                if let Poll::Ready(output) =
                    Pin::new(&mut *future).poll(&mut cx)
                {
                    return output;
                }
            }
            reactor.turn(Some(Duration::from_secs(1)));
        }
        panic!("not ready after {turns} turns of the reactor");
    }

    #[test]
    fn connect_resolves_to_a_registered_connection() {
        let reactor = Reactor::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut connecting = connect(&reactor, listener.local_addr().unwrap());
        assert_eq!(
            reactor.registered_sockets(),
            0,
            "lazy: no socket before the poll"
        );
        let stream = drive(&reactor, &mut connecting, 20).unwrap();
        assert_eq!(reactor.registered_sockets(), 1);
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(
            server.peer_addr().unwrap(),
            stream.get_ref().local_addr().unwrap()
        );
        drop(stream);
        assert_eq!(reactor.registered_sockets(), 0);
        let mut byte = [0];
        assert_eq!(
            server.read(&mut byte).unwrap(),
            0,
            "closed with its future"
        );
    }

    #[test]
    fn a_refused_connect_is_an_error_and_leaves_no_socket() {
        let reactor = Reactor::new();
        // A port nobody listens on: bind one, note it, close it.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let error =
            drive(&reactor, &mut connect(&reactor, addr), 20).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
        assert_eq!(reactor.registered_sockets(), 0);
    }

    /// The path of a connect that failed at once: the socket never connected
    /// polls writable straight away, and `finish` returns the first call's
    /// error.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_connect_that_failed_at_once_ends_with_its_first_error() {
        let reactor = Reactor::new();
        let socket =
            Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
                .unwrap();
        socket.set_nonblocking(true).unwrap();
        let stream =
            Registration::new(&reactor, TcpStream::from(socket)).unwrap();
        let (waker, wakes) = CountingWaker::new();
        let cx = Context::from_waker(&waker);
        assert!(stream.poll_ready(Direction::Write, &cx).is_pending());
        for _ in 0..20 {
            if wakes.count() > 0 {
                break;
            }
            reactor.turn(Some(Duration::from_secs(1)));
        }
        assert!(stream.poll_ready(Direction::Write, &cx).is_ready());
        let first = io::Error::from(io::ErrorKind::AddrNotAvailable);
        let error = finish(stream, first).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrNotAvailable);
    }

    #[test]
    fn write_all_finishes_a_write_the_send_buffer_took_only_part_of() {
        let reactor = Reactor::new();
        let (client, mut server) = loopback_pair();
        let stream = Registration::new(&reactor, client).unwrap();
        // Far more than the kernel's send and receive buffers hold together, so
        // the first write takes only part of it, and then the socket says
        // `WouldBlock` until the server reads.
        let bytes: Vec<u8> =
            (0..16 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let mut writing = write_all(stream, bytes.clone());
        let (waker, wakes) = CountingWaker::new();
        assert!(
            Pin::new(&mut writing)
                .poll(&mut Context::from_waker(&waker))
                .is_pending(),
            "the buffers are full: WouldBlock, and the future waits"
        );
        let WriteState::Writing { written, .. } = writing.state else {
            unreachable!()
        };
        assert!(0 < written && written < bytes.len(), "a partial write");
        assert_eq!(wakes.count(), 0);

        // The server reads everything on a thread, while the reactor wakes the
        // writer each time the send buffer has room again.
        let reader = std::thread::spawn(move || {
            let mut received = Vec::new();
            server.read_to_end(&mut received).unwrap();
            received
        });
        let stream = drive(&reactor, &mut writing, 10_000).unwrap();
        drop(stream); // closes the connection: the reader's `read_to_end` ends
        assert_eq!(reader.join().unwrap(), bytes);
    }

    #[test]
    fn a_write_to_a_reset_connection_is_an_error() {
        let reactor = Reactor::new();
        let (client, server) = loopback_pair();
        // The peer goes away with a reset (SO_LINGER 0), and the write fails
        // with it.
        Socket::from(server)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        let stream = Registration::new(&reactor, client).unwrap();
        let mut writing = write_all(stream, vec![b'x'; 1024 * 1024]);
        let error = drive(&reactor, &mut writing, 20).unwrap_err();
        assert!(
            matches!(
                error.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{error}"
        );
        assert_eq!(
            reactor.registered_sockets(),
            0,
            "closed as soon as the write failed"
        );
    }
}
