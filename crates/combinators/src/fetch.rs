//! Step 1, fetch: one attempt as a race against the timeout, and retries as
//! recursion.
//!
//! An attempt is a future raced against a timer, the timeout.
//! [`future::select`] races them and hands back the loser, which we drop on the
//! spot: dropping a future is how Rust cancels it. What the racing future is
//! depends on the transport:
//!
//! - on `sim`, a second timer, the feed's latency, after which the feed
//!   answers, fails, or keeps silent; the losing timer is deregistered when
//!   dropped, and a late answer can never arrive;
//! - on `tcp`, a chain of combinators over a real socket: connect, write the
//!   request, read the response. When the timeout wins, the chain is dropped,
//!   and the socket inside it is closed.
//!
//! # On `tcp`: a socket that says "not yet"
//!
//! The socket is [`async_io::Async`]`<TcpStream>`, from `async-io`, the reactor
//! under smol. It puts the socket in non-blocking mode, so a `read` with
//! nothing to read returns at once with the error `WouldBlock` instead of
//! waiting. Its [`futures::io::AsyncRead`] implementation turns that into a
//! future's answer: `poll_read` tries the read; on `WouldBlock` it registers
//! the task's waker with the reactor ("wake me when this socket is readable")
//! and returns `Pending`. The reactor is a thread of `async-io`'s own, started
//! on first use, that waits in `epoll_wait` (`kqueue` on macOS) for every
//! registered socket at once and wakes the wakers of those that became ready.
//! `block_on` then polls the run's future again, the read is tried again, and
//! this time there are bytes. Writing and connecting wait the same way, for
//! "writable". Nothing here blocks the thread, so one thread keeps
//! `concurrency` sockets in flight, as it keeps that many timers on `sim`. Like
//! `futures-timer`'s thread, the reactor's thread only wakes; every step of the
//! chain runs, and every trace event is recorded, on the thread that called
//! [`crate::run`].
//!
//! The attempt ([`attempt`], on `tcp`) is one chain, each link a combinator:
//! `Async::<TcpStream>::connect(addr)`, then [`owned_io::write_all`] of the
//! request, then [`read_response`], which feeds each read's bytes to the
//! sans-I/O [`ResponseParser`] until it has the whole response. `inspect_ok`
//! links on the way record the socket phases (connected, request sent, first
//! byte) without changing what flows through.
//!
//! # Why owned steps: a chain cannot lend what it owns
//!
//! futures 0.3 has the steps this chain needs, as extension methods, and they
//! *borrow*:
//!
//! ```text
//! // futures 0.3, AsyncWriteExt and AsyncReadExt:
//! fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
//! fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> Read<'a, Self>
//! ```
//!
//! The future `write_all` returns holds `&mut socket` until it completes.
//! Someone must own the socket meanwhile, somewhere that does not move. In a
//! chain, the only place is the chain: the socket arrives as the output of
//! `connect`, as an argument of the next closure, and whatever that closure
//! returns must stand alone. A closure cannot return a future that borrows its
//! own argument, which dies when the closure returns:
//!
//! ```compile_fail,E0515
//! use std::net::{SocketAddr, TcpStream};
//! use async_io::Async;
//! use futures::{AsyncWriteExt, TryFutureExt};
//!
//! let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
//! let request = b"GET / HTTP/1.1\r\n\r\n".to_vec();
//! let chain = Async::<TcpStream>::connect(addr)
//!     // error[E0515]: cannot return value referencing function parameter `socket`
//!     .and_then(move |mut socket| socket.write_all(&request));
//! ```
//!
//! What would make it work is a future that owns the socket *and* the borrow of
//! it: a struct pointing into itself. A chain of combinators cannot be that;
//! the compiler's state machines can, because they are pinned and the compiler
//! checks the borrow across the suspension point. That is what an `async` block
//! is: `let mut socket = connect(addr).await?;
//! socket.write_all(&request).await?;` keeps the socket in the future's own
//! state and lends it to `write_all` across the `.await`. Being able to borrow
//! across a suspension point, which no combinator chain can do, is one of the
//! reasons `async`/`.await` replaced combinator chains (the same wall stands in
//! [`crate::workers`], where `SinkExt::send` borrows its sender).
//!
//! futures 0.1 had no borrowing steps, so it never met the wall: its I/O
//! functions took the socket *by value* and handed it back with the result, and
//! a chain passed it from link to link like a baton:
//!
//! ```text
//! // tokio-io 0.1 (futures 0.1): Item is what the future resolves to.
//! pub fn write_all<A: AsyncWrite, T: AsRef<[u8]>>(a: A, buf: T) -> WriteAll<A, T>  // Item = (A, T)
//! pub fn read<R: AsyncRead, T: AsMut<[u8]>>(rd: R, buf: T) -> Read<R, T>         // Item = (R, T, usize)
//! ```
//!
//! So this crate writes them again, on top of futures 0.3's poll methods:
//! [`owned_io`] has `write_all(socket, buf)`, resolving to `(socket, buf)`, and
//! `read(socket, buf)`, resolving to `(socket, buf, n)`, each a
//! [`future::poll_fn`] that owns its state; and [`owned_io::reads`], a
//! [`stream::unfold`](futures::stream::unfold) that hands the socket and the
//! buffer from one read to the next. The price is visible in every signature:
//! values go in and must come back out, tuples grow, and a step that forgets to
//! hand something back has dropped it. The era had a second way, which this
//! crate does not need: `split` the socket into an owned read half and an owned
//! write half (`AsyncReadExt::split`, the two halves sharing the socket behind
//! a lock), and write with `stream::once(..).forward(write_half .into_sink())`,
//! since `forward` and `into_sink` take their sink by value. But `forward` also
//! *closes* the sink when its stream ends: `async-io`'s close of a socket only
//! flushes, while tokio's shuts the socket's sending side down, a half-closed
//! connection before the answer has come. Owned steps do what they say and
//! nothing more.
//!
//! # The deadline, and where the socket is closed
//!
//! The chain is raced against the attempt's deadline with the same `select` and
//! `Delay` as on `sim`, both clocks starting when the attempt starts. When the
//! timer wins, `select` hands back the chain, unfinished, and the attempt drops
//! it: whatever link it had reached owns the socket (the connect future, a
//! `write_all`, the stream of reads), so the socket is dropped with it, and
//! dropping an `Async<TcpStream>` deregisters it from the reactor and closes
//! it. No code closes it by hand on any path: an error drops it with the link
//! that failed, and a complete response drops it with the rest of the stream of
//! reads ([`read_response`]). A hanging feed server sees the close and stops
//! waiting too.
//!
//! # A late poll: the deadlines decide
//!
//! `select` polls its first argument first. On a busy machine (thousands of
//! attempts on two cores, or a future that blocks the thread) the attempt can
//! be polled so late that *both* timers are due at that poll, and the feed
//! would then win even when its latency is longer than the timeout. So a race
//! between two timers is decided by their *deadlines*, not by the order in
//! which a late poll finds them ready. Both clocks start when the attempt
//! starts: the feed's `Delay` ends at `started + latency`, and its future
//! yields that instant with the answer; the timeout's ends at its deadline,
//! `started + timeout`. When the feed wins the poll but was due after the
//! deadline, the attempt is a timeout. When the feed answered decides, not when
//! a poll got round to it: the threads style stamps its answers with `started +
//! latency` for the same reason, and the event loop of `rosetta-callbacks`,
//! when it is late, fires overdue timers in deadline order.
//!
//! On `tcp` there is no instant to compare: the client cannot know when bytes
//! reached its socket, only when it read them. A late poll that finds the whole
//! response waiting in the socket takes it (the exchange is polled first), as a
//! blocked `read` of the threads style returns bytes that arrived before its
//! deadline even when the thread runs late. Scenario validation keeps every
//! feed's latency a factor of two from its timeout, so a poll would have to be
//! late by a whole timeout for that to change an outcome.
//!
//! Retrying is the classic futures 0.1 `loop_fn` shape: a function that returns
//! a boxed future which, when the attempt fails, calls the same function again
//! for the next attempt. The box is needed because the type of a future that
//! contains itself would be infinitely large.
//!
//! Read next: [`crate::cache`], where the records of an answered source get
//! their regions.

use std::borrow::Cow;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use async_io::Async;
use futures::future::{self, Either, FutureExt, LocalBoxFuture, TryFutureExt};
use futures::stream::{StreamExt, TryStreamExt};
use futures_timer::Delay;
use rosetta_pipeline::http::{
    self, HttpError, Response as HttpResponse, ResponseParser,
};
use rosetta_pipeline::options::{later, until};
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Response, Settings, Source};
use rosetta_pipeline::trace::{EventKind, SocketPhase, Trace};
use rosetta_pipeline::transport::{Feeds, Transport};

use crate::owned_io::{self, Delivered};

/// What fetching one source came to: the summary for the report and, if the
/// source answered, its body: borrowed from the scenario on `sim` (nothing is
/// copied), read from the socket on `tcp` (owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<'a> {
    /// Attempts made and whether the source failed.
    pub summary: FetchSummary,
    /// The body, if the last attempt answered.
    pub body: Option<Cow<'a, str>>,
}

/// The waits of one attempt, already scaled to real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptTimes {
    /// How long the feed takes to answer (or to fail). Only `sim` waits it
    /// here; on `tcp` the feed server does.
    pub latency: Duration,
    /// How long the client waits before abandoning the attempt.
    pub timeout: Duration,
}

/// What one attempt came to: its outcome and, if the feed answered in time, the
/// body.
pub type AttemptResult<'a> = (AttemptOutcome, Option<Cow<'a, str>>);

// ANCHOR: fetch_with_retry
// ANCHOR: fetch_with_retry_fn
/// Fetches source number `index`: up to `settings.max_attempts()` attempts,
/// each raced against its timeout, the next one starting at once when one
/// fails.
///
/// Nothing happens until the returned future is polled: `buffer_unordered` in
/// [`crate::run`] decides when, which is how "at most `concurrency` in flight"
/// is enforced.
pub fn fetch_with_retry<'a>(
    index: usize,
    source: &'a Source,
    settings: &'a Settings,
    times: AttemptTimes,
    transport: &'a Transport,
    trace: &'a Trace,
) -> LocalBoxFuture<'a, Fetched<'a>> {
    attempts_from(1, index, source, settings, times, transport, trace)
}
// ANCHOR_END: fetch_with_retry_fn

// ANCHOR: attempts_from
/// Attempt number `attempt`, then, if it failed and attempts are left, the rest
/// of them.
fn attempts_from<'a>(
    attempt: u32,
    index: usize,
    source: &'a Source,
    settings: &'a Settings,
    times: AttemptTimes,
    transport: &'a Transport,
    trace: &'a Trace,
) -> LocalBoxFuture<'a, Fetched<'a>> {
    // `self::attempt` is the function below; plain `attempt` is the number,
    // which shadows it.
    self::attempt(attempt, index, source, times, transport, trace)
        // ANCHOR_END: attempts_from
        // ANCHOR: attempts_then
        .then(move |(outcome, body)| {
            if outcome == AttemptOutcome::Answered
                || attempt == settings.max_attempts()
            {
                // Done: the equivalent of `return Promise.resolve(value)`
                // inside a `.then`.
                let summary = FetchSummary::after(attempt, outcome);
                future::ready(Fetched { summary, body }).left_future()
            } else {
                // Failed with attempts left: chain the next attempt, like
                // returning a new promise from `.then`.
                // `left_future`/`right_future` wrap the two branches in
                // `Either`, because a closure must return one type.
                attempts_from(
                    attempt + 1,
                    index,
                    source,
                    settings,
                    times,
                    transport,
                    trace,
                )
                .right_future()
            }
        })
        // The recursion above makes the type refer to itself; boxing gives it a
        // fixed size.
        .boxed_local()
}
// ANCHOR_END: attempts_then
// ANCHOR_END: fetch_with_retry

// ANCHOR: attempt
// ANCHOR: attempt_lazy
/// One attempt: the feed's answer raced against the timeout. Resolves to the
/// outcome and, if the feed answered in time, the body. On `sim` the answer is
/// a timer (below); on `tcp` it is an exchange with the feed server
/// ([`tcp_attempt`]).
pub fn attempt<'a>(
    attempt: u32,
    index: usize,
    source: &'a Source,
    times: AttemptTimes,
    transport: &'a Transport,
    trace: &'a Trace,
) -> impl Future<Output = AttemptResult<'a>> + 'a {
    // `lazy` defers the body to the first poll. That matters here: a `Delay`
    // starts counting when it is *created*, so creating both timers eagerly
    // (when the future is built) would start the clock before the attempt is
    // allowed to run.
    future::lazy(move |_| {
        trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        // Both clocks start when the attempt starts, now (two readings of the
        // clock could be far apart on a busy machine), and each `Delay` waits
        // until its own deadline.
        let started = Instant::now();
        let answer_due = later(started, times.latency);
        let deadline = later(started, times.timeout);
        match transport {
            Transport::Sim => {
                simulated_attempt(source, attempt, answer_due, deadline)
                    .left_future()
            }
            Transport::Tcp(feeds) => {
                tcp_attempt(feeds, index, source, attempt, deadline, trace)
                    .right_future()
            }
        }
    })
    // ANCHOR_END: attempt_lazy
    // ANCHOR: attempt_finished
    .flatten()
    // `inspect` sees the output without changing it: the place for a side
    // effect on the way.
    .inspect(move |(outcome, _)| {
        trace.record(EventKind::AttemptFinished {
            source: index,
            attempt,
            outcome: *outcome,
        });
    })
}
// ANCHOR_END: attempt_finished

// ANCHOR: simulated_answer
/// One attempt on `sim`: the feed's latency, a timer, raced against the
/// timeout, another.
fn simulated_attempt(
    source: &Source,
    attempt: u32,
    answer_due: Instant,
    deadline: Instant,
) -> impl Future<Output = AttemptResult<'_>> {
    let answer = Delay::new(until(answer_due))
        .then(move |()| match source.respond(attempt) {
            Response::Body(body) => future::ready((
                AttemptOutcome::Answered,
                Some(Cow::Borrowed(body)),
            ))
            .left_future(),
            Response::Error => {
                future::ready((AttemptOutcome::Error, None)).left_future()
            }
            // A hanging feed: a future that never completes. Only the timeout
            // can win.
            Response::Never => future::pending().right_future(),
        })
        // The answer carries the instant it was due, however late a poll finds
        // it.
        .map(move |answer| (answer_due, answer));
    // ANCHOR_END: simulated_answer
    // ANCHOR: simulated_race
    let timeout = Delay::new(until(deadline));
    // `select` is `Promise.race`, except that it returns the loser too, still
    // pending.
    future::select(answer, timeout).map(move |race| match race {
        // The feed won the poll and was due by the deadline: it answered in
        // time.
        Either::Left(((due, answer), _timeout)) if due <= deadline => answer,
        // The timeout won the poll. The timers are fired by another thread
        // (futures-timer's), which may have fired both between `select`'s look
        // at the feed and its look at the timeout: one more look at the feed,
        // and if it has answered, its instant decides.
        Either::Right(((), unfinished)) => match unfinished.now_or_never() {
            Some((due, answer)) if due <= deadline => answer,
            _ => (AttemptOutcome::Timeout, None),
        },
        // The feed won the poll but was due after the deadline: a late poll
        // found both timers due, and `select` polls the feed first. The
        // deadlines decide, not the order of the poll.
        Either::Left(_) => (AttemptOutcome::Timeout, None),
    })
    // Either way the loser is dropped here, with `race`: that drop is the
    // cancellation, and the losing `Delay` is deregistered.
}
// ANCHOR_END: simulated_race
// ANCHOR_END: attempt

// ANCHOR: tcp_attempt
// ANCHOR: tcp_chain
/// One attempt on `tcp`: connect to the feed server, send the request for
/// `source`, read the response, all as one chain raced against `deadline`.
/// Records each socket phase reached.
pub fn tcp_attempt<'a>(
    feeds: &Feeds,
    index: usize,
    source: &'a Source,
    attempt: u32,
    deadline: Instant,
    trace: &'a Trace,
) -> impl Future<Output = AttemptResult<'a>> + 'a {
    // A socket phase reached by this attempt, into the trace (a `Copy` closure:
    // each link below gets its own copy).
    let reached = move |phase| {
        trace.record(EventKind::Socket {
            source: index,
            attempt,
            phase,
        })
    };
    let request = feeds.request(&source.name);
    let exchange = Async::<TcpStream>::connect(feeds.addr)
        .inspect_ok(move |_| reached(SocketPhase::Connected))
        // The socket goes into `write_all` by value and comes back out with the
        // request: an owned step (see "Why owned steps" above). The request is
        // not needed again.
        .and_then(move |socket| owned_io::write_all(socket, request))
        .inspect_ok(move |_| reached(SocketPhase::RequestSent))
        .map_err(Failure::Io)
        // And on into the reads, by value again: `read_response` owns the
        // socket from here.
        .and_then(move |(socket, _request)| {
            read_response(socket, move || reached(SocketPhase::FirstByte))
        })
        // A response (2xx or not), a reset, a short body: the one mapping,
        // written once.
        .map(http::outcome);
    // ANCHOR_END: tcp_chain
    // ANCHOR: tcp_race
    let timeout = Delay::new(until(deadline));
    // `select` moves its futures around until one finishes, so both must be
    // `Unpin`. The connect future is written with `async` inside `async-io`,
    // and such futures are not (they may hold borrows of themselves):
    // `boxed_local` pins the chain on the heap.
    future::select(exchange.boxed_local(), timeout).map(|race| match race {
        // The response is complete (or the exchange failed) before the timer's
        // poll. On a late poll the exchange wins if its bytes are waiting (see
        // "A late poll" above).
        Either::Left(((outcome, body), _timer)) => {
            (outcome, body.map(Cow::Owned))
        }
        Either::Right(((), unfinished)) => {
            // The deadline won. Dropping the unfinished chain drops the socket
            // in whichever link holds it, and that closes it: deregistered from
            // the reactor, then closed.
            drop(unfinished);
            (AttemptOutcome::Timeout, None)
        }
    })
}

/// Why an exchange ended without a response. Either counts as an `error`
/// ([`http::outcome`]); the reason is kept for the tests and for debugging.
#[derive(Debug)]
pub enum Failure {
    /// The connection was refused or reset, or a read or write failed.
    Io(std::io::Error),
    /// The response was malformed or short.
    Http(HttpError),
}
// ANCHOR_END: tcp_race

// ANCHOR: read_response_reads
/// Reads the response from `reader`: every read's bytes go to a
/// [`ResponseParser`] until it has the whole response, or an error, or the
/// close shows it short. Calls `first_byte` when the first bytes arrive.
///
/// A pipeline of stream combinators over [`owned_io::reads`]: `inspect` for the
/// first byte, `map` to feed the parser (which the closure owns: an `FnMut`
/// closure is the one place in a chain where state can live and change between
/// items), `try_filter_map` to skip the reads after which the parser says "not
/// yet", and `into_future` for the first verdict, which hands back the rest of
/// the stream by value (`StreamExt::next` would borrow it).
pub fn read_response<R>(
    reader: R,
    first_byte: impl FnOnce(),
) -> impl Future<Output = Result<HttpResponse, Failure>>
where
    R: futures::io::AsyncRead + Unpin,
{
    let mut first_byte = Some(first_byte);
    let mut parser = ResponseParser::new();
    owned_io::reads(reader, vec![0; 16 * 1024])
        .inspect(move |read| {
            if let Ok(Delivered::Bytes(_)) = read
                && let Some(reached) = first_byte.take()
            {
                reached();
            }
        })
        // ANCHOR_END: read_response_reads
        // ANCHOR: read_response_verdict
        // `Some` once the parser has the response; a close before that is a
        // short one.
        .map(move |read| {
            let verdict = match read.map_err(Failure::Io)? {
                Delivered::Bytes(bytes) => parser.feed(&bytes),
                Delivered::Closed => parser.eof().map(Some),
            };
            verdict.map_err(Failure::Http)
        })
        .try_filter_map(future::ok)
        .into_future()
        .map(|(verdict, rest)| {
            // The rest of the stream owns the socket: dropping it here closes
            // the socket, as soon as the response is complete (the server
            // closes its end too).
            drop(rest);
            // The stream of reads ends only after a close or an error, and both
            // are verdicts.
            verdict.unwrap_or(Err(Failure::Io(
                std::io::ErrorKind::UnexpectedEof.into(),
            )))
        })
}
// ANCHOR_END: read_response_verdict
// ANCHOR_END: tcp_attempt

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use rosetta_pipeline::run::FailReason;
    use rosetta_pipeline::scenario::Fault;

    const SIM: Transport = Transport::Sim;

    fn source(fault: Fault, latency_ms: u64) -> Source {
        Source {
            name: "feed".into(),
            latency_ms,
            fault,
            body: "Oslo;1.0\n".into(),
        }
    }

    /// Runs `fetch_with_retry` with real timers (milliseconds) and three
    /// attempts at most. Returns the summary and the body, if any.
    fn fetch(
        source: &Source,
        latency_ms: u64,
        timeout_ms: u64,
        trace: &Trace,
    ) -> (FetchSummary, Option<String>) {
        let settings = Settings {
            retries: 2,
            ..Settings::default()
        };
        let times = AttemptTimes {
            latency: Duration::from_millis(latency_ms),
            timeout: Duration::from_millis(timeout_ms),
        };
        let fetched = block_on(fetch_with_retry(
            0, source, &settings, times, &SIM, trace,
        ));
        (fetched.summary, fetched.body.map(Cow::into_owned))
    }

    #[test]
    fn a_healthy_feed_answers_on_the_first_attempt() {
        let trace = Trace::new();
        let (summary, body) = fetch(&source(Fault::None, 1), 1, 200, &trace);
        assert_eq!(summary, FetchSummary::after(1, AttemptOutcome::Answered));
        assert_eq!(body.as_deref(), Some("Oslo;1.0\n"));
        assert_eq!(trace.summary().attempts, 1);
    }

    #[test]
    fn a_flaky_feed_is_saved_by_the_retry() {
        let trace = Trace::new();
        let (summary, _) = fetch(&source(Fault::First, 1), 1, 200, &trace);
        assert_eq!(summary, FetchSummary::after(2, AttemptOutcome::Answered));
        assert_eq!(trace.summary().attempts, 2);
    }

    #[test]
    fn a_hanging_feed_times_out_on_every_attempt() {
        let trace = Trace::new();
        let (summary, body) = fetch(&source(Fault::Hang, 1), 1, 20, &trace);
        assert_eq!(summary.attempts, 3);
        assert_eq!(summary.failure, Some(FailReason::Timeout));
        assert_eq!(body, None);
    }

    #[test]
    fn a_slow_feed_loses_the_race_against_the_timeout() {
        let trace = Trace::new();
        // The answer would come after 10 s; the timeout (20 ms) wins, and
        // dropping the loser means the test does not wait those 10 s.
        let (summary, _) =
            fetch(&source(Fault::None, 10_000), 10_000, 20, &trace);
        assert_eq!(summary.failure, Some(FailReason::Timeout));
        let finished = trace
            .events()
            .into_iter()
            .filter(|event| {
                matches!(event.kind, EventKind::AttemptFinished { .. })
            })
            .count();
        assert_eq!(finished, 3, "every attempt is recorded as finished");
    }

    /// One attempt, joined with a hog: a future that blocks the thread for 200
    /// ms on its first poll (a busy machine, a task that blocks among
    /// thousands). When `block_on` polls the race again, both timers are long
    /// due, and `select` polls the feed first.
    fn fetch_polled_late(
        latency_ms: u64,
        timeout_ms: u64,
    ) -> (FetchSummary, Option<String>) {
        let (source, trace) = (source(Fault::None, latency_ms), Trace::new());
        let settings = Settings {
            retries: 0,
            ..Settings::default()
        };
        let times = AttemptTimes {
            latency: Duration::from_millis(latency_ms),
            timeout: Duration::from_millis(timeout_ms),
        };
        let attempt =
            fetch_with_retry(0, &source, &settings, times, &SIM, &trace);
        // `join` polls the attempt first (its timers start), then the hog.
        let hog =
            future::lazy(|_| std::thread::sleep(Duration::from_millis(200)));
        let (fetched, ()) = block_on(future::join(attempt, hog));
        (fetched.summary, fetched.body.map(Cow::into_owned))
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one() {
        // The feed answers after 60 ms, the timeout falls after 20: a timeout,
        // though the late poll finds the feed first. The deadlines decide.
        let timed_out = FetchSummary::after(1, AttemptOutcome::Timeout);
        assert_eq!(fetch_polled_late(60, 20), (timed_out, None));
    }

    #[test]
    fn a_late_poll_does_not_turn_an_on_time_answer_into_a_late_one() {
        // The feed answers after 5 ms, the timeout falls after 60: answered,
        // though the late poll finds both timers due.
        let answered = FetchSummary::after(1, AttemptOutcome::Answered);
        let body = Some("Oslo;1.0\n".to_string());
        assert_eq!(fetch_polled_late(5, 60), (answered, body));
    }

    #[test]
    fn nothing_starts_before_the_first_poll() {
        let trace = Trace::new();
        let source = source(Fault::None, 1);
        let settings = Settings::default();
        let times = AttemptTimes {
            latency: Duration::ZERO,
            timeout: Duration::from_secs(1),
        };
        let fetch =
            fetch_with_retry(0, &source, &settings, times, &SIM, &trace);
        assert!(trace.events().is_empty(), "futures are lazy");
        drop(fetch);
        assert!(trace.events().is_empty());
    }

    /// The attempt on `tcp`, against canned servers on loopback
    /// (`rosetta_conformance::canned`; the feed server itself is exercised by
    /// the conformance tests in `tests/`). Every test asserts an outcome and
    /// the socket phases, never a duration: a server answers at once or never,
    /// far from the deadlines.
    mod tcp {
        use std::io::{self, Write};
        use std::net::{TcpListener, TcpStream};
        use std::pin::Pin;
        use std::task::{Context, Poll};

        use rosetta_conformance::canned::{
            ALL_PHASES, ANSWER, ANSWER_BODY, CannedServer,
            PHASES_UNTIL_REQUEST_SENT, Reply, SHORT_BODY, SOURCE, UNAVAILABLE,
            accept_within_watchdog, endless_head, refusing_feeds,
            sees_the_close,
        };

        use super::*;

        /// Long enough for an answering server on the slowest machine.
        const PATIENT: Duration = Duration::from_secs(10);
        /// Far shorter than what a trickling or hanging server takes.
        const IMPATIENT: Duration = Duration::from_millis(300);

        /// One attempt at source [`SOURCE`] over tcp to `feeds`, with
        /// `timeout`: its outcome, its body, and the socket phases it recorded.
        fn attempt_over(
            feeds: Feeds,
            timeout: Duration,
        ) -> ((AttemptOutcome, Option<String>), Vec<SocketPhase>) {
            let trace = Trace::new();
            let source = Source {
                name: SOURCE.into(),
                ..source(Fault::None, 1)
            };
            let times = AttemptTimes {
                latency: Duration::ZERO,
                timeout,
            };
            let transport = Transport::Tcp(feeds);
            let (outcome, body) =
                block_on(attempt(1, 0, &source, times, &transport, &trace));
            let phases = trace
                .events()
                .into_iter()
                .filter_map(|event| match event.kind {
                    EventKind::Socket { phase, .. } => Some(phase),
                    _ => None,
                })
                .collect();
            ((outcome, body.map(Cow::into_owned)), phases)
        }

        #[test]
        fn a_200_is_the_body_read_from_the_socket() {
            let server = CannedServer::start([
                Reply::answer(ANSWER).awaiting_the_close()
            ]);
            let (outcome, phases) = attempt_over(server.feeds(), PATIENT);
            assert_eq!(
                outcome,
                (AttemptOutcome::Answered, Some(ANSWER_BODY.to_string()))
            );
            assert_eq!(phases, ALL_PHASES);
            assert!(
                server.join()[0].closed_by_client,
                "the client closed the connection"
            );
        }

        #[test]
        fn a_503_is_an_error() {
            let server = CannedServer::start([Reply::answer(UNAVAILABLE)]);
            let (outcome, phases) = attempt_over(server.feeds(), PATIENT);
            assert_eq!(outcome, (AttemptOutcome::Error, None));
            assert_eq!(phases, ALL_PHASES);
            server.join();
        }

        #[test]
        fn a_short_body_is_an_error() {
            // The server closes after 4 of 10 body bytes.
            let server = CannedServer::start([Reply::answer(SHORT_BODY)]);
            let (outcome, phases) = attempt_over(server.feeds(), PATIENT);
            assert_eq!(outcome, (AttemptOutcome::Error, None));
            assert_eq!(phases, ALL_PHASES);
            server.join();
        }

        /// A `hang` feed: the server reads the request and never answers. The
        /// deadline wins the `select`, the chain is dropped, and with it the
        /// socket: the server sees the close.
        #[test]
        fn a_server_that_never_answers_is_a_timeout_and_the_socket_is_closed() {
            let server = CannedServer::start([Reply::hang()]);
            let (outcome, phases) = attempt_over(server.feeds(), IMPATIENT);
            assert_eq!(outcome, (AttemptOutcome::Timeout, None));
            assert_eq!(phases, PHASES_UNTIL_REQUEST_SENT);
            assert!(
                server.join()[0].closed_by_client,
                "the client closed the connection"
            );
        }

        /// A server that sends one byte every 20 ms of a head that never ends:
        /// every read is quick, but the response never completes. The deadline
        /// bounds the attempt, not each read; the chain is dropped with its
        /// socket, and the server's next write fails.
        #[test]
        fn a_trickle_cannot_outlast_the_deadline() {
            let trickle =
                Reply::trickle(endless_head(1_000), Duration::from_millis(20));
            let server = CannedServer::start([trickle]);
            let (outcome, phases) = attempt_over(server.feeds(), IMPATIENT);
            assert_eq!(outcome, (AttemptOutcome::Timeout, None));
            assert_eq!(phases, ALL_PHASES);
            assert!(server.join()[0].closed_by_client, "the trickle ran out");
        }

        /// A server that resets the connection instead of answering: the read
        /// fails, an error.
        #[test]
        fn a_reset_is_an_error() {
            let server = CannedServer::start([Reply::reset()]);
            let (outcome, phases) = attempt_over(server.feeds(), PATIENT);
            assert_eq!(outcome, (AttemptOutcome::Error, None));
            assert_eq!(phases, PHASES_UNTIL_REQUEST_SENT);
            server.join();
        }

        #[test]
        fn a_refused_connection_is_an_error() {
            let (outcome, phases) = attempt_over(refusing_feeds(), PATIENT);
            assert_eq!(outcome, (AttemptOutcome::Error, None));
            assert_eq!(phases, []);
        }

        /// A reader that hands out at most one byte per read, whatever the
        /// buffer's size.
        struct OneByteAtATime<R>(R);

        impl<R: futures::io::AsyncRead + Unpin> futures::io::AsyncRead
            for OneByteAtATime<R>
        {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buffer: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let one = buffer.len().min(1);
                Pin::new(&mut self.0).poll_read(cx, &mut buffer[..one])
            }
        }

        /// A connected pair on loopback: ours, registered with the reactor, and
        /// the server's.
        fn connected_pair() -> (Async<TcpStream>, TcpStream) {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let client = block_on(Async::<TcpStream>::connect(
                listener.local_addr().unwrap(),
            ));
            let server = accept_within_watchdog(&listener);
            (client.unwrap(), server)
        }

        #[test]
        fn a_response_read_one_byte_at_a_time_is_parsed_whole() {
            let (client, mut server) = connected_pair();
            server.write_all(ANSWER).unwrap();
            let mut first_bytes = 0;
            let read =
                read_response(OneByteAtATime(client), || first_bytes += 1);
            let response = block_on(read).unwrap();
            assert_eq!(
                response,
                HttpResponse {
                    status: 200,
                    body: ANSWER_BODY.to_string()
                }
            );
            assert_eq!(first_bytes, 1, "the first byte is reached once");
            // The response was complete without waiting for the server's close;
            // the reads' stream, and the socket in it, were dropped then: the
            // server sees the close.
            assert!(sees_the_close(&mut server));
        }

        #[test]
        fn a_close_before_the_head_is_a_short_response() {
            let (client, server) = connected_pair();
            drop(server);
            let mut first_bytes = 0;
            let result = block_on(read_response(client, || first_bytes += 1));
            assert!(
                matches!(
                    result,
                    Err(Failure::Http(HttpError::ShortHead { received: 0 }))
                ),
                "{result:?}"
            );
            assert_eq!(first_bytes, 0, "no byte came");
        }
    }
}
