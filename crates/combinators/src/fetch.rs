//! Step 1, fetch: one attempt as a race between two timers, and retries as recursion.
//!
//! An attempt is two `Delay`s started at the same moment: the feed's latency (after which the
//! feed answers, fails, or keeps silent) and the timeout. [`future::select`] races them and hands
//! back the loser, which we drop on the spot: dropping a future is how Rust cancels it, so the
//! losing timer is deregistered and a late answer can never arrive.
//!
//! # A late poll: the deadlines decide
//!
//! `select` polls its first argument first. On a busy machine (thousands of attempts on two
//! cores, or a future that blocks the thread) the attempt can be polled so late that *both*
//! timers are due at that poll, and the feed would then win even when its latency is longer than
//! the timeout. So a race between two timers is decided by their *deadlines*, not by the order in
//! which a late poll finds them ready. Both clocks start when the attempt starts: the feed's
//! `Delay` ends at `started + latency`, and its future yields that instant with the answer; the
//! timeout's ends at its deadline, `started + timeout`. When the feed wins the poll but was due
//! after the deadline, the attempt is a timeout. When the feed answered decides, not when a
//! poll got round to it: the threads style stamps its answers with `started + latency` for the
//! same reason, and the event loop of `rosetta-callbacks`, when it is late, fires overdue timers
//! in deadline order.
//!
//! Retrying is the classic futures 0.1 `loop_fn` shape: a function that returns a boxed future
//! which, when the attempt fails, calls the same function again for the next attempt. The box is
//! needed because the type of a future that contains itself would be infinitely large.
//!
//! Read next: [`crate::cache`], where the records of an answered source get their regions.

use std::time::{Duration, Instant};

use futures::future::{self, Either, FutureExt, LocalBoxFuture};
use futures_timer::Delay;
use rosetta_pipeline::options::{later, until};
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Response, Settings, Source};
use rosetta_pipeline::trace::{EventKind, Trace};

/// What fetching one source came to: the summary for the report and, if the source answered,
/// its body (borrowed from the scenario: nothing is copied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetched<'a> {
    /// Attempts made and whether the source failed.
    pub summary: FetchSummary,
    /// The body, if the last attempt answered.
    pub body: Option<&'a str>,
}

/// The waits of one attempt, already scaled to real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptTimes {
    /// How long the feed takes to answer (or to fail).
    pub latency: Duration,
    /// How long the client waits before abandoning the attempt.
    pub timeout: Duration,
}

// ANCHOR: fetch_with_retry
/// Fetches source number `index`: up to `settings.max_attempts()` attempts, each raced against
/// its timeout, the next one starting at once when one fails.
///
/// Nothing happens until the returned future is polled: `buffer_unordered` in [`crate::run`]
/// decides when, which is how "at most `concurrency` in flight" is enforced.
pub fn fetch_with_retry<'a>(
    index: usize,
    source: &'a Source,
    settings: &'a Settings,
    times: AttemptTimes,
    trace: &'a Trace,
) -> LocalBoxFuture<'a, Fetched<'a>> {
    attempts_from(1, index, source, settings, times, trace)
}

/// Attempt number `attempt`, then, if it failed and attempts are left, the rest of them.
fn attempts_from<'a>(
    attempt: u32,
    index: usize,
    source: &'a Source,
    settings: &'a Settings,
    times: AttemptTimes,
    trace: &'a Trace,
) -> LocalBoxFuture<'a, Fetched<'a>> {
    // `self::attempt` is the function below; plain `attempt` is the number, which shadows it.
    self::attempt(attempt, index, source, times, trace)
        .then(move |(outcome, body)| {
            if outcome == AttemptOutcome::Answered || attempt == settings.max_attempts() {
                // Done: the equivalent of `return Promise.resolve(value)` inside a `.then`.
                let summary = FetchSummary::after(attempt, outcome);
                future::ready(Fetched { summary, body }).left_future()
            } else {
                // Failed with attempts left: chain the next attempt, like returning a new
                // promise from `.then`. `left_future`/`right_future` wrap the two branches in
                // `Either`, because a closure must return one type.
                attempts_from(attempt + 1, index, source, settings, times, trace).right_future()
            }
        })
        // The recursion above makes the type refer to itself; boxing gives it a fixed size.
        .boxed_local()
}
// ANCHOR_END: fetch_with_retry

// ANCHOR: attempt
/// One attempt: the feed's answer raced against the timeout. Resolves to the outcome and, if
/// the feed answered in time, the body.
pub fn attempt<'a>(
    attempt: u32,
    index: usize,
    source: &'a Source,
    times: AttemptTimes,
    trace: &'a Trace,
) -> impl Future<Output = (AttemptOutcome, Option<&'a str>)> + 'a {
    // `lazy` defers the body to the first poll. That matters here: a `Delay` starts counting
    // when it is *created*, so creating both timers eagerly (when the future is built) would
    // start the clock before the attempt is allowed to run.
    future::lazy(move |_| {
        trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        // Both clocks start when the attempt starts, now (two readings of the clock could be
        // far apart on a busy machine), and each `Delay` waits until its own deadline.
        let started = Instant::now();
        let answer_due = later(started, times.latency);
        let deadline = later(started, times.timeout);
        let answer = Delay::new(until(answer_due))
            .then(move |()| match source.respond(attempt) {
                Response::Body(body) => {
                    future::ready((AttemptOutcome::Answered, Some(body))).left_future()
                }
                Response::Error => future::ready((AttemptOutcome::Error, None)).left_future(),
                // A hanging feed: a future that never completes. Only the timeout can win.
                Response::Never => future::pending().right_future(),
            })
            // The answer carries the instant it was due, however late a poll finds it.
            .map(move |answer| (answer_due, answer));
        let timeout = Delay::new(until(deadline));
        // `select` is `Promise.race`, except that it returns the loser too, still pending.
        future::select(answer, timeout).map(move |race| match race {
            // The feed won the poll and was due by the deadline: it answered in time.
            Either::Left(((due, answer), _timeout)) if due <= deadline => answer,
            // The timeout won the poll; or the feed did, but was due after the deadline: a
            // late poll found both timers due, and `select` polls the feed first. The
            // deadlines decide, not the order of the poll.
            Either::Left(_) | Either::Right(_) => (AttemptOutcome::Timeout, None),
        })
        // Either way the loser is dropped here, with `race`: that drop is the cancellation,
        // and the losing `Delay` is deregistered.
    })
    .flatten()
    // `inspect` sees the output without changing it: the place for a side effect on the way.
    .inspect(move |(outcome, _)| {
        trace.record(EventKind::AttemptFinished {
            source: index,
            attempt,
            outcome: *outcome,
        });
    })
}
// ANCHOR_END: attempt

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use rosetta_pipeline::run::FailReason;
    use rosetta_pipeline::scenario::Fault;

    fn source(fault: Fault, latency_ms: u64) -> Source {
        Source {
            name: "feed".into(),
            latency_ms,
            fault,
            body: "Oslo;1.0\n".into(),
        }
    }

    /// Runs `fetch_with_retry` with real timers (milliseconds) and three attempts at most.
    /// Returns the summary and the body, if any.
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
        let fetched = block_on(fetch_with_retry(0, source, &settings, times, trace));
        (fetched.summary, fetched.body.map(str::to_string))
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
        // The answer would come after 10 s; the timeout (20 ms) wins, and dropping the loser
        // means the test does not wait those 10 s.
        let (summary, _) = fetch(&source(Fault::None, 10_000), 10_000, 20, &trace);
        assert_eq!(summary.failure, Some(FailReason::Timeout));
        let finished = trace
            .events()
            .into_iter()
            .filter(|event| matches!(event.kind, EventKind::AttemptFinished { .. }))
            .count();
        assert_eq!(finished, 3, "every attempt is recorded as finished");
    }

    /// One attempt, joined with a hog: a future that blocks the thread for 200 ms on its first
    /// poll (a busy machine, a task that blocks among thousands). When `block_on` polls the
    /// race again, both timers are long due, and `select` polls the feed first.
    fn fetch_polled_late(latency_ms: u64, timeout_ms: u64) -> (FetchSummary, Option<String>) {
        let (source, trace) = (source(Fault::None, latency_ms), Trace::new());
        let settings = Settings {
            retries: 0,
            ..Settings::default()
        };
        let times = AttemptTimes {
            latency: Duration::from_millis(latency_ms),
            timeout: Duration::from_millis(timeout_ms),
        };
        let attempt = fetch_with_retry(0, &source, &settings, times, &trace);
        // `join` polls the attempt first (its timers start), then the hog.
        let hog = future::lazy(|_| std::thread::sleep(Duration::from_millis(200)));
        let (fetched, ()) = block_on(future::join(attempt, hog));
        (fetched.summary, fetched.body.map(str::to_string))
    }

    #[test]
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one() {
        // The feed answers after 60 ms, the timeout falls after 20: a timeout, though the late
        // poll finds the feed first. The deadlines decide.
        let timed_out = FetchSummary::after(1, AttemptOutcome::Timeout);
        assert_eq!(fetch_polled_late(60, 20), (timed_out, None));
    }

    #[test]
    fn a_late_poll_does_not_turn_an_on_time_answer_into_a_late_one() {
        // The feed answers after 5 ms, the timeout falls after 60: answered, though the late
        // poll finds both timers due.
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
        let fetch = fetch_with_retry(0, &source, &settings, times, &trace);
        assert!(trace.events().is_empty(), "futures are lazy");
        drop(fetch);
        assert!(trace.events().is_empty());
    }
}
