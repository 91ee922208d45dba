//! A bounded channel, written here: [`Send`] and [`Recv`] futures over a
//! `VecDeque` and wakers.
//!
//! This is the hand-off between the enrichment tasks and the workers. Its bound
//! is the point: when a worker's queue holds `capacity` records, a [`Send`] is
//! `Pending` until the worker takes one out. That wait is *backpressure*:
//! producers slow down to the pace of the consumer instead of burying it in
//! records.
//!
//! Two lists of wakers make it work. The receiver leaves its waker when the
//! queue is empty, and every send wakes it. Senders blocked on a full queue
//! wait in line (`blocked`, in arrival order), and every receive wakes the
//! first of them: one free place, one sender woken. The place is then
//! *promised* to that sender: a new [`Send`] that arrives before the woken one
//! runs waits behind it instead of taking the place, so items arrive in the
//! order their senders did. The woken sender must then use the place or pass
//! the promise on to the next in line, which is why [`Send`] has a `Drop`.
//!
//! The channel closes when every [`Sender`] is gone: the receiver then gets
//! what is left in the queue, then `None`.
//!
//! `Rc<RefCell<..>>` inside: the whole pipeline runs on one thread. In
//! production you would use smol's channel crate or `tokio::sync::mpsc`, which
//! do the same across threads, without locks.
//!
//! Read next: [`crate::workers`], where the pipeline's tasks use this channel.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// The state shared by the two ends.
#[derive(Debug)]
struct Channel<T> {
    /// Items sent and not yet received, oldest first.
    queue: VecDeque<T>,
    /// Most items the queue may hold.
    capacity: usize,
    /// Live [`Sender`]s (a pending [`Send`] holds one). Zero means closed.
    senders: usize,
    /// False once the [`Receiver`] is dropped: sends then fail.
    receiver_alive: bool,
    /// The receiver's waker, when it waits on an empty queue.
    receiver: Option<Waker>,
    /// Senders waiting for room, by ticket: the lowest ticket is first in line.
    blocked: BTreeMap<u64, Waker>,
    /// Free places promised to senders that were taken out of `blocked` and
    /// woken, and have not sent yet. Nobody else may take them.
    promised: usize,
    /// The next ticket.
    next_ticket: u64,
}

// ANCHOR: channel
// ANCHOR: channel_ends
/// Creates a bounded channel holding at most `capacity` items (at least 1).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "a channel needs room for at least one item");
    let channel = Rc::new(RefCell::new(Channel {
        queue: VecDeque::with_capacity(capacity),
        capacity,
        senders: 1,
        receiver_alive: true,
        receiver: None,
        blocked: BTreeMap::new(),
        promised: 0,
        next_ticket: 0,
    }));
    let sender = Sender {
        channel: Rc::clone(&channel),
    };
    (sender, Receiver { channel })
}

/// The sending end. Clone it for more senders; the channel closes when the last
/// is dropped.
pub struct Sender<T> {
    channel: Rc<RefCell<Channel<T>>>,
}

/// The receiving end.
pub struct Receiver<T> {
    channel: Rc<RefCell<Channel<T>>>,
}

/// The error of a [`Send`] whose receiver is gone; it gives the item back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError<T>(pub T);
// ANCHOR_END: channel_ends

// ANCHOR: channel_send
impl<T> Sender<T> {
    /// A future that puts `item` into the queue, waiting while the queue is
    /// full.
    pub fn send(&self, item: T) -> Send<T> {
        Send {
            sender: self.clone(),
            item: Some(item),
            ticket: None,
        }
    }
}

/// Future for [`Sender::send`].
#[must_use = "futures do nothing unless you poll them"]
pub struct Send<T> {
    /// Keeps the channel open while the item is on its way.
    sender: Sender<T>,
    /// The item, until it is in the queue.
    item: Option<T>,
    /// Our place in line, once the queue has been full for us.
    ticket: Option<u64>,
}

// `Send` never pins its item (it only moves it into the queue), so `Send` may
// move even when `T` may not. Saying so is safe, and lets `poll` use plain
// `&mut self`.
impl<T> Unpin for Send<T> {}
// ANCHOR_END: channel_send

// ANCHOR: send_poll_check
impl<T> Future for Send<T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut channel = this.sender.channel.borrow_mut();
        let item = this.item.take().expect("Send polled after completion");
        if !channel.receiver_alive {
            return Poll::Ready(Err(SendError(item)));
        }
        let may_send = match this.ticket {
            // Never waited: the fast path, but only into a place nobody waits
            // or was woken for. (Checking only for room would let a newcomer
            // take the place a woken sender is on its way to, and jump the
            // line.)
            None => {
                channel.blocked.is_empty()
                    && channel.queue.len() + channel.promised < channel.capacity
            }
            // In line: our ticket left `blocked` when a receive woke us for a
            // free place.
            Some(ticket) => !channel.blocked.contains_key(&ticket),
        };
        // ANCHOR_END: send_poll_check
        // ANCHOR: send_poll_wait
        if !may_send {
            // Wait in line (keeping our ticket, and so our place, if we had
            // one).
            let ticket =
                *this.ticket.get_or_insert_with(|| channel.take_ticket());
            channel.blocked.insert(ticket, cx.waker().clone());
            this.item = Some(item);
            return Poll::Pending;
        }
        // In it goes, into the place promised to us if we were woken for one;
        // the receiver wakes.
        if this.ticket.take().is_some() {
            channel.promised -= 1;
        }
        channel.queue.push_back(item);
        let receiver = channel.receiver.take();
        // wake outside the borrow: the woken may look at the channel
        drop(channel);
        receiver.into_iter().for_each(Waker::wake);
        Poll::Ready(Ok(()))
    }
}
// ANCHOR_END: send_poll_wait

// ANCHOR: send_drop
impl<T> Drop for Send<T> {
    /// A `Send` dropped before it sent leaves the line. If it had been woken to
    /// use a free place (its ticket is no longer in the list), it passes the
    /// promise to the next in line, or that place would go unused while someone
    /// waits for it.
    fn drop(&mut self) {
        let (Some(ticket), Some(_)) = (self.ticket, &self.item) else {
            return;
        };
        let mut channel = self.sender.channel.borrow_mut();
        // Receiver gone: it emptied the line itself, and nothing is promised
        // any more.
        if channel.receiver_alive && channel.blocked.remove(&ticket).is_none() {
            channel.promised -= 1;
            let next = channel.wake_next_sender();
            drop(channel);
            next.into_iter().for_each(Waker::wake);
        }
    }
}
// ANCHOR_END: send_drop

// ANCHOR: poll_recv
impl<T> Receiver<T> {
    /// Polls for the next item: `Some(item)`, or `None` once every sender is
    /// gone and the queue is empty. (A future that owns the receiver calls this
    /// directly; it cannot also hold a [`Recv`] borrowing it. tokio's
    /// `Receiver::poll_recv` exists for the same reason.)
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut channel = self.channel.borrow_mut();
        if let Some(item) = channel.queue.pop_front() {
            // One place just freed up: wake the first sender in line.
            let next = channel.wake_next_sender();
            drop(channel);
            next.into_iter().for_each(Waker::wake);
            return Poll::Ready(Some(item));
        }
        if channel.senders == 0 {
            return Poll::Ready(None);
        }
        channel.receiver = Some(cx.waker().clone());
        Poll::Pending
    }

    /// A future resolving to the next item, or `None` once the channel is
    /// closed and empty.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }
}
// ANCHOR_END: poll_recv

/// Future for [`Receiver::recv`].
#[must_use = "futures do nothing unless you poll them"]
pub struct Recv<'r, T> {
    /// The receiver, borrowed for as long as we wait.
    receiver: &'r mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.receiver.poll_recv(cx)
    }
}
// ANCHOR_END: channel

impl<T> Channel<T> {
    fn take_ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    /// Takes the first blocked sender out of the line and promises it a free
    /// place; the caller wakes it (outside the borrow).
    fn wake_next_sender(&mut self) -> Option<Waker> {
        let (_, waker) = self.blocked.pop_first()?;
        self.promised += 1;
        Some(waker)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.channel.borrow_mut().senders += 1;
        Sender {
            channel: Rc::clone(&self.channel),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut channel = self.channel.borrow_mut();
        channel.senders -= 1;
        if channel.senders == 0 {
            // Closed: the receiver must hear about it, or it would wait
            // forever.
            let receiver = channel.receiver.take();
            drop(channel);
            receiver.into_iter().for_each(Waker::wake);
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut channel = self.channel.borrow_mut();
        channel.receiver_alive = false;
        // Blocked senders would wait forever for room; wake them to find out.
        let blocked = std::mem::take(&mut channel.blocked);
        drop(channel);
        blocked.into_values().for_each(Waker::wake);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channel = self.channel.borrow();
        f.debug_struct("Sender")
            .field("queued", &channel.queue.len())
            .field("capacity", &channel.capacity)
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channel = self.channel.borrow();
        f.debug_struct("Receiver")
            .field("queued", &channel.queue.len())
            .field("senders", &channel.senders)
            .finish()
    }
}

impl<T> fmt::Debug for Send<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("sent", &self.item.is_none())
            .field("ticket", &self.ticket)
            .finish()
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("receiver", &self.receiver)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::CountingWaker;

    fn poll<F: Future + Unpin>(
        future: &mut F,
        waker: &Waker,
    ) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_full_queue_makes_senders_wait_in_line() {
        let (sender, mut receiver) = channel(1);
        let (a_waker, a_wakes) = CountingWaker::new();
        let (b_waker, b_wakes) = CountingWaker::new();
        let (r_waker, _) = CountingWaker::new();

        // The first send fits; the next two wait, `a` first in line.
        assert_eq!(poll(&mut sender.send(1), &a_waker), Poll::Ready(Ok(())));
        let mut a = sender.send(2);
        let mut b = sender.send(3);
        assert!(poll(&mut a, &a_waker).is_pending());
        assert!(poll(&mut b, &b_waker).is_pending());
        assert!(
            poll(&mut a, &a_waker).is_pending(),
            "polled again: same place in line"
        );

        // One receive frees one place and wakes only the first in line.
        assert_eq!(poll(&mut receiver.recv(), &r_waker), Poll::Ready(Some(1)));
        assert_eq!((a_wakes.count(), b_wakes.count()), (1, 0));
        assert_eq!(poll(&mut a, &a_waker), Poll::Ready(Ok(())));
        assert!(poll(&mut b, &b_waker).is_pending(), "full again");

        assert_eq!(poll(&mut receiver.recv(), &r_waker), Poll::Ready(Some(2)));
        assert_eq!(b_wakes.count(), 1);
        assert_eq!(poll(&mut b, &b_waker), Poll::Ready(Ok(())));
        assert_eq!(poll(&mut receiver.recv(), &r_waker), Poll::Ready(Some(3)));
    }

    #[test]
    fn a_new_sender_does_not_jump_the_line() {
        let (sender, mut receiver) = channel(1);
        let (waker, _) = CountingWaker::new();
        let (a_waker, a_wakes) = CountingWaker::new();
        let (c_waker, c_wakes) = CountingWaker::new();
        assert_eq!(poll(&mut sender.send(1), &waker), Poll::Ready(Ok(())));
        let mut a = sender.send(2);
        assert!(
            poll(&mut a, &a_waker).is_pending(),
            "full: `a` waits in line"
        );

        // A receive frees the place and wakes `a`. Before `a` runs, a new send
        // arrives: the place is `a`'s, so the newcomer waits behind it.
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(Some(1)));
        assert_eq!(a_wakes.count(), 1);
        let mut c = sender.send(3);
        assert!(poll(&mut c, &c_waker).is_pending(), "the newcomer waits");
        assert_eq!(poll(&mut a, &a_waker), Poll::Ready(Ok(())));

        // Then the newcomer's turn comes: the items arrive in the order the
        // senders did.
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(Some(2)));
        assert_eq!(c_wakes.count(), 1);
        assert_eq!(poll(&mut c, &c_waker), Poll::Ready(Ok(())));
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(Some(3)));
    }

    #[test]
    fn a_newcomer_may_take_a_place_nobody_waits_for() {
        let (sender, mut receiver) = channel(2);
        let (waker, _) = CountingWaker::new();
        assert!(poll(&mut sender.send(1), &waker).is_ready());
        assert!(poll(&mut sender.send(2), &waker).is_ready());
        let mut a = sender.send(3);
        assert!(poll(&mut a, &waker).is_pending());
        // Two places free up: one is promised to `a`, the other is free for
        // anyone.
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(Some(1)));
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(Some(2)));
        assert!(
            poll(&mut sender.send(4), &waker).is_ready(),
            "the free place"
        );
        assert!(
            poll(&mut sender.send(5), &waker).is_pending(),
            "not `a`'s place"
        );
        assert_eq!(poll(&mut a, &waker), Poll::Ready(Ok(())));
    }

    #[test]
    fn the_receiver_is_woken_by_a_send_and_by_the_last_sender_leaving() {
        let (sender, mut receiver) = channel(4);
        let (r_waker, r_wakes) = CountingWaker::new();
        let mut recv = receiver.recv();
        assert!(poll(&mut recv, &r_waker).is_pending());
        assert_eq!(poll(&mut sender.send("x"), &r_waker), Poll::Ready(Ok(())));
        assert_eq!(r_wakes.count(), 1);
        assert_eq!(poll(&mut recv, &r_waker), Poll::Ready(Some("x")));

        let second = sender.clone();
        assert!(poll(&mut recv, &r_waker).is_pending());
        drop(sender);
        assert_eq!(r_wakes.count(), 1, "one sender is left: still open");
        drop(second);
        assert_eq!(r_wakes.count(), 2, "closed: the receiver hears about it");
        assert_eq!(poll(&mut recv, &r_waker), Poll::Ready(None));
    }

    #[test]
    fn a_pending_send_keeps_the_channel_open() {
        let (sender, mut receiver) = channel(1);
        let (waker, _) = CountingWaker::new();
        assert!(poll(&mut sender.send(1), &waker).is_ready());
        let mut late = sender.send(2);
        assert!(poll(&mut late, &waker).is_pending());
        drop(sender);
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(Some(1)));
        assert_eq!(poll(&mut late, &waker), Poll::Ready(Ok(())));
        drop(late);
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(Some(2)));
        assert_eq!(poll(&mut receiver.recv(), &waker), Poll::Ready(None));
    }

    #[test]
    fn a_woken_send_dropped_before_sending_passes_the_wake_up_on() {
        let (sender, mut receiver) = channel(1);
        let (waker, _) = CountingWaker::new();
        let (b_waker, b_wakes) = CountingWaker::new();
        assert!(poll(&mut sender.send(1), &waker).is_ready());
        let mut a = sender.send(2);
        let mut b = sender.send(3);
        assert!(poll(&mut a, &waker).is_pending());
        assert!(poll(&mut b, &b_waker).is_pending());
        assert!(poll(&mut receiver.recv(), &waker).is_ready()); // wakes `a`...
        drop(a); // ...which leaves without sending
        assert_eq!(b_wakes.count(), 1, "so `b` is woken instead");
        assert_eq!(poll(&mut b, &b_waker), Poll::Ready(Ok(())));
    }

    #[test]
    fn sending_to_a_dropped_receiver_fails_and_wakes_blocked_senders() {
        let (sender, receiver) = channel(1);
        let (waker, wakes) = CountingWaker::new();
        assert!(poll(&mut sender.send(1), &waker).is_ready());
        let mut blocked = sender.send(2);
        assert!(poll(&mut blocked, &waker).is_pending());
        drop(receiver);
        assert_eq!(wakes.count(), 1);
        assert_eq!(poll(&mut blocked, &waker), Poll::Ready(Err(SendError(2))));
    }
}
