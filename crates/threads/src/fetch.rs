//! Fetching one source with threads: an attempt raced against a timeout, and fetch-with-retry.
//!
//! # Timeouts, the thread way
//!
//! A real client would read from a socket with a read timeout. Here the "network" is a thread
//! of its own: it waits `latency_ms`, asks [`Source::respond`] what the feed says, and sends the
//! answer on a channel. The fetch thread waits on that channel with
//! [`Receiver::recv_timeout`]: whichever comes first, the answer or the timeout, decides.
//!
//! # Cancellation: threads cannot be cancelled, only asked
//!
//! When the timeout wins, the network thread is still there, sleeping towards a late answer (or,
//! for a hanging feed, waiting forever). Rust has no way to kill a thread from the outside, and
//! rightly so: a thread killed half-way could leave a lock held or a data structure half
//! written. All we can do is *ask* it to stop and make sure it listens. So the network thread
//! never sleeps with `thread::sleep`, which nothing can interrupt; it waits on a second channel,
//! the cancel channel, with `recv_timeout(latency)`. Nothing is ever sent on that channel:
//! dropping its sender is the message. The thread wakes at once, sees the sender gone, and
//! returns without answering. The attempt's [`thread::scope`] then joins it, so when an attempt
//! returns, its network thread is gone: a late answer cannot outlive the attempt, and a hanging
//! feed cannot keep the run alive.
//!
//! In production the same holds for any blocking call: a thread stuck in a `read` without a
//! timeout cannot be asked anything. Real code sets `TcpStream::set_read_timeout`, or shuts the
//! socket down from another thread (`TcpStream::shutdown`), which is the socket's way of being
//! asked. The async styles get cancellation for free: dropping a future stops it.
//!
//! Read next: [`crate::enrich`], what happens to the body.

use std::convert::Infallible;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread;
use std::time::Duration;

use rosetta_pipeline::RunError;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Response, Source};
use rosetta_pipeline::trace::EventKind;

use crate::{Shared, internal};

// ANCHOR: fetch_with_retry
/// Fetches source `index`: up to `retries + 1` attempts, one after the other on this thread
/// (the same slot), each limited by the timeout. Returns the summary and, if the feed answered,
/// its body.
pub(crate) fn fetch_with_retry<'s>(
    shared: &Shared<'s>,
    index: usize,
) -> Result<(FetchSummary, Option<&'s str>), RunError> {
    let max_attempts = shared.scenario.settings.max_attempts();
    let mut attempt = 1;
    loop {
        let (outcome, body) = fetch_once(shared, index, attempt)?;
        if outcome == AttemptOutcome::Answered || attempt == max_attempts {
            return Ok((FetchSummary::after(attempt, outcome), body));
        }
        attempt += 1;
    }
}
// ANCHOR_END: fetch_with_retry

// ANCHOR: attempt
/// One attempt: start the network, wait for its answer at most `timeout_ms`, stop the network.
fn fetch_once<'s>(
    shared: &Shared<'s>,
    index: usize,
    attempt: u32,
) -> Result<(AttemptOutcome, Option<&'s str>), RunError> {
    let source = &shared.scenario.sources[index];
    let latency = shared.opts.scaled(source.latency_ms);
    let timeout = shared.opts.scaled(shared.scenario.settings.timeout_ms);
    shared.trace.record(EventKind::AttemptStarted {
        source: index,
        attempt,
    });

    // Capacity 1: the network answers at most once and never waits for us to read it.
    let (answer_sender, answer) = mpsc::sync_channel(1);
    // A channel nothing can be sent on (`Infallible` has no values): dropping the sender is
    // the only message it carries, and it means "stop".
    let (cancel, cancelled) = mpsc::channel::<Infallible>();

    let received = thread::scope(|scope| {
        thread::Builder::new()
            .name(format!("network-{index}"))
            .spawn_scoped(scope, move || {
                network(source, attempt, latency, &cancelled, &answer_sender);
            })
            .map_err(|err| internal(format!("could not start a network thread: {err}")))?;
        // The race: the answer, or the timeout, whichever comes first.
        let received = answer.recv_timeout(timeout);
        // Ask the network thread to stop (it may already have), then let the scope join it.
        // Forget this `drop` and a hanging feed's thread would wait forever, and the scope
        // with it: the one line that makes this attempt cancellable.
        drop(cancel);
        Ok(received)
    })?;

    let (outcome, body) = match received {
        Ok(Response::Body(body)) => (AttemptOutcome::Answered, Some(body)),
        Ok(Response::Error) => (AttemptOutcome::Error, None),
        // The network never sends `Never`: a hanging feed simply does not answer.
        Ok(Response::Never) => unreachable!("the network does not send `Never`"),
        Err(RecvTimeoutError::Timeout) => (AttemptOutcome::Timeout, None),
        // The network thread hung up without answering, which it only does by panicking; the
        // scope above has already re-raised that panic on this thread, so this is not reached.
        Err(RecvTimeoutError::Disconnected) => unreachable!("the network thread panicked"),
    };
    shared.trace.record(EventKind::AttemptFinished {
        source: index,
        attempt,
        outcome,
    });
    Ok((outcome, body))
}
// ANCHOR_END: attempt

// ANCHOR: network
/// The simulated network, on its own thread: wait `latency`, then answer what the feed says,
/// unless the attempt is cancelled first.
fn network<'s>(
    source: &'s Source,
    attempt: u32,
    latency: Duration,
    cancelled: &Receiver<Infallible>,
    answer: &SyncSender<Response<'s>>,
) {
    // `recv_timeout` instead of `thread::sleep`: a sleep cannot be interrupted, this wait ends
    // early when the fetch thread drops the cancel sender.
    match cancelled.recv_timeout(latency) {
        Err(RecvTimeoutError::Timeout) => {} // the latency has passed: answer
        Err(RecvTimeoutError::Disconnected) => return, // cancelled: the attempt gave up on us
        Ok(never) => match never {},         // nothing can be sent on this channel
    }
    match source.respond(attempt) {
        // The fetch thread may have timed out in the meantime and dropped the receiver; the
        // answer is then lost, which is what a late answer is.
        response @ (Response::Body(_) | Response::Error) => {
            let _ = answer.send(response);
        }
        // A hanging feed never answers. Wait to be cancelled, which the timeout guarantees.
        Response::Never => {
            let _ = cancelled.recv();
        }
    }
}
// ANCHOR_END: network

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use rosetta_pipeline::scenario::Fault;
    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;
    use crate::cache::SingleFlightCache;

    /// Fetches every source of a small scenario and checks each outcome against what the
    /// specification says: answered, error after retries, timeout for hanging and slow feeds.
    #[test]
    fn attempts_race_the_timeout() {
        let mut scenario = Scenario::from_toml("name = \"t\"", "t.toml").unwrap();
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
                Some("Oslo;1.0\n"),
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
