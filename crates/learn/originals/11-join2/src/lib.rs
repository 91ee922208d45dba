//! # Exercise 11: `Join2`
//!
//! Chapter 6, Futures by hand (`book/src/futures-by-hand.md`). About 15 minutes.
//!
//! `join(a, b)` runs two futures at once *in one task*, and resolves with both outputs. There
//! is no thread and no scheduler in it: it is a future that, whenever it is polled, polls the
//! two futures it holds. Write its `poll`:
//!
//! - poll each future that has not finished yet, with the same `cx` (so that whichever makes
//!   progress wakes this task); store an output as soon as it comes;
//! - never poll a future again once it has returned `Ready` (that breaks the `Future`
//!   contract; the tests' futures panic if you do);
//! - when both outputs are there, return `Ready((a's, b's))`, in that order, whichever finished
//!   first; until then, `Pending` (the futures that are not done have registered the waker).
//!
//! **Pinning.** `poll` gets `self: Pin<&mut Self>`: a promise that `self` will not move again.
//! `a` and `b` may rely on that promise (an `async` block that borrows one of its own locals
//! does), so they may only be polled as `Pin<&mut A>`. `pin_project!` writes the safe code for
//! that: `let this = self.project();` gives `this.a: Pin<&mut A>` for the fields marked
//! `#[pin]`, and `this.a_output: &mut Option<A::Output>` for the others.
//!
//! No `async` and no `.await` in this file (a test checks).
//!
//! Check your work with `cargo run -- learn check 11`. Stuck? `cargo run -- learn hint 11`.

use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// Runs `a` and `b` at once, in one task, and resolves with both outputs, `(a's, b's)`,
/// whichever finishes first. (`futures::future::join` and `tokio::join!` do the same.)
pub fn join2<A: Future, B: Future>(a: A, b: B) -> Join2<A, B> {
    Join2 {
        a,
        b,
        a_output: None,
        b_output: None,
    }
}

pin_project! {
    /// Future for [`join2`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you .await or poll them"]
    pub struct Join2<A: Future, B: Future> {
        // The first future. `#[pin]`: `A` may rely on not moving once polled, so `poll` may
        // only reach it as `Pin<&mut A>`.
        #[pin]
        a: A,
        // The second future.
        #[pin]
        b: B,
        // `a`'s output, once it has finished; `a` must not be polled again after that.
        a_output: Option<A::Output>,
        // `b`'s output, once it has finished.
        b_output: Option<B::Output>,
    }
}

impl<A: Future, B: Future> Future for Join2<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // TODO: both outputs, `(a's, b's)`, once both futures have finished; each future
        // polled until it is ready and never after; `Pending` until then.
        todo!("poll what is not finished; ready when both are")
    }
}
