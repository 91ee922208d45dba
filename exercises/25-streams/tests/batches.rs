//! Tests of exercise 25. [`Batches`] is polled by hand, over a [`Script`]ed inner stream that
//! the test feeds item by item, with a waker that counts its wakes; [`answers_in_batches`] runs
//! on tokio's paused clock, where time moves only when every task waits, so the instant of
//! every batch is exact.
//!
//! Shortcuts these tests catch:
//!
//! - taking every item of the inner stream before making any batch (collect, then chunk): a
//!   full batch would wait for the inner stream's end
//!   (`a_full_batch_comes_out_as_soon_as_it_is_full`);
//! - returning `Pending` after taking an item into a batch that is not full, without polling
//!   the inner stream again: nobody holds the waker, and the next item wakes nothing
//!   (`pending_only_while_the_inner_stream_is_pending`);
//! - waking its own waker before `Pending` (a busy loop) (same test);
//! - an empty batch at the end (`no_empty_batch_at_the_end`, `an_empty_stream_yields_no_batch`);
//! - polling the inner stream after its `None` (every test: [`Script`] panics);
//! - in [`answers_in_batches`]: fetching one feed after another (`then`), waiting for all the
//!   answers before batching (`join_all`), keeping the feeds' order (`buffered`), or at most
//!   `size` fetches in flight (`buffer_unordered(size)`): each puts a batch at another instant
//!   or in another order.

use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use futures::stream::{self, Stream, StreamExt};
use streams::{Batches, Feed, answers_in_batches, batches};
use tokio::time::{Instant, timeout};

/// Where to read about this exercise.
const REREAD: &str = "chapter 10.1, Streams (book/src/streams.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// An inner stream the test feeds: the items sent on its channel, `Pending` while the channel
/// is empty (with the poller's waker left with the channel), `None` once the sender is dropped.
/// It panics if polled after its `None`, and after 1,000 polls (a `poll_next` that loops on
/// `Pending` would otherwise never return).
struct Script {
    items: UnboundedReceiver<u32>,
    ended: bool,
    polls: u32,
}

impl Stream for Script {
    type Item = u32;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u32>> {
        assert!(
            !self.ended,
            "the inner stream was polled after it returned `None`: a stream promises nothing \
             then (this one panics)\n    reread: {REREAD}"
        );
        self.polls += 1;
        assert!(
            self.polls <= 1_000,
            "the inner stream was polled 1,000 times: does `poll_next` loop while it is \
             `Pending`?\n    reread: {REREAD}"
        );
        let next = self.items.poll_next_unpin(cx);
        self.ended = next == Poll::Ready(None);
        next
    }
}

/// A scripted inner stream, and the sender that feeds it.
fn script() -> (UnboundedSender<u32>, Script) {
    let (sender, items) = unbounded();
    let script = Script {
        items,
        ended: false,
        polls: 0,
    };
    (sender, script)
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The batches, polled by hand with a counting waker.
struct Poller {
    batches: Batches<Script>,
    wakes: Arc<CountingWaker>,
    waker: Waker,
}

impl Poller {
    fn new(inner: Script, size: usize) -> Self {
        let wakes = Arc::new(CountingWaker::default());
        Poller {
            batches: batches(inner, size),
            waker: Waker::from(wakes.clone()),
            wakes,
        }
    }

    fn poll(&mut self) -> Poll<Option<Vec<u32>>> {
        let mut cx = Context::from_waker(&self.waker);
        Pin::new(&mut self.batches).poll_next(&mut cx)
    }

    fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }
}

fn send(sender: &UnboundedSender<u32>, items: impl IntoIterator<Item = u32>) {
    for item in items {
        sender.unbounded_send(item).unwrap();
    }
}

/// Shortcut caught: collecting the whole inner stream before batching. Here the inner stream
/// stays `Pending` after each full batch, and never ends.
#[test]
fn a_full_batch_comes_out_as_soon_as_it_is_full() {
    let (sender, inner) = script();
    let mut batches = Poller::new(inner, 3);
    send(&sender, [1, 2, 3]);
    check(
        "three items sent, batches of 3, the inner stream still open: the first poll",
        batches.poll(),
        Poll::Ready(Some(vec![1, 2, 3])),
    );
    check(
        "nothing more sent: the next poll",
        batches.poll(),
        Poll::Pending,
    );
    send(&sender, [4, 5, 6, 7]);
    check(
        "four more sent: the next poll",
        batches.poll(),
        Poll::Ready(Some(vec![4, 5, 6])),
    );
}

/// Shortcuts caught: returning `Pending` after taking an item, without polling the inner stream
/// again (the next item then wakes nobody); and waking your own waker before `Pending` (a busy
/// loop: the executor would poll again at once, and again, while nothing has happened).
#[test]
fn pending_only_while_the_inner_stream_is_pending() {
    let (sender, inner) = script();
    let mut batches = Poller::new(inner, 3);
    check(
        "nothing sent yet: the first poll",
        batches.poll(),
        Poll::Pending,
    );
    check("wakes, before anything is sent", batches.wakes(), 0);

    send(&sender, [1]);
    check(
        "wakes after the first item is sent (the inner stream wakes the waker of the task \
         that polled it)",
        batches.wakes(),
        1,
    );
    check(
        "one item of three: the next poll",
        batches.poll(),
        Poll::Pending,
    );
    check(
        "wakes after a poll that returned `Pending` (a wake of your own is a busy loop)",
        batches.wakes(),
        1,
    );

    send(&sender, [2]);
    check(
        "wakes after the second item is sent: the inner stream must have been polled until \
         it said `Pending`, so that it holds the waker",
        batches.wakes(),
        2,
    );
    check(
        "two items of three: the next poll",
        batches.poll(),
        Poll::Pending,
    );
    send(&sender, [3]);
    check("wakes after the third item is sent", batches.wakes(), 3);
    check(
        "three items of three: the next poll",
        batches.poll(),
        Poll::Ready(Some(vec![1, 2, 3])),
    );
}

/// Shortcut caught: polling the inner stream after its `None` (it panics), and answering
/// anything but `None` after the end.
#[test]
fn the_last_partial_batch_then_none_for_ever() {
    let (sender, inner) = script();
    let mut batches = Poller::new(inner, 3);
    send(&sender, [1, 2, 3, 4]);
    drop(sender);
    check(
        "the first poll",
        batches.poll(),
        Poll::Ready(Some(vec![1, 2, 3])),
    );
    check(
        "the inner stream ended with one item left: the next poll",
        batches.poll(),
        Poll::Ready(Some(vec![4])),
    );
    for _ in 0..3 {
        check("a poll after the end", batches.poll(), Poll::Ready(None));
    }
}

/// The end can come while the stream is waiting: the inner stream's end wakes it too.
#[test]
fn the_end_after_a_pending() {
    let (sender, inner) = script();
    let mut batches = Poller::new(inner, 3);
    send(&sender, [1]);
    check(
        "one item of three: the first poll",
        batches.poll(),
        Poll::Pending,
    );
    drop(sender);
    check("wakes after the inner stream's end", batches.wakes(), 1);
    check(
        "the inner stream ended: the next poll",
        batches.poll(),
        Poll::Ready(Some(vec![1])),
    );
    check("a poll after the end", batches.poll(), Poll::Ready(None));
}

/// Shortcut caught: an empty batch at the end, when the items divide into full batches.
#[test]
fn no_empty_batch_at_the_end() {
    let (sender, inner) = script();
    let mut batches = Poller::new(inner, 2);
    send(&sender, [1, 2, 3, 4]);
    drop(sender);
    check(
        "the first poll",
        batches.poll(),
        Poll::Ready(Some(vec![1, 2])),
    );
    check(
        "the second poll",
        batches.poll(),
        Poll::Ready(Some(vec![3, 4])),
    );
    check(
        "four items in batches of 2, then the end: the third poll (no empty batch)",
        batches.poll(),
        Poll::Ready(None),
    );
    check("a poll after the end", batches.poll(), Poll::Ready(None));
}

/// Shortcut caught: an empty batch for an empty stream.
#[test]
fn an_empty_stream_yields_no_batch() {
    let (sender, inner) = script();
    let mut batches = Poller::new(inner, 2);
    drop(sender);
    check(
        "an inner stream with no item: the first poll",
        batches.poll(),
        Poll::Ready(None),
    );
    check("a poll after the end", batches.poll(), Poll::Ready(None));
}

/// Any stream will do, `!Unpin` ones too (an `async` block inside `then` makes one). Bounded by
/// a timeout of 10 s on the paused clock: a `Pending` that nobody wakes fails instead of hanging.
#[tokio::test(start_paused = true)]
async fn over_any_stream() {
    let numbers = stream::iter(1..=5).then(|n| async move { n * 10 });
    let got: Vec<Vec<u32>> = timeout(Duration::from_secs(10), batches(numbers, 2).collect())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no end in 10 s: a `Pending` that nobody will wake? (Over this inner stream, \
                 every item is ready at once.)\n    reread: {REREAD}"
            )
        });
    check(
        "batches of 2 of 10, 20, 30, 40, 50",
        got,
        vec![vec![10, 20], vec![30, 40], vec![50]],
    );
}

fn feed(name: &'static str, latency_ms: u64) -> Feed {
    Feed {
        name,
        latency: Duration::from_millis(latency_ms),
    }
}

/// Every batch of `answers_in_batches(feeds, size)`, with the milliseconds after the start at
/// which it came (on the paused clock: exact). Bounded by a timeout of 10 s on that clock.
async fn batches_with_instants(feeds: Vec<Feed>, size: usize) -> Vec<(Vec<&'static str>, u128)> {
    let start = Instant::now();
    let mut answers = answers_in_batches(feeds, size);
    let mut got = Vec::new();
    loop {
        let next = timeout(Duration::from_secs(10), answers.next())
            .await
            .unwrap_or_else(|_| panic!("no batch, and no end, in 10 s\n    reread: {REREAD}"));
        let Some(batch) = next else { return got };
        got.push((batch, start.elapsed().as_millis()));
    }
}

/// Shortcuts caught: one fetch after another (`then`), all answers before any batch
/// (`join_all`), the feeds' order (`buffered`), or too few fetches in flight
/// (`buffer_unordered(size)`).
#[tokio::test(start_paused = true)]
async fn answers_in_the_order_they_come_each_batch_at_once() {
    let feeds = vec![
        feed("a", 50),
        feed("b", 10),
        feed("c", 40),
        feed("d", 20),
        feed("e", 30),
    ];
    check(
        "batches of 2 (and the millisecond each came at) from feeds answering after a 50, \
         b 10, c 40, d 20 and e 30 ms, all fetched at once",
        batches_with_instants(feeds, 2).await,
        vec![(vec!["b", "d"], 20), (vec!["e", "c"], 40), (vec!["a"], 50)],
    );
}

#[tokio::test(start_paused = true)]
async fn no_feed_no_batch() {
    check(
        "batches from no feed at all",
        batches_with_instants(Vec::new(), 3).await,
        Vec::new(),
    );
}
