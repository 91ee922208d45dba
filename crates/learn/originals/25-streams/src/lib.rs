//! # Exercise 25: a stream of batches
//!
//! Chapter 10.1, Streams (`book/src/streams.md`). About 20 minutes.
//!
//! Writing records one by one to a database, or sending them one per request, pays the cost of
//! a round trip per record. So programs group them: a batch of up to `size` records at a time,
//! sent as soon as it is full, and whatever is left when the records end. As a stream
//! combinator, that is [`batches`]: a `Stream` of `Vec`s over a `Stream` of items.
//!
//! **Goal:**
//!
//! 1. `poll_next` of [`Batches`], the stream that [`batches`]`(inner, size)` returns: the items
//!    of `inner`, in their order, grouped into `Vec`s of at most `size` items.
//! 2. [`answers_in_batches`]: every feed fetched with [`fetch`], all in flight at once, and their
//!    answers in batches of at most `size`, in the order the feeds answer (use your [`batches`]).
//!
//! **Contract**, checked by the tests (which poll [`Batches`] by hand, with a waker that counts
//! its wakes, over an inner stream that the test feeds item by item):
//!
//! - a batch comes out as soon as it holds `size` items, even if the inner stream then stays
//!   `Pending` for a long time;
//! - when the inner stream ends (`None`), the items left come out as one last, shorter batch;
//!   then `None`, and `None` again on every later poll. A batch is never empty: an inner stream
//!   that ends with no item left over (or with none at all) ends the batches with no batch;
//! - after the inner stream has returned `None`, it is never polled again (the trait promises
//!   nothing about that poll: the tests' inner stream panics);
//! - `Pending` only while the inner stream is `Pending`, so that the inner stream holds the
//!   waker of the task polling the batches and wakes it when its next item comes. A `Pending`
//!   that nobody will wake is a hang; a wake of your own (asking to be polled again at once) is
//!   a busy loop: the tests count the wakes;
//! - [`answers_in_batches`]: all feeds in flight at once; each batch as soon as its last answer
//!   comes (the tests run on tokio's paused clock and check the instant of every batch).
//!
//! Check your work with `cargo run -- learn check 25`. Stuck? `cargo run -- learn hint 25`.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{BoxStream, Stream, StreamExt};
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
        // TODO: the contract above. `let mut this = self.project();` gives the fields: the
        // inner stream as `Pin<&mut S>` (poll it with `this.inner.as_mut().poll_next(cx)`),
        // the others as `&mut`.
        todo!("fill a batch from the inner stream, and yield it when it is full or at the end")
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
    // TODO: every fetch in flight at once, the answers as they come, grouped by `batches`.
    // (`.boxed()` turns a stream into a `BoxStream`.)
    todo!("all the fetches at once, their answers in batches")
}
