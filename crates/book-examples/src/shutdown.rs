//! Chapter 10.2: cancellation and graceful shutdown.
//!
//! Three pieces, each tested on tokio's paused clock:
//!
//! - [`batch_writer`]: a `select!` loop with a future that outlives the
//!   loop's turns (one write under way at a time, pinned once, raced as
//!   `&mut write`), a fused empty slot (`Fuse::terminated()`), a branch
//!   switched off by an `if` precondition, and `biased;` with the shutdown
//!   first.
//! - [`run_service`]: workers that stop on a `CancellationToken`, tracked by a
//!   `TaskTracker`, drained within a grace period, then told to give up.
//! - [`main_with_graceful_shutdown`]: what a program's `main` does with
//!   Ctrl-C. Compiled, never run by the tests (see its doc comment).
//!
//! The tests also pin what tokio documents about cancellation safety:
//! `read_exact` loses what it read when dropped, and a dropped `Mutex::lock`
//! loses its place in the queue. Read `select_loop.rs` (chapter 7) first: this
//! module builds on it.

use std::io;
use std::mem::take;
use std::pin::pin;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::{Fuse, FusedFuture as _};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

// ANCHOR: batch_writer
/// Writes the messages of `inbox` in batches of at most `max_batch`, one write
/// at a time (each takes `write_time`). Returns the batches in the order they
/// were written, once `inbox` is closed and empty or `shutdown` is cancelled.
pub async fn batch_writer(
    mut inbox: mpsc::Receiver<u32>,
    shutdown: CancellationToken,
    max_batch: usize,
    write_time: Duration,
) -> Vec<Vec<u32>> {
    let mut written = Vec::new();
    let mut buffer = Vec::new();
    // The write under way. Created once per batch, pinned here, outside the
    // loop, and raced as `&mut write` on every turn until it ends: losing a
    // turn drops the borrow, never the write. `Fuse::terminated()` is the
    // empty slot: a fused future that is never ready.
    let mut write = pin!(Fuse::terminated());
    loop {
        tokio::select! {
            biased; // Shutdown first, then a finished write, then messages.
            () = shutdown.cancelled() => break,
            // A `Fuse` that has finished is never polled again by `select!`.
            batch = &mut write => written.push(batch),
            // Switched off while the buffer is full: the sender waits.
            received = inbox.recv(), if buffer.len() < max_batch => {
                match received {
                    Some(message) => buffer.push(message),
                    None => break, // Closed and empty.
                }
            }
        }
        if write.is_terminated() && !buffer.is_empty() {
            let batch = take(&mut buffer);
            write.set(write_batch(batch, write_time).fuse());
        }
    }
    // ANCHOR_END: batch_writer
    // ANCHOR: batch_writer_drain
    // Shutting down: take no more messages, finish the write under way, then
    // write what is buffered.
    if !write.is_terminated() {
        written.push(write.await);
    }
    if !buffer.is_empty() {
        written.push(write_batch(buffer, write_time).await);
    }
    written
}

/// Writes one batch (here: waits `write_time`) and hands it back.
async fn write_batch(batch: Vec<u32>, write_time: Duration) -> Vec<u32> {
    sleep(write_time).await;
    batch
}
// ANCHOR_END: batch_writer_drain

/// A unit of work for [`run_service`]'s workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// Names the item in [`Drained`].
    pub id: u32,
    /// How long working on it takes.
    pub takes: Duration,
}

/// How a worker's item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Finished.
    Done(u32),
    /// Given up on, unfinished, when the grace period ran out.
    Abandoned(u32),
}

/// What [`run_service`] did with the items it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drained {
    /// Items finished, in the order they finished.
    pub done: Vec<u32>,
    /// Items under way when the grace period ran out.
    pub abandoned: Vec<u32>,
    /// Whether the grace period ran out (and the workers were told to give
    /// up).
    pub gave_up: bool,
}

// ANCHOR: worker
/// Takes items from `queue` until `stop_taking` is cancelled or the queue is
/// closed and empty; finishes each item it took, unless `give_up` is
/// cancelled first.
async fn worker(
    queue: async_channel::Receiver<Item>,
    stop_taking: CancellationToken,
    give_up: CancellationToken,
    report: mpsc::UnboundedSender<Ended>,
) {
    loop {
        let item = tokio::select! {
            biased;
            () = stop_taking.cancelled() => return,
            // Cancellation-safe: if the token wins, no item was taken.
            received = queue.recv() => match received {
                Ok(item) => item,
                Err(_closed) => return,
            },
        };
        // The item is ours: finish it, unless the grace period runs out.
        let ended = tokio::select! {
            biased;
            () = give_up.cancelled() => Ended::Abandoned(item.id),
            () = sleep(item.takes) => Ended::Done(item.id),
        };
        // An error means nobody is listening any more: nothing to do.
        report.send(ended).ok();
    }
}
// ANCHOR_END: worker

// ANCHOR: run_service
/// Runs `workers` workers over `queue` until it is closed and empty or
/// `shutdown` is cancelled. Then stops taking items, gives the items under
/// way `grace` to finish, gives up on the rest, and returns what happened.
pub async fn run_service(
    queue: async_channel::Receiver<Item>,
    workers: usize,
    shutdown: CancellationToken,
    grace: Duration,
) -> Drained {
    let give_up = CancellationToken::new();
    // A child is cancelled with its parent: giving up stops the taking too.
    let stop_taking = give_up.child_token();
    // Dropped (the caller stopped waiting for us), we cancel `give_up`, so
    // that no worker runs on with nobody to report to.
    let _give_up_when_dropped = give_up.clone().drop_guard();
    let tracker = TaskTracker::new();
    let (report, mut reports) = mpsc::unbounded_channel();
    for _ in 0..workers {
        let (queue, report) = (queue.clone(), report.clone());
        let (stop, give_up) = (stop_taking.clone(), give_up.clone());
        tracker.spawn(worker(queue, stop, give_up, report));
    }
    drop(report); // Only the workers report: `recv` ends when they have.
    tracker.close(); // No more tasks: `wait` returns once they have ended.
    // ANCHOR_END: run_service
    // ANCHOR: drain
    tokio::select! {
        () = shutdown.cancelled() => stop_taking.cancel(),
        () = tracker.wait() => {} // The queue was closed and emptied.
    }
    // The grace period: the items under way may finish.
    let gave_up = timeout(grace, tracker.wait()).await.is_err();
    if gave_up {
        give_up.cancel();
        tracker.wait().await; // Each worker ends at its next poll.
    }
    // Every worker has ended, so every report is in the channel: flush.
    let mut drained = Drained {
        gave_up,
        ..Drained::default()
    };
    while let Some(ended) = reports.recv().await {
        match ended {
            Ended::Done(id) => drained.done.push(id),
            Ended::Abandoned(id) => drained.abandoned.push(id),
        }
    }
    drained
}
// ANCHOR_END: drain

/// How long a program gives its work to finish after the first Ctrl-C.
pub const GRACE: Duration = Duration::from_secs(10);

// ANCHOR: ctrl_c
/// A program's `main`: runs [`run_service`] until Ctrl-C, then drains it for
/// up to [`GRACE`]; a second Ctrl-C during the drain stops at once.
///
/// Compiled, never run by the tests: the first `ctrl_c()` replaces SIGINT's
/// default action for the whole process, and a test would have to send SIGINT
/// to its own process, which kills every test of the binary if it arrives
/// before the handler is in place.
pub fn main_with_graceful_shutdown(
    queue: async_channel::Receiver<Item>,
) -> io::Result<Drained> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let service = run_service(queue, 4, shutdown.clone(), GRACE);
        let mut service = pin!(service);
        tokio::select! {
            drained = &mut service => return Ok(drained), // Queue closed.
            signal = tokio::signal::ctrl_c() => signal?,
        }
        eprintln!("shutting down (Ctrl-C again to stop at once)");
        shutdown.cancel();
        tokio::select! {
            drained = &mut service => Ok(drained),
            // Returning drops `service`: its drop guard makes workers give up.
            signal = tokio::signal::ctrl_c() => {
                signal?;
                Err(io::Error::other("interrupted during the shutdown"))
            }
        }
    })
}
// ANCHOR_END: ctrl_c

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::time::Instant;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    /// Sends `messages` into `sender`, one a second from 0 s, then drops it.
    async fn send_one_a_second(sender: mpsc::Sender<u32>, messages: &[u32]) {
        for (turn, &message) in messages.iter().enumerate() {
            if turn > 0 {
                sleep(SECOND).await;
            }
            sender.send(message).await.expect("the writer is running");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn messages_buffer_while_a_write_is_under_way() {
        // One message a second, a write takes 3.5 s: 1 is written alone
        // (0 s to 3.5 s), 2 to 4 wait for it, 5 to 7 for the next write.
        let (sender, inbox) = mpsc::channel(16);
        let token = CancellationToken::new();
        let writer = batch_writer(inbox, token, 8, SECOND * 7 / 2);
        let produce = send_one_a_second(sender, &[1, 2, 3, 4, 5, 6, 7]);
        let (written, ()) = tokio::join!(writer, produce);
        assert_eq!(written, [vec![1], vec![2, 3, 4], vec![5, 6, 7]]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_buffer_stops_the_taking() {
        // Five messages queued at once, batches of at most 2: the `if`
        // precondition leaves messages in the channel while the buffer is
        // full, so no batch is ever larger than 2.
        let (sender, inbox) = mpsc::channel(16);
        for message in 1..=5 {
            sender.try_send(message).expect("room");
        }
        drop(sender);
        let token = CancellationToken::new();
        let written = batch_writer(inbox, token, 2, 3 * SECOND).await;
        assert_eq!(written, [vec![1], vec![2, 3], vec![4, 5]]);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_finishes_the_write_and_flushes_the_buffer() {
        // The shutdown comes at 2.5 s, during the first write (of 1), with 2
        // and 3 buffered. The write under way finishes, the buffer is
        // written, and 4 (sent at 3 s) is never taken.
        let (sender, inbox) = mpsc::channel(16);
        let token = CancellationToken::new();
        let writer = batch_writer(inbox, token.clone(), 8, 3 * SECOND);
        let started = Instant::now();
        let produce = async {
            let produce = send_one_a_second(sender, &[1, 2, 3, 4]);
            let stop = async {
                sleep(SECOND * 5 / 2).await;
                token.cancel();
            };
            tokio::join!(produce, stop);
        };
        let (written, ()) = tokio::join!(writer, produce);
        assert_eq!(written, [vec![1], vec![2, 3]]);
        // 3 s for the write under way, 3 s for the flush; 4 is never taken.
        assert_eq!(started.elapsed(), 6 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_writer_takes_nothing_even_a_ready_message() {
        // The token is cancelled and three messages wait: both branches are
        // ready at the first turn. `biased;` looks at the token first, every
        // time (without it, the message wins about every other time).
        for _attempt in 0..40 {
            let (sender, inbox) = mpsc::channel(16);
            for message in 1..=3 {
                sender.try_send(message).expect("room");
            }
            let token = CancellationToken::new();
            token.cancel();
            let written = batch_writer(inbox, token, 8, SECOND).await;
            assert!(written.is_empty(), "took {written:?} after the cancel");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_future_created_in_the_loop_restarts_every_turn() {
        // The mistake `pin!` outside the loop avoids: a 3-second wait created
        // afresh in each turn, raced against a 1-second tick, never finishes.
        let mut ticks = 0;
        let mut finished = false;
        while ticks < 10 && !finished {
            tokio::select! {
                () = sleep(3 * SECOND) => finished = true,
                () = sleep(SECOND) => ticks += 1,
            }
        }
        assert!(!finished, "restarted every turn, it never reaches 3 s");
        // Created once and raced by `&mut`, the same wait ends in turn 3.
        let mut ticks = 0;
        let mut wait = pin!(sleep(3 * SECOND));
        loop {
            tokio::select! {
                biased;
                () = &mut wait => break,
                () = sleep(SECOND) => ticks += 1,
            }
        }
        assert_eq!(ticks, 2, "ticks at 1 s and 2 s, the wait ends at 3 s");
    }

    #[test]
    fn a_finished_async_block_panics_if_polled_again_a_fused_one_waits() {
        let mut plain = pin!(async { 7 });
        assert_eq!(plain.as_mut().now_or_never(), Some(7));
        let again =
            catch_unwind(AssertUnwindSafe(|| plain.as_mut().now_or_never()));
        assert!(again.is_err(), "polled after completion: a panic");

        let mut fused = pin!(async { 7 }.fuse());
        assert_eq!(fused.as_mut().now_or_never(), Some(7));
        assert!(fused.is_terminated());
        assert_eq!(fused.as_mut().now_or_never(), None, "pending for ever");
    }

    // ANCHOR: read_exact
    #[tokio::test(start_paused = true)]
    async fn read_exact_loses_what_it_read_when_dropped() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let mut frame = [0; 6];
        client.write_all(b"abc").await.expect("written");
        // The frame is six bytes, three have come: `read_exact` takes them
        // and waits for the rest; the timeout drops it at 1 s.
        let read = server.read_exact(&mut frame);
        assert!(timeout(SECOND, read).await.is_err(), "timed out");
        client.write_all(b"def").await.expect("written");
        let mut frame = [0; 6];
        let read = timeout(SECOND, server.read_exact(&mut frame)).await;
        assert!(read.is_err(), "only 3 bytes left: `abc` went with it");
    }
    // ANCHOR_END: read_exact

    #[tokio::test(start_paused = true)]
    async fn a_dropped_lock_loses_its_place_in_the_queue() {
        // `first` asks at 0 s, `second` at 1 s, while the test holds the
        // lock until 3 s. `first` gives up at 2 s (a timeout drops its
        // `lock()`) and asks again: it is now behind `second`.
        let order = Arc::new(tokio::sync::Mutex::new(Vec::new()));
        let held = order.clone().lock_owned().await;
        let first = async {
            let ask = order.lock();
            if let Ok(mut order) = timeout(2 * SECOND, ask).await {
                order.push("first, in its place");
                return;
            }
            order.lock().await.push("first");
        };
        let second = async {
            sleep(SECOND).await;
            order.lock().await.push("second");
        };
        let release = async {
            sleep(3 * SECOND).await;
            drop(held);
        };
        tokio::join!(first, second, release);
        assert_eq!(*order.lock().await, ["second", "first"]);
    }

    // ANCHOR: token_tree
    #[tokio::test]
    async fn a_child_is_cancelled_with_its_parent_not_the_reverse() {
        let program = CancellationToken::new();
        let service = program.child_token();
        let same_service = service.clone(); // A clone is the same token.
        service.cancel(); // The service stops itself...
        assert!(same_service.is_cancelled());
        assert!(!program.is_cancelled()); // ...and only itself.

        let other_service = program.child_token();
        program.cancel(); // The program stops: every child with it.
        assert!(other_service.is_cancelled());
        // `cancelled()` returns at once on a token already cancelled.
        other_service.cancelled().await;
    }
    // ANCHOR_END: token_tree

    #[test]
    fn a_drop_guard_cancels_when_dropped_unless_disarmed() {
        let token = CancellationToken::new();
        drop(token.clone().drop_guard());
        assert!(token.is_cancelled());

        let token = CancellationToken::new();
        let guard = token.clone().drop_guard();
        let _token_back = guard.disarm(); // Kept: no cancel on drop.
        assert!(!token.is_cancelled());
    }

    /// A queue of `items` (id, seconds), left open if `close` is false.
    fn queue_of(
        items: &[(u32, u64)],
        close: bool,
    ) -> (
        async_channel::Receiver<Item>,
        Option<async_channel::Sender<Item>>,
    ) {
        let (sender, queue) = async_channel::unbounded();
        for &(id, seconds) in items {
            let takes = Duration::from_secs(seconds);
            sender.try_send(Item { id, takes }).expect("unbounded");
        }
        (queue, (!close).then_some(sender))
    }

    /// Cancels `token` after `after`.
    async fn cancel_after(token: &CancellationToken, after: Duration) {
        sleep(after).await;
        token.cancel();
    }

    // ANCHOR: drain_test
    #[tokio::test(start_paused = true)]
    async fn a_shutdown_lets_the_items_under_way_finish() {
        // Two workers take 1 and 2 at 0 s; the shutdown comes at 2 s; both
        // finish at 5 s, within the grace period; 3 and 4 are never taken.
        let (queue, sender) =
            queue_of(&[(1, 5), (2, 5), (3, 5), (4, 5)], false);
        let shutdown = CancellationToken::new();
        let started = Instant::now();
        let service = run_service(queue, 2, shutdown.clone(), 10 * SECOND);
        let stop = cancel_after(&shutdown, 2 * SECOND);
        let (drained, ()) = tokio::join!(service, stop);
        let expected = Drained {
            done: vec![1, 2],
            abandoned: vec![],
            gave_up: false,
        };
        assert_eq!(drained, expected);
        assert_eq!(started.elapsed(), 5 * SECOND, "no need to wait longer");
        assert_eq!(sender.expect("kept").len(), 2, "3 and 4 still queued");
    }
    // ANCHOR_END: drain_test

    #[tokio::test(start_paused = true)]
    async fn the_grace_period_ends_in_giving_up() {
        // 2 takes 60 s: the shutdown at 1 s gives it until 11 s, then the
        // workers give up on it. 1 finished at 5 s.
        let (queue, _sender) = queue_of(&[(1, 5), (2, 60)], false);
        let shutdown = CancellationToken::new();
        let started = Instant::now();
        let service = run_service(queue, 2, shutdown.clone(), 10 * SECOND);
        let stop = cancel_after(&shutdown, SECOND);
        let (drained, ()) = tokio::join!(service, stop);
        let expected = Drained {
            done: vec![1],
            abandoned: vec![2],
            gave_up: true,
        };
        assert_eq!(drained, expected);
        assert_eq!(started.elapsed(), 11 * SECOND, "shutdown + grace");
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_queue_ends_the_service_without_a_shutdown() {
        let (queue, _closed) = queue_of(&[(1, 1), (2, 2), (3, 3)], true);
        let shutdown = CancellationToken::new(); // Never cancelled.
        let mut drained = run_service(queue, 2, shutdown, SECOND).await;
        drained.done.sort_unstable();
        assert_eq!(drained.done, [1, 2, 3]);
        assert!(drained.abandoned.is_empty() && !drained.gave_up);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_service_makes_its_workers_give_up() {
        // The caller stops waiting at 3 s (the timeout drops the service's
        // future). Its drop guard cancels `give_up`: the two workers end,
        // although one was in the middle of a 60-second item.
        let (queue, sender) = queue_of(&[(1, 60)], false);
        let sender = sender.expect("kept");
        let shutdown = CancellationToken::new();
        let service = run_service(queue, 2, shutdown, 10 * SECOND);
        assert!(timeout(3 * SECOND, service).await.is_err());
        sleep(SECOND).await; // Let the workers see the cancellation.
        assert_eq!(sender.receiver_count(), 0, "every worker has ended");
    }
}
