//! Tests of exercise 21: `read_response` reads a whole response from a non-blocking socket,
//! whatever pieces it arrives in, returns to the loop between them, calls its continuation
//! exactly once, and closes the socket.
//!
//! Each test connects a socket pair on loopback, hands the client's end to an event loop, and
//! plays the server's part *on the same loop*, from timers: write this piece, pause, write that
//! one, close. So the server's next piece can only be written if the reader's callback returned
//! to the loop. A reader that loops on `WouldBlock`, or blocks, stalls the loop; a watchdog then
//! shuts the server's end down (which ends any read) and fails the test, instead of hanging it.

use std::cell::RefCell;
use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use readiness_read::{ReadError, read_response};
use rosetta_callbacks::event_loop::EventLoop;
use rosetta_pipeline::http::{HttpError, Response};

/// Where to read about this exercise.
const REREAD: &str = "chapter 9, Real I/O: sockets, readiness and the reactor \
                      (book/src/real-io.md)";

/// How long an exchange may take before the test gives up on it. A correct reader needs a few
/// hundred milliseconds at most; this is only there so that a stalled loop fails the test.
const WATCHDOG: Duration = Duration::from_secs(10);

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// The response the server sends, whole.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nOslo;4.2\n";

/// What the reader should deliver for [`RESPONSE`].
fn oslo() -> Response {
    Response {
        status: 200,
        body: "Oslo;4.2\n".into(),
    }
}

/// One thing the server does, on a timer of the loop.
#[derive(Debug)]
enum Step {
    /// Writes these bytes.
    Send(Vec<u8>),
    /// Closes its end of the connection.
    Close,
}

/// What happened in one exchange.
#[derive(Debug)]
struct Exchange {
    /// Every call of the continuation, in order.
    delivered: Vec<Result<Response, ReadError>>,
    /// Sockets still registered with the loop when it had nothing left to do.
    open_sockets: usize,
    /// Whether the server, if it had not closed first, saw the client close (a read of 0).
    server_saw_close: Option<bool>,
}

/// Runs one exchange: the server's `steps`, each `pause_ms` after the one before, on timers of
/// the loop that `read_response` reads on; then runs the loop until it has nothing left to do.
fn exchange(pause_ms: u64, steps: Vec<Step>) -> Exchange {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let client = TcpStream::connect(listener.local_addr().unwrap()).expect("connect on loopback");
    let (server, _) = listener.accept().expect("accept");
    // The watchdog's handle on the server's end: shutting it down makes any read of the client
    // return 0 at once, which ends a reader stuck in a loop.
    let rescue = server.try_clone().expect("clone the server's socket");
    let total_steps = steps.len();
    let steps_run = Arc::new(AtomicUsize::new(0));
    let (finished, outcome) = mpsc::channel();
    let counter = Arc::clone(&steps_run);
    let loop_thread = std::thread::spawn(move || {
        let event_loop = EventLoop::new();
        let socket = event_loop
            .register(client)
            .expect("register the client's socket");
        let delivered = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&delivered);
        read_response(&event_loop, socket, move |result| {
            sink.borrow_mut().push(result);
        });
        let server = Rc::new(RefCell::new(Some(server)));
        for (number, step) in steps.into_iter().enumerate() {
            let (server, counter) = (Rc::clone(&server), Arc::clone(&counter));
            let delay = Duration::from_millis(pause_ms * (number as u64 + 1));
            event_loop.set_timeout(delay, move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut server = server.borrow_mut();
                match step {
                    // An error here (the client has closed already) is the reader's business,
                    // and the test's checks say what it did.
                    Step::Send(bytes) => {
                        if let Some(server) = server.as_mut() {
                            let _ = server.write_all(&bytes);
                        }
                    }
                    // A shutdown, not only a drop: the watchdog's clone of the socket would keep
                    // the connection open.
                    Step::Close => {
                        if let Some(server) = server.take() {
                            let _ = server.shutdown(Shutdown::Both);
                        }
                    }
                }
            });
        }
        event_loop.run();
        let open_sockets = event_loop.open_sockets();
        let server_saw_close = server.borrow_mut().take().map(sees_the_close);
        let delivered = delivered.take();
        let _ = finished.send(Exchange {
            delivered,
            open_sockets,
            server_saw_close,
        });
    });
    match outcome.recv_timeout(WATCHDOG) {
        Ok(exchange) => exchange,
        // The loop's thread panicked (a `todo!()`, say): show that panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => match loop_thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the loop's thread sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = rescue.shutdown(Shutdown::Both);
            let ran = steps_run.load(Ordering::SeqCst);
            let why = if ran < total_steps {
                format!(
                    "the loop ran {ran} of the server's {total_steps} steps (timers) and then \
                     stalled: a readable callback did not return to the loop. Read until \
                     `WouldBlock`, then arm `on_readable` again and return; never loop on \
                     `WouldBlock`, and never block"
                )
            } else {
                "the server had sent everything, yet the loop kept running: is the reader still \
                 waiting for readable after the response was complete? Deliver it as soon as the \
                 parser has it, and close the socket"
                    .to_string()
            };
            panic!(
                "the exchange did not finish within {} s: {why}\n    reread: {REREAD}",
                WATCHDOG.as_secs()
            )
        }
    }
}

/// Whether the peer of `server` has closed the connection: within a bounded wait, a read returns
/// 0 (the end of the stream), or a reset (the client closed with bytes of ours unread), instead
/// of data or a time-out.
fn sees_the_close(mut server: TcpStream) -> bool {
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut byte = [0; 1];
    match server.read(&mut byte) {
        Ok(0) => true,
        Err(error) => error.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    }
}

/// The one thing delivered, after checking that exactly one thing was.
fn only_delivery(exchange: &Exchange) -> &Result<Response, ReadError> {
    check(
        "how many times the continuation `done` was called (exactly once: zero means the read \
         stopped without delivering anything, for instance after a read that left the \
         response incomplete without arming `on_readable` again)",
        exchange.delivered.len(),
        1,
    );
    &exchange.delivered[0]
}

/// Checks that no socket is left registered when the loop is done.
fn check_closed(exchange: &Exchange) {
    check(
        "sockets still registered with the loop after it finished (close the socket on every \
         path: `event_loop.close(socket)`)",
        exchange.open_sockets,
        0,
    );
}

#[test]
fn a_response_in_one_piece_is_delivered() {
    let exchange = exchange(5, vec![Step::Send(RESPONSE.to_vec()), Step::Close]);
    match only_delivery(&exchange) {
        Ok(response) => check("the response", response, &oslo()),
        Err(error) => panic!(
            "a whole response, in one piece: expected Ok({:?}), got Err({error:?})\n    \
             reread: {REREAD}",
            oslo()
        ),
    }
    check_closed(&exchange);
}

#[test]
fn a_response_one_byte_at_a_time_takes_many_readable_events() {
    // Every byte on a timer of its own: the reader is called once per byte, at least, and must
    // return to the loop in between, or the next byte is never written.
    let mut steps: Vec<Step> = RESPONSE
        .iter()
        .map(|&byte| Step::Send(vec![byte]))
        .collect();
    steps.push(Step::Close);
    let exchange = exchange(2, steps);
    match only_delivery(&exchange) {
        Ok(response) => check("the response, read byte by byte", response, &oslo()),
        Err(error) => panic!(
            "a response sent one byte at a time: expected Ok({:?}), got Err({error:?}). One \
             read is not the whole response: feed every read to the parser, and wait for \
             readable again while it says `None`\n    reread: {REREAD}",
            oslo()
        ),
    }
    check_closed(&exchange);
}

#[test]
fn a_pause_inside_the_head_is_waited_out_on_the_loop() {
    // Three pieces, the cuts inside the status line and inside the body, with pauses long
    // enough for the reader to see `WouldBlock` after each.
    let exchange = exchange(
        30,
        vec![
            Step::Send(RESPONSE[..7].to_vec()),
            Step::Send(RESPONSE[7..45].to_vec()),
            Step::Send(RESPONSE[45..].to_vec()),
            Step::Close,
        ],
    );
    match only_delivery(&exchange) {
        Ok(response) => check("the response, in three pieces", response, &oslo()),
        Err(error) => panic!(
            "a response in three pieces with pauses: expected Ok({:?}), got Err({error:?})\n    \
             reread: {REREAD}",
            oslo()
        ),
    }
    check_closed(&exchange);
}

#[test]
fn a_complete_response_is_delivered_without_waiting_for_the_close() {
    // The server sends the response and keeps the connection open: the parser knows the
    // response is complete (its `Content-Length`), so the reader must not wait for the end of
    // the stream. It closes the socket, and the server sees that close.
    let exchange = exchange(5, vec![Step::Send(RESPONSE.to_vec())]);
    match only_delivery(&exchange) {
        Ok(response) => check("the response", response, &oslo()),
        Err(error) => panic!(
            "expected Ok({:?}), got Err({error:?})\n    reread: {REREAD}",
            oslo()
        ),
    }
    check_closed(&exchange);
    check(
        "the server saw the client close the connection",
        exchange.server_saw_close,
        Some(true),
    );
}

#[test]
fn a_short_body_then_a_close_is_an_error() {
    let exchange = exchange(
        5,
        vec![
            Step::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOslo".to_vec()),
            Step::Close,
        ],
    );
    let delivered = only_delivery(&exchange);
    let is_short_body = matches!(
        delivered,
        Err(ReadError::Http(HttpError::ShortBody {
            received: 4,
            expected: 10
        }))
    );
    if !is_short_body {
        panic!(
            "the server announced 10 body bytes, sent 4 and closed: expected \
             Err(Http(ShortBody {{ received: 4, expected: 10 }})), got {delivered:?}. A read of \
             0 bytes is the close: ask `parser.eof()` what it means\n    reread: {REREAD}"
        );
    }
    check_closed(&exchange);
}

#[test]
fn a_malformed_response_is_one_error_and_the_socket_is_closed() {
    // The head is not HTTP; the server goes on sending and never closes. One error, delivered
    // once, and the socket closed at once: nothing more is read.
    let exchange = exchange(
        5,
        vec![
            Step::Send(b"HTTP/1.1 OK 200\r\n\r\n".to_vec()),
            Step::Send(b"more bytes nobody should read".to_vec()),
        ],
    );
    let delivered = only_delivery(&exchange);
    if !matches!(delivered, Err(ReadError::Http(HttpError::MalformedHead(_)))) {
        panic!(
            "a status line that is not HTTP: expected Err(Http(MalformedHead(..))), got \
             {delivered:?}\n    reread: {REREAD}"
        );
    }
    check_closed(&exchange);
    check(
        "the server saw the client close the connection",
        exchange.server_saw_close,
        Some(true),
    );
}
