//! Chapter 13: a runtime missing, a runtime nested, and a future that is not
//! `Send`, with the exact messages you will see.
//!
//! The first two are run-time panics of tokio; the functions below provoke them
//! on purpose and return the panic message, and the tests pin the messages down
//! so that the book quotes them exactly. The third is a compile error; its
//! doctest below does not compile, on purpose.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// The message of the panic `body` raises (or `None` if it does not panic).
fn panic_message(body: impl FnOnce()) -> Option<String> {
    // The default panic hook still prints the message (the test harness
    // captures it); the payload is what this returns. Replacing the hook would
    // be global, and tests run in parallel.
    let payload = catch_unwind(AssertUnwindSafe(body)).err()?;
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

// ANCHOR: no_runtime
/// Creates a tokio timer on a thread where no tokio runtime runs. It panics.
pub fn sleep_without_a_runtime() -> Option<String> {
    panic_message(|| {
        // Creating the timer is enough: it registers with "the current
        // runtime", and there is none. (`tokio::spawn` panics the same way.)
        drop(tokio::time::sleep(Duration::from_millis(1)));
    })
}
// ANCHOR_END: no_runtime

// ANCHOR: nested_runtime
/// Calls `block_on` from inside a task of a runtime. It panics.
pub fn block_on_inside_a_runtime() -> Option<String> {
    let outer = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime starts no thread");
    panic_message(|| {
        outer.block_on(async {
            // Some helper, deep down, wants a synchronous answer and "just
            // blocks on it".
            let inner = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect(
                    "building a runtime inside one is allowed; running it \
                     is not",
                );
            inner.block_on(async { 1 + 1 })
        });
    })
}
// ANCHOR_END: nested_runtime

/// Spawns `future` on a multi-threaded runtime: it must be `Send`.
///
/// A future that holds an `Rc` across an `.await` is not, and `tokio::spawn`
/// refuses it with "future cannot be sent between threads safely" (error E0277;
/// the note names the `Rc` and the `.await` it is held across):
///
/// ```compile_fail,E0277
/// use std::rc::Rc;
///
/// async fn count_later(counter: Rc<u32>) -> u32 {
///     tokio::task::yield_now().await; // `counter` lives across this `.await`...
///     *counter + 1
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// tokio::spawn(count_later(Rc::new(1))); // ...so this future is not `Send`.
/// # }
/// ```
///
/// The fixes: use `Arc` (which is `Send`), end the `Rc`'s life before the
/// `.await`, or run `!Send` futures where they never change threads
/// (`tokio::task::LocalSet`, a `LocalExecutor`), as the callbacks and
/// state-machines styles do with their `Rc`s.
pub fn spawn_send<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("one worker thread can be started");
    // `tokio::spawn` inside the `async` block: written as
    // `block_on(tokio::spawn(future))`, the spawn would run *before* `block_on`
    // enters the runtime, and panic with the message of
    // `sleep_without_a_runtime`. (This example made exactly that mistake in its
    // first draft.)
    runtime
        .block_on(async { tokio::spawn(future).await })
        .expect("the task does not panic")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_timer_without_a_runtime_panics_with_this_message() {
        assert_eq!(
            sleep_without_a_runtime().as_deref(),
            Some(
                "there is no reactor running, must be called from the context of a Tokio 1.x \
                 runtime"
            )
        );
    }

    #[test]
    fn a_nested_block_on_panics_with_this_message() {
        assert_eq!(
            block_on_inside_a_runtime().as_deref(),
            Some(
                "Cannot start a runtime from within a runtime. This happens because a function \
                 (like `block_on`) attempted to block the current thread while the thread is \
                 being used to drive asynchronous tasks. If you are in an async function, use \
                 `.await` on the future instead of blocking on it."
            )
        );
    }

    #[test]
    fn an_arc_crosses_the_await() {
        async fn count_later(counter: Arc<u32>) -> u32 {
            tokio::task::yield_now().await;
            *counter + 1
        }
        assert_eq!(spawn_send(count_later(Arc::new(1))), 2);
    }
}
