//! Step 1, fetch: [`fetch_with_retry`], one source's attempts, each raced against its timeout.
//!
//! Read it next to `fetch_with_retry` in `rosetta_pipeline::reference`: the same loop, with
//! `.await` where the reference sleeps. The timeout is a race ([`with_timeout`], built on
//! `futures::future::select`) against the runtime's timer, so it is the same code on every
//! runtime. The loser is *dropped*: that is how async Rust cancels. The feed is a timer too,
//! and a race between two timers is decided by their deadlines ([`with_deadline`]), not by the
//! order in which a late poll finds them ready.
//!
//! Read next: [`crate::cache`], the single-flight cache the answered sources go through.

use std::future::Future;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use rosetta_pipeline::options::{later, until};
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::Response;
use rosetta_pipeline::trace::EventKind;

use crate::RunContext;
use crate::runtime::Runtime;

// ANCHOR: fetch_with_retry
/// Fetches source `index`: up to `retries + 1` attempts, each limited by the timeout. Returns
/// the summary and, if the last attempt answered, the body.
pub async fn fetch_with_retry<R: Runtime>(
    run: &RunContext<R>,
    index: usize,
) -> (FetchSummary, Option<&str>) {
    let settings = &run.scenario.settings;
    let source = &run.scenario.sources[index];
    let latency = run.opts.scaled(source.latency_ms);
    let timeout = run.opts.scaled(settings.timeout_ms);
    let mut attempt = 1;
    loop {
        run.trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        // Where the reference asks the model which comes first, this code races the feed
        // against a timer, and their deadlines decide. Both clocks start when the attempt
        // starts, now: two readings of the clock could be far apart on a busy machine.
        let started = Instant::now();
        let (answer_at, deadline) = (later(started, latency), later(started, timeout));
        let feed = call_feed(&run.runtime, answer_at, source.respond(attempt));
        let (outcome, body) = match with_deadline(&run.runtime, deadline, feed).await {
            Some(Ok(body)) => (AttemptOutcome::Answered, Some(body)),
            Some(Err(FeedError)) => (AttemptOutcome::Error, None),
            None => (AttemptOutcome::Timeout, None),
        };
        run.trace.record(EventKind::AttemptFinished {
            source: index,
            attempt,
            outcome,
        });
        if outcome == AttemptOutcome::Answered || attempt == settings.max_attempts() {
            return (FetchSummary::after(attempt, outcome), body);
        }
        attempt += 1;
    }
}

/// The feed answered with an error.
#[derive(Debug)]
struct FeedError;

/// The "network": a feed answers `response` at the instant `answer_at`, and says so. A hanging
/// feed never answers; this future then stays pending until whoever races it drops it.
async fn call_feed<'s, R: Runtime>(
    runtime: &R,
    answer_at: Instant,
    response: Response<'s>,
) -> Due<Result<&'s str, FeedError>> {
    runtime.sleep(until(answer_at)).await;
    let value = match response {
        Response::Body(body) => Ok(body),
        Response::Error => Err(FeedError),
        Response::Never => future::pending().await,
    };
    // It answered at `answer_at`, not at the later instant at which a poll found it had.
    Due {
        value,
        at: answer_at,
    }
}
// ANCHOR_END: fetch_with_retry

// ANCHOR: with_timeout
/// Runs `future` for at most `limit`: `Some(output)` if it completes first, `None` if the timer
/// fires first, "first" as a poll finds them.
///
/// Whichever loses is *dropped* when this function returns, and a dropped future is never
/// polled again: that is all cancellation is in async Rust. A hanging feed costs nothing after
/// its timeout, and no late answer can keep the run alive. (See [`crate::pitfalls`] for when
/// dropping a future halfway loses data.) Written on [`Runtime::sleep`], this works on every
/// runtime; `tokio::time::timeout` is the same thing, for tokio only.
///
/// A task polled late (a busy machine, a task that blocks its thread) can find both ready, and
/// `select` polls its first argument first, so then `future` wins. For a future that cannot say
/// when it completed, such as a channel's `recv`, that is the best there is, and it drops
/// nothing that has arrived. A future that waited on a timer can say when it was due, and then
/// the deadlines decide: [`with_deadline`].
pub async fn with_timeout<R: Runtime, F: Future>(
    runtime: &R,
    limit: Duration,
    future: F,
) -> Option<F::Output> {
    // `select` needs futures it can poll by `&mut`, which means pinned (`Unpin`) ones: `pin!`
    // pins them here, in this function's own state.
    let future = pin!(future);
    let timer = pin!(runtime.sleep(limit));
    match future::select(future, timer).await {
        Either::Left((output, _timer)) => Some(output),
        Either::Right(((), _unfinished)) => None,
    }
}

/// A value, and the instant it was due: for a future that waited on a timer, the instant that
/// timer was set to end, however late a poll found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due<T> {
    /// What the future produced.
    pub value: T,
    /// When it was due.
    pub at: Instant,
}

/// [`with_timeout`] with a deadline, for a future that waited on a timer and says when it was
/// due: `Some(value)` if it was due by `deadline`, `None` if not, or if it was not finished
/// when the timeout fired at `deadline`.
///
/// A race between two timers is decided by their *deadlines*, not by the order in which a late
/// poll finds them ready. A timer wheel fires due timers in deadline order, but `select` polls
/// in argument order: a task polled after both deadlines would otherwise take an answer that
/// came after its timeout for one that came in time, and a report would depend on the load of
/// the machine. When the feed answered decides, not when a poll got round to it.
pub async fn with_deadline<R: Runtime, T>(
    runtime: &R,
    deadline: Instant,
    future: impl Future<Output = Due<T>>,
) -> Option<T> {
    let Due { value, at } = with_timeout(runtime, until(deadline), future).await?;
    // It won the poll; it is in time only if it was also due first.
    (at <= deadline).then_some(value)
}
// ANCHOR_END: with_timeout

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;
    use crate::cache::SingleFlightCache;
    use crate::runtime::{AsyncStd, Smol, Tokio};

    /// A feed that answers after 60 ms, with a 20 ms timeout: a timeout, however late its
    /// task is polled.
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

    /// Fetches [`SLOWER_THAN_ITS_TIMEOUT`]'s feed on `R`, joined with a hog: a future that
    /// blocks the thread for 200 ms on its first poll (a busy machine, a task that blocks).
    /// When the attempt is polled again, both of its timers are long due, and `select` polls
    /// the feed first: the deadlines must decide, not that order.
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one<R: Runtime>() {
        let scenario = Scenario::from_toml(SLOWER_THAN_ITS_TIMEOUT, "test.toml").unwrap();
        let fetched = R::block_on(|runtime| async move {
            let run = RunContext {
                runtime,
                scenario: Arc::new(scenario),
                opts: RunOptions::with_time_scale(1.0),
                trace: Trace::new(),
                cache: SingleFlightCache::default(),
                queues: Vec::new(),
            };
            // `join` polls the attempt first (its timers start), then the hog. Both run in the
            // main future, on the thread that called `block_on`, on every runtime; the
            // runtime's timers are driven elsewhere meanwhile, or when the hog is done.
            let hog = async { std::thread::sleep(Duration::from_millis(200)) };
            let ((summary, body), ()) = future::join(fetch_with_retry(&run, 0), hog).await;
            (summary, body.map(str::to_string))
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
    fn a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one_on_async_std() {
        a_late_poll_does_not_turn_a_late_answer_into_an_on_time_one::<AsyncStd>();
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
            let timed_out = with_timeout(&runtime, ms, future::pending::<()>()).await;
            (answered, timed_out)
        })
        .unwrap();
        assert_eq!(answered, Some("answer"));
        assert_eq!(timed_out, None);
    }
}
