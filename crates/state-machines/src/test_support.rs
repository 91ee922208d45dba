//! Test helpers: a waker that counts how often it was woken, and loopback
//! sockets.
//!
//! The unit tests poll futures by hand, one step at a time, and check after
//! each step whether the future asked to be polled again. `Waker::noop()` would
//! do for polling, but it cannot tell whether a wake-up happened; this one can.
//! The socket tests make their own connections on loopback ([`loopback_pair`]),
//! so that each test decides exactly what the other end does.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};
use std::time::Duration;

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

/// A connected pair on loopback: the client end, non-blocking (the one a
/// reactor watches), and the server end, blocking, with a 20-second watchdog on
/// its reads and writes (the test's hands: a test whose client never does its
/// part fails instead of hanging).
pub fn loopback_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    client.set_nonblocking(true).unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    server
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    (client, server)
}
