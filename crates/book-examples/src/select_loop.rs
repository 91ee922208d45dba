//! Chapter 7: a task that waits for several things at once: `tokio::select!` in
//! a loop.
//!
//! [`serve`] is the shape of most long-lived tasks in async Rust (a connection
//! handler, a worker, a cache's janitor): a loop whose every turn waits for
//! whichever comes first:
//!
//! - a **shutdown signal**, a `tokio::sync::oneshot` receiver;
//! - a **message**, from a `tokio::sync::mpsc` receiver (`None` once every
//!   sender is dropped and the queue is empty: the other way the loop ends);
//! - a **tick** of a `tokio::time::interval`, for periodic housekeeping.
//!
//! `select!` polls the three, runs the branch of the first one ready, and
//! *drops the other futures*. That is cancellation (chapter 13, `pitfalls.md`,
//! pitfall 4, and exercise 31), so only cancellation-safe futures are raced
//! here, and the work on a message is done in the branch's body, after the race
//! is won.
//!
//! [`ticks_around_a_stall`] shows what `MissedTickBehavior` does when the ticks
//! cannot keep up. The tests run on tokio's paused clock (`start_paused =
//! true`): time moves only when every task is waiting, straight to the next
//! timer, so a test of ten-second ticks takes no wall-clock time and its times
//! are exact.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior, interval};

/// One thing [`serve`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A message was handled.
    Handled(u32),
    /// The interval ticked and housekeeping ran, this many whole seconds after
    /// the start.
    Tick {
        /// Whole seconds since [`serve`] started (logical time in the tests).
        second: u64,
    },
}

/// Why [`serve`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The shutdown signal came (or its sender was dropped: nobody is left to
    /// send it).
    ShutdownRequested,
    /// Every sender was dropped and every message sent was handled.
    InboxClosed,
}

/// What [`serve`] did, in order, and why it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// Everything the loop did, in the order it did it.
    pub events: Vec<Event>,
    /// Why the loop ended.
    pub stopped: Stopped,
}

// ANCHOR: select_loop
// ANCHOR: select_loop_setup
/// Handles messages from `inbox` (each takes `handling`), runs housekeeping
/// every `every`, and stops when `shutdown` fires or every sender of `inbox` is
/// gone.
pub async fn serve(
    mut inbox: mpsc::Receiver<u32>,
    mut shutdown: oneshot::Receiver<()>,
    every: Duration,
    handling: Duration,
) -> Served {
    let started = Instant::now();
    let mut events = Vec::new();
    // The first tick completes at once; the next ones every `every` after the
    // start.
    let mut ticker = interval(every);
    // A late tick (we were busy) fires once; the next comes a full `every`
    // after it.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // ANCHOR_END: select_loop_setup
    // ANCHOR: select_loop_body
    let stopped = loop {
        tokio::select! {
            // Poll the branches in the order written (without it: a random
            // order).
            biased;
            // `&mut shutdown`: the branch borrows the receiver, so losing a
            // race drops only the borrow, and the next turn waits on the same
            // receiver.
            _ = &mut shutdown => break Stopped::ShutdownRequested,
            // `recv()` is cancellation-safe: until it returns a message, it
            // takes none.
            received = inbox.recv() => match received {
                Some(message) => {
                    // The work is done here, in the body, after the race: never
                    // raced.
                    tokio::time::sleep(handling).await;
                    events.push(Event::Handled(message));
                }
                // Every sender dropped, queue empty.
                None => break Stopped::InboxClosed,
            },
            // `tick()` is cancellation-safe too: a tick not taken stays due.
            _ = ticker.tick() => {
                let second = started.elapsed().as_secs();
                events.push(Event::Tick { second });
            }
        }
    };
    Served { events, stopped }
}
// ANCHOR_END: select_loop_body
// ANCHOR_END: select_loop

// ANCHOR: missed_ticks
/// Ticks every 10 s, stalls for 25 s after the first tick (missing the ticks
/// due at 10 s and 20 s), then takes four more ticks; returns the second of
/// each of the five.
pub async fn ticks_around_a_stall(behavior: MissedTickBehavior) -> Vec<u64> {
    let started = Instant::now();
    let mut ticker = interval(Duration::from_secs(10));
    ticker.set_missed_tick_behavior(behavior);
    let mut seconds = Vec::new();
    for turn in 0..5 {
        ticker.tick().await;
        seconds.push(started.elapsed().as_secs());
        if turn == 0 {
            // Busy elsewhere.
            tokio::time::sleep(Duration::from_secs(25)).await;
        }
    }
    seconds
}
// ANCHOR_END: missed_ticks

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: Duration = Duration::from_secs(10);
    const HANDLING: Duration = Duration::from_secs(1);

    /// Sends `messages` into a fresh queue of `capacity` before the loop
    /// starts, and drops the sender if `close` is true. Returns the receiver
    /// and the sender if kept.
    fn prefilled(
        capacity: usize,
        messages: &[u32],
        close: bool,
    ) -> (mpsc::Receiver<u32>, Option<mpsc::Sender<u32>>) {
        let (sender, receiver) = mpsc::channel(capacity);
        for &message in messages {
            sender.try_send(message).expect("the queue has room");
        }
        (receiver, (!close).then_some(sender))
    }

    fn handled(served: &Served) -> Vec<u32> {
        let messages = served.events.iter().filter_map(|event| match event {
            Event::Handled(message) => Some(*message),
            Event::Tick { .. } => None,
        });
        messages.collect()
    }

    // ANCHOR: paused_test
    // Paused time: the clock stands still while a task runs and jumps to the
    // next timer when every task waits, so every time below is exact and no
    // test waits in real time.
    #[tokio::test(start_paused = true)]
    async fn an_idle_loop_ticks_at_once_then_every_period() {
        // A sender stays alive and sends nothing: only ticks until the shutdown
        // at 35 s.
        let (inbox, _sender) = prefilled(4, &[], false);
        let (stop, shutdown) = oneshot::channel();
        let stop_later = async move {
            tokio::time::sleep(Duration::from_secs(35)).await;
            stop.send(()).expect("the loop is waiting for it");
        };
        let run = serve(inbox, shutdown, EVERY, HANDLING);
        let (served, ()) = tokio::join!(run, stop_later);
        let ticks = [0, 10, 20, 30].map(|second| Event::Tick { second });
        assert_eq!(served.events, ticks, "the first tick is immediate");
        assert_eq!(served.stopped, Stopped::ShutdownRequested);
    }
    // ANCHOR_END: paused_test

    #[tokio::test(start_paused = true)]
    async fn messages_are_handled_in_the_order_they_were_sent() {
        // A queue of 2 between a producer of 10 messages and the loop: the
        // producer waits on a full queue (backpressure) while the loop handles,
        // one second a message.
        let (sender, inbox) = mpsc::channel(2);
        let (_stop, shutdown) = oneshot::channel();
        let produce = async move {
            for message in 1..=10 {
                sender.send(message).await.expect("the loop is running");
            }
            // `sender` is dropped here: `recv()` returns `None` once the queue
            // is empty.
        };
        let run = serve(inbox, shutdown, EVERY, HANDLING);
        let (served, ()) = tokio::join!(run, produce);
        assert_eq!(handled(&served), (1..=10).collect::<Vec<_>>());
        assert_eq!(served.stopped, Stopped::InboxClosed);
    }

    #[tokio::test(start_paused = true)]
    async fn the_loop_ends_when_the_last_sender_is_dropped() {
        // One sender sends 1 and is dropped before the loop starts; its clone
        // sends 2 at 15 s and is dropped then. The loop waits for the clone,
        // then ends on its own.
        let (inbox, first_sender) = prefilled(4, &[1], false);
        let first_sender = first_sender.expect("kept");
        let second_sender = first_sender.clone();
        drop(first_sender);
        // Kept alive: not why the loop stops.
        let (_stop, shutdown) = oneshot::channel();
        let send_later = async move {
            tokio::time::sleep(Duration::from_secs(15)).await;
            second_sender.send(2).await.expect("the loop is running");
        };
        let run = serve(inbox, shutdown, EVERY, HANDLING);
        let (served, ()) = tokio::join!(run, send_later);
        let expected = [
            // 0 s to 1 s: the message beats the first tick (`biased`).
            Event::Handled(1),
            // Due at 0 s, late; with `Delay`, next at 11 s.
            Event::Tick { second: 1 },
            Event::Tick { second: 11 },
            // Sent at 15 s, handled by 16 s; then `None`: closed.
            Event::Handled(2),
        ];
        assert_eq!(served.events, expected);
        assert_eq!(served.stopped, Stopped::InboxClosed);
    }

    #[tokio::test(start_paused = true)]
    async fn biased_checks_shutdown_first_then_messages_then_ticks() {
        // Everything is ready at the first turn: a shutdown, three messages,
        // the first tick. The shutdown branch is written first, so it wins, and
        // nothing else runs.
        let (inbox, _sender) = prefilled(4, &[1, 2, 3], false);
        let (stop, shutdown) = oneshot::channel();
        stop.send(()).expect("the receiver is alive");
        let served = serve(inbox, shutdown, EVERY, HANDLING).await;
        assert_eq!(served.events, []);
        assert_eq!(served.stopped, Stopped::ShutdownRequested);

        // Without a shutdown, messages beat ticks: the tick due at 0 s waits
        // behind all three (ready messages can starve a later branch: the price
        // of `biased`).
        let (inbox, _closed) = prefilled(4, &[1, 2, 3], true);
        let (_stop, shutdown) = oneshot::channel();
        let served = serve(inbox, shutdown, EVERY, HANDLING).await;
        assert_eq!(served.events, [1, 2, 3].map(Event::Handled));
        assert_eq!(served.stopped, Stopped::InboxClosed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_shutdown_sender_also_stops_the_loop() {
        let (inbox, _sender) = prefilled(4, &[], false);
        let (stop, shutdown) = oneshot::channel::<()>();
        drop(stop);
        let served = serve(inbox, shutdown, EVERY, HANDLING).await;
        assert_eq!(served.stopped, Stopped::ShutdownRequested);
    }

    #[tokio::test(start_paused = true)]
    async fn missed_ticks_burst_delay_or_skip() {
        // Ticks due at 10 s and 20 s are missed during the stall; each
        // behaviour catches up differently once the stall ends at 25 s.
        let burst = ticks_around_a_stall(MissedTickBehavior::Burst).await;
        assert_eq!(
            burst,
            [0, 25, 25, 30, 40],
            "both missed ticks at once, then on time"
        );
        let delay = ticks_around_a_stall(MissedTickBehavior::Delay).await;
        assert_eq!(
            delay,
            [0, 25, 35, 45, 55],
            "one late tick, the period counts from it"
        );
        let skip = ticks_around_a_stall(MissedTickBehavior::Skip).await;
        assert_eq!(
            skip,
            [0, 25, 30, 40, 50],
            "one late tick, then back on the grid"
        );
    }
}
