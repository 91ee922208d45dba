//! Fetching one source with threads: one blocking attempt, and
//! fetch-with-retry.
//!
//! # On `tcp`: the blocking exchange, on the fetch thread itself
//!
//! On the `tcp` transport an attempt is a real HTTP exchange with the feed
//! server, and it runs on the fetch thread: [`reference::exchange`], the very
//! function the sequential reference calls. Connect, write the request, read
//! until the response parser ([`rosetta_pipeline::http`]) says the response is
//! complete. There is no second thread: the other party is the operating
//! system's socket, which waits in the kernel, not on a thread of ours. That is
//! the lesson of this style: the reference's blocking code, unchanged, run by
//! `concurrency` threads at once.
//!
//! # Timeouts, the thread way: a deadline on every call
//!
//! A blocking call cannot be interrupted once it waits; the only way to give it
//! a limit is to tell it before it starts (`connect_timeout`,
//! `set_write_timeout`, `set_read_timeout`). The obvious way, the attempt's
//! timeout set once as the read timeout, is wrong: a read timeout limits *one*
//! read, the wait for the next bytes. A server that trickles a byte every 20 ms
//! never lets a single read time out, and keeps the attempt reading for as long
//! as it likes, however short its timeout. (The test
//! `a_trickle_cannot_outlast_the_deadline` in `rosetta_pipeline::reference` is
//! that server; against a fixed read timeout it got its answer after two
//! seconds, with a timeout of 300 ms.)
//!
//! So the attempt computes one deadline when it starts, `started + timeout`,
//! and before every call sets that call's timeout to the time *left until the
//! deadline*. A trickle still makes reads return, but each read may only wait
//! what is left, the last one ends at the deadline, and once nothing is left
//! the attempt is a timeout. This is how a blocking thread is "asked" to stop:
//! nothing can interrupt it, so every call it makes is told in advance when to
//! give up. The socket is closed when the exchange returns, on every path,
//! because the `TcpStream` is dropped: a hanging feed server sees the close.
//!
//! # On `sim`: a network thread, raced with `recv_timeout`
//!
//! On the `sim` transport there is no socket to wait on, so the "network" is a
//! thread of its own: it waits `latency_ms`, asks [`Source::respond`] what the
//! feed says, and sends the answer on a channel. The fetch thread waits on that
//! channel with [`Receiver::recv_timeout`]: whichever comes first, the answer
//! or the timeout, decides.
//!
//! # Two clocks on two threads, and a busy machine
//!
//! On `sim`, two threads each keep a clock, and on a machine with two cores and
//! thousands of threads either of them can run late. Two rules keep the outcome
//! the specification's, whatever the scheduler does:
//!
//! - **Both clocks start when the attempt starts**, and the attempt starts when
//!   its network thread first runs, which it reports (`Started`, with the
//!   instant). A new thread can wait longer than a whole timeout before it
//!   first runs; a timeout counted from the moment we *asked* for the thread
//!   would expire before the feed's latency had even begun.
//! - **When the feed answered decides, not when a thread got round to it.** The
//!   network stamps its answer with the instant the feed answered (`started +
//!   latency`), and the attempt compares that with its deadline (`started +
//!   timeout`). If the fetch thread gives up while a late-running network
//!   thread has not sent yet, it takes one last look once that thread has been
//!   joined. A real client does the same: data that reached the socket before
//!   the deadline is read even if the reading thread wakes late. It is the rule
//!   the event loop of `rosetta-callbacks` follows when it is late: overdue
//!   timers fire in deadline order.
//!
//! # Cancellation: threads cannot be cancelled, only asked
//!
//! When the timeout wins on `sim`, the network thread is still there, sleeping
//! towards a late answer (or, for a hanging feed, waiting forever). Rust has no
//! way to kill a thread from the outside, and rightly so: a thread killed
//! half-way could leave a lock held or a data structure half written. All we
//! can do is *ask* it to stop and make sure it listens. So the network thread
//! never sleeps with `thread::sleep`, which nothing can interrupt; it waits on
//! a second channel, the cancel channel, with `recv_timeout(latency)`. Nothing
//! is ever sent on that channel: dropping its sender is the message. The thread
//! wakes at once, sees the sender gone, and returns without answering (unless,
//! running late, it finds that its feed answered meanwhile: then it delivers
//! that answer first, for the attempt to judge). The attempt's
//! [`thread::scope`] then joins it, so when an attempt returns, its network
//! thread is gone: a late answer cannot outlive the attempt, and a hanging feed
//! cannot keep the run alive.
//!
//! The same holds for any blocking call: a thread stuck in a `read` without a
//! timeout cannot be asked anything. That is why the `tcp` attempt gives every
//! call the time left until its deadline; the other way to ask is to shut the
//! socket down from another thread (`TcpStream::shutdown`), which wakes the
//! blocked `read`. The async styles get cancellation for free: dropping a
//! future stops it, and closes its socket.
//!
//! Read next: [`crate::workers`], what happens to the body.

use std::borrow::Cow;
use std::convert::Infallible;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::{Duration, Instant};

use rosetta_pipeline::RunError;
use rosetta_pipeline::options::later;
use rosetta_pipeline::reference;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Response, Source};
use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::transport::Transport;

use crate::{Shared, internal};

// ANCHOR: fetch_with_retry
/// Fetches source `index`: up to `retries + 1` attempts, one after the other on
/// this thread (the same slot), each limited by the timeout. Returns the
/// summary and, if the feed answered, its body (borrowed from the scenario on
/// `sim`, read from the socket on `tcp`).
pub fn fetch_with_retry<'s>(
    shared: &Shared<'s>,
    index: usize,
) -> Result<(FetchSummary, Option<Cow<'s, str>>), RunError> {
    let max_attempts = shared.scenario.settings.max_attempts();
    let mut number = 1;
    loop {
        let (outcome, body) = attempt(shared, index, number)?;
        if outcome == AttemptOutcome::Answered || number == max_attempts {
            return Ok((FetchSummary::after(number, outcome), body));
        }
        number += 1;
    }
}
// ANCHOR_END: fetch_with_retry

// ANCHOR: attempt
// ANCHOR: attempt_tcp
/// One attempt, limited by `timeout_ms` from its start: a blocking HTTP
/// exchange on this thread (`tcp`), or a network thread raced against the
/// timeout (`sim`).
pub fn attempt<'s>(
    shared: &Shared<'s>,
    index: usize,
    attempt: u32,
) -> Result<(AttemptOutcome, Option<Cow<'s, str>>), RunError> {
    let (outcome, body) = match &shared.opts.transport {
        // ANCHOR: tcp
        Transport::Tcp(feeds) => {
            shared.trace.record(EventKind::AttemptStarted {
                source: index,
                attempt,
            });
            // One deadline for the whole attempt, counted from its start.
            // `exchange` gives every connect, write and read only the time left
            // until it.
            let timeout =
                shared.opts.scaled(shared.scenario.settings.timeout_ms);
            let deadline = later(Instant::now(), timeout);
            let name = &shared.scenario.sources[index].name;
            let (outcome, body) =
                reference::exchange(feeds, name, deadline, |phase| {
                    shared.trace.record(EventKind::Socket {
                        source: index,
                        attempt,
                        phase,
                    })
                });
            (outcome, body.map(Cow::Owned))
        }
        // ANCHOR_END: attempt_tcp
        // ANCHOR_END: tcp
        // ANCHOR: attempt_sim
        Transport::Sim => {
            let (outcome, body) = simulated_attempt(shared, index, attempt)?;
            (outcome, body.map(Cow::Borrowed))
        }
    };
    shared.trace.record(EventKind::AttemptFinished {
        source: index,
        attempt,
        outcome,
    });
    Ok((outcome, body))
}
// ANCHOR_END: attempt_sim

// ANCHOR: simulated_attempt
// ANCHOR: from_network
/// What the network thread tells the attempt: first that it runs, then (unless
/// the feed hangs or the attempt gives up first) what the feed answered.
enum FromNetwork<'s> {
    /// The network thread is running: the attempt, and both of its clocks,
    /// start at this instant.
    Started(Instant),
    /// The feed answered (a body or an error).
    Answered {
        /// What the feed said; never [`Response::Never`], which is silence.
        response: Response<'s>,
        /// When the feed answered: `started + latency`, however late the thread
        /// sent it.
        at: Instant,
    },
}
// ANCHOR_END: from_network

// ANCHOR: sim_start
/// One attempt on `sim`: start the network, wait for its answer until
/// `timeout_ms` after the attempt started, stop the network.
fn simulated_attempt<'s>(
    shared: &Shared<'s>,
    index: usize,
    attempt: u32,
) -> Result<(AttemptOutcome, Option<&'s str>), RunError> {
    let source = &shared.scenario.sources[index];
    let latency = shared.opts.scaled(source.latency_ms);
    let timeout = shared.opts.scaled(shared.scenario.settings.timeout_ms);

    // Capacity 2: the network sends at most two messages and never waits for us
    // to read them.
    let (to_attempt, from_network) = mpsc::sync_channel(2);
    // A channel nothing can be sent on (`Infallible` has no values): dropping
    // the sender is the only message it carries, and it means "stop".
    let (cancel, cancelled) = mpsc::channel::<Infallible>();

    let (received, deadline) = thread::scope(|scope| {
        thread::Builder::new()
            .name(format!("network-{index}"))
            .spawn_scoped(scope, move || {
                network(source, attempt, latency, &cancelled, &to_attempt);
            })
            .map_err(|err| {
                internal(format!("could not start a network thread: {err}"))
            })?;
        // ANCHOR_END: sim_start
        // ANCHOR: sim_race
        // The attempt starts when its network thread runs, not when we ask for
        // the thread.
        let Ok(FromNetwork::Started(started)) = from_network.recv() else {
            unreachable!(
                "the network thread says `Started` first, and hangs up only \
                 by panicking"
            )
        };
        shared.trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        // The race: the answer, or the deadline, whichever comes first.
        let deadline = later(started, timeout);
        let received = from_network
            .recv_timeout(deadline.saturating_duration_since(Instant::now()));
        // Ask the network thread to stop (it may already have), then let the
        // scope join it. Forget this `drop` and a hanging feed's thread would
        // wait forever, and the scope with it: the one line that makes this
        // attempt cancellable.
        drop(cancel);
        Ok((received, deadline))
    })?;
    // ANCHOR_END: sim_race

    // ANCHOR: sim_outcome
    let answer = match received {
        Ok(message) => Some(message),
        // Given up. The network thread has been joined, so whatever it sent is
        // in the channel: on a busy machine, an answer the feed gave in time,
        // sent by a thread that ran late.
        Err(RecvTimeoutError::Timeout) => from_network.try_recv().ok(),
        // The network thread hung up without answering, which it only does by
        // panicking; the scope above has already re-raised that panic on this
        // thread, so this is not reached.
        Err(RecvTimeoutError::Disconnected) => {
            unreachable!("the network thread panicked")
        }
    };
    let (outcome, body) = match answer {
        // In time: the feed answered before the deadline, whichever thread ran
        // first.
        Some(FromNetwork::Answered { response, at }) if at <= deadline => {
            match response {
                Response::Body(body) => (AttemptOutcome::Answered, Some(body)),
                Response::Error => (AttemptOutcome::Error, None),
                Response::Never => {
                    unreachable!("the network does not send `Never`")
                }
            }
        }
        // Too late, or nothing at all (a slow or hanging feed): a timeout.
        Some(FromNetwork::Answered { .. }) | None => {
            (AttemptOutcome::Timeout, None)
        }
        Some(FromNetwork::Started(_)) => {
            unreachable!("the network thread starts once")
        }
    };
    Ok((outcome, body))
}
// ANCHOR_END: sim_outcome
// ANCHOR_END: simulated_attempt
// ANCHOR_END: attempt

// ANCHOR: network
// ANCHOR: network_wait
/// The simulated network, on its own thread: say it has started, wait
/// `latency`, then answer what the feed says, unless the attempt is cancelled
/// first.
fn network<'s>(
    source: &'s Source,
    attempt: u32,
    latency: Duration,
    cancelled: &Receiver<Infallible>,
    to_attempt: &SyncSender<FromNetwork<'s>>,
) {
    let started = Instant::now();
    // The attempt waits for this message before anything else, so it is always
    // received.
    let _ = to_attempt.send(FromNetwork::Started(started));
    let answer_at = later(started, latency);
    // `recv_timeout` instead of `thread::sleep`: a sleep cannot be interrupted,
    // this wait ends early when the fetch thread drops the cancel sender.
    match cancelled
        .recv_timeout(answer_at.saturating_duration_since(Instant::now()))
    {
        Err(RecvTimeoutError::Timeout) => {} // the latency has passed: answer
        // Cancelled before the feed answered: the attempt gave up on us, say
        // nothing. (Woken this late, the feed has answered meanwhile: deliver
        // it, and the attempt judges it.)
        Err(RecvTimeoutError::Disconnected) if Instant::now() < answer_at => {
            return;
        }
        Err(RecvTimeoutError::Disconnected) => {}
        Ok(never) => match never {}, // nothing can be sent on this channel
    }
    // ANCHOR_END: network_wait
    // ANCHOR: network_answer
    match source.respond(attempt) {
        // If the attempt has given up meanwhile, it still reads this once it
        // has joined us, and judges it by `answer_at`: after the deadline, it
        // is a timeout.
        response @ (Response::Body(_) | Response::Error) => {
            let _ = to_attempt.send(FromNetwork::Answered {
                response,
                at: answer_at,
            });
        }
        // A hanging feed never answers. Wait to be cancelled, which the timeout
        // guarantees (at once, if it already has been).
        Response::Never => {
            let _ = cancelled.recv();
        }
    }
}
// ANCHOR_END: network_answer
// ANCHOR_END: network

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::AtomicUsize;

    use rosetta_pipeline::scenario::Fault;
    use rosetta_pipeline::trace::SocketPhase;
    use rosetta_pipeline::transport::Feeds;
    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;
    use crate::cache::SingleFlightCache;

    /// On tcp the attempt is the blocking exchange on this thread: a feed
    /// server that answers `503`, then `200` (a `first` fault, canned here)
    /// takes two attempts, each with its socket phases in the trace, recorded
    /// by this thread, and the body is read from the socket.
    #[test]
    fn on_tcp_an_attempt_is_a_blocking_exchange_on_the_fetch_thread() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let feeds = Feeds {
            addr: listener.local_addr().unwrap(),
            run: 1,
        };
        let server = thread::spawn(move || {
            let answers: [&[u8]; 2] = [
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nOslo;1.0\n",
            ];
            // Watchdogs: a client that never connects, or never finishes its
            // request, fails the test instead of hanging it.
            let watchdog = Duration::from_secs(20);
            listener.set_nonblocking(true).unwrap();
            let started = Instant::now();
            for answer in answers {
                let mut stream = loop {
                    match listener.accept() {
                        Ok((stream, _)) => break stream,
                        Err(error)
                            if error.kind()
                                == std::io::ErrorKind::WouldBlock =>
                        {
                            assert!(
                                started.elapsed() < watchdog,
                                "the client never connected"
                            );
                            thread::sleep(Duration::from_millis(1));
                        }
                        Err(error) => panic!("accept: {error}"),
                    }
                };
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(watchdog)).unwrap();
                let mut request = Vec::new();
                let mut byte = [0];
                while !request.ends_with(b"\r\n\r\n") {
                    assert_eq!(
                        stream.read(&mut byte).unwrap(),
                        1,
                        "a whole request"
                    );
                    request.push(byte[0]);
                }
                assert!(
                    request.starts_with(b"GET /runs/1/feeds/Oslo HTTP/1.1\r\n")
                );
                stream.write_all(answer).unwrap();
            }
        });
        let mut scenario =
            Scenario::from_toml("name = \"t\"", "t.toml").unwrap();
        scenario.settings.retries = 1;
        scenario.settings.timeout_ms = 10_000;
        scenario.sources = vec![Source {
            name: "Oslo".into(),
            latency_ms: 10,
            fault: Fault::First,
            body: "Oslo;1.0\n".into(),
        }];
        let opts = RunOptions::with_time_scale(1.0).on(Transport::Tcp(feeds));
        let trace = Trace::new();
        let shared = Shared {
            scenario: &scenario,
            opts: &opts,
            trace: &trace,
            next_source: AtomicUsize::new(0),
            cache: SingleFlightCache::new(),
        };
        let (summary, body) = fetch_with_retry(&shared, 0).unwrap();
        server.join().unwrap();
        assert_eq!(summary, FetchSummary::after(2, AttemptOutcome::Answered));
        assert!(
            matches!(body, Some(Cow::Owned(ref body)) if body == "Oslo;1.0\n")
        );
        let events = trace.events();
        // No network thread: every event of the attempts was recorded by this
        // one thread.
        assert!(events.iter().all(|event| event.thread == events[0].thread));
        let phases: Vec<_> = events
            .iter()
            .filter_map(|event| match event.kind {
                EventKind::Socket { attempt, phase, .. } => {
                    Some((attempt, phase))
                }
                _ => None,
            })
            .collect();
        let all = [
            SocketPhase::Connected,
            SocketPhase::RequestSent,
            SocketPhase::FirstByte,
        ];
        let expected: Vec<_> = [1, 2]
            .into_iter()
            .flat_map(|attempt| all.map(|phase| (attempt, phase)))
            .collect();
        assert_eq!(phases, expected);
    }

    /// Fetches every source of a small scenario and checks each outcome against
    /// what the specification says: answered, error after retries, timeout for
    /// hanging and slow feeds.
    #[test]
    fn attempts_race_the_timeout() {
        let mut scenario =
            Scenario::from_toml("name = \"t\"", "t.toml").unwrap();
        scenario.settings.timeout_ms = 100;
        scenario.settings.retries = 1;
        let source = |latency_ms, fault| Source {
            name: format!("{latency_ms}-{fault:?}"),
            latency_ms,
            fault,
            body: "Oslo;1.0\n".into(),
        };
        scenario.sources = vec![
            source(10, Fault::None),
            source(10, Fault::First),
            source(10, Fault::Always),
            source(10, Fault::Hang),
            source(300, Fault::None),
        ];
        let (opts, trace) = (RunOptions::with_time_scale(0.5), Trace::new());
        let shared = Shared {
            scenario: &scenario,
            opts: &opts,
            trace: &trace,
            next_source: AtomicUsize::new(0),
            cache: SingleFlightCache::new(),
        };
        let got: Vec<_> = (0..scenario.sources.len())
            .map(|index| fetch_with_retry(&shared, index).unwrap())
            .collect();
        let answered = |attempts| {
            (
                FetchSummary::after(attempts, AttemptOutcome::Answered),
                Some(Cow::Borrowed("Oslo;1.0\n")),
            )
        };
        let failed = |outcome| (FetchSummary::after(2, outcome), None);
        assert_eq!(
            got,
            [
                answered(1),
                answered(2),
                failed(AttemptOutcome::Error),
                failed(AttemptOutcome::Timeout),
                failed(AttemptOutcome::Timeout),
            ]
        );
    }
}
