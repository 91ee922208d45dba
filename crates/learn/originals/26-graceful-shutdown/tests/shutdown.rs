//! Tests of exercise 26: `serve` runs jobs at most `limit` at a time, and on a cancellation
//! starts nothing more, lets what runs finish within the grace period, aborts the rest, and
//! returns with nothing left running.
//!
//! Every test runs on tokio's paused clock (`start_paused = true`): time stands still while a
//! task runs and jumps to the next timer when all wait, so the times below are exact and no
//! test waits in real time. Every call to `serve` is bounded (an hour of that clock), so a
//! `serve` that never returns fails its test instead of hanging it.

use std::fmt::Debug;
use std::time::Duration;

use graceful_shutdown::{CancellationToken, Job, Probe, Summary, serve};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

/// Where to read about this exercise.
const REREAD: &str = "chapter 10.2, Cancellation and graceful shutdown (book/src/shutdown.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const SECOND: Duration = Duration::from_secs(1);

/// A channel holding `jobs` (id, seconds of work): the sender is returned, so the channel stays
/// open unless the caller drops it.
fn queue(jobs: &[(u32, u64)], probe: &Probe) -> (mpsc::Sender<Job>, mpsc::Receiver<Job>) {
    let (sender, receiver) = mpsc::channel(64);
    for &(id, seconds) in jobs {
        let job = Job::new(id, Duration::from_secs(seconds), probe);
        sender.try_send(job).expect("the channel has room");
    }
    (sender, receiver)
}

/// Runs `serve`, failing the test if it has not returned after an hour (of the paused clock).
/// Returns its summary and when it returned, in seconds after the start.
async fn bounded(
    jobs: mpsc::Receiver<Job>,
    token: CancellationToken,
    grace: Duration,
    limit: usize,
) -> (Summary, u64) {
    let started = Instant::now();
    match timeout(Duration::from_secs(3600), serve(jobs, token, grace, limit)).await {
        Ok(summary) => (summary, started.elapsed().as_secs()),
        Err(_) => panic!(
            "`serve` had not returned an hour after it started: does it stop taking jobs when the \
             token is cancelled (its senders may live on), and give up on the jobs still running \
             when the grace period ends?\n    reread: {REREAD}"
        ),
    }
}

/// Cancels `token` after `after`.
async fn cancel_after(token: &CancellationToken, after: Duration) {
    sleep(after).await;
    token.cancel();
}

/// Jobs of 10, 2, 2, 2 and 10 s, two at a time, with no shutdown: 1 and 2 start at 0 s, 3
/// when 2 ends (2 s), 4 at 4 s, 5 at 6 s; 5 ends at 16 s. Catches a sequential loop (no
/// concurrency: 26 s), a limit ignored (peak 5), and batches (start two, wait for both: 22 s).
#[tokio::test(start_paused = true)]
async fn jobs_run_at_most_limit_at_a_time_each_as_soon_as_a_slot_frees() {
    let probe = Probe::new();
    let (sender, jobs) = queue(&[(1, 10), (2, 2), (3, 2), (4, 2), (5, 10)], &probe);
    drop(sender); // Closed: `serve` returns when every job is done.
    let (summary, returned_at) = bounded(jobs, CancellationToken::new(), SECOND, 2).await;
    check(
        "the summary of five jobs run to their end",
        summary,
        Summary {
            completed: 5,
            aborted: 0,
            never_started: 0,
        },
    );
    check("the most jobs running at once (the limit)", probe.peak(), 2);
    check(
        "jobs started, in order",
        probe.started(),
        vec![1, 2, 3, 4, 5],
    );
    check(
        "the second at which `serve` returned (each job starts as soon as a slot is free)",
        returned_at,
        16,
    );
}

/// The token is cancelled before `serve` starts, with jobs waiting and the channel open: the
/// cancellation and a job are both ready at the first turn, and the cancellation must win.
/// Catches a `select!` without `biased;` (it picks a ready branch at random, so a job starts
/// about every other time; the test tries 40 times) and a loop that takes a job before it looks
/// at the token.
#[tokio::test(start_paused = true)]
async fn a_cancelled_serve_starts_nothing_not_even_a_job_already_waiting() {
    for _attempt in 0..40 {
        let probe = Probe::new();
        let (_sender, jobs) = queue(&[(1, 5), (2, 5), (3, 5)], &probe);
        let token = CancellationToken::new();
        token.cancel();
        let (summary, returned_at) = bounded(jobs, token, 10 * SECOND, 2).await;
        check(
            "jobs started after the cancellation",
            probe.started(),
            vec![],
        );
        check(
            "the summary: three jobs never started",
            summary,
            Summary {
                completed: 0,
                aborted: 0,
                never_started: 3,
            },
        );
        check(
            "the second at which `serve` returned (nothing to wait for)",
            returned_at,
            0,
        );
    }
}

/// One job at a time: 1 runs (10 s), 2 to 4 wait in the open channel; the cancellation comes
/// at 2 s. 1 finishes at 10 s, within the grace period (20 s), and `serve` returns then, not at
/// the end of the grace period; 2 to 4 never start. Catches a `serve` that waits for the
/// channel to close (it never does here), one that aborts everything at once (no drain), one
/// that sleeps out the whole grace period, and one that starts queued jobs after the cancel.
#[tokio::test(start_paused = true)]
async fn after_a_cancel_the_running_job_finishes_and_the_queued_ones_never_start() {
    let probe = Probe::new();
    let (_sender, jobs) = queue(&[(1, 10), (2, 10), (3, 10), (4, 10)], &probe);
    let token = CancellationToken::new();
    let run = bounded(jobs, token.clone(), 20 * SECOND, 1);
    let ((summary, returned_at), ()) = tokio::join!(run, cancel_after(&token, 2 * SECOND));
    check(
        "the summary",
        summary,
        Summary {
            completed: 1,
            aborted: 0,
            never_started: 3,
        },
    );
    check("jobs started", probe.started(), vec![1]);
    check(
        "jobs finished (1 fits in the grace period)",
        probe.finished(),
        vec![1],
    );
    check(
        "the second at which `serve` returned (when job 1 ended)",
        returned_at,
        10,
    );
}

/// Two jobs at once: 1 needs 8 s, 2 needs 100 s; the cancellation comes at 1 s with a grace
/// period of 10 s. 1 finishes at 8 s; 2 is aborted at 11 s, and is not running when `serve`
/// returns, nor later. Catches no drain (1 aborted), no deadline (`serve` returns at 100 s),
/// and a `serve` that aborts its tasks without waiting for them to be gone, or that leaves
/// them running (detached) after it returns.
#[tokio::test(start_paused = true)]
async fn the_grace_period_ends_in_aborting_what_still_runs_and_nothing_runs_after() {
    let probe = Probe::new();
    let (_sender, jobs) = queue(&[(1, 8), (2, 100)], &probe);
    let token = CancellationToken::new();
    let run = bounded(jobs, token.clone(), 10 * SECOND, 2);
    let ((summary, returned_at), ()) = tokio::join!(run, cancel_after(&token, SECOND));
    // Read at once, before anything else can run: what runs now outlives `serve`.
    check(
        "jobs still running when `serve` returned (abort the tasks, then wait until they are \
         gone)",
        probe.running(),
        0,
    );
    check(
        "the summary",
        summary,
        Summary {
            completed: 1,
            aborted: 1,
            never_started: 0,
        },
    );
    check("jobs finished", probe.finished(), vec![1]);
    check(
        "jobs dropped unfinished (aborted)",
        probe.abandoned(),
        vec![2],
    );
    check(
        "the second at which `serve` returned (1 s + the grace period)",
        returned_at,
        11,
    );
    sleep(200 * SECOND).await;
    check(
        "jobs finished, 200 s later (a job left running would have)",
        probe.finished(),
        vec![1],
    );
}

/// A job that never ends, and a cancellation at 1 s with a grace period of 5 s: only the
/// deadline ends it. Catches a drain without a deadline (which waits for ever: the bound fails
/// the test).
#[tokio::test(start_paused = true)]
async fn an_endless_job_is_aborted_when_the_grace_period_ends() {
    let probe = Probe::new();
    let (sender, jobs) = mpsc::channel(4);
    sender
        .try_send(Job::endless(1, &probe))
        .expect("the channel has room");
    let token = CancellationToken::new();
    let run = bounded(jobs, token.clone(), 5 * SECOND, 4);
    let ((summary, returned_at), ()) = tokio::join!(run, cancel_after(&token, SECOND));
    check(
        "jobs still running when `serve` returned",
        probe.running(),
        0,
    );
    check(
        "the summary",
        summary,
        Summary {
            completed: 0,
            aborted: 1,
            never_started: 0,
        },
    );
    check(
        "the second at which `serve` returned (1 s + the grace period)",
        returned_at,
        6,
    );
}

/// Jobs that finished before the cancellation count as completed, and an idle `serve` returns
/// at once when cancelled. Catches a summary that only counts what ends during the drain.
#[tokio::test(start_paused = true)]
async fn jobs_done_before_the_cancel_count_and_an_idle_serve_returns_at_once() {
    let probe = Probe::new();
    let (_sender, jobs) = queue(&[(1, 1), (2, 2), (3, 3)], &probe);
    let token = CancellationToken::new();
    let run = bounded(jobs, token.clone(), 10 * SECOND, 3);
    let ((summary, returned_at), ()) = tokio::join!(run, cancel_after(&token, 5 * SECOND));
    check(
        "the summary",
        summary,
        Summary {
            completed: 3,
            aborted: 0,
            never_started: 0,
        },
    );
    check(
        "the second at which `serve` returned (the cancellation's)",
        returned_at,
        5,
    );
}
