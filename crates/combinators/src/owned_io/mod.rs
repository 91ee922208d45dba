//! Socket I/O steps that take the socket by value and hand it back: the shape
//! of futures 0.1.
//!
//! futures 0.3's I/O extension methods borrow: `AsyncWriteExt::write_all(&mut
//! self, ..)` returns a future that holds `&mut socket`. That suits code where
//! something else owns the socket for the whole time the future runs, which is
//! what an `async` block does for you (see [`crate::fetch`], "Why owned steps",
//! for why a combinator chain cannot). The steps here are the other shape, the
//! one tokio-io 0.1 had: each takes its socket (and its buffer) by value, owns
//! them while it waits, and resolves to them again with its result, so the next
//! step of a chain can take them over:
//!
//! - [`write_all`]`(writer, buffer)` resolves to `(writer, buffer)` once every
//!   byte is written;
//! - [`read`]`(reader, buffer)` resolves to `(reader, buffer, n)` after one
//!   read of `n` bytes (`0`: the peer closed its end);
//! - [`reads`]`(reader, buffer)` is a stream of every read until the close, a
//!   [`stream::unfold`] that passes the reader and the buffer from one [`read`]
//!   to the next.
//!
//! Each step is a [`future::poll_fn`] whose closure owns its state, an `Option`
//! that the final poll empties to hand the values back. The poll inside is the
//! one every hand-written I/O future has: try the operation; on `Pending` (the
//! socket said `WouldBlock`, and [`async_io::Async`] has registered our waker
//! with its reactor, to be woken when the socket is ready), return `Pending`
//! and be polled again later; on `Ready`, carry on.
//!
//! A value owned by a step is dropped with it: if the chain holding a step is
//! dropped (an attempt that lost its race against the deadline), the socket
//! inside is dropped too, and dropping an `Async<TcpStream>` deregisters it
//! from the reactor and closes it. An error drops the socket the same way, with
//! the step that failed: "any error which happens during writing will cause
//! both the stream and the buffer to get destroyed", as tokio-io's
//! documentation of `write_all` put it.
//!
//! This folder is the style's only machinery: everything else comes from
//! futures-rs.

use std::io;
use std::pin::Pin;
use std::task::Poll;

use futures::future::{self, Either, FutureExt};
use futures::io::{AsyncRead, AsyncWrite};
use futures::ready;
use futures::stream::{self, Stream};

// ANCHOR: write_all
// ANCHOR: write_all_fn
/// Writes all of `buffer` to `writer`, then resolves to both: tokio-io 0.1's
/// `write_all(a: A, buf: T) -> WriteAll<A, T>`, whose item was `(A, T)`.
///
/// A write may take only part of the buffer (a socket's send buffer has room
/// for that much); the step writes the rest at the next poll, until every byte
/// is written. A write of zero bytes is an error
/// ([`io::ErrorKind::WriteZero`]), as in `std`'s `write_all`: the writer will
/// take no more.
pub fn write_all<W, B>(
    writer: W,
    buffer: B,
) -> impl Future<Output = io::Result<(W, B)>>
where
    W: AsyncWrite + Unpin,
    B: AsRef<[u8]>,
{
    // ANCHOR_END: write_all_fn
    // ANCHOR: write_all_poll
    // The state the future owns between polls: the writer, the buffer, and how
    // much of it has been written. `None` once handed back.
    let mut state = Some((writer, buffer, 0));
    future::poll_fn(move |cx| {
        let (writer, buffer, written) =
            state.as_mut().expect("polled after it completed");
        let bytes = buffer.as_ref();
        while *written < bytes.len() {
            // `Pending` returns from the closure here (`ready!`): the socket's
            // send buffer is full, and the reactor wakes this future when it
            // has room again.
            match ready!(
                Pin::new(&mut *writer).poll_write(cx, &bytes[*written..])
            )? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                // A partial write is normal: the next turn of the loop writes
                // the rest.
                n => *written += n,
            }
        }
        // A socket sends what it was given without a flush, but a buffered
        // writer would not.
        ready!(Pin::new(&mut *writer).poll_flush(cx))?;
        let (writer, buffer, _) = state.take().expect("matched above");
        Poll::Ready(Ok((writer, buffer)))
    })
}
// ANCHOR_END: write_all_poll
// ANCHOR_END: write_all

// ANCHOR: read
/// Reads once from `reader` into `buffer`, then resolves to both and the number
/// of bytes read, `0` if the peer has closed its end: tokio-io 0.1's `read(rd:
/// R, buf: T) -> Read<R, T>`, whose item was `(R, T, usize)`.
pub fn read<R, B>(
    reader: R,
    buffer: B,
) -> impl Future<Output = io::Result<(R, B, usize)>>
where
    R: AsyncRead + Unpin,
    B: AsMut<[u8]>,
{
    let mut state = Some((reader, buffer));
    future::poll_fn(move |cx| {
        let (reader, buffer) =
            state.as_mut().expect("polled after it completed");
        // `Pending` until bytes (or the close) have arrived: the reactor wakes
        // us then.
        let n = ready!(Pin::new(reader).poll_read(cx, buffer.as_mut()))?;
        let (reader, buffer) = state.take().expect("matched above");
        Poll::Ready(Ok((reader, buffer, n)))
    })
}
// ANCHOR_END: read

/// What one read delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Bytes (at least one, at most the buffer's length).
    Bytes(Vec<u8>),
    /// The peer closed its end: nothing more will come.
    Closed,
}

// ANCHOR: reads
/// Every read of `reader` until the peer closes: a stream that yields what each
/// read delivered, [`Delivered::Closed`] last, or an error and then nothing.
/// Each read reads at most `buffer.len()` bytes (so a buffer of one byte reads
/// one byte at a time).
///
/// The stream is a [`stream::unfold`]: its state is the reader and the buffer,
/// which each step hands to [`read`] by value and gets back with the bytes, for
/// the next step. When the stream ends (the close, or an error), the reader is
/// dropped, and a socket with it: closed. A consumer that stops early (the
/// response was complete) closes it by dropping the stream.
pub fn reads<R>(
    reader: R,
    buffer: Vec<u8>,
) -> impl Stream<Item = io::Result<Delivered>>
where
    R: AsyncRead + Unpin,
{
    assert!(
        !buffer.is_empty(),
        "a read into an empty buffer reads nothing"
    );
    stream::unfold(Some((reader, buffer)), |state| match state {
        // The close or an error ended the stream at the previous step.
        None => Either::Left(future::ready(None)),
        Some((reader, buffer)) => {
            Either::Right(read(reader, buffer).map(|result| {
                // Each arm is (this read's item, the state for the next read).
                Some(match result {
                    // The reader is dropped here, at the close: closed on our
                    // side too.
                    Ok((_reader, _, 0)) => (Ok(Delivered::Closed), None),
                    Ok((reader, buffer, n)) => (
                        Ok(Delivered::Bytes(buffer[..n].to_vec())),
                        Some((reader, buffer)),
                    ),
                    // The reader went with the failed read: dropped, so closed.
                    Err(error) => (Err(error), None),
                })
            }))
        }
    })
}
// ANCHOR_END: reads

#[cfg(test)]
mod tests {
    //! The steps against real sockets on loopback: a server thread on one end,
    //! an `Async<TcpStream>` on the other, driven by `block_on` (`async-io`'s
    //! own thread drives its reactor meanwhile). No test asserts a duration;
    //! the servers wait for signals, not for time, and a watchdog bounds every
    //! wait of a server thread.

    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::task::Context;
    use std::thread;
    use std::time::Duration;

    use async_io::Async;
    use futures::executor::block_on;
    use futures::stream::StreamExt;

    use super::*;

    /// How long a server thread waits for the client before the test fails
    /// instead of hanging.
    const WATCHDOG: Duration = Duration::from_secs(20);

    /// A connected pair on loopback: our non-blocking end, registered with
    /// `async-io`'s reactor, and the server's blocking end, whose reads and
    /// writes give up after [`WATCHDOG`].
    fn connected_pair() -> (Async<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = block_on(Async::<TcpStream>::connect(
            listener.local_addr().unwrap(),
        ))
        .unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(WATCHDOG)).unwrap();
        server.set_write_timeout(Some(WATCHDOG)).unwrap();
        (client, server)
    }

    /// A writer that passes everything to `inner` and counts the polls that
    /// found the socket full.
    struct Counting<W> {
        inner: W,
        pending: usize,
        /// Told once, at the first `Pending`: the socket's buffers are full.
        on_full: Option<mpsc::Sender<()>>,
    }

    impl<W: AsyncWrite + Unpin> AsyncWrite for Counting<W> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bytes: &[u8],
        ) -> Poll<io::Result<usize>> {
            let polled = Pin::new(&mut self.inner).poll_write(cx, bytes);
            match &polled {
                Poll::Pending => {
                    self.pending += 1;
                    if let Some(full) = self.on_full.take() {
                        full.send(()).unwrap();
                    }
                }
                Poll::Ready(_) => {}
            }
            polled
        }

        fn poll_flush(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_close(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_close(cx)
        }
    }

    /// 32 MiB, more than a loopback connection's send and receive buffers hold
    /// together while nobody reads (a few MiB on Linux), so the writer must
    /// meet a full socket.
    fn large_payload() -> Vec<u8> {
        (0..32 * 1024 * 1024)
            .map(|i: u32| (i % 251) as u8)
            .collect()
    }

    #[test]
    fn write_all_writes_everything_through_partial_writes_and_hands_the_socket_back()
     {
        let (client, mut server) = connected_pair();
        let (full, is_full) = mpsc::channel();
        let payload = large_payload();
        let expected = [payload.as_slice(), b"and then more"].concat();
        // The server reads nothing until the client has found the socket full,
        // then reads everything up to the close.
        let reader = thread::spawn(move || {
            is_full
                .recv_timeout(WATCHDOG)
                .expect("the socket filled up");
            let mut received = Vec::new();
            server.read_to_end(&mut received).unwrap();
            received
        });
        let writer = Counting {
            inner: client,
            pending: 0,
            on_full: Some(full),
        };
        let (writer, payload) = block_on(write_all(writer, payload)).unwrap();
        // The write had to wait for room at least once, so the payload went in
        // several writes (how many, and how many were partial, is the kernel's
        // business).
        assert!(writer.pending > 0, "the socket was full at least once");
        // Handed back, the writer and the buffer are ours again: write some
        // more.
        let (writer, _) =
            block_on(write_all(writer, b"and then more")).unwrap();
        drop((writer, payload)); // closes the socket: the server's read ends
        assert!(reader.join().unwrap() == expected, "every byte, in order");
    }

    #[test]
    fn a_response_read_one_byte_at_a_time_arrives_whole_and_then_the_close() {
        let (client, mut server) = connected_pair();
        let response: &[u8] =
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nOslo;1.0\n";
        // The server trickles the response, one write per byte, then closes.
        let writer = thread::spawn(move || {
            server.set_nodelay(true).unwrap();
            for byte in response {
                server.write_all(&[*byte]).unwrap();
            }
        });
        // A buffer of one byte: every read delivers exactly one.
        let delivered: Vec<Delivered> =
            block_on(reads(client, vec![0; 1]).map(Result::unwrap).collect());
        writer.join().unwrap();
        let (last, bytes) = delivered.split_last().unwrap();
        assert_eq!(*last, Delivered::Closed);
        let bytes: Vec<u8> = bytes
            .iter()
            .flat_map(|read| match read {
                Delivered::Bytes(bytes) if bytes.len() == 1 => bytes.clone(),
                other => panic!("one byte per read, not {other:?}"),
            })
            .collect();
        assert_eq!(bytes, response);
    }

    #[test]
    fn read_hands_back_the_reader_and_the_buffer() {
        let (client, mut server) = connected_pair();
        server.write_all(b"Oslo").unwrap();
        let (client, buffer, n) = block_on(read(client, [0; 16])).unwrap();
        assert_eq!(&buffer[..n], b"Oslo");
        drop(server);
        let (_client, _, n) = block_on(read(client, buffer)).unwrap();
        assert_eq!(n, 0, "the peer closed");
    }

    #[test]
    fn dropping_the_stream_of_reads_closes_the_socket() {
        let (client, mut server) = connected_pair();
        server.write_all(b"first").unwrap();
        let mut stream = Box::pin(reads(client, vec![0; 64]));
        let first = block_on(stream.next()).unwrap().unwrap();
        assert_eq!(first, Delivered::Bytes(b"first".to_vec()));
        // The stream owns the socket, waiting for the next read: dropping it
        // closes it.
        drop(stream);
        let mut rest = Vec::new();
        assert_eq!(
            server.read_to_end(&mut rest).unwrap(),
            0,
            "the server sees the close"
        );
    }
}
