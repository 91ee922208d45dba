//! Chapter 10: what a bounded queue does to a producer that is faster than its
//! consumer.
//!
//! [`producer_and_consumer`] runs a producer and a consumer on one thread,
//! joined (so the order of events is deterministic), over an
//! `async_channel::bounded` queue. The producer sends as fast as it can; the
//! consumer takes one message per turn. The log shows the producer running
//! ahead by exactly the queue's capacity, then waiting in `send` until the
//! consumer has made room: that wait is *backpressure*. With an unbounded queue
//! the producer never waits and the queue grows without limit, which is how a
//! fast source exhausts the memory of a slow sink.
//!
//! The pipeline's worker queues are such bounded queues (`channel_capacity` in
//! a scenario).

use std::cell::RefCell;

use futures::executor::block_on;
use futures::future::join;

use crate::poll_by_hand::YieldNow;

// ANCHOR: backpressure
/// Sends `messages` numbered messages through a queue of `capacity` (`None`:
/// unbounded) to a consumer that takes one per turn; returns what happened, in
/// order.
pub fn producer_and_consumer(
    capacity: Option<usize>,
    messages: u32,
) -> Vec<String> {
    let log = RefCell::new(Vec::new());
    let (sender, receiver) = match capacity {
        Some(capacity) => async_channel::bounded(capacity),
        None => async_channel::unbounded(),
    };
    let producer = async {
        for message in 1..=messages {
            // Waits while the queue is full: the producer is held to the
            // consumer's pace.
            sender
                .send(message)
                .await
                .expect("the consumer outlives the producer");
            log.borrow_mut().push(format!("sent {message}"));
        }
        // No more messages: the consumer's loop ends once the queue is empty.
        sender.close();
    };
    let consumer = async {
        while let Ok(message) = receiver.recv().await {
            log.borrow_mut().push(format!("    received {message}"));
            YieldNow::default().await; // One message per turn: a slow consumer.
        }
    };
    block_on(join(producer, consumer));
    log.into_inner()
}
// ANCHOR_END: backpressure

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_queue_holds_the_producer_back() {
        let log = producer_and_consumer(Some(2), 5);
        println!("{}", log.join("\n"));
        // The producer runs two ahead (the capacity), then alternates with the
        // consumer.
        assert_eq!(
            log,
            [
                "sent 1",
                "sent 2",
                "    received 1",
                "sent 3",
                "    received 2",
                "sent 4",
                "    received 3",
                "sent 5",
                "    received 4",
                "    received 5",
            ]
        );
    }

    #[test]
    fn an_unbounded_queue_lets_the_producer_run_away() {
        let log = producer_and_consumer(None, 5);
        let first_receive =
            log.iter().position(|line| line.contains("received"));
        assert_eq!(
            first_receive,
            Some(5),
            "all five sent before the first is taken"
        );
    }
}
