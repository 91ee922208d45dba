//! A small single-threaded event loop, written here because writing one by hand
//! is the lesson.
//!
//! Node.js, browsers and libuv run loops of the same shape: keep a heap of
//! timers and a queue of callbacks that are ready to run; run whatever is due;
//! when nothing is, wait until the next timer is due or a socket is ready.
//! Everything else (fetching, looking up, handing over) is built on three calls
//! for time:
//!
//! - [`ScopedEventLoop::set_timeout`]: call this closure once, after this
//!   delay;
//! - [`ScopedEventLoop::clear_timeout`]: never mind, don't;
//! - [`ScopedEventLoop::set_immediate`]: call this closure soon, on a later
//!   turn of the loop;
//!
//! and, on the `tcp` transport, four for sockets (in `io.rs`, the loop's
//! readiness I/O):
//!
//! - [`ScopedEventLoop::register`]: the loop owns this non-blocking socket from
//!   now on;
//! - [`ScopedEventLoop::on_readable`] and [`ScopedEventLoop::on_writable`]:
//!   call this closure once, when the socket may be read (or written) without
//!   blocking;
//! - [`ScopedEventLoop::close`]: deregister the socket, close it, and drop its
//!   callbacks.
//!
//! One thing Node.js and browsers have that this loop does not: a *microtask*
//! queue (Promise reactions, `queueMicrotask`, and in Node the
//! `process.nextTick` queue before it), drained completely after every single
//! callback, before the loop takes the next timer or immediate. Exercise 05
//! runs its Promise reactions with `set_immediate` instead, which orders
//! differently: a reaction queued by a timer callback runs only after every
//! other timer due in that turn has fired (JavaScript runs it before the next
//! timer callback), and a chain of `then`s advances one link per turn, so
//! timers can fire between its links (JavaScript runs the whole chain first).
//!
//! [`ScopedEventLoop::run`] turns the loop until no timer and no callback is
//! left (a callback waiting on a socket counts), then returns. Callbacks run
//! one at a time, to completion, on the thread that called `run`: no callback
//! is ever interrupted by another, which is why the rest of the crate can share
//! state through `Rc<RefCell<_>>` without locks. The price: a callback that
//! blocks or computes for long stalls everything else.
//!
//! # One turn of the loop
//!
//! 1. **Timers.** Every timer whose deadline has passed fires, earliest
//!    deadline first; timers with the same deadline fire in the order they were
//!    set (a sequence number breaks ties). So the order is deterministic even
//!    when the loop is late and several timers are overdue.
//! 2. **Immediates.** The callbacks that were ready when this phase began run,
//!    in order. Those they queue wait for the next turn, so that a callback
//!    that keeps queueing callbacks cannot starve the timers.
//! 3. **Wait.** If no callback is ready, no timer is set and no callback waits
//!    on a socket, the work is done: return. Otherwise wait, in one call, for
//!    the first of: a registered socket becoming ready, or the next deadline
//!    (with no timer, for a socket only; with callbacks ready, not at all: the
//!    wait only looks, so that sockets are served between turns of immediates).
//!    Then call the callbacks of the sockets that are ready, one at a time. A
//!    loop that has never registered a socket (the `sim` transport) has only
//!    timers to wait for, and sleeps.
//!
//! A timer and a socket can be due in the same turn: a timeout and the last
//! bytes of the answer it guards. The timers of step 1 fire first, so an answer
//! is on time if its callback ran before the timeout's deadline came round, and
//! a loop that wakes late cannot turn a timeout into an answer.
//!
//! # Clearing a timer
//!
//! `clear_timeout` forgets the timer's callback at once, but its deadline stays
//! in the heap for a while: `std`'s binary heap cannot remove an entry from the
//! middle. A cleared deadline is thrown away when it reaches the top, and all
//! cleared deadlines at once as soon as they outnumber the live ones, so the
//! heap never holds more than twice as many deadlines as there are live timers.
//! That matters: every attempt sets two timers and clears the one that loses,
//! and a scale run sets hundreds of thousands.
//!
//! # Waiting for time and sockets at once
//!
//! With sockets, the loop does not `thread::sleep`: it blocks in the operating
//! system's readiness wait (`epoll_wait` on Linux, `kevent` on macOS), with the
//! next deadline as its timeout, so that whichever comes first, a ready socket
//! or a due timer, wakes it. That is libuv's `uv_run` and Node's loop: one
//! blocking call, and everything else is callbacks. `io.rs` has the
//! registration table and the dispatch, written here, and says what the
//! `polling` crate does underneath (the system call, and no more).
//!
//! Read next: `io.rs`, then `fetch.rs`, which races two timers on `sim` and a
//! socket against a timer on `tcp`.

mod io;

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use polling::Events;

use self::io::Sockets;
pub use self::io::{ReadyCallback, SocketId};

/// A callback the loop will call once. No `Send`: it never leaves this thread.
/// It may borrow anything that lives for `'a` (see [`ScopedEventLoop`]).
type Callback<'a> = Box<dyn FnOnce() + 'a>;

/// Names a timer set with [`ScopedEventLoop::set_timeout`], so that it can be
/// cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(u64);

/// When a timer fires: its deadline, then the order in which timers were set.
/// The derived `Ord` compares the fields in order, which is exactly "earliest
/// first, then first set first".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Deadline {
    /// When the timer is due.
    at: Instant,
    /// The timer's number, increasing: breaks ties between equal deadlines
    /// (FIFO).
    sequence: u64,
}

/// The loop's state. The loop handle wraps it in `Rc<RefCell<_>>` so that
/// callbacks can hold a handle and schedule more work while the loop runs.
#[derive(Default)]
struct State<'a> {
    /// The deadline of every live timer, earliest on top (`Reverse`:
    /// `BinaryHeap` is a max-heap), plus cleared ones not yet thrown away.
    /// `std`'s heap cannot remove an entry from the middle, so `clear_timeout`
    /// leaves the deadline here and only forgets the callback; whether a timer
    /// is alive is told by `timers`. Cleared deadlines are thrown away when
    /// they reach the top, and all at once when they outnumber the live ones
    /// (see [`State::compact`]), so the heap never holds more than twice as
    /// many deadlines as there are live timers, however many timers a long run
    /// sets and clears.
    deadlines: BinaryHeap<Reverse<Deadline>>,
    /// The callback of every live timer, by sequence number. `clear_timeout`
    /// removes it here.
    timers: HashMap<u64, Callback<'a>>,
    /// Callbacks ready to run, in the order they were queued.
    ready: VecDeque<Callback<'a>>,
    /// The sequence number of the next timer.
    next_sequence: u64,
    /// The registered sockets and the callbacks waiting on them (see `io.rs`).
    sockets: Sockets<'a>,
    /// The most callbacks (timers, ready ones, and those waiting on sockets)
    /// held at once so far.
    most_callbacks: usize,
}

impl State<'_> {
    /// Notes how many callbacks the loop holds now, after one was added.
    fn count_callbacks(&mut self) {
        self.most_callbacks = self
            .most_callbacks
            .max(self.timers.len() + self.ready.len() + self.sockets.waiting);
    }

    /// Throws every cleared deadline out of the heap once they are more than
    /// half of it.
    ///
    /// Without this, a server that sets a timeout per request and clears it
    /// when the answer comes (nearly every request) would keep one dead
    /// deadline per request until its time came: memory growing with request
    /// rate × timeout. A rebuild costs one pass over the heap, but it happens
    /// only when more than half of the heap is cleared deadlines, and it throws
    /// them all away; each of them was pushed once, so spread over the timers
    /// set, the work is constant per timer (amortized O(1)).
    ///
    /// In production, libuv keeps its timers in a heap whose nodes know their
    /// place, so `uv_timer_stop` unlinks a timer from the middle in O(log n);
    /// tokio's timer wheel keeps each slot's timers in an intrusive linked
    /// list, which removes in O(1). Both need pointers into the structure; lazy
    /// deletion with compaction gets the same memory bound with `std` alone.
    fn compact(&mut self) {
        if self.deadlines.len() > 2 * self.timers.len() {
            let timers = &self.timers;
            self.deadlines.retain(|Reverse(deadline)| {
                timers.contains_key(&deadline.sequence)
            });
        }
    }
}

// ANCHOR: scoped
/// A handle to a single-threaded event loop whose callbacks may borrow anything
/// that lives for `'a`. Clone it into callbacks that schedule more work; every
/// clone is the same loop.
///
/// Node's loop is [`EventLoop`], the `'static` one: a callback owns everything
/// it uses. A scoped loop is to it what [`std::thread::scope`] is to
/// `thread::spawn`: a callback may borrow what outlives the loop. The borrow
/// checker sees to it: a `ScopedEventLoop<'a>` cannot outlive `'a`, nor can the
/// callbacks it holds, so none of them can run once what they borrow is gone.
/// The pipeline uses one to borrow the scenario instead of copying it, and to
/// hold a source's records as an iterator over its body (see `workers.rs`).
#[derive(Clone, Default)]
pub struct ScopedEventLoop<'a> {
    state: Rc<RefCell<State<'a>>>,
}

/// The event loop of Node.js and of the exercises: its callbacks own what they
/// use.
pub type EventLoop = ScopedEventLoop<'static>;
// ANCHOR_END: scoped

impl<'a> ScopedEventLoop<'a> {
    /// A loop with nothing to do yet.
    pub fn new() -> Self {
        ScopedEventLoop::default()
    }

    // ANCHOR: api
    /// Calls `callback` once, after `delay`, from
    /// [`run`](ScopedEventLoop::run).
    pub fn set_timeout(
        &self,
        delay: Duration,
        callback: impl FnOnce() + 'a,
    ) -> TimerId {
        self.set_timeout_at(Instant::now() + delay, callback)
    }

    /// Forgets a timer: its callback is dropped without being called. Clearing
    /// a timer that has already fired (or was already cleared) does nothing, as
    /// in Node.
    pub fn clear_timeout(&self, timer: TimerId) {
        let mut state = self.state.borrow_mut();
        // The deadline stays in the heap for now: skipped when it surfaces, or
        // thrown away with the other cleared ones once they are the majority.
        if state.timers.remove(&timer.0).is_some() {
            state.compact();
        }
    }

    /// Calls `callback` on a later turn of the loop, after the callbacks
    /// already queued.
    pub fn set_immediate(&self, callback: impl FnOnce() + 'a) {
        let mut state = self.state.borrow_mut();
        state.ready.push_back(Box::new(callback));
        state.count_callbacks();
    }
    // ANCHOR_END: api

    // ANCHOR: run
    // ANCHOR: run_turn
    /// Runs until no timer, no ready callback and no callback waiting on a
    /// socket is left.
    pub fn run(&self) {
        // Where the readiness wait writes which sockets are ready; made for the
        // first wait.
        let mut events = None;
        loop {
            // 1. Timers whose deadline has passed, earliest first.
            let now = Instant::now();
            while let Some(callback) = self.pop_due_timer(now) {
                callback();
            }
            // 2. The callbacks that are ready now; those they queue wait for
            //    the next turn.
            let ready = self.state.borrow().ready.len();
            for _ in 0..ready {
                // Take the callback out *before* calling it: the `RefCell` must
                // not be borrowed while the callback runs, since the callback
                // will schedule more work.
                let callback = self.state.borrow_mut().ready.pop_front();
                if let Some(callback) = callback {
                    callback();
                }
            }
            // ANCHOR_END: run_turn
            // ANCHOR: run_wait
            // 3. Wait for the next timer or a ready socket, or stop.
            let (ready_now, sockets_waiting, poller) = {
                let state = self.state.borrow();
                let sockets = &state.sockets;
                (
                    !state.ready.is_empty(),
                    sockets.waiting > 0,
                    sockets.poller(),
                )
            };
            let next_timer = self.next_deadline();
            if !ready_now && next_timer.is_none() && !sockets_waiting {
                return; // nothing is left that could ever call a callback
            }
            match poller {
                // Sockets: one wait for both. With callbacks ready, a wait that
                // only looks.
                Some(poller) => {
                    let deadline = if ready_now {
                        Some(Instant::now())
                    } else {
                        next_timer
                    };
                    let events = events.get_or_insert_with(Events::new);
                    self.wait_for_readiness(&poller, events, deadline);
                }
                // No socket was ever registered: only time to wait for.
                None => {
                    if let (false, Some(deadline)) = (ready_now, next_timer) {
                        std::thread::sleep(
                            deadline.saturating_duration_since(Instant::now()),
                        );
                    }
                }
            }
        }
    }
    // ANCHOR_END: run_wait
    // ANCHOR_END: run

    /// Drops everything the loop holds without calling any of it: timers, ready
    /// callbacks, and sockets, each deregistered and then closed.
    ///
    /// For a run that failed. A panic in a callback unwinds out of
    /// [`run`](Self::run) and leaves the rest queued; those callbacks hold the
    /// pipeline, which holds the loop, a reference cycle that would otherwise
    /// never be freed, and with it every socket still open. `lib.rs` calls this
    /// after catching the panic.
    pub fn abandon(&self) {
        let abandoned = {
            let mut state = self.state.borrow_mut();
            state.deadlines.clear();
            (
                std::mem::take(&mut state.timers),
                std::mem::take(&mut state.ready),
                std::mem::take(&mut state.sockets),
            )
        };
        // Dropped outside the borrow: a callback's captured state may hold a
        // handle to this loop, and the sockets close here.
        drop(abandoned);
    }

    /// Sets a timer with an explicit deadline (the tests use it to make two
    /// deadlines equal).
    fn set_timeout_at(
        &self,
        at: Instant,
        callback: impl FnOnce() + 'a,
    ) -> TimerId {
        let mut state = self.state.borrow_mut();
        let sequence = state.next_sequence;
        state.next_sequence += 1;
        state.deadlines.push(Reverse(Deadline { at, sequence }));
        state.timers.insert(sequence, Box::new(callback));
        state.count_callbacks();
        TimerId(sequence)
    }

    /// Takes the callback of the earliest live timer due at `now`, if any.
    fn pop_due_timer(&self, now: Instant) -> Option<Callback<'a>> {
        let mut state = self.state.borrow_mut();
        while let Some(&Reverse(deadline)) = state.deadlines.peek() {
            if deadline.at > now {
                return None;
            }
            state.deadlines.pop();
            if let Some(callback) = state.timers.remove(&deadline.sequence) {
                // One live timer fewer: the cleared deadlines left behind may
                // now be the majority.
                state.compact();
                return Some(callback);
            }
            // A cleared timer: drop its deadline and look at the next one.
        }
        None
    }

    /// The deadline of the earliest live timer, throwing away cleared ones on
    /// the way, so that a cleared timer never keeps the loop asleep (or alive).
    fn next_deadline(&self) -> Option<Instant> {
        let mut state = self.state.borrow_mut();
        while let Some(&Reverse(deadline)) = state.deadlines.peek() {
            if state.timers.contains_key(&deadline.sequence) {
                return Some(deadline.at);
            }
            state.deadlines.pop();
        }
        None
    }
}

impl ScopedEventLoop<'_> {
    /// How many timers are set and neither fired nor cleared.
    pub fn live_timers(&self) -> usize {
        self.state.borrow().timers.len()
    }

    /// The most callbacks (timers and ready ones) the loop has held at once.
    /// Each is a boxed closure, so this is what waiting cost in memory at its
    /// peak; a test checks that a body of ten thousand records does not make it
    /// ten thousand.
    pub fn most_callbacks_at_once(&self) -> usize {
        self.state.borrow().most_callbacks
    }

    /// How many deadlines the heap holds: the live timers', plus cleared ones
    /// not yet thrown away. A test checks that this stays within twice the
    /// number of live timers.
    pub fn deadlines_in_heap(&self) -> usize {
        self.state.borrow().deadlines.len()
    }
}

impl fmt::Debug for ScopedEventLoop<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Callbacks cannot be printed; their numbers can.
        let state = self.state.borrow();
        f.debug_struct("ScopedEventLoop")
            .field("timers", &state.timers.len())
            .field("deadlines", &state.deadlines.len())
            .field("ready", &state.ready.len())
            .field("sockets", &state.sockets.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A log that callbacks append to, to check the order they ran in.
    #[derive(Clone, Default)]
    struct Log(Rc<RefCell<Vec<&'static str>>>);

    impl Log {
        /// A callback that appends `name` to the log.
        fn entry(&self, name: &'static str) -> impl FnOnce() + 'static {
            let log = self.clone();
            move || log.0.borrow_mut().push(name)
        }

        fn entries(&self) -> Vec<&'static str> {
            self.0.borrow().clone()
        }
    }

    #[test]
    fn overdue_timers_fire_in_deadline_order() {
        let event_loop = EventLoop::new();
        let log = Log::default();
        event_loop.set_timeout(Duration::from_millis(30), log.entry("30"));
        event_loop.set_timeout(Duration::from_millis(10), log.entry("10"));
        event_loop.set_timeout(Duration::from_millis(20), log.entry("20"));
        // Make the loop late: all three are overdue when it starts.
        std::thread::sleep(Duration::from_millis(40));
        event_loop.run();
        assert_eq!(log.entries(), ["10", "20", "30"]);
    }

    #[test]
    fn equal_deadlines_fire_in_the_order_they_were_set() {
        let event_loop = EventLoop::new();
        let log = Log::default();
        let at = Instant::now();
        for name in ["a", "b", "c", "d"] {
            event_loop.set_timeout_at(at, log.entry(name));
        }
        event_loop.run();
        assert_eq!(log.entries(), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_cleared_timer_never_fires() {
        let event_loop = EventLoop::new();
        let log = Log::default();
        let late = event_loop
            .set_timeout(Duration::from_millis(5), log.entry("cleared"));
        event_loop.set_timeout(Duration::from_millis(1), {
            let event_loop = event_loop.clone();
            let first = log.entry("first");
            move || {
                first();
                event_loop.clear_timeout(late);
            }
        });
        event_loop.run();
        assert_eq!(log.entries(), ["first"]);
    }

    #[test]
    fn a_cleared_timer_does_not_keep_the_loop_alive() {
        // The loop runs on a thread of its own, so that this test fails instead
        // of hanging when a cleared hour-long timer keeps the loop asleep.
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            let event_loop = EventLoop::new();
            let timer =
                event_loop.set_timeout(Duration::from_secs(3600), || {});
            event_loop.set_immediate({
                let event_loop = event_loop.clone();
                move || event_loop.clear_timeout(timer)
            });
            event_loop.run();
            done.send(()).unwrap();
        });
        assert!(finished.recv_timeout(Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn cleared_timers_do_not_pile_up_in_the_heap() {
        // A server that sets a timeout per request and clears it when the
        // answer comes: ten thousand requests, a few still in flight. The heap
        // must hold about as many deadlines as there are live timers, not one
        // per request ever made.
        let event_loop = EventLoop::new();
        let mut in_flight = VecDeque::new();
        for _ in 0..10_000 {
            in_flight.push_back(
                event_loop.set_timeout(Duration::from_secs(3600), || {}),
            );
            if in_flight.len() > 3 {
                event_loop.clear_timeout(in_flight.pop_front().unwrap());
            }
        }
        assert_eq!(event_loop.live_timers(), 3);
        assert!(
            event_loop.deadlines_in_heap() <= 2 * event_loop.live_timers(),
            "{} deadlines in the heap for {} live timers",
            event_loop.deadlines_in_heap(),
            event_loop.live_timers()
        );
        for timer in in_flight {
            event_loop.clear_timeout(timer);
        }
        assert_eq!(event_loop.deadlines_in_heap(), 0);
    }

    #[test]
    fn timers_that_fire_do_not_leave_cleared_ones_behind() {
        // A thousand hour-long timers, all but one cleared, interleaved with a
        // thousand short ones that fire: once the short ones have fired, the
        // cleared hour-long deadlines must not outnumber the one live timer
        // that is left.
        let event_loop = EventLoop::new();
        let mut long = Vec::new();
        for _ in 0..1_000 {
            long.push(event_loop.set_timeout(Duration::from_secs(3600), || {}));
            event_loop.set_timeout(Duration::ZERO, || {});
        }
        let survivor = long.pop().unwrap();
        for timer in long {
            event_loop.clear_timeout(timer);
        }
        // Fire the short timers (they are due), but not the hour-long one.
        let now = Instant::now();
        while let Some(callback) = event_loop.pop_due_timer(now) {
            callback();
        }
        assert_eq!(event_loop.live_timers(), 1);
        assert!(
            event_loop.deadlines_in_heap() <= 2,
            "{} deadlines in the heap for one live timer",
            event_loop.deadlines_in_heap()
        );
        event_loop.clear_timeout(survivor);
        event_loop.run(); // returns at once: nothing is left
    }

    #[test]
    fn callbacks_scheduled_by_callbacks_run_on_later_turns() {
        let event_loop = EventLoop::new();
        let log = Log::default();
        // A queues B (immediate) and C (timer, due at once); D was queued
        // before A ran.
        event_loop.set_immediate({
            let event_loop = event_loop.clone();
            let (a, b, c) = (log.entry("A"), log.entry("B"), log.entry("C"));
            move || {
                a();
                event_loop.set_immediate(b);
                event_loop.set_timeout(Duration::ZERO, c);
            }
        });
        event_loop.set_immediate(log.entry("D"));
        event_loop.run();
        // A and D ran in the first turn; in the second, timers (C) come before
        // immediates (B).
        assert_eq!(log.entries(), ["A", "D", "C", "B"]);
    }

    #[test]
    fn a_timer_can_set_a_timer() {
        let event_loop = EventLoop::new();
        let log = Log::default();
        event_loop.set_timeout(Duration::from_millis(2), {
            let event_loop = event_loop.clone();
            let (outer, inner) = (log.entry("outer"), log.entry("inner"));
            move || {
                outer();
                event_loop.set_timeout(Duration::from_millis(2), inner);
            }
        });
        event_loop.run();
        assert_eq!(log.entries(), ["outer", "inner"]);
    }

    #[test]
    fn a_scoped_loop_lets_callbacks_borrow() {
        // No `Rc` and no copy: the callbacks borrow `words`, which outlives the
        // loop.
        let words = vec!["borrowed", "not", "copied"];
        let said = RefCell::new(Vec::new());
        let event_loop = ScopedEventLoop::new();
        for word in &words {
            let said = &said;
            event_loop.set_immediate(move || said.borrow_mut().push(*word));
        }
        event_loop.run();
        assert_eq!(*said.borrow(), words);
    }

    #[test]
    fn an_empty_loop_returns_at_once() {
        let event_loop = EventLoop::new();
        event_loop.run();
        event_loop.clear_timeout(TimerId(7)); // unknown: ignored
        event_loop.run();
    }
}
