//! Step 1, fetch: [`fetch_with_retry`], one source's attempts, each raced
//! against its timeout, on either transport: a timer ([`attempt`] on `sim`) or
//! a real socket ([`tcp_attempt`]).
//!
//! Read it next to `fetch_with_retry` in `rosetta_pipeline::reference`: the
//! same loop, with `.await` where the reference sleeps or blocks. The timeout
//! is a race ([`with_timeout`], built on `futures::future::select`) against the
//! runtime's timer, so it is the same code on every runtime. The loser is
//! *dropped*: that is how async Rust cancels. On `sim` the feed is a timer too,
//! and a race between two timers is decided by their deadlines
//! ([`with_deadline`]), not by the order in which a late poll finds them ready.
//!
//! # On `tcp`: the reference's exchange, with `.await` where it blocked
//!
//! [`tcp_attempt`] reads like `rosetta_pipeline::reference::exchange` with the
//! deadline bookkeeping taken out: connect, `write_all` the request, then
//! `read` into a buffer and `feed` the sans-I/O parser until it has a response
//! or the server closes the connection. What each `.await` hides is the whole
//! subject of the chapter on real I/O:
//!
//! - The runtime's socket is **non-blocking**. A `read` on it never waits in
//!   the kernel: when no bytes have arrived it fails at once with `WouldBlock`.
//! - The runtime's `poll_read` turns that `WouldBlock` into `Poll::Pending`,
//!   after telling the **reactor** "wake this task when this socket is
//!   readable": the reactor keeps the task's waker per socket and direction,
//!   and has registered the socket's file descriptor with the kernel's
//!   **readiness** interface (epoll on Linux, kqueue on macOS; tokio through
//!   `mio`, smol and async-std through `polling`).
//! - The task returns to its executor, whose threads run other tasks meanwhile.
//!   When bytes arrive, the kernel reports the descriptor readable, the reactor
//!   wakes the task, the executor polls it again, and this time `read` copies
//!   the bytes out.
//!
//! So `stream.read(&mut buffer).await` is a loop of "try, `WouldBlock`,
//! register interest, sleep, be woken, try again", written by the runtime once.
//! The threads style blocks a whole thread per socket instead; the callbacks
//! style and the hand-written reactor of `rosetta-state-machines` write that
//! loop out by hand.
//!
//! Readiness is also why the buffer may be *borrowed*: the reactor says when we
//! *may* read, and the copy happens inside our own `read` call, so nothing owns
//! `buffer` while the task sleeps. A completion-based interface (io_uring,
//! Windows' IOCP) reads into a buffer handed to the kernel beforehand, which
//! the kernel writes while the task sleeps; its runtimes (`tokio-uring`,
//! `monoio`) take buffers *by value* for that reason, and dropping a future
//! halfway there cannot take back a buffer the kernel is still writing.
//!
//! # The deadline, and cancellation by drop
//!
//! The whole exchange runs inside [`with_deadline`], with one deadline counted
//! from the attempt's start (as on `sim`, and as in the threads style): a
//! connect, a write, or a trickle of bytes one read at a time cannot extend it,
//! because no call is given a timeout of its own. When the timer wins,
//! `with_timeout` returns, and the exchange future, which *owns* the stream, is
//! dropped wherever it stood: connecting, writing or in its read loop. Dropping
//! the stream deregisters the socket from the reactor and closes it, so a
//! hanging feed server sees the close at once. There is no cancel channel (the
//! threads style's), no explicit deregistration (the callbacks style's): in
//! async Rust, cancellation *is* drop, and RAII does the cleanup.
//!
//! Read next: [`crate::cache`], the single-flight cache the answered sources go
//! through.

use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use futures::future::{self, Either};
use futures::io::{AsyncReadExt as _, AsyncWriteExt as _};
use rosetta_pipeline::http::{self, HttpError, Response, ResponseParser};
use rosetta_pipeline::options::{later, until};
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario;
use rosetta_pipeline::trace::{EventKind, SocketPhase};
use rosetta_pipeline::transport::{Feeds, Transport};

use crate::RunContext;
use crate::runtime::Runtime;

// ANCHOR: fetch_with_retry
// ANCHOR: retry
/// Fetches source `index`: up to `retries + 1` attempts, each limited by the
/// timeout. Returns the summary and, if the last attempt answered, the body
/// (borrowed from the scenario on `sim`, read from the socket on `tcp`).
pub async fn fetch_with_retry<R: Runtime>(
    run: &RunContext<R>,
    index: usize,
) -> (FetchSummary, Option<Cow<'_, str>>) {
    let max_attempts = run.scenario.settings.max_attempts();
    let mut number = 1;
    loop {
        run.trace.record(EventKind::AttemptStarted {
            source: index,
            attempt: number,
        });
        let (outcome, body) = attempt(run, index, number).await;
        run.trace.record(EventKind::AttemptFinished {
            source: index,
            attempt: number,
            outcome,
        });
        if outcome == AttemptOutcome::Answered || number == max_attempts {
            return (FetchSummary::after(number, outcome), body);
        }
        number += 1;
    }
}
// ANCHOR_END: retry

// ANCHOR: attempt_sim
/// Attempt number `attempt` of source `index`, limited by the timeout from its
/// start: the feed as a timer (`sim`) or as a feed server on loopback (`tcp`).
pub async fn attempt<R: Runtime>(
    run: &RunContext<R>,
    index: usize,
    attempt: u32,
) -> (AttemptOutcome, Option<Cow<'_, str>>) {
    let source = &run.scenario.sources[index];
    let timeout = run.opts.scaled(run.scenario.settings.timeout_ms);
    // Both clocks start when the attempt starts, now: two readings of the clock
    // could be far apart on a busy machine.
    let started = Instant::now();
    let deadline = later(started, timeout);
    match &run.opts.transport {
        // Where the reference asks the model which comes first, this code races
        // the feed against a timer, and their deadlines decide.
        Transport::Sim => {
            let answer_at = later(started, run.opts.scaled(source.latency_ms));
            let feed =
                call_feed(&run.runtime, answer_at, source.respond(attempt));
            match with_deadline(&run.runtime, deadline, feed).await {
                Some(Ok(body)) => {
                    (AttemptOutcome::Answered, Some(Cow::Borrowed(body)))
                }
                Some(Err(FeedError)) => (AttemptOutcome::Error, None),
                None => (AttemptOutcome::Timeout, None),
            }
        }
        // ANCHOR_END: attempt_sim
        // ANCHOR: attempt_tcp
        // Over TCP, the feed server answers; the deadline is the same.
        Transport::Tcp(feeds) => {
            let reached = |phase| {
                run.trace.record(EventKind::Socket {
                    source: index,
                    attempt,
                    phase,
                })
            };
            // Boxed: a future is as large as its largest state, and the
            // exchange's (a socket, the parser, the runtime's connect) is 1.3
            // to 1.7 KiB, twice the rest of this future. Unboxed, every
            // source's task would carry it, on `sim` too; boxed, it costs one
            // allocation per tcp attempt, beside a socket.
            let tcp = tcp_attempt(
                &run.runtime,
                feeds,
                &source.name,
                deadline,
                reached,
            );
            let (outcome, body) = Box::pin(tcp).await;
            (outcome, body.map(Cow::Owned))
        }
    }
}
// ANCHOR_END: attempt_tcp

// ANCHOR: call_feed
/// The feed answered with an error.
#[derive(Debug)]
struct FeedError;

/// The simulated "network": a feed answers `response` at the instant
/// `answer_at`, and says so. A hanging feed never answers; this future then
/// stays pending until whoever races it drops it.
async fn call_feed<'s, R: Runtime>(
    runtime: &R,
    answer_at: Instant,
    response: scenario::Response<'s>,
) -> Due<Result<&'s str, FeedError>> {
    runtime.sleep(until(answer_at)).await;
    let value = match response {
        scenario::Response::Body(body) => Ok(body),
        scenario::Response::Error => Err(FeedError),
        scenario::Response::Never => future::pending().await,
    };
    // It answered at `answer_at`, not at the later instant at which a poll
    // found it had.
    Due {
        value,
        at: answer_at,
    }
}
// ANCHOR_END: call_feed
// ANCHOR_END: fetch_with_retry

// ANCHOR: tcp_attempt
// ANCHOR: tcp_attempt_race
/// One attempt over TCP: connect to the feed server `feeds`, send the request
/// for `source`, read the response, all by `deadline`. Reports each socket
/// phase it reaches to `reached` (the trace, for the pipeline), and returns the
/// specification's outcome ([`http::outcome`]), with the body when the feed
/// answered.
///
/// No complete answer by the deadline is a `Timeout`; a refused or reset
/// connection, a malformed or short response, a non-`2xx` status is an `Error`.
pub async fn tcp_attempt<R: Runtime>(
    runtime: &R,
    feeds: &Feeds,
    source: &str,
    deadline: Instant,
    mut reached: impl FnMut(SocketPhase),
) -> (AttemptOutcome, Option<String>) {
    let exchange = async {
        let finished = exchange(runtime, feeds, source, &mut reached).await;
        // When the exchange finished, as this task saw it. The kernel does not
        // say when the last bytes *arrived*; they were there by the time a poll
        // read them, so an answer seen by the deadline certainly came in time.
        // A task polled late can only see an answer late, never early: a late
        // poll may turn an answer on the edge into a timeout (the reference's
        // blocking reads do the same), never a late answer into an on-time one.
        Due {
            value: finished,
            at: Instant::now(),
        }
    };
    match with_deadline(runtime, deadline, exchange).await {
        Some(finished) => http::outcome(finished),
        // The timer won. `with_timeout` has already dropped the exchange
        // future, wherever it stood (connecting, writing, waiting for bytes),
        // and with it the stream it owned: dropping a runtime's `TcpStream`
        // deregisters its socket from the reactor and closes it, here, before
        // the attempt returns. Cancellation is drop.
        None => (AttemptOutcome::Timeout, None),
    }
}
// ANCHOR_END: tcp_attempt_race

/// Why an exchange ended without a response.
#[derive(Debug)]
enum ExchangeError {
    /// The connection was refused or reset, or another I/O call failed. (The
    /// reason counts as an `error` whatever it is; it is kept for debugging,
    /// where `{:?}` shows it.)
    Io(#[allow(dead_code)] io::Error),
    /// The response was malformed or short.
    Http(#[allow(dead_code)] HttpError),
}

impl From<io::Error> for ExchangeError {
    fn from(error: io::Error) -> Self {
        ExchangeError::Io(error)
    }
}

impl From<HttpError> for ExchangeError {
    fn from(error: HttpError) -> Self {
        ExchangeError::Http(error)
    }
}

/// How many bytes one read may deliver: the largest piece fed to the parser at
/// once.
const READ_BUFFER_BYTES: usize = 16 * 1024;

// ANCHOR: exchange_write
/// The exchange itself, with no clock in it: [`tcp_attempt`] races it against
/// the deadline. Each `.await` on the stream is where the task sleeps until the
/// reactor says the socket is ready (see the module's essay).
async fn exchange<R: Runtime>(
    runtime: &R,
    feeds: &Feeds,
    source: &str,
    reached: &mut impl FnMut(SocketPhase),
) -> Result<Response, ExchangeError> {
    // From here on the stream is part of this future's state. It is closed when
    // this function returns, on every path (`?` included), and when the future
    // is dropped before that, at the deadline: either way the stream is
    // dropped, and dropping it closes the socket.
    let mut stream = runtime.connect(feeds.addr).await?;
    reached(SocketPhase::Connected);

    // `write_all` writes as much as the socket's send buffer takes and waits
    // for it to drain, until every byte is out. A request of a hundred bytes
    // goes out in one write.
    stream.write_all(&feeds.request(source)).await?;
    reached(SocketPhase::RequestSent);
    // ANCHOR_END: exchange_write

    // ANCHOR: exchange_read
    // The read loop of every style: read what has arrived, feed it to the
    // parser, and read again only while the response is incomplete. It ends:
    // each turn either gets bytes (and the parser refuses a head or a body
    // beyond its limits), or the end of the stream; and the deadline drops it
    // wherever it is. The buffer is a `Vec`, on the heap: a 16 KiB array would
    // sit inside this future, copied whenever the future is moved (into its
    // `Box`, for one).
    let mut parser = ResponseParser::new();
    let mut buffer = vec![0; READ_BUFFER_BYTES];
    let mut first_byte = true;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            // The server closed the connection: a short response, unless it was
            // complete.
            return Ok(parser.eof()?);
        }
        if std::mem::take(&mut first_byte) {
            reached(SocketPhase::FirstByte);
        }
        if let Some(response) = parser.feed(&buffer[..read])? {
            return Ok(response);
        }
    }
}
// ANCHOR_END: exchange_read
// ANCHOR_END: tcp_attempt

// ANCHOR: with_timeout
// ANCHOR: with_timeout_fn
/// Runs `future` for at most `limit`: `Some(output)` if it completes first,
/// `None` if the timer fires first, "first" as a poll finds them.
///
/// Whichever loses is *dropped* when this function returns, and a dropped
/// future is never polled again: that is all cancellation is in async Rust. A
/// hanging feed costs nothing after its timeout, and no late answer can keep
/// the run alive. (See [`crate::pitfalls`] for when dropping a future halfway
/// loses data.) Written on [`Runtime::sleep`], this works on every runtime;
/// `tokio::time::timeout` is the same thing, for tokio only.
///
/// A task polled late (a busy machine, a task that blocks its thread) can find
/// both ready, and `select` polls its first argument first, so then `future`
/// wins. For a future that cannot say when it completed, such as a channel's
/// `recv`, that is the best there is, and it drops nothing that has arrived. A
/// future that waited on a timer can say when it was due, and then the
/// deadlines decide: [`with_deadline`].
pub async fn with_timeout<R: Runtime, F: Future>(
    runtime: &R,
    limit: Duration,
    future: F,
) -> Option<F::Output> {
    // `select` needs futures it can poll by `&mut`, which means pinned
    // (`Unpin`) ones: `pin!` pins them here, in this function's own state.
    let future = pin!(future);
    let timer = pin!(runtime.sleep(limit));
    match future::select(future, timer).await {
        Either::Left((output, _timer)) => Some(output),
        Either::Right(((), _unfinished)) => None,
    }
}
// ANCHOR_END: with_timeout_fn

// ANCHOR: due_type
/// A value, and the instant it was due: for a future that waited on a timer,
/// the instant that timer was set to end, however late a poll found it; for an
/// exchange on a socket, which cannot know when its bytes arrived, the instant
/// a poll found it complete (never earlier than they arrived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due<T> {
    /// What the future produced.
    pub value: T,
    /// When it was due.
    pub at: Instant,
}
// ANCHOR_END: due_type

// ANCHOR: with_deadline
/// [`with_timeout`] with a deadline, for a future that says when it was due (a
/// timer on `sim`, an exchange on `tcp`): `Some(value)` if it was due by
/// `deadline`, `None` if not, or if it was not finished when the timeout fired
/// at `deadline`.
///
/// A race between two timers is decided by their *deadlines*, not by the order
/// in which a late poll finds them ready. A timer wheel fires due timers in
/// deadline order, but `select` polls in argument order: a task polled after
/// both deadlines would otherwise take an answer that came after its timeout
/// for one that came in time, and a report would depend on the load of the
/// machine. When the feed answered decides, not when a poll got round to it.
///
/// One more race hides in `select` on a multi-threaded runtime. The runtime's
/// timers are fired by whichever thread drives the reactor, possibly while this
/// task is between its two polls: `select` polls the future (its timer not
/// fired yet: pending), the reactor thread fires both due timers, `select`
/// polls the deadline (fired: ready), and the deadline "wins" a race its own
/// instant says it lost. So when the timer wins, the future gets one more look:
/// if it is ready now, its instant decides, as for any other finish.
pub async fn with_deadline<R: Runtime, T>(
    runtime: &R,
    deadline: Instant,
    future: impl Future<Output = Due<T>>,
) -> Option<T> {
    let future = pin!(future);
    let timer = pin!(runtime.sleep(until(deadline)));
    let Due { value, at } = match future::select(future, timer).await {
        Either::Left((due, _timer)) => due,
        // The timer fired; the future, polled once more, may have finished
        // meanwhile.
        Either::Right(((), unfinished)) => unfinished.now_or_never()?,
    };
    // It finished; it is in time only if it was also due by the deadline.
    (at <= deadline).then_some(value)
}
// ANCHOR_END: with_deadline
// ANCHOR_END: with_timeout

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;
    use crate::cache::SingleFlightCache;
    use crate::runtime::{AsyncStd, Smol, Tokio};

    /// A feed that answers after 60 ms, with a 20 ms timeout: a timeout,
    /// however late its task is polled.
    const SLOWER_THAN_ITS_TIMEOUT: &str = r#"
        name = "slower-than-its-timeout"
        [settings]
        timeout_ms = 20
        retries = 0
        [[sources]]
        name = "slow"
        latency_ms = 60
        body = "Oslo;1.0\n"
    "#;

    /// Fetches [`SLOWER_THAN_ITS_TIMEOUT`]'s feed on `R`, joined with a hog: a
    /// future that blocks the thread for 200 ms on its first poll (a busy
    /// machine, a task that blocks). When the attempt is polled again, both of
    /// its timers are long due, and `select` polls the feed first: the
    /// deadlines must decide, not that order.
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one<
        R: Runtime,
    >() {
        let scenario =
            Scenario::from_toml(SLOWER_THAN_ITS_TIMEOUT, "test.toml").unwrap();
        let fetched = R::block_on(|runtime| async move {
            let run = RunContext {
                runtime,
                scenario: Arc::new(scenario),
                opts: RunOptions::with_time_scale(1.0),
                trace: Trace::new(),
                cache: SingleFlightCache::default(),
                queues: Vec::new(),
            };
            // `join` polls the attempt first (its timers start), then the hog.
            // Both run in the main future, on the thread that called
            // `block_on`, on every runtime; the runtime's timers are driven
            // elsewhere meanwhile, or when the hog is done.
            let hog = async { std::thread::sleep(Duration::from_millis(200)) };
            let ((summary, body), ()) =
                future::join(fetch_with_retry(&run, 0), hog).await;
            (summary, body.map(Cow::into_owned))
        })
        .unwrap();
        let timed_out = FetchSummary::after(1, AttemptOutcome::Timeout);
        assert_eq!(fetched, (timed_out, None), "{}", R::NAME);
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one_on_tokio() {
        a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one::<Tokio>();
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one_on_async_std()
     {
        a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one::<AsyncStd>(
        );
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one_on_smol() {
        a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one::<Smol>();
    }

    #[test]
    fn with_timeout_lets_the_first_to_finish_decide() {
        let ms = Duration::from_millis(1);
        let (answered, timed_out) = Smol::block_on(|runtime| async move {
            let fast = async {
                runtime.sleep(ms).await;
                "answer"
            };
            let answered = with_timeout(&runtime, 200 * ms, fast).await;
            let timed_out =
                with_timeout(&runtime, ms, future::pending::<()>()).await;
            (answered, timed_out)
        })
        .unwrap();
        assert_eq!(answered, Some("answer"));
        assert_eq!(timed_out, None);
    }

    /// Regression test: on a multi-threaded runtime, the reactor thread could
    /// fire both due timers between `select`'s poll of the feed (not fired yet)
    /// and its poll of the deadline (fired), and the deadline won a race its
    /// instant lost: with thousands of attempts in flight, a feed answering in
    /// 1 ms of a 10 ms timeout was reported as timed out. Here the feed is
    /// pending at the first look and finished at the next, due before the
    /// deadline, which has passed: it is in time.
    #[test]
    fn a_feed_that_finished_between_two_looks_is_judged_by_its_instant() {
        use std::task::Poll;

        let deadline = Instant::now();
        let answered = Smol::block_on(|runtime| async move {
            let mut looks = 0;
            let feed = future::poll_fn(move |cx| {
                looks += 1;
                if looks == 1 {
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Due {
                    value: "answer",
                    at: deadline - Duration::from_millis(1),
                })
            });
            with_deadline(&runtime, deadline, feed).await
        })
        .unwrap();
        assert_eq!(answered, Some("answer"));
    }
}
