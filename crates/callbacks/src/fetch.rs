//! Fetching one source with callbacks: a race against a timeout timer, and
//! retries become recursion.
//!
//! An attempt races its *timeout* timer, set when the attempt starts, against
//! the feed's answer. Whichever comes first clears the other (`clear_timeout`,
//! or closing the socket) and calls the attempt's continuation; the loser never
//! runs. Where the answer comes from depends on the transport:
//!
//! - **`sim`**: a second timer, the *answer* timer, stands for the network:
//!   after `latency_ms` it asks [`Source::respond`] what the feed says.
//!   Clearing the loser matters twice over: a late answer must not be delivered
//!   after the timeout, and a pending timer keeps the event loop alive, so a
//!   too-slow feed's answer timer, due long after its timeout, would otherwise
//!   hold the whole run open until it fired, for nothing. (A hanging feed's
//!   answer timer never decides anything: when it fires, it finds
//!   [`Response::Never`] and returns, and the timeout ends the attempt.)
//! - **`tcp`**: a socket. The attempt connects without blocking, registers the
//!   socket with the event loop, and from then on is a chain of readiness
//!   callbacks: *writable* (the connect has finished: did it succeed?),
//!   *writable* again for as long as the request does not fit in the send
//!   buffer, then *readable* until the response parser has a whole response or
//!   the server closes. Each callback does what the socket allows without
//!   blocking, and when a call says
//!   [`WouldBlock`](std::io::ErrorKind::WouldBlock), "not now", it arms the
//!   next callback and returns. What the bytes mean is decided by the
//!   pipeline's sans-I/O [`ResponseParser`], written once for every style. The
//!   timeout closes the socket; an answer clears the timeout.
//!
//! Continuations are Node-style *error-first*: a callback gets a `Result`, and
//! must look at the error before it may use the value. Rust makes the check
//! impossible to skip, which Node's `(err, body)` convention cannot. The loop's
//! readiness callbacks are error-first too.
//!
//! The module shows fetch-with-retry twice, side by side: nested, the way it
//! first comes to mind ("callback hell"), and flattened into a named recursive
//! function. A test checks that both give the same result.
//!
//! Read next: `cache.rs`, where callbacks wait for someone else's lookup.
//!
//! [`Source::respond`]: rosetta_pipeline::scenario::Source::respond

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use rosetta_pipeline::http::{self, ResponseParser};
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Response, Source};
use rosetta_pipeline::trace::{EventKind, SocketPhase};
use rosetta_pipeline::transport::{Feeds, Transport, connect_in_progress};
use socket2::{Domain, Protocol, Socket, Type};

use crate::Pipeline;
use crate::event_loop::{SocketId, TimerId};

/// Why an attempt failed: the `err` of a Node-style `(err, body)` callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptError {
    /// The feed answered with an error (on `tcp`: a non-2xx status, a malformed
    /// or short response, a refused or reset connection).
    Error,
    /// The timeout fired first.
    Timeout,
}

impl AttemptError {
    /// The outcome the trace and the summary record for this failure.
    fn outcome(self) -> AttemptOutcome {
        match self {
            AttemptError::Error => AttemptOutcome::Error,
            AttemptError::Timeout => AttemptOutcome::Timeout,
        }
    }
}

/// An answered feed's body: lent by the scenario on `sim` (it outlives the
/// loop, so nothing is copied), owned on `tcp`, where it was read from a
/// socket.
pub type Body<'a> = Cow<'a, str>;

/// What an attempt's racers share.
struct Race<F> {
    /// The attempt's continuation. The racer that finishes first takes it; a
    /// `FnOnce` shared by several closures has to live in an `Option` that one
    /// of them empties.
    done: Option<F>,
    /// The answer timer (on `sim`, the network; on `tcp`, an error found before
    /// the socket was registered, delivered on a later turn), which the timeout
    /// clears if it wins.
    answer: Option<TimerId>,
    /// The timeout timer, which the answer clears if it wins.
    timeout: Option<TimerId>,
    /// On `tcp`, the attempt's socket, which whoever finishes closes.
    socket: Option<SocketId>,
}

// ANCHOR: attempt
// ANCHOR: attempt_start
/// One attempt at source `index`: calls `done` with the body, or with why there
/// is none.
pub fn attempt<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    number: u32,
    done: F,
) where
    F: FnOnce(Result<Body<'a>, AttemptError>) + 'a,
{
    pipeline.trace.record(EventKind::AttemptStarted {
        source: index,
        attempt: number,
    });
    let race = Rc::new(RefCell::new(Race {
        done: Some(done),
        answer: None,
        timeout: None,
        socket: None,
    }));
    match pipeline.opts.transport {
        Transport::Sim => simulated_attempt(pipeline, index, number, &race),
        Transport::Tcp(feeds) => {
            // Both clocks start now: the timeout first, then the connect.
            set_attempt_timeout(pipeline, index, number, &race);
            tcp_attempt(pipeline, index, number, feeds, &race);
        }
    }
}
// ANCHOR_END: attempt_start

// ANCHOR: simulated_answer
/// On `sim`, the network is a timer: after the latency, the feed answers (or,
/// if it hangs, stays silent). Then the timeout.
fn simulated_attempt<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    number: u32,
    race: &Rc<RefCell<Race<F>>>,
) where
    F: FnOnce(Result<Body<'a>, AttemptError>) + 'a,
{
    // The scenario outlives the loop, so the body is lent to `done`, not
    // copied.
    let source: &'a Source = &pipeline.scenario.sources[index];
    let answer = pipeline.event_loop.set_timeout(
        pipeline.opts.scaled(source.latency_ms),
        {
            let (pipeline, race) = (Rc::clone(pipeline), Rc::clone(race));
            move || {
                let result = match source.respond(number) {
                    Response::Body(body) => Ok(Cow::Borrowed(body)),
                    Response::Error => Err(AttemptError::Error),
                    // Silence: the timeout timer will end this attempt.
                    Response::Never => return,
                };
                finish(&pipeline, index, number, &race, result);
            }
        },
    );
    race.borrow_mut().answer = Some(answer);
    set_attempt_timeout(pipeline, index, number, race);
}
// ANCHOR_END: simulated_answer

// ANCHOR: attempt_timeout
/// Sets the attempt's timeout timer: `timeout_ms` (scaled) from now.
fn set_attempt_timeout<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    number: u32,
    race: &Rc<RefCell<Race<F>>>,
) where
    F: FnOnce(Result<Body<'a>, AttemptError>) + 'a,
{
    let timeout_ms = pipeline.scenario.settings.timeout_ms;
    let timeout =
        pipeline
            .event_loop
            .set_timeout(pipeline.opts.scaled(timeout_ms), {
                let (pipeline, race) = (Rc::clone(pipeline), Rc::clone(race));
                move || {
                    finish(
                        &pipeline,
                        index,
                        number,
                        &race,
                        Err(AttemptError::Timeout),
                    )
                }
            });
    race.borrow_mut().timeout = Some(timeout);
}
// ANCHOR_END: attempt_timeout

// ANCHOR: finish_clear
/// The winner of the race: clear the losers' timers, close the socket, record
/// the outcome, continue.
fn finish<'a, F>(
    pipeline: &Pipeline<'a>,
    index: usize,
    number: u32,
    race: &RefCell<Race<F>>,
    result: Result<Body<'a>, AttemptError>,
) where
    F: FnOnce(Result<Body<'a>, AttemptError>),
{
    let (done, timers, socket) = {
        let mut race = race.borrow_mut();
        (
            race.done.take(),
            [race.answer, race.timeout],
            race.socket.take(),
        )
    };
    // The winner clears the losers, so a loser normally never runs. One can
    // still come late: an error the loop delivers on a later turn, for a socket
    // it could not arm, after the timeout has closed that socket. The race is
    // decided; it is dropped.
    let Some(done) = done else { return };
    // Clearing the winner's own timer too is harmless: it has fired, so it is
    // already gone.
    for timer in timers.into_iter().flatten() {
        pipeline.event_loop.clear_timeout(timer);
    }
    // ANCHOR_END: finish_clear
    // ANCHOR: finish_record
    // On `tcp`, the socket closes here, on every path (answer, error or
    // timeout): deregistered from the poller, then closed, and a callback still
    // waiting on it dropped.
    if let Some(socket) = socket {
        pipeline.event_loop.close(socket);
    }
    let outcome = match &result {
        Ok(_) => AttemptOutcome::Answered,
        Err(error) => error.outcome(),
    };
    pipeline.trace.record(EventKind::AttemptFinished {
        source: index,
        attempt: number,
        outcome,
    });
    done(result);
}
// ANCHOR_END: finish_record
// ANCHOR_END: attempt

// ANCHOR: tcp_attempt
/// How many reads one readable callback makes at most before it lets the loop
/// turn: a fast server must not keep the loop's only thread reading its socket
/// while other attempts' sockets, and their timeouts, wait. What is left is
/// still there on the next turn: interest is level-triggered, so the re-armed
/// socket is reported ready at once.
const READS_PER_CALLBACK: usize = 16;

/// The size of a read: what the reference reads at a time, too.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// On `tcp`: starts the connect and registers the socket with the loop, then
/// waits for the socket to be writable, which it becomes when the connect has
/// finished, one way or the other.
fn tcp_attempt<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    number: u32,
    feeds: Feeds,
    race: &Rc<RefCell<Race<F>>>,
) where
    F: FnOnce(Result<Body<'a>, AttemptError>) + 'a,
{
    let started = start_connect(feeds.addr)
        .and_then(|stream| pipeline.event_loop.register(stream));
    let socket = match started {
        Ok(socket) => socket,
        // Refused at once, or out of descriptors (the socket, if there was one,
        // is closed already: never registered, it was dropped).
        Err(_) => return fail_on_a_later_turn(pipeline, index, number, race),
    };
    race.borrow_mut().socket = Some(socket);
    let name = &pipeline.scenario.sources[index].name;
    let exchange = Exchange {
        pipeline: Rc::clone(pipeline),
        index,
        number,
        race: Rc::clone(race),
        socket,
        request: feeds.request(name),
        sent: 0,
        parser: ResponseParser::new(),
        first_byte_seen: false,
    };
    pipeline
        .event_loop
        .on_writable(socket, move |ready| exchange.connected(ready));
}

/// Ends the attempt as an error found before there was a socket to wait on, the
/// way an answer would end it: on a later turn, from a timer that the timeout
/// clears if it wins. A continuation called before `attempt` returns would run
/// `fetch_with_retry`'s next attempt inside this one, and `start_sources`
/// inside itself (see "Zalgo" in `cache.rs`).
fn fail_on_a_later_turn<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    number: u32,
    race: &Rc<RefCell<Race<F>>>,
) where
    F: FnOnce(Result<Body<'a>, AttemptError>) + 'a,
{
    let answer = pipeline.event_loop.set_timeout(Duration::ZERO, {
        let (pipeline, race) = (Rc::clone(pipeline), Rc::clone(race));
        move || {
            finish(&pipeline, index, number, &race, Err(AttemptError::Error))
        }
    });
    race.borrow_mut().answer = Some(answer);
}

/// One attempt's HTTP exchange, passed by value from each readiness callback to
/// the next: the state a blocking exchange keeps in its local variables, here
/// moved into the closure that waits. Whoever holds it is the only step of the
/// exchange that can run.
struct Exchange<'a, F> {
    /// The pipeline, for the loop and the trace.
    pipeline: Rc<Pipeline<'a>>,
    /// The source.
    index: usize,
    /// The attempt number.
    number: u32,
    /// What this exchange races against: the timeout.
    race: Rc<RefCell<Race<F>>>,
    /// The socket, registered with the loop.
    socket: SocketId,
    /// The request, and how much of it has been written.
    request: Vec<u8>,
    sent: usize,
    /// The response so far, parsed sans-I/O.
    parser: ResponseParser,
    /// Whether the response's first byte has arrived (the trace's `FirstByte`).
    first_byte_seen: bool,
}

impl<'a, F> Exchange<'a, F>
where
    F: FnOnce(Result<Body<'a>, AttemptError>) + 'a,
{
    /// The socket is writable: the connect has finished. Connected, then write
    /// the request; refused or reset, then the attempt is an error.
    fn connected(self, ready: io::Result<&TcpStream>) {
        match ready.and_then(connection_established) {
            Ok(stream) => {
                self.reached(SocketPhase::Connected);
                self.write(stream);
            }
            Err(_) => self.end(Err(AttemptError::Error)),
        }
    }

    // ANCHOR: tcp_write
    /// Writes as much of the request as the socket takes now. A partial write
    /// is normal (the send buffer had room for part of it); `WouldBlock` means
    /// the buffer is full: the rest goes on the next writable callback. Once it
    /// is all written, wait for the response.
    fn write(mut self, mut stream: &TcpStream) {
        while self.sent < self.request.len() {
            match stream.write(&self.request[self.sent..]) {
                Ok(0) => return self.end(Err(AttemptError::Error)),
                Ok(written) => self.sent += written,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    let (pipeline, socket) =
                        (Rc::clone(&self.pipeline), self.socket);
                    pipeline.event_loop.on_writable(socket, move |ready| {
                        match ready {
                            Ok(stream) => self.write(stream),
                            Err(_) => self.end(Err(AttemptError::Error)),
                        }
                    });
                    return;
                }
                // A signal cut the call short: call again.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.end(Err(AttemptError::Error)),
            }
        }
        self.reached(SocketPhase::RequestSent);
        self.wait_for_response();
    }

    // ANCHOR_END: tcp_write
    /// Arms the readable callback: the rest of the response, when it comes.
    fn wait_for_response(self) {
        let (pipeline, socket) = (Rc::clone(&self.pipeline), self.socket);
        pipeline
            .event_loop
            .on_readable(socket, move |ready| self.read(ready));
    }

    // ANCHOR: tcp_read
    /// The socket is readable: read what has arrived and feed it to the parser,
    /// until the response is complete, the server closes, or a read says
    /// `WouldBlock` (nothing more for now: wait for readable again).
    fn read(mut self, ready: io::Result<&TcpStream>) {
        let mut stream = match ready {
            Ok(stream) => stream,
            Err(_) => return self.end(Err(AttemptError::Error)),
        };
        // On the stack, for this callback only: what the exchange keeps between
        // callbacks is in the parser. (One callback runs at a time, so one
        // buffer would do for every socket.)
        let mut buffer = [0; READ_BUFFER_BYTES];
        for _ in 0..READS_PER_CALLBACK {
            match stream.read(&mut buffer) {
                // The server closed: the end of the response, or a short one.
                Ok(0) => {
                    let finished = self.parser.eof();
                    return self.answered(finished);
                }
                Ok(read) => {
                    if !std::mem::replace(&mut self.first_byte_seen, true) {
                        self.reached(SocketPhase::FirstByte);
                    }
                    // `Some` once the response is complete, or malformed.
                    if let Some(finished) =
                        self.parser.feed(&buffer[..read]).transpose()
                    {
                        return self.answered(finished);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    break;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.end(Err(AttemptError::Error)),
            }
        }
        self.wait_for_response();
    }

    // ANCHOR_END: tcp_read
    /// A finished exchange, in the specification's terms ([`http::outcome`]): a
    /// 2xx is the body, anything else an error.
    fn answered<E>(self, finished: Result<http::Response, E>) {
        let result = match http::outcome(finished) {
            (AttemptOutcome::Answered, Some(body)) => Ok(Cow::Owned(body)),
            _ => Err(AttemptError::Error),
        };
        self.end(result);
    }

    /// Records a socket phase in the trace.
    fn reached(&self, phase: SocketPhase) {
        self.pipeline.trace.record(EventKind::Socket {
            source: self.index,
            attempt: self.number,
            phase,
        });
    }

    /// Ends the attempt: `finish` clears the timeout and closes the socket.
    fn end(self, result: Result<Body<'a>, AttemptError>) {
        finish(&self.pipeline, self.index, self.number, &self.race, result);
    }
}

// ANCHOR: tcp_connect
/// Starts a connect to `addr` without waiting for it: a non-blocking socket's
/// `connect` returns at once, connected (rarely), refused (sometimes, on
/// loopback), or in progress (the handshake goes on in the kernel). std's
/// `TcpStream::connect` would block until the handshake is over, which can be
/// long when the server's accept queue is full; socket2 makes the socket
/// non-blocking before connecting.
fn start_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(error) if connect_in_progress(&error) => {}
        // Refused at once: `socket` is dropped, so closed, here.
        Err(error) => return Err(error),
    }
    Ok(socket.into())
}

/// Whether a connect that has finished (its socket is writable) succeeded. A
/// failure is kept in the socket's pending error (`SO_ERROR`), which
/// `take_error` reads; with none, the socket is connected if it has a peer.
fn connection_established(stream: &TcpStream) -> io::Result<&TcpStream> {
    if let Some(failure) = stream.take_error()? {
        return Err(failure);
    }
    stream.peer_addr()?;
    Ok(stream)
}
// ANCHOR_END: tcp_connect
// ANCHOR_END: tcp_attempt

// ANCHOR: fetch_nested
/// Fetch-with-retry as it first comes to mind: the retry written inside the
/// first attempt's callback. Each further attempt is one more level of nesting,
/// so this is written out for at most two attempts (`retries` 0 or 1); five
/// retries would be six levels deep. That is "callback hell": the shape of the
/// code follows the order of events in time, and a loop cannot be written at
/// all.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "shown in the book beside the flat form; tested to agree"
    )
)]
pub(crate) fn fetch_with_retry_nested<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    done: F,
) where
    F: FnOnce(FetchSummary, Option<Body<'a>>) + 'a,
{
    let max_attempts = pipeline.scenario.settings.max_attempts();
    assert!(
        max_attempts <= 2,
        "the nested form is written out for two attempts at most"
    );
    let shared = Rc::clone(pipeline);
    attempt(pipeline, index, 1, move |first| match first {
        Ok(body) => {
            done(FetchSummary::after(1, AttemptOutcome::Answered), Some(body))
        }
        Err(error) if max_attempts == 1 => {
            done(FetchSummary::after(1, error.outcome()), None)
        }
        Err(_) => attempt(&shared, index, 2, move |second| match second {
            Ok(body) => done(
                FetchSummary::after(2, AttemptOutcome::Answered),
                Some(body),
            ),
            Err(error) => done(FetchSummary::after(2, error.outcome()), None),
        }),
    });
}
// ANCHOR_END: fetch_nested

// ANCHOR: fetch_with_retry
/// Fetches source `index`, retrying a failed attempt at once, up to `retries`
/// more times, then calls `done` with the summary and, if the feed answered,
/// its body. The reference's `fetch_with_retry` returns that pair; here it is
/// passed to the continuation instead.
pub fn fetch_with_retry<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    done: F,
) where
    F: FnOnce(FetchSummary, Option<Body<'a>>) + 'a,
{
    fetch_from_attempt(pipeline, index, 1, done);
}

/// The loop of the reference, flattened: attempt `number`, and if it fails and
/// attempts are left, the same function again, one attempt further. The nesting
/// is gone because the retry is a *named* function calling itself, not a
/// closure written inside a closure. (Not a deep recursion either: each call
/// returns as soon as its timers are set; the next one starts from a timer
/// callback, on a fresh stack.)
fn fetch_from_attempt<'a, F>(
    pipeline: &Rc<Pipeline<'a>>,
    index: usize,
    number: u32,
    done: F,
) where
    F: FnOnce(FetchSummary, Option<Body<'a>>) + 'a,
{
    let shared = Rc::clone(pipeline);
    attempt(pipeline, index, number, move |result| match result {
        Ok(body) => done(
            FetchSummary::after(number, AttemptOutcome::Answered),
            Some(body),
        ),
        Err(error) if number == shared.scenario.settings.max_attempts() => {
            done(FetchSummary::after(number, error.outcome()), None);
        }
        Err(_) => fetch_from_attempt(&shared, index, number + 1, done),
    });
}
// ANCHOR_END: fetch_with_retry

#[cfg(test)]
mod tests {
    use rosetta_pipeline::model;
    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;

    type Fetched = Vec<Option<(FetchSummary, Option<String>)>>;
    /// A fetch-with-retry's continuation, boxed so that both forms take the
    /// same type.
    type Done<'a> = Box<dyn FnOnce(FetchSummary, Option<Body<'a>>) + 'a>;

    /// Fetches every source of `scenario` at once with `form`, on one event
    /// loop.
    fn fetch_all(
        scenario: &Scenario,
        time_scale: f64,
        form: for<'a> fn(&Rc<Pipeline<'a>>, usize, Done<'a>),
    ) -> Fetched {
        let (opts, trace) =
            (RunOptions::with_time_scale(time_scale), Trace::new());
        let pipeline = Rc::new(Pipeline::new(scenario, &opts, &trace));
        let fetched: Rc<RefCell<Fetched>> =
            Rc::new(RefCell::new(vec![None; scenario.sources.len()]));
        for index in 0..scenario.sources.len() {
            let fetched = Rc::clone(&fetched);
            form(
                &pipeline,
                index,
                Box::new(move |summary, body: Option<Body<'_>>| {
                    fetched.borrow_mut()[index] =
                        Some((summary, body.map(Cow::into_owned)));
                }),
            );
        }
        pipeline.event_loop.run();
        fetched.take()
    }

    /// What the specification says each source's fetch comes to.
    fn expected(scenario: &Scenario) -> Fetched {
        let settings = &scenario.settings;
        let summary = |source: &Source| {
            let mut number = 1;
            loop {
                let (_, outcome) = model::attempt(source, number, settings);
                if outcome == AttemptOutcome::Answered
                    || number == settings.max_attempts()
                {
                    let body = (outcome == AttemptOutcome::Answered)
                        .then(|| source.body.clone());
                    return Some((FetchSummary::after(number, outcome), body));
                }
                number += 1;
            }
        };
        scenario.sources.iter().map(summary).collect()
    }

    #[test]
    fn nested_and_flat_fetch_with_retry_agree() {
        let mut scenario = Scenario::builtin("classroom").unwrap();
        for retries in [1, 0] {
            scenario.settings.retries = retries;
            let flat = fetch_all(&scenario, 0.25, |p, index, done| {
                fetch_with_retry(p, index, done);
            });
            let nested = fetch_all(&scenario, 0.25, |p, index, done| {
                fetch_with_retry_nested(p, index, done);
            });
            assert_eq!(flat, expected(&scenario), "retries = {retries}");
            assert_eq!(nested, flat, "retries = {retries}");
        }
    }

    #[test]
    fn a_too_slow_feeds_answer_timer_does_not_hold_the_run_open() {
        // A feed that answers after an hour, with a 10 ms timeout: the timeout
        // wins and clears the answer timer, so the loop runs out of work at
        // once instead of an hour later. The fetch runs on a thread of its own,
        // so that this test fails instead of hanging.
        let scenario = Scenario::from_toml(
            "name = \"slow\"\nsettings.timeout_ms = 10\nsettings.retries = 0\n\
             [[sources]]\nname = \"slow\"\nlatency_ms = 3600000\n",
            "slow.toml",
        )
        .unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let fetched = fetch_all(&scenario, 1.0, |p, index, done| {
                fetch_with_retry(p, index, done);
            });
            done.send(fetched).unwrap();
        });
        let fetched = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the run was held open by the slow feed's answer timer");
        let timed_out = FetchSummary::after(1, AttemptOutcome::Timeout);
        assert_eq!(fetched, [Some((timed_out, None))]);
    }

    /// A race of one attempt at the only source of a one-source scenario, with
    /// its timeout set, and where its continuation's results go.
    fn with_a_race(
        test: impl for<'a> FnOnce(
            &Rc<Pipeline<'a>>,
            &Rc<
                RefCell<
                    Race<Box<dyn FnOnce(Result<Body<'a>, AttemptError>) + 'a>>,
                >,
            >,
            &Rc<RefCell<Vec<Result<String, AttemptError>>>>,
        ),
    ) {
        let scenario = Scenario::from_toml(
            "name = \"r\"\n[[sources]]\nname = \"Oslo\"\nlatency_ms = 1\n",
            "r.toml",
        )
        .unwrap();
        let (opts, trace) = (RunOptions::with_time_scale(1.0), Trace::new());
        let pipeline = Rc::new(Pipeline::new(&scenario, &opts, &trace));
        let results = Rc::new(RefCell::new(Vec::new()));
        let done = {
            let results = Rc::clone(&results);
            Box::new(move |result: Result<Body<'_>, AttemptError>| {
                results.borrow_mut().push(result.map(Cow::into_owned));
            }) as Box<dyn FnOnce(_)>
        };
        let race = Rc::new(RefCell::new(Race {
            done: Some(done),
            answer: None,
            timeout: None,
            socket: None,
        }));
        set_attempt_timeout(&pipeline, 0, 1, &race);
        test(&pipeline, &race, &results);
        let finished = trace
            .events()
            .into_iter()
            .filter(|event| {
                matches!(event.kind, EventKind::AttemptFinished { .. })
            })
            .count();
        assert_eq!(
            finished,
            results.borrow().len(),
            "one `AttemptFinished` per result delivered"
        );
    }

    #[test]
    fn an_error_found_before_the_socket_reaches_the_continuation_on_a_later_turn()
     {
        with_a_race(|pipeline, race, results| {
            fail_on_a_later_turn(pipeline, 0, 1, race);
            assert!(results.borrow().is_empty(), "not before the call returns");
            pipeline.event_loop.run();
            assert_eq!(*results.borrow(), [Err(AttemptError::Error)]);
            assert_eq!(
                pipeline.event_loop.live_timers(),
                0,
                "the timeout was cleared"
            );
        });
    }

    #[test]
    fn a_result_after_the_race_is_decided_is_dropped() {
        // A late loser (an error the loop delivers on a later turn for a socket
        // the timeout has closed since) must neither panic nor call the
        // continuation a second time.
        with_a_race(|pipeline, race, results| {
            finish(pipeline, 0, 1, race, Err(AttemptError::Timeout));
            finish(pipeline, 0, 1, race, Err(AttemptError::Error));
            assert_eq!(*results.borrow(), [Err(AttemptError::Timeout)]);
        });
    }

    #[test]
    fn flat_fetch_with_retry_takes_any_number_of_retries() {
        // `faults` has two retries: three attempts, beyond what the nested form
        // is written for.
        let scenario = Scenario::builtin("faults").unwrap();
        let flat = fetch_all(&scenario, 0.5, |p, index, done| {
            fetch_with_retry(p, index, done);
        });
        assert_eq!(flat, expected(&scenario));
    }

    /// The tcp attempt against canned servers on loopback
    /// (`rosetta_conformance::canned`); the attempt runs on a loop on a thread
    /// of its own, under a watchdog. Every test asserts an outcome, the socket
    /// phases reached and that the loop holds no socket afterwards, never a
    /// duration: the deadlines are far from what the servers do (an answer
    /// within milliseconds, or never).
    mod over_tcp {
        use std::sync::mpsc;
        use std::thread;

        use rosetta_conformance::canned::{
            ALL_PHASES, ANSWER, ANSWER_BODY, ANSWER_IN_PIECES, CannedServer,
            PHASES_UNTIL_REQUEST_SENT, Reply, SHORT_BODY, SOURCE, UNAVAILABLE,
            endless_head, refusing_feeds,
        };
        use rosetta_pipeline::scenario::Fault;
        use rosetta_pipeline::trace::SocketPhase;
        use rosetta_pipeline::transport::{Feeds, Transport};
        use rosetta_pipeline::{RunOptions, Scenario, Trace};

        use super::super::*;

        /// Long enough for an answering server on the slowest machine.
        const PATIENT_MS: u64 = 10_000;
        /// Far shorter than what a trickling or hanging server takes (forever).
        const IMPATIENT_MS: u64 = 300;
        /// How long the attempt's loop may run before the test fails instead of
        /// hanging.
        const WATCHDOG: Duration = Duration::from_secs(60);

        /// What an attempt came to: its result (the body, owned), the socket
        /// phases it reached, and the sockets its loop still held afterwards.
        type Attempted =
            (Result<String, AttemptError>, Vec<SocketPhase>, usize);

        /// Runs one attempt at a source named `name` over tcp to `feeds`, with
        /// `timeout_ms`, on a loop of its own, on a thread of its own.
        fn attempt_over_tcp(
            feeds: Feeds,
            name: &str,
            timeout_ms: u64,
        ) -> Attempted {
            let (done, finished) = mpsc::channel();
            let name = name.to_string();
            thread::spawn(move || {
                let mut scenario =
                    Scenario::from_toml("name = \"t\"", "t.toml").unwrap();
                scenario.settings.timeout_ms = timeout_ms;
                scenario.sources = vec![Source {
                    name,
                    latency_ms: 1,
                    fault: Fault::None,
                    body: String::new(),
                }];
                let opts =
                    RunOptions::with_time_scale(1.0).on(Transport::Tcp(feeds));
                let trace = Trace::new();
                let pipeline = Rc::new(Pipeline::new(&scenario, &opts, &trace));
                let result = Rc::new(RefCell::new(None));
                let slot = Rc::clone(&result);
                attempt(&pipeline, 0, 1, move |outcome| {
                    *slot.borrow_mut() = Some(outcome.map(Cow::into_owned));
                });
                pipeline.event_loop.run();
                let phases = trace
                    .events()
                    .into_iter()
                    .filter_map(|event| match event.kind {
                        EventKind::Socket { phase, .. } => Some(phase),
                        _ => None,
                    })
                    .collect();
                let result =
                    result.take().expect("the attempt called its continuation");
                done.send((result, phases, pipeline.event_loop.open_sockets()))
                    .unwrap();
            });
            finished
                .recv_timeout(WATCHDOG)
                .expect("the attempt's loop never returned")
        }

        /// Runs one attempt at [`SOURCE`] against a server that answers with
        /// `reply`.
        fn attempt_against(reply: Reply, timeout_ms: u64) -> Attempted {
            let server = CannedServer::start([reply]);
            let attempted =
                attempt_over_tcp(server.feeds(), SOURCE, timeout_ms);
            server.join();
            attempted
        }

        #[test]
        fn a_200_is_the_body() {
            let attempted = attempt_against(Reply::answer(ANSWER), PATIENT_MS);
            assert_eq!(
                attempted,
                (Ok(ANSWER_BODY.into()), ALL_PHASES.into(), 0)
            );
        }

        #[test]
        fn a_503_is_an_error() {
            let attempted =
                attempt_against(Reply::answer(UNAVAILABLE), PATIENT_MS);
            assert_eq!(
                attempted,
                (Err(AttemptError::Error), ALL_PHASES.into(), 0)
            );
        }

        #[test]
        fn a_short_body_is_an_error() {
            // The server closes after 4 of 10 body bytes.
            let attempted =
                attempt_against(Reply::answer(SHORT_BODY), PATIENT_MS);
            assert_eq!(
                attempted,
                (Err(AttemptError::Error), ALL_PHASES.into(), 0)
            );
        }

        /// A response in three pieces, some time apart: between them, the
        /// attempt's read says `WouldBlock`, and it waits for readable again
        /// instead of failing.
        #[test]
        fn a_response_in_pieces_is_read_over_several_callbacks() {
            let pieces =
                Reply::in_pieces(ANSWER_IN_PIECES, Duration::from_millis(20));
            let attempted = attempt_against(pieces, PATIENT_MS);
            assert_eq!(
                attempted,
                (Ok(ANSWER_BODY.into()), ALL_PHASES.into(), 0)
            );
        }

        /// A request of 8 MiB (a very long source name), more than a socket's
        /// send buffer can ever hold (Linux caps it at 4 MiB), to a server that
        /// waits before reading: the writes are partial, then `WouldBlock`, and
        /// the rest goes out on later writable callbacks.
        #[test]
        fn a_request_larger_than_the_send_buffer_is_written_in_parts() {
            let name = "a".repeat(8 * 1024 * 1024);
            let reply =
                Reply::answer(ANSWER).reading_after(Duration::from_millis(100));
            let server = CannedServer::start_for_source(&name, [reply]);
            let feeds = server.feeds();
            let attempted = attempt_over_tcp(feeds, &name, PATIENT_MS);
            assert_eq!(
                attempted,
                (Ok(ANSWER_BODY.into()), ALL_PHASES.into(), 0)
            );
            assert_eq!(server.join()[0].request, feeds.request(&name));
        }

        /// A server that reads the request and never answers (a `hang` feed): a
        /// timeout, the socket is deregistered and closed, and the server sees
        /// the close.
        #[test]
        fn a_server_that_never_answers_is_a_timeout_and_the_socket_is_closed() {
            let server = CannedServer::start([Reply::hang()]);
            let attempted =
                attempt_over_tcp(server.feeds(), SOURCE, IMPATIENT_MS);
            let phases = PHASES_UNTIL_REQUEST_SENT.into();
            assert_eq!(attempted, (Err(AttemptError::Timeout), phases, 0));
            assert!(
                server.join()[0].closed_by_client,
                "the server saw the client close"
            );
        }

        /// A server that sends a byte of a head that never ends every 20 ms:
        /// each read of the attempt gets something, so only the attempt's
        /// timeout can end it, and it does: the socket is closed, and the
        /// server's next write fails.
        #[test]
        fn a_trickle_cannot_outlast_the_timeout() {
            let trickle =
                Reply::trickle(endless_head(1_000), Duration::from_millis(20));
            let server = CannedServer::start([trickle]);
            let attempted =
                attempt_over_tcp(server.feeds(), SOURCE, IMPATIENT_MS);
            assert_eq!(
                attempted,
                (Err(AttemptError::Timeout), ALL_PHASES.into(), 0)
            );
            assert!(server.join()[0].closed_by_client, "the trickle ran out");
        }

        /// A server that resets the connection instead of answering: the read
        /// fails, an error.
        #[test]
        fn a_reset_is_an_error() {
            let attempted = attempt_against(Reply::reset(), PATIENT_MS);
            let phases = PHASES_UNTIL_REQUEST_SENT.into();
            assert_eq!(attempted, (Err(AttemptError::Error), phases, 0));
        }

        #[test]
        fn a_refused_connection_is_an_error() {
            let attempted =
                attempt_over_tcp(refusing_feeds(), SOURCE, PATIENT_MS);
            assert_eq!(attempted, (Err(AttemptError::Error), vec![], 0));
        }
    }
}
