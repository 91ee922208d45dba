//! Step 1, fetch: [`FeedAnswer`] (the "network") and [`FetchWithRetry`] (the client).
//!
//! `FetchWithRetry` is the state machine the book shows first: an `enum` whose variants are the
//! states a fetch goes through, and a `poll` that moves between them. Each variant holds exactly
//! what that state needs (the attempt in flight holds its timers; a finished fetch holds
//! nothing), which is also what a compiler-generated future does with the variables that are
//! alive at each suspension point.
//!
//! Read next: [`crate::executor::join`], which runs many of these at once.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use rosetta_pipeline::run::{AttemptOutcome, FetchSummary, RunOptions};
use rosetta_pipeline::scenario::{Response, Settings, Source};
use rosetta_pipeline::trace::{EventKind, Trace};

use crate::executor::reactor::{Reactor, Sleep, sleep};
use crate::executor::timeout::{Due, Elapsed, Timeout, timeout};

/// The error a feed answers with (the scenario's `first` and `always` faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedError;

/// What the feed says on attempt `attempt`, once its latency has passed. Stands in for a real
/// HTTP request: in production this would be a future from an HTTP client.
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

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(Pin::new(&mut self.latency).poll(cx));
        match self.source.respond(self.attempt) {
            Response::Body(body) => Poll::Ready(Ok(body)),
            Response::Error => Poll::Ready(Err(FeedError)),
            // A hanging feed: pending, and no waker is left anywhere, so nothing will ever wake
            // us. That is exactly what a server that never answers looks like to a client; only
            // a timeout around this future can end the wait.
            Response::Never => Poll::Pending,
        }
    }
}

/// The feed answers when its latency has passed: the instant [`Timeout`] compares with its
/// deadline. (A hanging feed is never ready, so its instant never decides anything.)
impl Due for FeedAnswer<'_> {
    fn due_at(&self) -> Instant {
        self.latency.deadline()
    }
}

/// What fetching one source came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetched<'a> {
    /// Attempts made and whether the source failed.
    pub summary: FetchSummary,
    /// The body, if the last attempt answered.
    pub body: Option<&'a str>,
}

// ANCHOR: fetch_with_retry
/// Fetches source number `index`: up to `settings.max_attempts()` attempts, each raced against
/// the timeout, each failure followed at once by the next attempt.
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
        reactor: reactor.clone(),
        trace,
        state: FetchState::Start,
    }
}

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
    /// For the timers of each attempt.
    reactor: Reactor,
    /// Where attempts are recorded.
    trace: &'a Trace,
    /// Where the fetch is.
    state: FetchState<'a>,
}

/// The states of a [`FetchWithRetry`].
#[derive(Debug)]
enum FetchState<'a> {
    /// Created, never polled: no attempt has started. (Futures are lazy: creating one must not
    /// start the clock, or a source queued behind the concurrency limit would time out waiting.)
    Start,
    /// Attempt `attempt` is in flight: the feed's answer raced against the deadline.
    Waiting {
        /// From 1.
        attempt: u32,
        /// The feed's answer, with the attempt's deadline.
        answer: Timeout<FeedAnswer<'a>>,
    },
    /// The fetch has returned its result; there is nothing left to do.
    Done,
}

impl<'a> Future for FetchWithRetry<'a> {
    type Output = Fetched<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fetched<'a>> {
        loop {
            match &mut self.state {
                // Start -> Waiting { attempt: 1 }.
                FetchState::Start => self.start_attempt(1),
                FetchState::Waiting { attempt, answer } => {
                    let attempt = *attempt;
                    // Pending until the answer or the deadline; both timers have our waker.
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
                    if outcome.0 == AttemptOutcome::Answered || attempt == self.max_attempts {
                        // Waiting -> Done. Overwriting the state drops the attempt's `Timeout`,
                        // and with it whichever timer has not fired: the loser is cancelled.
                        self.state = FetchState::Done;
                        let summary = FetchSummary::after(attempt, outcome.0);
                        return Poll::Ready(Fetched {
                            summary,
                            body: outcome.1,
                        });
                    }
                    // Waiting { attempt } -> Waiting { attempt + 1 }: retry at once, same slot.
                    self.start_attempt(attempt + 1);
                }
                FetchState::Done => panic!("FetchWithRetry polled after it completed"),
            }
        }
    }
}

impl FetchWithRetry<'_> {
    /// Starts attempt `attempt`: records it and starts its two timers.
    fn start_attempt(&mut self, attempt: u32) {
        self.trace.record(EventKind::AttemptStarted {
            source: self.index,
            attempt,
        });
        let answer = feed_answer(&self.reactor, self.source, attempt, self.latency);
        self.state = FetchState::Waiting {
            attempt,
            answer: timeout(&self.reactor, self.timeout, answer),
        };
    }
}
// ANCHOR_END: fetch_with_retry

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
        let mut answer = feed_answer(&reactor, &source, 1, Duration::from_millis(100));
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
        let mut fetch = fetch_with_retry(3, &source, &settings, &opts, &reactor, &trace);
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

        // The answer comes (an error): Waiting { 1 } -> Waiting { 2 }. The first deadline is
        // cancelled, the second attempt's two timers are registered.
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
            body: Some("Oslo;1.0"),
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
        let mut fetch = fetch_with_retry(0, &source, &settings, &opts, &reactor, &trace);
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
        // Both of attempt 2's timers pass: the fetch fails with a timeout after 2 attempts.
        reactor.fire_due(later(450));
        let Poll::Ready(fetched) = Pin::new(&mut fetch).poll(&mut cx) else {
            panic!("the second deadline ends the fetch");
        };
        assert_eq!(fetched.summary.attempts, 2);
        assert_eq!(fetched.summary.failure, Some(FailReason::Timeout));
        assert_eq!(fetched.body, None);
    }

    /// A feed slower than the timeout (latency 1 s, timeout 400 ms), with a single attempt.
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
        // Polled again only once both of the attempt's timers have fired (at 2 s, a busy
        // executor): the answer was due after the deadline, so the attempt is a timeout.
        let (reactor, trace) = (Reactor::new(), Trace::new());
        let (source, settings) = too_slow();
        let opts = RunOptions::default();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut fetch = fetch_with_retry(0, &source, &settings, &opts, &reactor, &trace);
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
    fn a_blocked_executor_thread_does_not_turn_a_late_answer_into_an_on_time_one() {
        // The same on the real executor and clock, with latency 60 ms and timeout 20 ms. The
        // fetch is spawned first, so it is polled first and starts its timers; then a task
        // blocks the thread for 200 ms (a hog among thousands of tasks). When the executor
        // fires the timers, both are long due, and the fetch is polled once to decide.
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
        let mut fetch = fetch_with_retry(0, &source, &settings, &opts, &reactor, &trace);
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
}
