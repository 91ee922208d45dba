//! Step 1, fetch: [`FetchWithRetry`] (the client), and the attempt it makes on
//! each transport: [`FeedAnswer`] on `sim` (a timer), [`TcpAttempt`] on `tcp`
//! (a real connection).
//!
//! `FetchWithRetry` is the state machine the book shows first: an `enum` whose
//! variants are the states a fetch goes through, and a `poll` that moves
//! between them. Each variant holds exactly what that state needs (the attempt
//! in flight holds its timers; a finished fetch holds nothing), which is also
//! what a compiler-generated future does with the variables that are alive at
//! each suspension point.
//!
//! # An attempt over TCP
//!
//! On `tcp`, an attempt is three futures in a row, each a state machine of its
//! own, each handling `WouldBlock` the same way (try the call; if the socket is
//! not ready, leave the waker with the reactor and return `Pending`; when
//! woken, try again):
//!
//! 1. [`Connect`]: a non-blocking socket, a handshake under way,
//!    writability when it has ended;
//! 2. [`WriteAll`]: the request, in as many writes as the send
//!    buffer needs;
//! 3. [`ReadResponse`]: reads, each fed to the sans-I/O response parser, until
//!    it has a whole response (or the server closed the connection).
//!
//! [`TcpAttempt`] strings them together and records each socket phase it
//! reaches in the trace, and `FetchWithRetry` races it against the attempt's
//! deadline with the same [`Timeout`] as on `sim`. Whatever ends the attempt
//! (the answer, an error, the deadline), the connection is closed when the
//! future holding it is dropped: the `Drop` of its
//! [`Registration`](crate::executor::reactor::Registration) takes the socket
//! out of the poller and closes it.
//!
//! Read next: [`crate::executor::join`], which runs many of these at once.

use std::borrow::Cow;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use rosetta_pipeline::http::{self, HttpError, ResponseParser};
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary, RunOptions};
use rosetta_pipeline::scenario::{Response, Settings, Source};
use rosetta_pipeline::trace::{EventKind, SocketPhase, Trace};
use rosetta_pipeline::transport::{Feeds, Transport};

use crate::executor::net::{
    Connect, TcpConnection, WriteAll, connect, write_all,
};
use crate::executor::reactor::{Direction, Reactor, Sleep, sleep};
use crate::executor::timeout::{Due, Elapsed, Timeout, timeout};

/// An attempt that failed without a body: on `sim`, the error a feed answers
/// with (the scenario's `first` and `always` faults); on `tcp`, a refused or
/// reset connection, a malformed or short response, or a status other than
/// `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedError;

/// What the feed says on attempt `attempt`, once its latency has passed. Stands
/// in for a real HTTP request: in production this would be a future from an
/// HTTP client.
pub fn feed_answer<'a>(
    reactor: &Reactor,
    source: &'a Source,
    attempt: u32,
    latency: Duration,
) -> FeedAnswer<'a> {
    FeedAnswer {
        source,
        attempt,
        latency: sleep(reactor, latency),
    }
}

/// Future for [`feed_answer`]: the body, or the feed's error.
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct FeedAnswer<'a> {
    /// The feed asked.
    source: &'a Source,
    /// Which attempt this is (the `first` fault depends on it).
    attempt: u32,
    /// The network round trip.
    latency: Sleep,
}

impl<'a> Future for FeedAnswer<'a> {
    type Output = Result<&'a str, FeedError>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Self::Output> {
        ready!(Pin::new(&mut self.latency).poll(cx));
        match self.source.respond(self.attempt) {
            Response::Body(body) => Poll::Ready(Ok(body)),
            Response::Error => Poll::Ready(Err(FeedError)),
            // A hanging feed: pending, and no waker is left anywhere, so
            // nothing will ever wake us. That is exactly what a server that
            // never answers looks like to a client; only a timeout around this
            // future can end the wait.
            Response::Never => Poll::Pending,
        }
    }
}

/// The feed answers when its latency has passed: the instant [`Timeout`]
/// compares with its deadline. A hanging feed never answers: it has no instant,
/// and its deadline wins.
impl Due for FeedAnswer<'_> {
    fn due_at(&self) -> Option<Instant> {
        match self.source.respond(self.attempt) {
            Response::Never => None,
            Response::Body(_) | Response::Error => {
                Some(self.latency.deadline())
            }
        }
    }
}

/// One attempt's answer, on either transport: what an attempt's [`Timeout`]
/// races.
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub enum AttemptAnswer<'a> {
    /// On `sim`: a timer, then the scenario's answer.
    Sim(FeedAnswer<'a>),
    /// On `tcp`: an HTTP exchange with the feed server.
    Tcp(TcpAttempt<'a>),
}

impl<'a> Future for AttemptAnswer<'a> {
    /// The body, borrowed from the scenario on `sim`, read from the socket
    /// (owned) on `tcp`.
    type Output = Result<Cow<'a, str>, FeedError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            AttemptAnswer::Sim(answer) => {
                Pin::new(answer).poll(cx).map(|r| r.map(Cow::Borrowed))
            }
            // `http::outcome` is the specification's one mapping of a finished
            // exchange: a `2xx` response is the body, anything else an error.
            AttemptAnswer::Tcp(attempt) => {
                Pin::new(attempt).poll(cx).map(|finished| {
                    match http::outcome(finished) {
                        (_, Some(body)) => Ok(Cow::Owned(body)),
                        (_, None) => Err(FeedError),
                    }
                })
            }
        }
    }
}

impl Due for AttemptAnswer<'_> {
    fn due_at(&self) -> Option<Instant> {
        match self {
            AttemptAnswer::Sim(answer) => answer.due_at(),
            AttemptAnswer::Tcp(attempt) => attempt.due_at(),
        }
    }
}

/// What fetching one source came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<'a> {
    /// Attempts made and whether the source failed.
    pub summary: FetchSummary,
    /// The body, if the last attempt answered: borrowed from the scenario on
    /// `sim`, read from the socket on `tcp`.
    pub body: Option<Cow<'a, str>>,
}

// ANCHOR: fetch_with_retry
// ANCHOR: fetch_with_retry_fn
/// Fetches source number `index`: up to `settings.max_attempts()` attempts,
/// each raced against the timeout, each failure followed at once by the next
/// attempt, on the transport `opts` names.
pub fn fetch_with_retry<'a>(
    index: usize,
    source: &'a Source,
    settings: &Settings,
    opts: &RunOptions,
    reactor: &Reactor,
    trace: &'a Trace,
) -> FetchWithRetry<'a> {
    FetchWithRetry {
        index,
        source,
        max_attempts: settings.max_attempts(),
        latency: opts.scaled(source.latency_ms),
        timeout: opts.scaled(settings.timeout_ms),
        transport: opts.transport,
        reactor: reactor.clone(),
        trace,
        state: FetchState::Start,
    }
}
// ANCHOR_END: fetch_with_retry_fn

// ANCHOR: fetch_struct
/// Future for [`fetch_with_retry`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct FetchWithRetry<'a> {
    /// Index of the source, for the trace.
    index: usize,
    /// The source to fetch.
    source: &'a Source,
    /// The first attempt plus the retries.
    max_attempts: u32,
    /// The feed's latency, scaled.
    latency: Duration,
    /// The limit of one attempt, scaled.
    timeout: Duration,
    /// Where the answers come from: timers, or a feed server.
    transport: Transport,
    /// For the timers and sockets of each attempt.
    reactor: Reactor,
    /// Where attempts are recorded.
    trace: &'a Trace,
    /// Where the fetch is.
    state: FetchState<'a>,
}
// ANCHOR_END: fetch_struct

// ANCHOR: fetch_state
/// The states of a [`FetchWithRetry`].
///
/// Like every enum (and every future the compiler writes), it is as big as its
/// biggest state, `Waiting`, which holds the attempt in flight; clippy suggests
/// boxing it. Not here: a fetch spends nearly all its life in `Waiting`, so a
/// box would save no memory and cost an allocation per attempt.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum FetchState<'a> {
    /// Created, never polled: no attempt has started. (Futures are lazy:
    /// creating one must not start the clock, or a source queued behind the
    /// concurrency limit would time out waiting.)
    Start,
    /// Attempt `attempt` is in flight: the feed's answer raced against the
    /// deadline.
    Waiting {
        /// From 1.
        attempt: u32,
        /// The feed's answer, with the attempt's deadline.
        answer: Timeout<AttemptAnswer<'a>>,
    },
    /// The fetch has returned its result; there is nothing left to do.
    Done,
}
// ANCHOR_END: fetch_state

// ANCHOR: fetch_poll_wait
impl<'a> Future for FetchWithRetry<'a> {
    type Output = Fetched<'a>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Fetched<'a>> {
        loop {
            match &mut self.state {
                // Start -> Waiting { attempt: 1 }.
                FetchState::Start => self.start_attempt(1),
                FetchState::Waiting { attempt, answer } => {
                    let attempt = *attempt;
                    // Pending until the answer or the deadline; both have our
                    // waker (the deadline's timer, and the answer's timer or
                    // socket).
                    let outcome = match ready!(Pin::new(answer).poll(cx)) {
                        Ok(Ok(body)) => (AttemptOutcome::Answered, Some(body)),
                        Ok(Err(FeedError)) => (AttemptOutcome::Error, None),
                        Err(Elapsed) => (AttemptOutcome::Timeout, None),
                    };
                    self.trace.record(EventKind::AttemptFinished {
                        source: self.index,
                        attempt,
                        outcome: outcome.0,
                    });
                    // ANCHOR_END: fetch_poll_wait
                    // ANCHOR: fetch_poll_next
                    if outcome.0 == AttemptOutcome::Answered
                        || attempt == self.max_attempts
                    {
                        // Waiting -> Done. Overwriting the state drops the
                        // attempt's `Timeout`, and with it whichever timer has
                        // not fired: the loser is cancelled. On tcp, an attempt
                        // that timed out still holds its connection: this drop
                        // is where that socket leaves the poller and is closed.
                        self.state = FetchState::Done;
                        let summary = FetchSummary::after(attempt, outcome.0);
                        return Poll::Ready(Fetched {
                            summary,
                            body: outcome.1,
                        });
                    }
                    // Waiting { attempt } -> Waiting { attempt + 1 }: retry at
                    // once, same slot. (The old attempt, and on tcp its socket,
                    // is dropped by the overwrite.)
                    self.start_attempt(attempt + 1);
                }
                FetchState::Done => {
                    panic!("FetchWithRetry polled after it completed")
                }
            }
        }
    }
}
// ANCHOR_END: fetch_poll_next

// ANCHOR: start_attempt
impl FetchWithRetry<'_> {
    /// Starts attempt `attempt`: records it and starts its deadline and its
    /// answer (a timer on sim, a connection on tcp), both clocks from now.
    fn start_attempt(&mut self, attempt: u32) {
        self.trace.record(EventKind::AttemptStarted {
            source: self.index,
            attempt,
        });
        let answer = match self.transport {
            Transport::Sim => AttemptAnswer::Sim(feed_answer(
                &self.reactor,
                self.source,
                attempt,
                self.latency,
            )),
            Transport::Tcp(feeds) => AttemptAnswer::Tcp(tcp_attempt(
                &self.reactor,
                feeds,
                &self.source.name,
                (self.index, attempt),
                self.trace,
            )),
        };
        self.state = FetchState::Waiting {
            attempt,
            answer: timeout(&self.reactor, self.timeout, answer),
        };
    }
}
// ANCHOR_END: start_attempt
// ANCHOR_END: fetch_with_retry

// ANCHOR: tcp_attempt
/// One attempt over TCP: connect to the feed server, send the request for
/// `source`, read the response, recording each socket phase reached in `trace`
/// under `(index, attempt)`. Resolves to the response, or to what ended the
/// exchange without one. It has no deadline of its own: [`FetchWithRetry`]
/// races it against the attempt's [`Timeout`], and drops it (closing its
/// socket) when the deadline wins.
pub fn tcp_attempt<'a>(
    reactor: &Reactor,
    feeds: Feeds,
    source: &'a str,
    (index, attempt): (usize, u32),
    trace: &'a Trace,
) -> TcpAttempt<'a> {
    TcpAttempt {
        feeds,
        source,
        index,
        attempt,
        trace,
        state: TcpState::Connecting(connect(reactor, feeds.addr)),
        finished_at: None,
    }
}

/// Future for [`tcp_attempt`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct TcpAttempt<'a> {
    /// The feed server and the run's id.
    feeds: Feeds,
    /// The source's name, the last segment of the feed's path.
    source: &'a str,
    /// Index of the source, for the trace.
    index: usize,
    /// Which attempt this is, for the trace.
    attempt: u32,
    /// Where the socket phases are recorded.
    trace: &'a Trace,
    /// Where the exchange is.
    state: TcpState,
    /// When the exchange ended: the instant the [`Timeout`] compares with its
    /// deadline.
    finished_at: Option<Instant>,
}

/// The states of a [`TcpAttempt`]: one per socket future, each holding the
/// connection (inside it) while it is that step's turn.
#[derive(Debug)]
enum TcpState {
    /// Connecting. (No socket until its first poll: `Connect` is lazy.)
    Connecting(Connect),
    /// Sending the request.
    Sending(WriteAll),
    /// Reading the response.
    Receiving {
        /// The read.
        read: ReadResponse,
        /// Whether the first byte of the response has been recorded.
        first_byte: bool,
    },
    /// The exchange has ended, and the connection is closed.
    Done,
}

impl Future for TcpAttempt<'_> {
    type Output = Result<http::Response, ExchangeError>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                TcpState::Connecting(connecting) => {
                    match ready!(Pin::new(connecting).poll(cx)) {
                        // Connecting -> Sending: the request, written to the
                        // connection.
                        Ok(stream) => {
                            this.reached(SocketPhase::Connected);
                            let request = this.feeds.request(this.source);
                            this.state =
                                TcpState::Sending(write_all(stream, request));
                        }
                        // Connecting -> Done: refused, say. No socket is left:
                        // `Connect` dropped it.
                        Err(error) => return this.finish(Err(error.into())),
                    }
                }
                TcpState::Sending(sending) => {
                    match ready!(Pin::new(sending).poll(cx)) {
                        // Sending -> Receiving: the connection moves on to the
                        // read.
                        Ok(stream) => {
                            this.reached(SocketPhase::RequestSent);
                            this.state = TcpState::Receiving {
                                read: read_response(stream),
                                first_byte: false,
                            };
                        }
                        // Sending -> Done: `WriteAll` dropped the connection
                        // with its error.
                        Err(error) => return this.finish(Err(error.into())),
                    }
                }
                TcpState::Receiving { read, first_byte } => {
                    let polled = Pin::new(&mut *read).poll(cx);
                    // The first byte, recorded once, whether the read is
                    // finished or not.
                    if !*first_byte && read.received() > 0 {
                        *first_byte = true;
                        this.reached(SocketPhase::FirstByte);
                    }
                    // Receiving -> Done, with the response or what went wrong.
                    return this.finish(ready!(polled));
                }
                TcpState::Done => {
                    panic!("TcpAttempt polled after it completed")
                }
            }
        }
    }
}

impl TcpAttempt<'_> {
    /// Records that the attempt reached `phase`.
    fn reached(&self, phase: SocketPhase) {
        self.trace.record(EventKind::Socket {
            source: self.index,
            attempt: self.attempt,
            phase,
        });
    }

    /// -> Done: notes the instant, and drops the state (and with it any
    /// connection left).
    fn finish(
        &mut self,
        finished: Result<http::Response, ExchangeError>,
    ) -> Poll<Result<http::Response, ExchangeError>> {
        self.state = TcpState::Done;
        self.finished_at = Some(Instant::now());
        Poll::Ready(finished)
    }
}

/// An exchange is due when it ended: the [`Timeout`] then compares that instant
/// with the deadline, so a response completed after the deadline is a timeout,
/// however it was polled. (A poll that comes late sees the response late, and
/// may call an answer that was on time a timeout; it can never do the reverse,
/// which is the rule the specification needs.)
impl Due for TcpAttempt<'_> {
    fn due_at(&self) -> Option<Instant> {
        self.finished_at
    }
}
// ANCHOR_END: tcp_attempt

/// Why an exchange over TCP ended without a response. Either counts as an
/// `error` attempt; the reason is kept for the tests and for debugging.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A socket call failed: a refused connection, a reset.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// The response was malformed, or short (the server closed the connection
    /// early).
    #[error("response: {0}")]
    Http(#[from] HttpError),
}

// ANCHOR: read_response
// ANCHOR: read_response_fn
/// How many bytes one read may bring. The buffer lives on `poll`'s stack, for
/// one poll: what a [`ReadResponse`] keeps between polls is the parser, which
/// holds the bytes that matter.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Reads per poll at most. A fast server could keep a socket readable for a
/// long time (a large body); after this many reads the future wakes itself and
/// yields, so the other tasks get their turn (tokio calls this a task's
/// *budget*).
const READS_PER_POLL: usize = 32;

/// Reads one HTTP response from `stream`, feeding each read to a
/// [`ResponseParser`], until the parser has a whole response or the server
/// closes the connection. The connection is closed when the future finishes or
/// is dropped.
pub fn read_response(stream: TcpConnection) -> ReadResponse {
    ReadResponse {
        state: ReadState::Reading {
            stream,
            parser: ResponseParser::new(),
        },
        received: 0,
    }
}
// ANCHOR_END: read_response_fn

// ANCHOR: read_response_state
/// Future for [`read_response`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct ReadResponse {
    /// Where the read is.
    state: ReadState,
    /// Bytes received so far.
    received: usize,
}

/// The states of a [`ReadResponse`].
#[derive(Debug)]
enum ReadState {
    /// Reading: the connection, and the parser that has been fed every byte
    /// read so far.
    Reading {
        /// The connection.
        stream: TcpConnection,
        /// The sans-I/O parser.
        parser: ResponseParser,
    },
    /// The future has returned its result, and the connection is closed.
    Done,
}
// ANCHOR_END: read_response_state

impl ReadResponse {
    /// How many bytes of the response have arrived so far.
    pub fn received(&self) -> usize {
        self.received
    }
}

// ANCHOR: read_response_poll
impl Future for ReadResponse {
    type Output = Result<http::Response, ExchangeError>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Self::Output> {
        let this = &mut *self;
        let ReadState::Reading { stream, parser } = &mut this.state else {
            panic!("ReadResponse polled after it completed");
        };
        let mut buffer = [0; READ_BUFFER_BYTES];
        for _ in 0..READS_PER_POLL {
            let finished = match stream.get_ref().read(&mut buffer) {
                // The server closed the connection: the end of the response, or
                // a short one.
                Ok(0) => parser.eof().map_err(ExchangeError::from),
                // Bytes: to the parser. Not complete yet: Reading -> Reading,
                // read again.
                Ok(n) => {
                    this.received += n;
                    match parser.feed(&buffer[..n]) {
                        Ok(None) => continue,
                        Ok(Some(response)) => Ok(response),
                        Err(error) => Err(error.into()),
                    }
                }
                // ANCHOR_END: read_response_poll
                // ANCHOR: read_response_wait
                // Nothing has arrived yet: wait until the socket is readable,
                // then read again. Pending leaves the state as it is.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    ready!(stream.poll_ready(Direction::Read, cx))?;
                    continue;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                    continue;
                }
                // A reset, say.
                Err(error) => Err(error.into()),
            };
            // Reading -> Done. Overwriting the state drops the connection: this
            // is where a finished exchange's socket leaves the poller and is
            // closed.
            this.state = ReadState::Done;
            return Poll::Ready(finished);
        }
        // Used up this poll's reads with the socket still readable: yield, and
        // be polled again after the tasks already queued.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
// ANCHOR_END: read_response_wait
// ANCHOR_END: read_response

#[cfg(test)]
mod tests {
    use super::*;

    use rosetta_pipeline::run::FailReason;
    use rosetta_pipeline::scenario::Fault;

    use crate::test_support::CountingWaker;

    /// Latency 100 ms, timeout 400 ms, time scale 1, two attempts at most.
    fn fixture(fault: Fault) -> (Source, Settings) {
        let source = Source {
            name: "feed".into(),
            latency_ms: 100,
            fault,
            body: "Oslo;1.0".into(),
        };
        (source, Settings::default())
    }

    fn later(ms: u64) -> Instant {
        Instant::now() + Duration::from_millis(ms)
    }

    #[test]
    fn a_hanging_feed_hangs_without_a_timeout() {
        let reactor = Reactor::new();
        let (source, _) = fixture(Fault::Hang);
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut answer =
            feed_answer(&reactor, &source, 1, Duration::from_millis(100));
        assert!(Pin::new(&mut answer).poll(&mut cx).is_pending());
        reactor.fire_due(later(200));
        assert_eq!(wakes.count(), 1, "woken once the latency has passed...");
        assert!(
            Pin::new(&mut answer).poll(&mut cx).is_pending(),
            "...to hear nothing"
        );
        assert_eq!(
            reactor.pending_timers(),
            0,
            "and nothing will ever wake it again"
        );
    }

    #[test]
    fn the_first_fault_fails_once_then_the_retry_answers() {
        let (reactor, trace) = (Reactor::new(), Trace::new());
        let (source, settings) = fixture(Fault::First);
        let opts = RunOptions::default();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut fetch =
            fetch_with_retry(3, &source, &settings, &opts, &reactor, &trace);
        assert!(
            trace.events().is_empty(),
            "Start: nothing happens before the first poll"
        );

        // Start -> Waiting { 1 }: two timers, the answer's and the deadline's.
        assert!(Pin::new(&mut fetch).poll(&mut cx).is_pending());
        assert!(matches!(
            fetch.state,
            FetchState::Waiting { attempt: 1, .. }
        ));
        assert_eq!(reactor.pending_timers(), 2);

        // The answer comes (an error): Waiting { 1 } -> Waiting { 2 }. The
        // first deadline is cancelled, the second attempt's two timers are
        // registered.
        reactor.fire_due(later(150));
        assert_eq!(wakes.count(), 1);
        assert!(Pin::new(&mut fetch).poll(&mut cx).is_pending());
        assert!(matches!(
            fetch.state,
            FetchState::Waiting { attempt: 2, .. }
        ));
        assert_eq!(reactor.pending_timers(), 2);

        // The second answer is the body: Waiting { 2 } -> Done.
        reactor.fire_due(later(150));
        assert_eq!(wakes.count(), 2);
        let fetched = Pin::new(&mut fetch).poll(&mut cx);
        let expected = Fetched {
            summary: FetchSummary::after(2, AttemptOutcome::Answered),
            body: Some(Cow::Borrowed("Oslo;1.0")),
        };
        assert_eq!(fetched, Poll::Ready(expected));
        assert!(matches!(fetch.state, FetchState::Done));
        assert_eq!(reactor.pending_timers(), 0, "no timer outlives the fetch");
        assert_eq!(trace.summary().attempts, 2);
    }

    #[test]
    fn a_hanging_feed_times_out_on_every_attempt() {
        let (reactor, trace) = (Reactor::new(), Trace::new());
        let (source, settings) = fixture(Fault::Hang);
        let opts = RunOptions::default();
        let (waker, _) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut fetch =
            fetch_with_retry(0, &source, &settings, &opts, &reactor, &trace);
        assert!(Pin::new(&mut fetch).poll(&mut cx).is_pending());
        // The answer's latency passes: still pending (the feed says nothing).
        reactor.fire_due(later(150));
        assert!(Pin::new(&mut fetch).poll(&mut cx).is_pending());
        // The deadline passes: attempt 2 starts.
        reactor.fire_due(later(450));
        assert!(Pin::new(&mut fetch).poll(&mut cx).is_pending());
        assert!(matches!(
            fetch.state,
            FetchState::Waiting { attempt: 2, .. }
        ));
        // Both of attempt 2's timers pass: the fetch fails with a timeout after
        // 2 attempts.
        reactor.fire_due(later(450));
        let Poll::Ready(fetched) = Pin::new(&mut fetch).poll(&mut cx) else {
            panic!("the second deadline ends the fetch");
        };
        assert_eq!(fetched.summary.attempts, 2);
        assert_eq!(fetched.summary.failure, Some(FailReason::Timeout));
        assert_eq!(fetched.body, None);
    }

    /// A feed slower than the timeout (latency 1 s, timeout 400 ms), with a
    /// single attempt.
    fn too_slow() -> (Source, Settings) {
        let (source, settings) = fixture(Fault::None);
        let source = Source {
            latency_ms: 1000,
            ..source
        };
        let settings = Settings {
            retries: 0,
            ..settings
        };
        (source, settings)
    }

    #[test]
    fn a_feed_slower_than_the_timeout_times_out_however_late_the_poll() {
        // Polled again only once both of the attempt's timers have fired (at 2
        // s, a busy executor): the answer was due after the deadline, so the
        // attempt is a timeout.
        let (reactor, trace) = (Reactor::new(), Trace::new());
        let (source, settings) = too_slow();
        let opts = RunOptions::default();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut fetch =
            fetch_with_retry(0, &source, &settings, &opts, &reactor, &trace);
        assert!(Pin::new(&mut fetch).poll(&mut cx).is_pending());
        assert_eq!(reactor.fire_due(later(2000)), 2, "both timers are due");
        assert_eq!(wakes.count(), 2);
        let expected = Fetched {
            summary: FetchSummary::after(1, AttemptOutcome::Timeout),
            body: None,
        };
        assert_eq!(Pin::new(&mut fetch).poll(&mut cx), Poll::Ready(expected));
    }

    #[test]
    fn a_blocked_executor_thread_does_not_turn_a_late_answer_into_an_on_time_one()
     {
        // The same on the real executor and clock, with latency 60 ms and
        // timeout 20 ms. The fetch is spawned first, so it is polled first and
        // starts its timers; then a task blocks the thread for 200 ms (a hog
        // among thousands of tasks). When the executor fires the timers, both
        // are long due, and the fetch is polled once to decide.
        let trace = Trace::new();
        let source = Source {
            latency_ms: 60,
            ..fixture(Fault::None).0
        };
        let settings = Settings {
            timeout_ms: 20,
            retries: 0,
            ..Settings::default()
        };
        let opts = RunOptions::default();
        let executor = crate::executor::Executor::new();
        let reactor = executor.reactor();
        let fetch = executor.spawn(fetch_with_retry(
            0, &source, &settings, &opts, reactor, &trace,
        ));
        let _hog = executor.spawn(std::future::poll_fn(|_| {
            std::thread::sleep(Duration::from_millis(200));
            Poll::Ready(())
        }));
        let fetched = executor.block_on(fetch);
        assert_eq!(
            fetched.summary,
            FetchSummary::after(1, AttemptOutcome::Timeout)
        );
        assert_eq!(fetched.body, None);
    }

    #[test]
    fn dropping_a_fetch_mid_attempt_cancels_its_timers() {
        let (reactor, trace) = (Reactor::new(), Trace::new());
        let (source, settings) = fixture(Fault::None);
        let opts = RunOptions::default();
        let (waker, _) = CountingWaker::new();
        let mut fetch =
            fetch_with_retry(0, &source, &settings, &opts, &reactor, &trace);
        assert!(
            Pin::new(&mut fetch)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(reactor.pending_timers(), 2);
        drop(fetch);
        assert_eq!(reactor.pending_timers(), 0);
        assert_eq!(
            reactor.next_deadline(),
            None,
            "nothing keeps the reactor busy"
        );
    }

    // Not in the model-checking build (`--cfg loom`), which has no
    // `rosetta-conformance` (see Cargo.toml) and runs only the `loom` tests.
    #[cfg(not(loom))]
    mod tcp {
        //! The attempt over TCP, against canned servers on loopback
        //! (`rosetta_conformance::canned`), each doing exactly what its test
        //! needs. Outcomes and event orders are asserted, never durations: the
        //! deadlines are far from what the servers do (an answer within
        //! milliseconds, or never).

        use std::io::Write;

        use rosetta_conformance::canned::{
            ALL_PHASES, ANSWER, ANSWER_BODY, CannedServer,
            PHASES_UNTIL_REQUEST_SENT, Reply, SHORT_BODY, SOURCE, UNAVAILABLE,
            endless_head, refusing_feeds,
        };

        use super::*;
        use crate::executor::Executor;
        use crate::executor::net::TcpConnection;
        use crate::executor::reactor::Registration;
        use crate::test_support::loopback_pair;

        /// The source every test fetches, [`SOURCE`], with `retries` and
        /// `timeout_ms`.
        fn scenario_parts(retries: u32, timeout_ms: u64) -> (Source, Settings) {
            let source = Source {
                name: SOURCE.into(),
                latency_ms: 1,
                fault: Fault::None,
                body: String::new(),
            };
            let settings = Settings {
                retries,
                timeout_ms,
                ..Settings::default()
            };
            (source, settings)
        }

        /// Fetches [`SOURCE`] from `feeds` on a new executor; returns what it
        /// came to, the trace's events, and the sockets still registered
        /// afterwards.
        fn fetch_over_tcp(
            feeds: Feeds,
            retries: u32,
            timeout_ms: u64,
        ) -> (Fetched<'static>, Vec<EventKind>, usize) {
            let (source, settings) = scenario_parts(retries, timeout_ms);
            let opts =
                RunOptions::with_time_scale(1.0).on(Transport::Tcp(feeds));
            let trace = Trace::new();
            let executor = Executor::new();
            let reactor = executor.reactor();
            let fetched = executor.block_on(fetch_with_retry(
                0, &source, &settings, &opts, reactor, &trace,
            ));
            let fetched = Fetched {
                summary: fetched.summary,
                body: fetched.body.map(|body| Cow::Owned(body.into_owned())),
            };
            let events =
                trace.events().into_iter().map(|event| event.kind).collect();
            (fetched, events, reactor.registered_sockets())
        }

        fn started(attempt: u32) -> EventKind {
            EventKind::AttemptStarted { source: 0, attempt }
        }

        fn finished(attempt: u32, outcome: AttemptOutcome) -> EventKind {
            EventKind::AttemptFinished {
                source: 0,
                attempt,
                outcome,
            }
        }

        fn phases(attempt: u32, reached: &[SocketPhase]) -> Vec<EventKind> {
            reached
                .iter()
                .map(|&phase| EventKind::Socket {
                    source: 0,
                    attempt,
                    phase,
                })
                .collect()
        }

        /// The events of one attempt: started, the socket phases it reached,
        /// finished.
        fn one_attempt(
            attempt: u32,
            reached: &[SocketPhase],
            outcome: AttemptOutcome,
        ) -> Vec<EventKind> {
            let mut events = vec![started(attempt)];
            events.extend(phases(attempt, reached));
            events.push(finished(attempt, outcome));
            events
        }

        /// Turns `reactor` (a second at most per turn, twenty turns at most: a
        /// lost wake fails the test) until `waker`'s count moves past `seen`.
        fn turn_until_woken(
            reactor: &Reactor,
            wakes: &CountingWaker,
            seen: usize,
        ) {
            for _ in 0..20 {
                if wakes.count() > seen {
                    return;
                }
                reactor.turn(Some(Duration::from_secs(1)));
            }
            panic!("never woken");
        }

        #[test]
        fn read_response_reads_a_response_delivered_one_byte_at_a_time() {
            // In lockstep: the test writes one byte, turns the reactor until
            // the reader is woken, polls it once, and checks that it took that
            // byte and waits for the next.
            let reactor = Reactor::new();
            let (client, mut server) = loopback_pair();
            let stream: TcpConnection =
                Registration::new(&reactor, client).unwrap();
            let mut reading = read_response(stream);
            let (waker, wakes) = CountingWaker::new();
            let mut cx = Context::from_waker(&waker);
            assert!(
                Pin::new(&mut reading).poll(&mut cx).is_pending(),
                "nothing yet"
            );

            for (sent, byte) in ANSWER.iter().enumerate() {
                server.write_all(&[*byte]).unwrap();
                turn_until_woken(&reactor, &wakes, sent);
                let polled = Pin::new(&mut reading).poll(&mut cx);
                assert_eq!(reading.received(), sent + 1, "one byte per read");
                if sent + 1 < ANSWER.len() {
                    assert!(
                        polled.is_pending(),
                        "incomplete after {} bytes",
                        sent + 1
                    );
                    continue;
                }
                let Poll::Ready(Ok(complete)) = polled else {
                    panic!("complete after the last byte: {polled:?}");
                };
                assert_eq!(
                    (complete.status, complete.body.as_str()),
                    (200, ANSWER_BODY)
                );
            }
            assert_eq!(
                reactor.registered_sockets(),
                0,
                "closed when the read finished"
            );
            let mut rest = [0];
            assert_eq!(
                server.read(&mut rest).unwrap(),
                0,
                "and the server sees it"
            );
        }

        #[test]
        fn read_response_reports_a_short_body_as_an_error() {
            let reactor = Reactor::new();
            let (client, mut server) = loopback_pair();
            let stream = Registration::new(&reactor, client).unwrap();
            server.write_all(SHORT_BODY).unwrap();
            drop(server); // the body stops at 4 of 10 bytes
            let mut reading = read_response(stream);
            let (waker, wakes) = CountingWaker::new();
            let mut cx = Context::from_waker(&waker);
            let mut polls = 0;
            let finished = loop {
                if let Poll::Ready(finished) =
                    Pin::new(&mut reading).poll(&mut cx)
                {
                    break finished;
                }
                polls += 1;
                assert!(polls < 20, "the close was never seen");
                turn_until_woken(&reactor, &wakes, wakes.count());
            };
            assert!(
                matches!(
                    finished,
                    Err(ExchangeError::Http(HttpError::ShortBody {
                        received: 4,
                        expected: 10
                    }))
                ),
                "{finished:?}"
            );
        }

        #[test]
        fn an_answer_is_the_body_read_from_the_socket_with_every_phase_recorded()
         {
            let server = CannedServer::start([Reply::answer(ANSWER)]);
            let (fetched, events, registered) =
                fetch_over_tcp(server.feeds(), 0, 10_000);
            assert_eq!(
                fetched,
                Fetched {
                    summary: FetchSummary::after(1, AttemptOutcome::Answered),
                    body: Some(Cow::Owned(ANSWER_BODY.to_string())),
                }
            );
            assert_eq!(
                events,
                one_attempt(1, &ALL_PHASES, AttemptOutcome::Answered)
            );
            assert_eq!(registered, 0);
            server.join();
        }

        #[test]
        fn a_503_is_an_error_and_the_retry_reads_the_body() {
            let server = CannedServer::start([
                Reply::answer(UNAVAILABLE),
                Reply::answer(ANSWER),
            ]);
            let (fetched, events, registered) =
                fetch_over_tcp(server.feeds(), 1, 10_000);
            assert_eq!(
                fetched.summary,
                FetchSummary::after(2, AttemptOutcome::Answered)
            );
            assert_eq!(fetched.body.as_deref(), Some(ANSWER_BODY));
            let mut expected =
                one_attempt(1, &ALL_PHASES, AttemptOutcome::Error);
            expected.extend(one_attempt(
                2,
                &ALL_PHASES,
                AttemptOutcome::Answered,
            ));
            assert_eq!(events, expected);
            assert_eq!(registered, 0);
            server.join();
        }

        #[test]
        fn a_server_that_never_answers_is_a_timeout_and_the_socket_is_closed() {
            // Two attempts, both hang: each is a timeout, and each socket is
            // closed when its attempt is dropped (the server sees both closes).
            let server = CannedServer::start([Reply::hang(), Reply::hang()]);
            let (fetched, events, registered) =
                fetch_over_tcp(server.feeds(), 1, 300);
            assert_eq!(fetched.summary.failure, Some(FailReason::Timeout));
            assert_eq!(fetched.summary.attempts, 2);
            let sent = PHASES_UNTIL_REQUEST_SENT;
            let mut expected = one_attempt(1, &sent, AttemptOutcome::Timeout);
            expected.extend(one_attempt(2, &sent, AttemptOutcome::Timeout));
            assert_eq!(events, expected);
            assert_eq!(registered, 0, "no socket left in the poller");
            let closes: Vec<bool> =
                server.join().iter().map(|s| s.closed_by_client).collect();
            assert_eq!(closes, [true, true], "both sockets closed");
        }

        /// A server that sends a byte every 20 ms of a head that never ends:
        /// every read gets something, so only the attempt's deadline ends it,
        /// and its socket is closed then.
        #[test]
        fn a_trickle_cannot_outlast_the_deadline() {
            let trickle =
                Reply::trickle(endless_head(1_000), Duration::from_millis(20));
            let server = CannedServer::start([trickle]);
            let (fetched, events, registered) =
                fetch_over_tcp(server.feeds(), 0, 300);
            assert_eq!(
                fetched.summary,
                FetchSummary::after(1, AttemptOutcome::Timeout)
            );
            assert_eq!(
                events,
                one_attempt(1, &ALL_PHASES, AttemptOutcome::Timeout)
            );
            assert_eq!(registered, 0);
            assert!(server.join()[0].closed_by_client, "the trickle ran out");
        }

        /// A server that resets the connection instead of answering: the read
        /// fails, an error.
        #[test]
        fn a_reset_is_an_error() {
            let server = CannedServer::start([Reply::reset()]);
            let (fetched, events, registered) =
                fetch_over_tcp(server.feeds(), 0, 10_000);
            assert_eq!(
                fetched.summary,
                FetchSummary::after(1, AttemptOutcome::Error)
            );
            let sent = PHASES_UNTIL_REQUEST_SENT;
            assert_eq!(events, one_attempt(1, &sent, AttemptOutcome::Error));
            assert_eq!(registered, 0);
            server.join();
        }

        #[test]
        fn a_refused_connection_is_an_error_with_no_phase() {
            let (fetched, events, registered) =
                fetch_over_tcp(refusing_feeds(), 0, 10_000);
            assert_eq!(
                fetched.summary,
                FetchSummary::after(1, AttemptOutcome::Error)
            );
            assert_eq!(
                events,
                [started(1), finished(1, AttemptOutcome::Error)]
            );
            assert_eq!(registered, 0);
        }
    }
}
