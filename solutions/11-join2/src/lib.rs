//! Solution of exercise 11: `Join2`, a hand-written future that runs two futures at once and
//! resolves with both outputs.
//!
//! The exercise (`exercises/11-join2/src/lib.rs`) explains the task; chapter 6 of the book
//! (`book/src/futures-by-hand.md`) explains the style. `crates/state-machines/src/join.rs`
//! generalises it to any number of futures, at most `limit` at a time.

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

// ANCHOR: poll
impl<A: Future, B: Future> Future for Join2<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `project` turns `Pin<&mut Join2>` into pinned references to the `#[pin]` fields and
        // plain `&mut` to the others.
        let this = self.project();
        // Poll each future that has not finished yet, with the same `cx`: whichever of them
        // makes progress first will wake this task through it.
        if this.a_output.is_none()
            && let Poll::Ready(output) = this.a.poll(cx)
        {
            *this.a_output = Some(output);
        }
        if this.b_output.is_none()
            && let Poll::Ready(output) = this.b.poll(cx)
        {
            *this.b_output = Some(output);
        }
        if this.a_output.is_some() && this.b_output.is_some() {
            let a = this.a_output.take().expect("checked just above");
            let b = this.b_output.take().expect("checked just above");
            Poll::Ready((a, b))
        } else {
            // A future that is not done has registered our waker: we will be polled again.
            Poll::Pending
        }
    }
}
// ANCHOR_END: poll
