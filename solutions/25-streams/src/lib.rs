//! # Exercise 25: a stream of batches (solution)
//!
//! Chapter 10.1, Streams (`book/src/streams.md`).
//!
//! [`Batches`] is a stream combinator in the shape of the book's `Changes` (and of
//! futures-lite's): a constructor, a `pin_project!` struct, a `poll_next` that loops over the
//! inner stream until it has something to say or the inner stream says `Pending`.
//! [`answers_in_batches`] puts every fetch in one `FuturesUnordered`, a stream of answers in
//! completion order, and batches it.

use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures::stream::{BoxStream, FuturesUnordered, Stream, StreamExt};
use pin_project_lite::pin_project;

/// Groups the items of `inner` into batches of at most `size` items (see the contract above).
///
/// # Panics
///
/// If `size` is 0: a batch of at most no item could never hold one.
pub fn batches<S: Stream>(inner: S, size: usize) -> Batches<S> {
    assert!(size > 0, "a batch must be able to hold at least one item");
    Batches {
        inner,
        size,
        batch: Vec::with_capacity(size),
        inner_ended: false,
    }
}

pin_project! {
    /// Stream for [`batches`].
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Batches<S: Stream> {
        // The stream whose items are grouped. It may be `!Unpin`, so it is reached pinned.
        #[pin]
        inner: S,
        // The most items a batch holds.
        size: usize,
        // The batch being filled: the items taken from `inner` and not yet yielded.
        batch: Vec<S::Item>,
        // True once `inner` has returned `None`.
        inner_ended: bool,
    }
}

impl<S: Stream> Stream for Batches<S> {
    type Item = Vec<S::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<S::Item>>> {
        let mut this = self.project();
        // Fused: once the inner stream has ended, and its last items have been yielded, every
        // poll answers `None` without touching it (a stream may panic when polled after its
        // `None`).
        if *this.inner_ended {
            return Poll::Ready(None);
        }
        loop {
            // `Pending` from the inner stream: it holds our waker and will wake our task when
            // its next item comes, so we may wait too, keeping the items taken so far in
            // `batch`. `ready!` returns that `Pending`.
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(item) => {
                    this.batch.push(item);
                    // Full: out at once, without asking the inner stream for more (it may
                    // have nothing for a long time).
                    if this.batch.len() == *this.size {
                        let full = mem::replace(this.batch, Vec::with_capacity(*this.size));
                        return Poll::Ready(Some(full));
                    }
                    // Not full: loop to ask for the next item. Returning `Pending` here
                    // would hang: nobody would hold our waker.
                }
                None => {
                    *this.inner_ended = true;
                    // The last, shorter batch, unless nothing is left: never an empty one.
                    return Poll::Ready(if this.batch.is_empty() {
                        None
                    } else {
                        Some(mem::take(this.batch))
                    });
                }
            }
        }
    }
}

/// A feed: its name, and how long it takes to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// The feed's name, which is also its answer.
    pub name: &'static str,
    /// How long the feed takes to answer.
    pub latency: Duration,
}

/// Fetches `feed`: waits its latency (on tokio's timer), then answers its name.
pub async fn fetch(feed: Feed) -> &'static str {
    tokio::time::sleep(feed.latency).await;
    feed.name
}

/// Fetches every feed at once and yields their answers in batches of at most `size`, in the
/// order the feeds answer, each batch as soon as it is complete.
pub fn answers_in_batches(feeds: Vec<Feed>, size: usize) -> BoxStream<'static, Vec<&'static str>> {
    // Every fetch in one `FuturesUnordered`: all in flight at once, polled by the task that
    // polls the batches (no task spawned), and yielded in the order they finish. It polls only
    // the fetches whose timer woke it, however many there are.
    let answers: FuturesUnordered<_> = feeds.into_iter().map(fetch).collect();
    batches(answers, size).boxed()
}
