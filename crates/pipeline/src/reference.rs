//! The sequential reference run: the whole pipeline with no concurrency at all.
//!
//! Every other style is compared against this one: its report is the gold
//! master. It does one thing at a time, in file order, and waits by blocking:
//! with `std::thread::sleep` on the `sim` transport, in a socket's `connect`,
//! `write` and `read` on `tcp`. That makes it slow (roughly the sum of every
//! latency, see [`crate::model::Ideal::sequential_ms`]) and obviously right,
//! which is what a reference must be.
//!
//! [`exchange`], one attempt over a blocking [`TcpStream`], is written here
//! once and used twice: by this run, and by the threads style, which runs the
//! same blocking code on many threads at once. That is the whole lesson of the
//! threads style: blocking code, concurrently.
//!
//! Read it first: every concurrent style is this function with the waiting
//! rearranged.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::aggregate::{Enriched, WorkerTally};
use crate::http::{self, HttpError, Response, ResponseParser};
use crate::model;
use crate::options::later;
use crate::parse::{Reason, Rejection, parse_lines};
use crate::partition::worker_for;
use crate::report::Report;
use crate::run::{AttemptOutcome, FetchSummary, RunError, RunOptions};
use crate::scenario::{self, Scenario, Source};
use crate::trace::{EventKind, SocketPhase, Trace};
use crate::transport::{Feeds, Transport};

// ANCHOR: run
/// Runs the pipeline sequentially and returns its report.
pub fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    let mut fetches = Vec::with_capacity(scenario.sources.len());
    let mut rejected = Vec::new();
    let mut cache = Cache::default();
    let mut tallies = vec![WorkerTally::new(); scenario.settings.workers];

    for (index, source) in scenario.sources.iter().enumerate() {
        // 1. Fetch, with retries and timeouts.
        let (summary, body) =
            fetch_with_retry(index, source, scenario, opts, trace);
        fetches.push(summary);
        let Some(body) = body else { continue };

        // 2. Parse, one line at a time: nothing is kept per line but its effect
        //    on the tallies.
        for line in parse_lines(index, &body) {
            let line = match line {
                Ok(line) => line,
                Err(rejection) => {
                    rejected.push(rejection);
                    continue;
                }
            };
            // 3. Enrich, through the cache.
            let Some(region) =
                cache.region_of(line.station, scenario, opts, trace)
            else {
                rejected.push(Rejection {
                    source: line.source,
                    line: line.line,
                    reason: Reason::UnknownStation,
                });
                continue;
            };
            // 4. Partition: hand the record to the worker that owns its
            //    station.
            let record = line.to_record();
            hand_off(Enriched { record, region }, &mut tallies, trace);
        }
    }
    // 5. Merge.
    Ok(Report::assemble(
        scenario,
        &fetches,
        rejected,
        cache.lookups,
        &tallies,
    ))
}
// ANCHOR_END: run

// ANCHOR: fetch_with_retry
// ANCHOR: retry_sim
/// Fetches one source: up to `retries + 1` attempts, each limited by the
/// timeout. The body is borrowed from the scenario on `sim`, and owned on
/// `tcp`, where it was read from a socket.
fn fetch_with_retry<'s>(
    index: usize,
    source: &'s Source,
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> (FetchSummary, Option<Cow<'s, str>>) {
    let settings = &scenario.settings;
    let mut attempt = 1;
    loop {
        trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        let (outcome, body) = match &opts.transport {
            // One thread doing one thing cannot race a timer against an answer;
            // it knows from the specification which comes first and sleeps that
            // long (see `model::attempt`).
            Transport::Sim => {
                let (wait_ms, outcome) =
                    model::attempt(source, attempt, settings);
                std::thread::sleep(opts.scaled(wait_ms));
                let body = match source.respond(attempt) {
                    scenario::Response::Body(body)
                        if outcome == AttemptOutcome::Answered =>
                    {
                        Some(Cow::Borrowed(body))
                    }
                    _ => None,
                };
                (outcome, body)
            }
            // ANCHOR_END: retry_sim
            // ANCHOR: retry_tcp
            // Over TCP it cannot know: it asks the feed server, and the
            // deadline, counted from the attempt's start, bounds every blocking
            // call (see `exchange`).
            Transport::Tcp(feeds) => {
                let deadline =
                    later(Instant::now(), opts.scaled(settings.timeout_ms));
                let (outcome, body) =
                    exchange(feeds, &source.name, deadline, |phase| {
                        trace.record(EventKind::Socket {
                            source: index,
                            attempt,
                            phase,
                        })
                    });
                (outcome, body.map(Cow::Owned))
            }
        };
        trace.record(EventKind::AttemptFinished {
            source: index,
            attempt,
            outcome,
        });
        if outcome == AttemptOutcome::Answered
            || attempt == settings.max_attempts()
        {
            return (FetchSummary::after(attempt, outcome), body);
        }
        attempt += 1;
    }
}
// ANCHOR_END: retry_tcp
// ANCHOR_END: fetch_with_retry

// ANCHOR: exchange
// ANCHOR: exchange_fn
/// One attempt over TCP, blocking: connect to the feed server, send the request
/// for `source`, read until the response is complete, all before `deadline`.
/// Reports each socket phase it reaches to `reached` (the trace, for the
/// callers), and returns the specification's outcome ([`http::outcome`]), with
/// the body when the feed answered.
///
/// The socket is closed on every path, early returns included: `stream` is
/// dropped when this function returns, and dropping a [`TcpStream`] closes it.
/// A hanging feed server sees the close, and stops waiting too.
pub fn exchange(
    feeds: &Feeds,
    source: &str,
    deadline: Instant,
    mut reached: impl FnMut(SocketPhase),
) -> (AttemptOutcome, Option<String>) {
    match blocking_exchange(feeds, source, deadline, &mut reached) {
        Err(Failure::Timeout) => (AttemptOutcome::Timeout, None),
        finished => http::outcome(finished),
    }
}

/// Why an exchange ended without a response.
#[derive(Debug)]
enum Failure {
    /// The deadline passed first.
    Timeout,
    /// The connection was refused or reset, or another I/O call failed. (The
    /// reason counts as an `error` whatever it is; it is kept for the tests and
    /// for debugging.)
    Io(#[allow(dead_code)] io::Error),
    /// The response was malformed or short.
    Http(#[allow(dead_code)] HttpError),
}
// ANCHOR_END: exchange_fn

// ANCHOR: connect_send
/// The exchange itself. Every blocking call is given the time left until
/// `deadline`, not a fixed timeout of its own (why: see the tests'
/// `a_trickle_cannot_outlast_the_deadline`).
fn blocking_exchange(
    feeds: &Feeds,
    source: &str,
    deadline: Instant,
    reached: &mut dyn FnMut(SocketPhase),
) -> Result<Response, Failure> {
    // Connect, send, read: each call may block for the time left until the
    // deadline, and no longer.
    let mut stream = loop {
        match TcpStream::connect_timeout(&feeds.addr, time_left(deadline)?) {
            Ok(stream) => break stream,
            Err(error) => try_again(error)?,
        }
    };
    reached(SocketPhase::Connected);

    let request = feeds.request(source);
    let mut sent = 0;
    while sent < request.len() {
        stream
            .set_write_timeout(Some(time_left(deadline)?))
            .map_err(Failure::Io)?;
        match stream.write(&request[sent..]) {
            Ok(0) => return Err(Failure::Io(io::ErrorKind::WriteZero.into())),
            Ok(written) => sent += written,
            Err(error) => try_again(error)?,
        }
    }
    reached(SocketPhase::RequestSent);
    // ANCHOR_END: connect_send

    // ANCHOR: read_response
    let mut parser = ResponseParser::new();
    let mut buffer = [0; 16 * 1024];
    let mut first_byte = true;
    loop {
        // The time left, again before every read: a server that trickles a byte
        // now and then would keep a fixed per-read timeout from ever expiring,
        // and the attempt alive for as long as it likes. With the time left,
        // the last read ends at the deadline.
        stream
            .set_read_timeout(Some(time_left(deadline)?))
            .map_err(Failure::Io)?;
        match stream.read(&mut buffer) {
            // The server closed the connection: a short response, unless it was
            // complete.
            Ok(0) => return parser.eof().map_err(Failure::Http),
            Ok(read) => {
                if std::mem::take(&mut first_byte) {
                    reached(SocketPhase::FirstByte);
                }
                if let Some(response) =
                    parser.feed(&buffer[..read]).map_err(Failure::Http)?
                {
                    return Ok(response);
                }
            }
            // A read timeout that has passed shows as `WouldBlock` on Unix and
            // `TimedOut` on Windows: tried again, and then `time_left` finds
            // the deadline passed.
            Err(error) => try_again(error)?,
        }
    }
}
// ANCHOR_END: read_response

// ANCHOR: time_left
/// The time left until `deadline`: what the next blocking call may wait, at
/// most. None left is the attempt's timeout. (`set_read_timeout` refuses a zero
/// duration, so it never gets one.)
fn time_left(deadline: Instant) -> Result<Duration, Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(Failure::Timeout)
    } else {
        Ok(left)
    }
}

/// Whether a failed call is tried again: yes if it was interrupted by a signal
/// or its timeout passed (a timeout can wake a little early; the deadline,
/// checked before the next call, decides whether the attempt is over); no for
/// anything else: a refused connection, a reset.
fn try_again(error: io::Error) -> Result<(), Failure> {
    match error.kind() {
        io::ErrorKind::WouldBlock
        | io::ErrorKind::TimedOut
        | io::ErrorKind::Interrupted => Ok(()),
        _ => Err(Failure::Io(error)),
    }
}
// ANCHOR_END: time_left
// ANCHOR_END: exchange

// ANCHOR: region_of
/// The reference's cache: station to region (`None`: unknown), and the lookups
/// it made.
#[derive(Default)]
struct Cache {
    regions: HashMap<String, Option<String>>,
    lookups: u64,
}

impl Cache {
    /// The station's region, looked up in the registry the first time the
    /// station is seen.
    ///
    /// Sequential code needs no single-flight logic: nobody else can be looking
    /// the station up at the same time, so a miss is simply a lookup, and the
    /// next call finds the answer.
    fn region_of(
        &mut self,
        station: &str,
        scenario: &Scenario,
        opts: &RunOptions,
        trace: &Trace,
    ) -> Option<String> {
        if let Some(cached) = self.regions.get(station) {
            return cached.clone();
        }
        self.lookups += 1;
        let region = lookup(scenario, station, opts, trace);
        self.regions.insert(station.to_string(), region.clone());
        region
    }
}
// ANCHOR_END: region_of

/// One registry lookup: waits `lookup_ms`, then answers.
fn lookup(
    scenario: &Scenario,
    station: &str,
    opts: &RunOptions,
    trace: &Trace,
) -> Option<String> {
    trace.record(EventKind::LookupStarted {
        station: station.to_string(),
    });
    std::thread::sleep(opts.scaled(scenario.settings.lookup_ms));
    let region = scenario.registry.region_of(station).map(str::to_string);
    trace.record(EventKind::LookupFinished {
        station: station.to_string(),
        known: region.is_some(),
    });
    region
}

// ANCHOR: hand_off
/// Hands a record to the worker that owns its station. The reference has no
/// queue and no worker thread: the worker is its tally, and handing off is
/// adding to it.
fn hand_off(enriched: Enriched, tallies: &mut [WorkerTally], trace: &Trace) {
    let worker = worker_for(&enriched.record.station, tallies.len());
    trace.hand_off(worker);
    tallies[worker].add(enriched);
}
// ANCHOR_END: hand_off

#[cfg(test)]
mod tests {
    //! The blocking exchange against tiny servers on loopback that write canned
    //! bytes. Every test asserts an outcome, never a duration: the deadlines
    //! are far from what the servers do (an answer within milliseconds, or
    //! never), so a slow machine cannot flip a result.
    //!
    //! The style crates share one scripted server for this,
    //! `rosetta_conformance::canned`; this crate cannot use it
    //! (`rosetta-conformance` depends on it), so it has a small one of its own,
    //! [`serve`].

    use std::net::TcpListener;
    use std::thread::{self, JoinHandle};

    use super::*;

    /// Long enough for an answering server on the slowest machine.
    const PATIENT: Duration = Duration::from_secs(10);
    /// Far shorter than what a trickling or hanging server takes.
    const IMPATIENT: Duration = Duration::from_millis(300);
    /// How long a test server waits for anything before giving up, so a broken
    /// client cannot hang the test.
    const WATCHDOG: Duration = Duration::from_secs(20);

    const ALL_PHASES: [SocketPhase; 3] = [
        SocketPhase::Connected,
        SocketPhase::RequestSent,
        SocketPhase::FirstByte,
    ];

    /// The phases of an exchange that sent its request and never heard a byte
    /// back.
    const UNTIL_REQUEST_SENT: [SocketPhase; 2] =
        [SocketPhase::Connected, SocketPhase::RequestSent];

    const ANSWER: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nOslo;1.0\n";
    const UNAVAILABLE: &[u8] =
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";

    /// What a test server does with one connection.
    enum Reply {
        /// Reads the request, writes these bytes, and closes.
        Answer(&'static [u8]),
        /// Reads the request, then writes these bytes one every 20 ms, until a
        /// write fails (the client has closed) or they run out.
        Trickle(Vec<u8>),
        /// Reads the request and never answers (a `hang` feed): waits for the
        /// client to close.
        Hang,
        /// Waits until the request has arrived, without reading it, and closes:
        /// closing with unread data in the receive buffer sends a reset (RST),
        /// not a FIN.
        Reset,
    }

    /// A server on `127.0.0.1:0` that takes one connection per reply, in turn,
    /// on a thread. Its thread returns, for each connection, whether it saw the
    /// client close it.
    fn serve(replies: Vec<Reply>) -> (Feeds, JoinHandle<Vec<bool>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let feeds = Feeds {
            addr: listener.local_addr().unwrap(),
            run: 1,
        };
        let server = thread::spawn(move || {
            replies
                .into_iter()
                .map(|reply| {
                    let mut stream = accept_within_watchdog(&listener);
                    if let Reply::Reset = reply {
                        let mut first = [0];
                        assert_eq!(stream.peek(&mut first).unwrap(), 1);
                        return false;
                    }
                    let request = read_request(&mut stream);
                    assert!(request.starts_with(
                        b"GET /runs/1/feeds/Oslo%20west HTTP/1.1\r\n"
                    ));
                    match reply {
                        Reply::Answer(bytes) => {
                            stream.write_all(bytes).unwrap();
                            false
                        }
                        Reply::Trickle(bytes) => {
                            for byte in bytes {
                                if stream.write_all(&[byte]).is_err() {
                                    return true;
                                }
                                thread::sleep(Duration::from_millis(20));
                            }
                            false
                        }
                        Reply::Hang => sees_the_close(stream),
                        Reply::Reset => {
                            unreachable!("handled before the request is read")
                        }
                    }
                })
                .collect()
        });
        (feeds, server)
    }

    /// The next connection to `listener`, waited for at most [`WATCHDOG`]: a
    /// client that never connects fails the test instead of hanging it.
    fn accept_within_watchdog(listener: &TcpListener) -> TcpStream {
        listener.set_nonblocking(true).unwrap();
        let started = Instant::now();
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(WATCHDOG)).unwrap();
                    stream.set_write_timeout(Some(WATCHDOG)).unwrap();
                    return stream;
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    assert!(
                        started.elapsed() < WATCHDOG,
                        "the client never connected"
                    );
                    thread::sleep(Duration::from_millis(1));
                }
                Err(error) => panic!("accept: {error}"),
            }
        }
    }

    /// Reads a request up to its empty line.
    fn read_request(stream: &mut TcpStream) -> Vec<u8> {
        let mut request = Vec::new();
        let mut byte = [0];
        while !request.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).unwrap(), 1, "a whole request");
            request.push(byte[0]);
        }
        request
    }

    /// Waits until the client closes its end: `true` if it did (a read of 0
    /// bytes or a reset), `false` if the watchdog ran out first.
    fn sees_the_close(mut stream: TcpStream) -> bool {
        let mut buffer = [0; 64];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(error)
                    if error.kind() == io::ErrorKind::ConnectionReset =>
                {
                    return true;
                }
                Err(_) => return false,
            }
        }
    }

    /// Runs one exchange for source `Oslo west` with `deadline`, and the phases
    /// it reached.
    fn exchange_with(
        feeds: &Feeds,
        deadline: Instant,
    ) -> ((AttemptOutcome, Option<String>), Vec<SocketPhase>) {
        let mut phases = Vec::new();
        let outcome =
            exchange(feeds, "Oslo west", deadline, |phase| phases.push(phase));
        (outcome, phases)
    }

    /// Runs one exchange, given `limit` from now, against a server that does
    /// `reply`: the exchange's outcome and phases, and whether the server saw
    /// the client close.
    fn exchange_against(
        reply: Reply,
        limit: Duration,
    ) -> ((AttemptOutcome, Option<String>), Vec<SocketPhase>, bool) {
        let (feeds, server) = serve(vec![reply]);
        let (outcome, phases) =
            exchange_with(&feeds, later(Instant::now(), limit));
        let [closed_by_client] = server.join().unwrap()[..] else {
            unreachable!("one reply, one connection")
        };
        (outcome, phases, closed_by_client)
    }

    #[test]
    fn a_200_is_the_body() {
        let (outcome, phases, _) =
            exchange_against(Reply::Answer(ANSWER), PATIENT);
        let answered =
            (AttemptOutcome::Answered, Some("Oslo;1.0\n".to_string()));
        assert_eq!((outcome, phases), (answered, ALL_PHASES.into()));
    }

    #[test]
    fn a_503_is_an_error() {
        let (outcome, phases, _) =
            exchange_against(Reply::Answer(UNAVAILABLE), PATIENT);
        assert_eq!(
            (outcome, phases),
            ((AttemptOutcome::Error, None), ALL_PHASES.into())
        );
    }

    /// A server that sends one byte every 20 ms: each read waits 20 ms, far
    /// less than the attempt's timeout, but the whole response takes over 2 s,
    /// far more. A timeout per read would wait for all of it (each read is
    /// quick); the deadline does not.
    #[test]
    fn a_trickle_cannot_outlast_the_deadline() {
        let body = "x".repeat(100);
        let response =
            format!("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{body}");
        let trickle = Reply::Trickle(response.into_bytes());
        let (outcome, phases, _) = exchange_against(trickle, IMPATIENT);
        assert_eq!(
            (outcome, phases),
            ((AttemptOutcome::Timeout, None), ALL_PHASES.into())
        );
    }

    /// A server that reads the request and never answers (a `hang` feed): a
    /// timeout, and the client closes the connection, which the server sees.
    #[test]
    fn a_server_that_never_answers_is_a_timeout_and_the_socket_is_closed() {
        let (outcome, phases, closed) =
            exchange_against(Reply::Hang, IMPATIENT);
        let timed_out = (AttemptOutcome::Timeout, None);
        assert_eq!((outcome, phases), (timed_out, UNTIL_REQUEST_SENT.into()));
        assert!(closed, "the client closed the connection");
    }

    #[test]
    fn a_short_body_is_an_error() {
        // The server closes after 4 of 10 body bytes.
        let short =
            Reply::Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOslo");
        let (outcome, phases, _) = exchange_against(short, PATIENT);
        assert_eq!(
            (outcome, phases),
            ((AttemptOutcome::Error, None), ALL_PHASES.into())
        );
    }

    /// A server that closes without reading what it was sent: the kernel
    /// answers with a reset (RST) instead of a clean close, and the client's
    /// read fails.
    #[test]
    fn a_reset_is_an_error() {
        let (feeds, server) = serve(vec![Reply::Reset]);
        let mut phases = Vec::new();
        let result = blocking_exchange(
            &feeds,
            "Oslo west",
            later(Instant::now(), PATIENT),
            &mut |phase| phases.push(phase),
        );
        assert!(
            matches!(&result, Err(Failure::Io(error)) if error.kind() == io::ErrorKind::ConnectionReset),
            "{result:?}"
        );
        assert_eq!(http::outcome(result), (AttemptOutcome::Error, None));
        assert_eq!(phases, UNTIL_REQUEST_SENT);
        server.join().unwrap();
    }

    /// Feeds at a port nobody listens on: bound, noted, closed.
    fn refusing_feeds() -> Feeds {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        Feeds { addr, run: 1 }
    }

    #[test]
    fn a_refused_connection_is_an_error() {
        let (outcome, phases) =
            exchange_with(&refusing_feeds(), later(Instant::now(), PATIENT));
        assert_eq!(outcome, (AttemptOutcome::Error, None));
        assert_eq!(phases, []);
    }

    /// The reference on tcp: a feed that answers `503`, then `200` (a `first`
    /// fault) takes two attempts, each with its socket phases in the trace, and
    /// its body is read from the socket.
    #[test]
    fn on_tcp_the_reference_fetches_with_retry_over_sockets() {
        let (feeds, server) =
            serve(vec![Reply::Answer(UNAVAILABLE), Reply::Answer(ANSWER)]);
        let mut scenario =
            Scenario::from_toml("name = \"t\"", "t.toml").unwrap();
        scenario.settings.retries = 1;
        scenario.settings.timeout_ms = 10_000;
        scenario.sources = vec![Source {
            name: "Oslo west".into(),
            latency_ms: 10,
            fault: scenario::Fault::First,
            body: "Oslo;1.0\n".into(),
        }];
        let opts = RunOptions::with_time_scale(1.0).on(Transport::Tcp(feeds));
        let trace = Trace::new();
        let (summary, body) =
            fetch_with_retry(0, &scenario.sources[0], &scenario, &opts, &trace);
        assert_eq!(summary, FetchSummary::after(2, AttemptOutcome::Answered));
        assert!(
            matches!(body, Some(Cow::Owned(ref body)) if body == "Oslo;1.0\n")
        );
        let events: Vec<_> =
            trace.events().into_iter().map(|event| event.kind).collect();
        let phases = |attempt| {
            ALL_PHASES.map(|phase| EventKind::Socket {
                source: 0,
                attempt,
                phase,
            })
        };
        let started =
            |attempt| EventKind::AttemptStarted { source: 0, attempt };
        let finished = |attempt, outcome| EventKind::AttemptFinished {
            source: 0,
            attempt,
            outcome,
        };
        let mut expected = vec![started(1)];
        expected.extend(phases(1));
        expected.extend([finished(1, AttemptOutcome::Error), started(2)]);
        expected.extend(phases(2));
        expected.push(finished(2, AttemptOutcome::Answered));
        assert_eq!(events, expected);
        server.join().unwrap();
    }

    #[test]
    fn a_deadline_already_past_is_a_timeout_before_connecting() {
        let (outcome, phases) =
            exchange_with(&refusing_feeds(), Instant::now());
        assert_eq!(outcome, (AttemptOutcome::Timeout, None));
        assert_eq!(phases, []);
    }
}
