//! Tests of exercise 22: `ReadResponse` reads a whole response whatever pieces it arrives in,
//! is `Pending` while bytes are missing without waking itself, is woken by the reactor when
//! bytes arrive, and closes the connection when it is done.
//!
//! Two kinds of test. Some run the future on the crate's executor against a server thread that
//! sends a canned response (whole, one byte at a time, or cut short). One polls it by hand, with
//! a waker that counts its wake-ups, and plays the server itself, one piece at a time, turning
//! the reactor in between: that is where a future that spins, blocks, wakes itself or forgets
//! to register its interest shows. Every test runs under a watchdog, which shuts the server's
//! end down (ending any read) and fails the test if the future never finishes.

use std::fmt::Debug;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use read_response_future::{ReadError, read_response};
use rosetta_pipeline::http::{HttpError, Response};
use rosetta_state_machines::executor::Executor;
use rosetta_state_machines::reactor::{Reactor, Registration};

/// Where to read about this exercise.
const REREAD: &str = "chapter 9, Real I/O: sockets, readiness and the reactor \
                      (book/src/real-io.md)";

/// How long a test may take before it is failed. A correct future needs milliseconds; this is
/// only there so that a future that never finishes fails its test instead of hanging it.
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

/// What the future should return for [`RESPONSE`].
fn oslo() -> Response {
    Response {
        status: 200,
        body: "Oslo;4.2\n".into(),
    }
}

/// A connected pair on loopback: the client's end and the server's end, both blocking (the
/// client's is made non-blocking where it is registered, on the thread of its reactor).
fn connected() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
    let client = TcpStream::connect(listener.local_addr().unwrap()).expect("connect on loopback");
    let (server, _) = listener.accept().expect("accept");
    (client, server)
}

/// Registers `client` with `reactor`, non-blocking, as the future expects it.
fn register(reactor: &Reactor, client: TcpStream) -> Registration<TcpStream> {
    client.set_nonblocking(true).unwrap();
    Registration::new(reactor, client).expect("register with the reactor")
}

/// Runs `test` on a thread of its own, and fails if it does not finish within [`WATCHDOG`]:
/// then it first shuts down `server` (a clone of the server's end), so that a future stuck in
/// a read sees the end of the stream and its thread ends. A panic of `test` is the test's
/// failure, as it would be without the thread.
fn within_watchdog<T: Send + 'static>(
    server: &TcpStream,
    test: impl FnOnce() -> T + Send + 'static,
) -> T {
    let rescue = server.try_clone().expect("clone the server's socket");
    let (finished, outcome) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = finished.send(test());
    });
    match outcome.recv_timeout(WATCHDOG) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let _ = rescue.shutdown(Shutdown::Both);
            panic!(
                "the read did not finish within {} s: a `poll` that waits for bytes (a loop on \
                 `WouldBlock`, or a blocking read) never returns to the executor. On \
                 `WouldBlock`, ask `poll_ready(Direction::Read, cx)` and return `Pending` when \
                 it does\n    reread: {REREAD}",
                WATCHDOG.as_secs()
            )
        }
    }
}

/// What the server thread does.
enum Step {
    /// Writes these bytes.
    Send(Vec<u8>),
    /// Waits this many milliseconds.
    Pause(u64),
}

/// Runs `read_response` on the executor against a server that plays `steps`, then either closes
/// (`close_after`) or waits for the client's close. Returns what the future returned, and
/// whether the server saw the client close (`None` when the server closed first).
fn run_on_the_executor(
    steps: Vec<Step>,
    close_after: bool,
) -> (Result<Response, ReadError>, Option<bool>) {
    let (client, mut server) = connected();
    let watched = server.try_clone().unwrap();
    let server_thread = std::thread::spawn(move || {
        for step in steps {
            match step {
                // An error (the client has gone) is the future's business: the test's checks
                // say what it did.
                Step::Send(bytes) => {
                    let _ = server.write_all(&bytes);
                }
                Step::Pause(ms) => std::thread::sleep(Duration::from_millis(ms)),
            }
        }
        if close_after {
            let _ = server.shutdown(Shutdown::Both);
            None
        } else {
            Some(sees_the_close(&mut server))
        }
    });
    let result = within_watchdog(&watched, move || {
        // Made here, on the thread that polls: an executor and its reactor are not `Send`.
        let executor = Executor::new();
        let registration = register(executor.reactor(), client);
        executor.block_on(read_response(registration))
    });
    (result, server_thread.join().expect("the server thread"))
}

/// Whether the peer of `server` has closed the connection: within a bounded wait, a read returns
/// 0 (the end of the stream) or a reset, instead of data or a time-out.
fn sees_the_close(server: &mut TcpStream) -> bool {
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

/// Checks that `result` is the Oslo response.
#[track_caller]
fn check_oslo(what: &str, result: Result<Response, ReadError>) {
    match result {
        Ok(response) => check(what, response, oslo()),
        Err(error) => panic!(
            "{what}: expected Ok({:?}), got Err({error:?})\n    reread: {REREAD}",
            oslo()
        ),
    }
}

#[test]
fn a_whole_response_is_read_on_the_executor_and_the_connection_closed() {
    let (result, saw_close) = run_on_the_executor(vec![Step::Send(RESPONSE.to_vec())], false);
    check_oslo(
        "a whole response, the connection left open by the server",
        result,
    );
    check(
        "the server saw the client close the connection, once the response was complete (the \
         registration is dropped when the future returns `Ready`)",
        saw_close,
        Some(true),
    );
}

#[test]
fn a_response_one_byte_at_a_time_is_read_on_the_executor() {
    let mut steps = Vec::new();
    for &byte in RESPONSE {
        steps.push(Step::Send(vec![byte]));
        steps.push(Step::Pause(1));
    }
    let (result, _) = run_on_the_executor(steps, true);
    check_oslo("a response sent one byte at a time", result);
}

#[test]
fn a_short_body_then_a_close_is_an_error() {
    let short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOslo".to_vec();
    let (result, _) = run_on_the_executor(vec![Step::Send(short)], true);
    if !matches!(
        result,
        Err(ReadError::Http(HttpError::ShortBody {
            received: 4,
            expected: 10
        }))
    ) {
        panic!(
            "the server announced 10 body bytes, sent 4 and closed: expected \
             Err(Http(ShortBody {{ received: 4, expected: 10 }})), got {result:?}. A read of 0 \
             bytes is the close: ask `parser.eof()` what it means\n    reread: {REREAD}"
        );
    }
}

/// A waker that counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Turns `reactor` until `waker` has been woken more than `before` times, a bounded number of
/// turns: the number of wake-ups then.
fn turn_until_woken(reactor: &Reactor, waker: &CountingWaker, before: usize, after: &str) -> usize {
    for _ in 0..20 {
        let now = waker.0.load(Ordering::SeqCst);
        if now > before {
            return now;
        }
        reactor.turn(Some(Duration::from_millis(250)));
    }
    panic!(
        "{after}, the reactor never woke the future's waker. On `WouldBlock`, call \
         `poll_ready(Direction::Read, cx)`: that arms the socket's interest and keeps the waker \
         for the reactor to wake; a `Pending` that leaves no waker with anyone is never polled \
         again\n    reread: {REREAD}"
    )
}

#[test]
fn polled_by_hand_it_waits_on_the_reactor_and_is_woken_by_bytes() {
    let (client, mut server) = connected();
    let watched = server.try_clone().unwrap();
    within_watchdog(&watched, move || {
        let reactor = Reactor::new();
        let wakes = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(read_response(register(&reactor, client)));

        // Nothing has arrived: `Pending`, and no wake-up yet (a future that wakes itself at
        // once is polled again at once: a busy loop).
        let first = future.as_mut().poll(&mut cx);
        if let Poll::Ready(result) = first {
            panic!(
                "the first poll, with no byte sent yet: expected Pending, got Ready({result:?})\n    \
                 reread: {REREAD}"
            );
        }
        check(
            "wake-ups after the first `Pending`, before any byte arrived (the reactor wakes the \
             future when bytes arrive; waking itself now would make the executor poll it again \
             and again for nothing)",
            wakes.0.load(Ordering::SeqCst),
            0,
        );

        // Three pieces: the head cut short, then most of the body, then the rest. After each,
        // the reactor wakes the future, and only the last poll is `Ready`.
        let pieces = [&RESPONSE[..20], &RESPONSE[20..42], &RESPONSE[42..]];
        let mut woken = 0;
        for (number, piece) in pieces.iter().enumerate() {
            server.write_all(piece).unwrap();
            let after = format!("after the server sent piece {} of 3", number + 1);
            woken = turn_until_woken(&reactor, &wakes, woken, &after);
            let poll = future.as_mut().poll(&mut cx);
            if number < 2 {
                if let Poll::Ready(result) = poll {
                    panic!(
                        "{after}, the response is not complete: expected Pending, got \
                         Ready({result:?}). Only the parser knows when it is complete\n    \
                         reread: {REREAD}"
                    );
                }
            } else {
                match poll {
                    Poll::Ready(result) => check_oslo("the response, once complete", result),
                    Poll::Pending => panic!(
                        "{after}, the response is complete: expected Ready(Ok(..)), got \
                         Pending\n    reread: {REREAD}"
                    ),
                }
            }
        }

        // Done: the registration is gone, so the socket is closed, now.
        check(
            "sockets still registered with the reactor once the future is `Ready` (move to \
             `Done`, which drops the registration)",
            reactor.registered_sockets(),
            0,
        );
        check(
            "the server saw the client close the connection",
            sees_the_close(&mut server),
            true,
        );

        // And a finished future says so if polled again.
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = future.as_mut().poll(&mut cx);
        }));
        let message = match again {
            Ok(()) => panic!(
                "polling a finished `ReadResponse` should panic with \"`ReadResponse` polled \
                 after completion\"\n    reread: {REREAD}"
            ),
            Err(payload) => payload
                .downcast_ref::<&str>()
                .map(|text| text.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        };
        check(
            "the panic message",
            message.as_str(),
            "`ReadResponse` polled after completion",
        );
    });
}

#[test]
fn the_future_is_written_by_hand() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("src/lib.rs is readable");
    for (number, line) in source.lines().enumerate() {
        // The code of the line: no comment, and no string literal (`#[must_use = "..."]`).
        let code = line.split("//").next().unwrap_or_default();
        let code: String = code.split('"').step_by(2).collect::<Vec<_>>().join(" ");
        let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        if let Some(word) = words
            .into_iter()
            .find(|word| matches!(*word, "async" | "await"))
        {
            panic!(
                "src/lib.rs:{}: uses `{word}`. This exercise writes by hand what `.await` on a \
                 socket does: implement `Future::poll` yourself\n    reread: {REREAD}",
                number + 1
            );
        }
    }
}
