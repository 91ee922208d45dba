//! Chapter 7: the state machine of chapter 6, written for you by the compiler.
//!
//! `rosetta-state-machines` writes fetch-with-retry by hand: a struct, an `enum
//! FetchState` (`Start`, `Waiting { attempt, answer }`, `Done`) and a `poll`
//! that moves between the states. [`fetch_with_retry`] below is the same fetch
//! as an `async fn`, built on the *same* leaf futures (`feed_answer`,
//! `timeout`, the reactor's `Sleep`) and run by the *same* hand-written
//! executor. Only the middle layer changes hands: the compiler turns the loop
//! into a state machine whose states are the function's suspension points, and
//! whose fields are the local variables alive across them.
//!
//! [`future_sizes`] sets the two futures' sizes side by side; the test checks
//! that both fetch every source of `classroom` the same way.

use std::borrow::Cow;

use rosetta_pipeline::run::{AttemptOutcome, FetchSummary, RunOptions};
use rosetta_pipeline::scenario::{Fault, Settings, Source};
use rosetta_pipeline::trace::{EventKind, Trace};
use rosetta_state_machines::fetch::{FeedError, Fetched, feed_answer};
use rosetta_state_machines::reactor::Reactor;
use rosetta_state_machines::timeout::{Elapsed, timeout};

// ANCHOR: async_fetch
/// Fetches source number `index`: up to `settings.max_attempts()` attempts,
/// each raced against the timeout. The same arguments and the same result as
/// the hand-written `rosetta_state_machines::fetch::fetch_with_retry`.
pub async fn fetch_with_retry<'a>(
    index: usize,
    source: &'a Source,
    settings: &Settings,
    opts: &RunOptions,
    reactor: &Reactor,
    trace: &'a Trace,
) -> Fetched<'a> {
    let max_attempts = settings.max_attempts();
    let (latency, limit) = (
        opts.scaled(source.latency_ms),
        opts.scaled(settings.timeout_ms),
    );
    let mut attempt = 1;
    loop {
        trace.record(EventKind::AttemptStarted {
            source: index,
            attempt,
        });
        let answer = feed_answer(reactor, source, attempt, latency);
        // The one suspension point: the hand-written `FetchState::Waiting`.
        let (outcome, body) = match timeout(reactor, limit, answer).await {
            Ok(Ok(body)) => {
                (AttemptOutcome::Answered, Some(Cow::Borrowed(body)))
            }
            Ok(Err(FeedError)) => (AttemptOutcome::Error, None),
            Err(Elapsed) => (AttemptOutcome::Timeout, None),
        };
        trace.record(EventKind::AttemptFinished {
            source: index,
            attempt,
            outcome,
        });
        if outcome == AttemptOutcome::Answered || attempt == max_attempts {
            let summary = FetchSummary::after(attempt, outcome);
            return Fetched { summary, body };
        }
        attempt += 1;
    }
}
// ANCHOR_END: async_fetch

// ANCHOR: future_sizes
/// The size in bytes of the hand-written fetch future and of the compiler's,
/// and of the leaf future both of them hold while an attempt is in flight.
pub fn future_sizes() -> Vec<(&'static str, usize)> {
    use rosetta_state_machines::fetch::{FeedAnswer, FetchWithRetry};
    use rosetta_state_machines::timeout::Timeout;

    // The compiler's future has a type with no name; a function that returns it
    // lets `size_of_val` measure it without polling it (futures are lazy:
    // creating one runs nothing).
    fn generated_size() -> usize {
        let source = Source {
            name: String::new(),
            latency_ms: 0,
            fault: Fault::None,
            body: String::new(),
        };
        let settings = Settings::default();
        let (opts, reactor, trace) =
            (RunOptions::default(), Reactor::new(), Trace::new());
        let future =
            fetch_with_retry(0, &source, &settings, &opts, &reactor, &trace);
        size_of_val(&future)
    }

    vec![
        (
            "Timeout<FeedAnswer> (held while waiting)",
            size_of::<Timeout<FeedAnswer<'static>>>(),
        ),
        (
            "FetchWithRetry, written by hand",
            size_of::<FetchWithRetry<'static>>(),
        ),
        ("fetch_with_retry, async fn", generated_size()),
    ]
}
// ANCHOR_END: future_sizes

#[cfg(test)]
mod tests {
    use rosetta_pipeline::Scenario;
    use rosetta_state_machines::executor::Executor;
    use rosetta_state_machines::fetch;

    use super::*;

    /// Fetches every source of `scenario` one after the other, with `how`, on a
    /// fresh executor.
    fn fetch_all(scenario: &Scenario, hand_written: bool) -> Vec<FetchSummary> {
        // Answers at least ~50 ms of real time from their timeouts: a busy
        // machine cannot flip one.
        let opts = RunOptions::with_time_scale(0.25);
        let trace = Trace::new();
        let executor = Executor::new();
        let reactor = executor.reactor().clone();
        let settings = &scenario.settings;
        let mut summaries = Vec::new();
        for (index, source) in scenario.sources.iter().enumerate() {
            let fetched = if hand_written {
                let future = fetch::fetch_with_retry(
                    index, source, settings, &opts, &reactor, &trace,
                );
                executor.block_on(future)
            } else {
                let future = fetch_with_retry(
                    index, source, settings, &opts, &reactor, &trace,
                );
                executor.block_on(future)
            };
            assert_eq!(
                fetched.body.is_some(),
                fetched.summary.failure.is_none()
            );
            summaries.push(fetched.summary);
        }
        summaries
    }

    #[test]
    fn the_async_fn_fetches_like_the_hand_written_state_machine() {
        let scenario = Scenario::builtin("classroom").unwrap();
        let by_hand = fetch_all(&scenario, true);
        assert_eq!(fetch_all(&scenario, false), by_hand);
        // And both agree with the specification.
        let expected: Vec<_> = scenario
            .sources
            .iter()
            .map(|source| {
                let (_, answered) = rosetta_pipeline::model::fetch_ms(
                    source,
                    &scenario.settings,
                );
                answered
            })
            .collect();
        let got: Vec<_> = by_hand.iter().map(|s| s.failure.is_none()).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn both_futures_hold_the_attempt_in_flight() {
        let sizes = future_sizes();
        for (name, size) in &sizes {
            println!("{name:<44} {size:>4} bytes");
        }
        let held = sizes[0].1;
        assert!(sizes[1].1 > held, "the hand-written future holds a Timeout");
        assert!(sizes[2].1 > held, "so does the compiler's");
    }
}
