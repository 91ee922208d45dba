//! Test helpers: a waker that counts how often it was woken.
//!
//! The unit tests poll futures by hand, one step at a time, and check after each step whether
//! the future asked to be polled again. `Waker::noop()` would do for polling, but it cannot tell
//! whether a wake-up happened; this one can.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// Counts its wake-ups.
#[derive(Debug, Default)]
pub struct CountingWaker(AtomicUsize);

impl CountingWaker {
    /// A waker, and the counter behind it.
    pub fn new() -> (Waker, Arc<CountingWaker>) {
        let counter = Arc::new(CountingWaker::default());
        (Waker::from(Arc::clone(&counter)), counter)
    }

    /// How many times the waker (or a clone of it) was woken.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
