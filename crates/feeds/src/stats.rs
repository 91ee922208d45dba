//! Counters of connections and requests, for tests, benches and `rosetta feeds serve`.
//!
//! Plain atomics, updated by the accept loop and the connections on the server's threads and
//! read from any thread. [`Stats`] is a copy of them at one moment.
//!
//! Read next: `server.rs`, which updates them.

use std::sync::atomic::{AtomicU64, Ordering};

/// A copy of a server's counters at one moment ([`crate::FeedServer::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Connections open now: accepted and not yet closed.
    pub open_connections: u64,
    /// The most connections open at once, since the start or the last
    /// [`crate::FeedServer::reset_peak`].
    pub peak_open_connections: u64,
    /// Connections accepted since the start.
    pub connections_accepted: u64,
    /// Requests whose head arrived whole, since the start (a request hyper refused as
    /// malformed is not one).
    pub requests: u64,
    /// Times `accept` failed (out of file descriptors, a connection reset before it was
    /// accepted) since the start. The server backs off and goes on accepting.
    pub accept_errors: u64,
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub struct Counters {
    open: AtomicU64,
    peak: AtomicU64,
    accepted: AtomicU64,
    requests: AtomicU64,
    accept_errors: AtomicU64,
}

// `Relaxed` everywhere: each counter is a number on its own, and nothing else is published
// through it. A reader may see `accepted` a little ahead of `open`; never a torn value.
impl Counters {
    /// Counts a connection accepted; it counts as open until the returned guard is dropped,
    /// however its task ends (finished, failed, or dropped with the runtime at shutdown).
    pub fn open_connection(&self) -> OpenConnection<'_> {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(open, Ordering::Relaxed);
        OpenConnection(self)
    }

    /// Counts a request.
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a failed `accept`.
    pub fn accept_error(&self) {
        self.accept_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts a new peak from the connections open now.
    pub fn reset_peak(&self) {
        self.peak
            .store(self.open.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> Stats {
        Stats {
            open_connections: self.open.load(Ordering::Relaxed),
            peak_open_connections: self.peak.load(Ordering::Relaxed),
            connections_accepted: self.accepted.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            accept_errors: self.accept_errors.load(Ordering::Relaxed),
        }
    }
}

/// One open connection, counted in [`Stats::open_connections`] while it lives.
#[derive(Debug)]
#[must_use = "the connection counts as open only while this guard lives"]
pub struct OpenConnection<'a>(&'a Counters);

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
