//! Fetching one source with callbacks: two timers race, and retries become recursion.
//!
//! An attempt sets two timers. The *answer* timer stands for the network: after `latency_ms`
//! it asks [`Source::respond`] what the feed says. The *timeout* timer fires after
//! `timeout_ms`. Whichever fires first clears the other with `clear_timeout` and calls the
//! attempt's continuation; the loser never runs. Clearing matters twice over: a late answer
//! must not be delivered after the timeout, and a pending timer keeps the event loop alive, so
//! a too-slow feed's answer timer, due long after its timeout, would otherwise hold the whole
//! run open until it fired, for nothing. (A hanging feed's answer timer never decides anything:
//! when it fires, it finds [`Response::Never`] and returns, and the timeout ends the attempt.)
//!
//! Continuations are Node-style *error-first*: a callback gets a `Result`, and must look at the
//! error before it may use the value. Rust makes the check impossible to skip, which Node's
//! `(err, body)` convention cannot.
//!
//! The module shows fetch-with-retry twice, side by side: nested, the way it first comes to
//! mind ("callback hell"), and flattened into a named recursive function. A test checks that
//! both give the same result.
//!
//! Read next: `cache.rs`, where callbacks wait for someone else's lookup.
//!
//! [`Source::respond`]: rosetta_pipeline::scenario::Source::respond

use std::cell::RefCell;
use std::rc::Rc;

use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::scenario::{Response, Source};
use rosetta_pipeline::trace::EventKind;

use crate::Pipeline;
use crate::event_loop::TimerId;

/// Why an attempt failed: the `err` of a Node-style `(err, body)` callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptError {
    /// The feed answered with an error.
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

/// What an attempt's two timers share.
struct Race<F> {
    /// The attempt's continuation. The timer that fires first takes it; a `FnOnce` shared by
    /// two closures has to live in an `Option` that one of them empties.
    done: Option<F>,
    /// The answer timer, which the timeout clears if it wins.
    answer: Option<TimerId>,
    /// The timeout timer, which the answer clears if it wins.
    timeout: Option<TimerId>,
}

// ANCHOR: attempt
/// One attempt at source `index`: calls `done` with the body, or with why there is none.
pub fn attempt<'a, F>(pipeline: &Rc<Pipeline<'a>>, index: usize, number: u32, done: F)
where
    F: FnOnce(Result<&'a str, AttemptError>) + 'a,
{
    // The scenario outlives the loop, so the body is lent to `done`, not copied.
    let source: &'a Source = &pipeline.scenario.sources[index];
    pipeline.trace.record(EventKind::AttemptStarted {
        source: index,
        attempt: number,
    });
    let race = Rc::new(RefCell::new(Race {
        done: Some(done),
        answer: None,
        timeout: None,
    }));

    // The network: after the latency, the feed answers (or, if it hangs, stays silent).
    let answer = pipeline
        .event_loop
        .set_timeout(pipeline.opts.scaled(source.latency_ms), {
            let (pipeline, race) = (Rc::clone(pipeline), Rc::clone(&race));
            move || {
                let result = match source.respond(number) {
                    Response::Body(body) => Ok(body),
                    Response::Error => Err(AttemptError::Error),
                    // Silence: the timeout timer will end this attempt.
                    Response::Never => return,
                };
                finish(&pipeline, index, number, &race, result);
            }
        });
    // The timeout.
    let timeout_ms = pipeline.scenario.settings.timeout_ms;
    let timeout = pipeline
        .event_loop
        .set_timeout(pipeline.opts.scaled(timeout_ms), {
            let (pipeline, race) = (Rc::clone(pipeline), Rc::clone(&race));
            move || finish(&pipeline, index, number, &race, Err(AttemptError::Timeout))
        });
    let mut race = race.borrow_mut();
    race.answer = Some(answer);
    race.timeout = Some(timeout);
}

/// The winner of the race: clear the loser's timer, record the outcome, continue.
fn finish<'a, F>(
    pipeline: &Pipeline<'a>,
    index: usize,
    number: u32,
    race: &RefCell<Race<F>>,
    result: Result<&'a str, AttemptError>,
) where
    F: FnOnce(Result<&'a str, AttemptError>),
{
    let (done, timers) = {
        let mut race = race.borrow_mut();
        let done = race.done.take();
        (done, [race.answer, race.timeout])
    };
    let done = done.expect("the winner clears the loser's timer, so only one of them runs");
    // Clearing the winner's own timer too is harmless: it has fired, so it is already gone.
    for timer in timers.into_iter().flatten() {
        pipeline.event_loop.clear_timeout(timer);
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
// ANCHOR_END: attempt

// ANCHOR: fetch_nested
/// Fetch-with-retry as it first comes to mind: the retry written inside the first attempt's
/// callback. Each further attempt is one more level of nesting, so this is written out for at
/// most two attempts (`retries` 0 or 1); five retries would be six levels deep. That is
/// "callback hell": the shape of the code follows the order of events in time, and a loop
/// cannot be written at all.
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "shown in the book beside the flat form; tested to agree"
    )
)]
pub(crate) fn fetch_with_retry_nested<'a, F>(pipeline: &Rc<Pipeline<'a>>, index: usize, done: F)
where
    F: FnOnce(FetchSummary, Option<&'a str>) + 'a,
{
    let max_attempts = pipeline.scenario.settings.max_attempts();
    assert!(
        max_attempts <= 2,
        "the nested form is written out for two attempts at most"
    );
    let shared = Rc::clone(pipeline);
    attempt(pipeline, index, 1, move |first| match first {
        Ok(body) => done(FetchSummary::after(1, AttemptOutcome::Answered), Some(body)),
        Err(error) if max_attempts == 1 => done(FetchSummary::after(1, error.outcome()), None),
        Err(_) => attempt(&shared, index, 2, move |second| match second {
            Ok(body) => done(FetchSummary::after(2, AttemptOutcome::Answered), Some(body)),
            Err(error) => done(FetchSummary::after(2, error.outcome()), None),
        }),
    });
}
// ANCHOR_END: fetch_nested

// ANCHOR: fetch_with_retry
/// Fetches source `index`, retrying a failed attempt at once, up to `retries` more times, then
/// calls `done` with the summary and, if the feed answered, its body. The reference's
/// `fetch_with_retry` returns that pair; here it is passed to the continuation instead.
pub fn fetch_with_retry<'a, F>(pipeline: &Rc<Pipeline<'a>>, index: usize, done: F)
where
    F: FnOnce(FetchSummary, Option<&'a str>) + 'a,
{
    fetch_from_attempt(pipeline, index, 1, done);
}

/// The loop of the reference, flattened: attempt `number`, and if it fails and attempts are
/// left, the same function again, one attempt further. The nesting is gone because the retry
/// is a *named* function calling itself, not a closure written inside a closure. (Not a deep
/// recursion either: each call returns as soon as its timers are set; the next one starts
/// from a timer callback, on a fresh stack.)
fn fetch_from_attempt<'a, F>(pipeline: &Rc<Pipeline<'a>>, index: usize, number: u32, done: F)
where
    F: FnOnce(FetchSummary, Option<&'a str>) + 'a,
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
    /// A fetch-with-retry's continuation, boxed so that both forms take the same type.
    type Done<'a> = Box<dyn FnOnce(FetchSummary, Option<&'a str>) + 'a>;

    /// Fetches every source of `scenario` at once with `form`, on one event loop.
    fn fetch_all(
        scenario: &Scenario,
        time_scale: f64,
        form: for<'a> fn(&Rc<Pipeline<'a>>, usize, Done<'a>),
    ) -> Fetched {
        let (opts, trace) = (RunOptions::with_time_scale(time_scale), Trace::new());
        let pipeline = Rc::new(Pipeline::new(scenario, &opts, &trace));
        let fetched: Rc<RefCell<Fetched>> =
            Rc::new(RefCell::new(vec![None; scenario.sources.len()]));
        for index in 0..scenario.sources.len() {
            let fetched = Rc::clone(&fetched);
            form(
                &pipeline,
                index,
                Box::new(move |summary, body: Option<&str>| {
                    fetched.borrow_mut()[index] = Some((summary, body.map(str::to_string)));
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
                if outcome == AttemptOutcome::Answered || number == settings.max_attempts() {
                    let body = (outcome == AttemptOutcome::Answered).then(|| source.body.clone());
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
        // A feed that answers after an hour, with a 10 ms timeout: the timeout wins and clears
        // the answer timer, so the loop runs out of work at once instead of an hour later. The
        // fetch runs on a thread of its own, so that this test fails instead of hanging.
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

    #[test]
    fn flat_fetch_with_retry_takes_any_number_of_retries() {
        // `faults` has two retries: three attempts, beyond what the nested form is written for.
        let scenario = Scenario::builtin("faults").unwrap();
        let flat = fetch_all(&scenario, 0.5, |p, index, done| {
            fetch_with_retry(p, index, done);
        });
        assert_eq!(flat, expected(&scenario));
    }
}
