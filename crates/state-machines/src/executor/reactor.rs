//! The reactor: timers and sockets, and the one place the executor's thread
//! waits.
//!
//! A future that waits cannot watch for what it waits for itself: it would have
//! to be polled over and over (a busy loop). Instead it hands its [`Waker`] to
//! a *reactor*, the part of a runtime that knows about events, and returns
//! `Pending`. When the event happens, the reactor calls the waker, the executor
//! polls the future again, and this time it can go on. This reactor knows two
//! kinds of event.
//!
//! **Timers.** A priority queue of deadlines, each with a waker ([`Sleep`]
//! registers one). The reactor fires the timers that are due
//! ([`Reactor::fire_due`]), which wakes their futures.
//!
//! **Sockets.** A socket in non-blocking mode never makes a call wait: a `read`
//! with no data there, a `write` into a full send buffer, a `connect` whose
//! handshake is still under way all return at once, with
//! [`io::ErrorKind::WouldBlock`] (or, for `connect`, "in progress"). The future
//! that gets `WouldBlock` has learned that it must wait, and for what: for the
//! socket to become *readable* or *writable*. It tells the reactor so
//! ([`Registration::poll_ready`]): the reactor keeps the future's waker for
//! that socket and direction, and asks the operating system to report the
//! moment the socket is ready. That request is *interest*, and the operating
//! system's facility for it is epoll on Linux and kqueue on macOS, which the
//! `polling` crate wraps in one type, [`polling::Poller`]. This is a
//! *readiness* model: the kernel says *when you may* read (the read then copies
//! what has arrived); the other model, *completion* (io_uring, Windows' IOCP),
//! takes a buffer and says later *that it has* read into it, which is why a
//! completion-based runtime must own the buffer while it waits.
//!
//! Every socket is registered under a key, the interest is *oneshot* (one
//! event, and the socket is disarmed until a future asks again), and the waker
//! kept is the latest one: a future may be polled with a different waker each
//! time, and the one to wake is the one that polled last. A socket is
//! registered for as long as its [`Registration`] lives; dropping the
//! registration deletes the socket from the poller and then closes it, in that
//! order (the order `polling` requires).
//!
//! **Waiting.** When the executor has nothing to run it calls
//! [`Reactor::park`], and the thread sleeps in one system call,
//! [`Poller::wait`](polling::Poller::wait), until the first of: a socket's
//! readiness, the earliest timer's deadline (the wait's timeout), or a wake
//! from another thread, which calls [`Poller::notify`](polling::Poller::notify)
//! to end the wait. On its way out the reactor wakes the futures whose sockets
//! are ready and fires the due timers. Everything happens on the one thread
//! that runs the executor; there is no reactor thread.
//!
//! Read next: [`crate::executor::net`], the socket futures built on
//! [`Registration`], and [`crate::executor::timeout`], the first future built
//! on [`Sleep`].

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::executor::sync::poller::{AsSource, Event, Events, Poller};

/// Names one registered timer: its deadline, then a sequence number that tells
/// apart timers with the same deadline. Ordering by this pair is ordering by
/// deadline, ties in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimerId {
    deadline: Instant,
    seq: u64,
}

/// Which way a future waits on a socket: for it to be readable (data, or the
/// peer's close, has arrived) or writable (the send buffer has room, or a
/// connect has ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Readable.
    Read,
    /// Writable.
    Write,
}

// ANCHOR: reactor
// ANCHOR: reactor_handle
/// A handle to the reactor. Cloning it is cheap and gives another handle to the
/// same reactor; every [`Sleep`] and every [`Registration`] keeps one.
///
/// It is `Rc<..>` with `RefCell`s inside, not `Arc<Mutex<..>>`, because the
/// reactor and every future that uses it live on the executor's thread; the
/// compiler checks that (`Rc` is not `Send`). The one part other threads reach
/// is the poller's `notify`, through the `Arc` that the executor's run queue
/// holds.
#[derive(Clone)]
pub struct Reactor {
    shared: Rc<Shared>,
}

/// What the handles share.
struct Shared {
    /// The operating system's readiness facility (epoll, kqueue). `Arc`,
    /// because the run queue holds it too, to `notify` from any thread.
    poller: Arc<Poller>,
    /// The timers waiting to fire.
    timers: RefCell<Timers>,
    /// The sockets registered with the poller, and who waits on each.
    sources: RefCell<Sources>,
    /// The buffer [`Poller::wait`] fills, kept from one wait to the next.
    events: RefCell<Events>,
}
// ANCHOR_END: reactor_handle

// ANCHOR: reactor_timers
/// The timers waiting to fire.
#[derive(Default)]
struct Timers {
    /// Pending timers by (deadline, seq), each with the waker of the future
    /// waiting for it.
    ///
    /// A `BTreeMap` is used as the heap: like `BinaryHeap` it gives the
    /// earliest deadline quickly (`first_key_value`, O(log n)), and unlike
    /// `BinaryHeap` it can also *remove* any timer in O(log n), which is what a
    /// dropped `Sleep` needs. With a `BinaryHeap`, cancelled timers would have
    /// to stay in the heap, marked dead, until they reach the top.
    pending: BTreeMap<TimerId, Waker>,
    /// The next sequence number.
    next_seq: u64,
}
// ANCHOR_END: reactor_timers

/// The registration table: what the reactor knows about each socket, by key.
#[derive(Default)]
struct Sources {
    /// Registered sockets by key.
    by_key: HashMap<usize, Waiters>,
    /// The next key. Keys are never reused, so an event that arrives for a
    /// socket deleted in the meantime finds no entry, instead of waking whoever
    /// got the key next.
    next_key: usize,
}

/// One registered socket: a handle to it, and who waits in each direction.
struct Waiters {
    /// The socket itself, shared with its [`Registration`]: the reactor needs
    /// it to re-arm the socket's interest after an event (`Poller::modify`
    /// takes the socket, not the key).
    source: Rc<dyn AsSource>,
    /// Waiting for readability.
    read: Waiting,
    /// Waiting for writability.
    write: Waiting,
}

/// Who waits in one direction of one socket, and whether it has been reported
/// ready.
#[derive(Default)]
struct Waiting {
    /// The latest waker of the future waiting in this direction. `Some` exactly
    /// while the socket is armed for this direction in the poller.
    waker: Option<Waker>,
    /// Set when the poller reports this direction ready, cleared when a future
    /// is told so.
    ready: bool,
}

impl Waiters {
    fn direction(&mut self, direction: Direction) -> &mut Waiting {
        match direction {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }

    /// The interest to arm: each direction that has a waiter.
    fn interest(&self, key: usize) -> Event {
        Event::new(key, self.read.waker.is_some(), self.write.waker.is_some())
    }
}

impl Reactor {
    /// A reactor with no timers and no sockets.
    ///
    /// # Panics
    ///
    /// If the operating system refuses a poller (an epoll or kqueue instance):
    /// the process is out of file descriptors, most likely.
    pub fn new() -> Self {
        let poller = Poller::new().unwrap_or_else(|error| {
            panic!(
                "the reactor needs a poller (epoll, kqueue), and the OS \
                 refused one: {error}"
            )
        });
        Reactor {
            shared: Rc::new(Shared {
                poller: Arc::new(poller),
                timers: RefCell::default(),
                sources: RefCell::default(),
                events: RefCell::new(Events::new()),
            }),
        }
    }

    /// The poller, for the executor's run queue, whose wakes from other threads
    /// `notify` it.
    pub(crate) fn poller(&self) -> Arc<Poller> {
        Arc::clone(&self.shared.poller)
    }

    /// Number of timers waiting to fire.
    pub fn pending_timers(&self) -> usize {
        self.shared.timers.borrow().pending.len()
    }

    /// Number of sockets registered with the poller.
    pub fn registered_sockets(&self) -> usize {
        self.shared.sources.borrow().by_key.len()
    }

    // ANCHOR: reactor_fire_due
    /// The earliest deadline of a pending timer, if there is one.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timers = self.shared.timers.borrow();
        timers.pending.first_key_value().map(|(id, _)| id.deadline)
    }

    /// Fires every timer whose deadline is `now` or earlier: removes it and
    /// wakes its waker. Returns how many fired.
    ///
    /// `now` is a parameter, not `Instant::now()`, so that tests can move time
    /// forward without sleeping.
    pub fn fire_due(&self, now: Instant) -> usize {
        let mut due = Vec::new();
        {
            let mut timers = self.shared.timers.borrow_mut();
            while let Some(entry) = timers.pending.first_entry() {
                if entry.key().deadline > now {
                    break;
                }
                due.push(entry.remove());
            }
        }
        // Wake only after the borrow has ended: a waker may run arbitrary code,
        // and code that touches the reactor again (a `Sleep` in a test, say)
        // must not find it borrowed.
        let fired = due.len();
        due.into_iter().for_each(Waker::wake);
        fired
    }
    // ANCHOR_END: reactor_fire_due

    // ANCHOR: reactor_turn
    // ANCHOR: reactor_park
    /// What the executor calls when it has nothing to run: waits in the poller
    /// until a socket is ready, the earliest timer is due, or another thread's
    /// wake notifies the poller (with no timer pending, there is no timeout).
    /// Then wakes the futures whose sockets are ready and fires the due timers,
    /// and returns how many wakers that woke.
    ///
    /// The wait may end early (a notify, a spurious wake-up); waking nothing is
    /// then harmless, the executor just looks again. With no timer pending, no
    /// socket armed and no other thread holding a waker, this waits forever:
    /// the executor checks for that before it calls us (see
    /// `Executor::block_on`).
    pub fn park(&self) -> usize {
        let timeout = self
            .next_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        self.turn(timeout)
    }
    // ANCHOR_END: reactor_park

    // ANCHOR: turn_events
    /// One turn of the reactor: waits in the poller at most `timeout` (`None`:
    /// until an event or a notify; zero: not at all, just look), wakes the
    /// futures whose sockets are ready, fires the due timers. Returns how many
    /// wakers it woke.
    pub fn turn(&self, timeout: Option<Duration>) -> usize {
        let mut ready = Vec::new();
        {
            let mut events = self.shared.events.borrow_mut();
            events.clear();
            // `polling` retries the wait itself when a signal interrupts it;
            // any other error means the poller is unusable (a bug, not a
            // condition to handle).
            if let Err(error) = self.shared.poller.wait(&mut events, timeout) {
                panic!("waiting in the poller failed: {error}");
            }
            let mut sources = self.shared.sources.borrow_mut();
            for event in events.iter() {
                // A socket deleted since the event was queued: nobody to wake.
                let Some(waiters) = sources.by_key.get_mut(&event.key) else {
                    continue;
                };
                if event.readable {
                    waiters.read.ready = true;
                    ready.extend(waiters.read.waker.take());
                }
                if event.writable {
                    waiters.write.ready = true;
                    ready.extend(waiters.write.waker.take());
                }
                // ANCHOR_END: turn_events
                // ANCHOR: turn_rearm
                // Oneshot: the event disarmed the socket in *both* directions.
                // A future still waiting in the other direction must stay
                // armed, or it would never be woken.
                if waiters.read.waker.is_some() || waiters.write.waker.is_some()
                {
                    let interest = waiters.interest(event.key);
                    if self
                        .shared
                        .poller
                        .modify(&*waiters.source, interest)
                        .is_err()
                    {
                        // Cannot re-arm: wake them, and their next I/O call
                        // finds the error.
                        ready.extend(waiters.read.waker.take());
                        ready.extend(waiters.write.waker.take());
                    }
                }
            }
        }
        // As with timers: wake after every borrow has ended.
        let woken = ready.len();
        ready.into_iter().for_each(Waker::wake);
        woken + self.fire_due(Instant::now())
    }
    // ANCHOR_END: turn_rearm
    // ANCHOR_END: reactor_turn

    // ANCHOR: reactor_timer_ops
    /// Registers a timer for `deadline` that will wake `waker`.
    pub(crate) fn register(&self, deadline: Instant, waker: &Waker) -> TimerId {
        let mut timers = self.shared.timers.borrow_mut();
        let id = TimerId {
            deadline,
            seq: timers.next_seq,
        };
        timers.next_seq += 1;
        timers.pending.insert(id, waker.clone());
        id
    }

    /// If timer `id` is still pending, makes sure it will wake `waker` (a
    /// future may be polled with a different waker than last time) and returns
    /// `true`; returns `false` if it fired.
    fn refresh(&self, id: TimerId, waker: &Waker) -> bool {
        let mut timers = self.shared.timers.borrow_mut();
        match timers.pending.get_mut(&id) {
            Some(registered) => {
                if !registered.will_wake(waker) {
                    registered.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Removes timer `id`, if it has not fired yet.
    fn cancel(&self, id: TimerId) {
        self.shared.timers.borrow_mut().pending.remove(&id);
    }
    // ANCHOR_END: reactor_timer_ops

    // ANCHOR: reactor_sockets
    // ANCHOR: add_source
    /// Adds `source` to the poller, with no interest yet, and returns its key.
    fn add_source(&self, source: Rc<dyn AsSource>) -> io::Result<usize> {
        let mut sources = self.shared.sources.borrow_mut();
        let key = sources.next_key;
        // SAFETY: `Poller::add` requires that the source be deleted from the
        // poller before it is closed. The only owners of `source` are this
        // table and one `Registration`, whose `Drop` deletes the source from
        // the poller (`remove_source`) and removes the table's handle, before
        // its own handle, the last, is dropped and closes the socket. A leaked
        // `Registration` never closes the socket, so the requirement holds on
        // every path.
        #[allow(unsafe_code)]
        let added = unsafe {
            self.shared.poller.add(&source.source(), Event::none(key))
        };
        added?;
        sources.next_key += 1;
        sources.by_key.insert(
            key,
            Waiters {
                source,
                read: Waiting::default(),
                write: Waiting::default(),
            },
        );
        Ok(key)
    }
    // ANCHOR_END: add_source

    // ANCHOR: poll_ready
    /// `Ready` if socket `key` was reported ready in `direction` since the last
    /// time this said so; otherwise keeps `waker` as the one to wake, arms the
    /// interest, and is `Pending`.
    fn poll_ready(
        &self,
        key: usize,
        direction: Direction,
        waker: &Waker,
    ) -> Poll<io::Result<()>> {
        let mut sources = self.shared.sources.borrow_mut();
        let waiters = sources
            .by_key
            .get_mut(&key)
            .expect("a live Registration's socket is in the table");
        let waiting = waiters.direction(direction);
        if std::mem::take(&mut waiting.ready) {
            return Poll::Ready(Ok(()));
        }
        match &mut waiting.waker {
            // Already armed: keep the latest waker (a future may move between
            // tasks, and the one to wake is the one that polled last). No
            // system call needed.
            Some(registered) => {
                if !registered.will_wake(waker) {
                    registered.clone_from(waker);
                }
                return Poll::Pending;
            }
            None => waiting.waker = Some(waker.clone()),
        }
        // ANCHOR_END: poll_ready
        // ANCHOR: poll_ready_arm
        // Not armed until now: arm it. The poller looks at the socket when
        // interest is armed, so readiness that arrived between the future's
        // `WouldBlock` and this call is reported at the next wait, not lost.
        let interest = waiters.interest(key);
        if let Err(error) =
            self.shared.poller.modify(&*waiters.source, interest)
        {
            waiters.direction(direction).waker = None;
            return Poll::Ready(Err(error));
        }
        Poll::Pending
    }

    /// Deletes socket `key` from the poller and from the table (dropping the
    /// table's handle to it), with any waker still kept for it.
    fn remove_source(&self, key: usize) {
        let removed = self.shared.sources.borrow_mut().by_key.remove(&key);
        if let Some(waiters) = removed {
            // An error means the poller did not have it; there is nothing else
            // to undo.
            let _ = self.shared.poller.delete(&*waiters.source);
        }
    }
    // ANCHOR_END: poll_ready_arm
    // ANCHOR_END: reactor_sockets
}

impl Default for Reactor {
    fn default() -> Self {
        Reactor::new()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("pending_timers", &self.pending_timers())
            .field("registered_sockets", &self.registered_sockets())
            .finish()
    }
}
// ANCHOR_END: reactor

// ANCHOR: registration
/// A socket registered with the reactor, owned: the socket is in the poller for
/// exactly as long as this value lives (async-io calls the same idea
/// `Async<T>`, tokio `PollEvented`).
///
/// The socket must be in non-blocking mode: the futures built on a registration
/// call it until it says `WouldBlock`, and a blocking socket would block the
/// executor's thread instead.
///
/// The pattern every socket future follows: try the call; on `WouldBlock`, call
/// [`poll_ready`](Registration::poll_ready) for the direction it needs, and
/// return `Pending` if it does; when woken, try the call again. Readiness is a
/// hint, the call decides: a socket reported readable may still say
/// `WouldBlock` (another reader was first, or the wake was for something else),
/// and then the future simply waits again.
pub struct Registration<T: AsSource + 'static> {
    /// The reactor the socket is registered with.
    reactor: Reactor,
    /// The socket's key in the reactor's table and in the poller.
    key: usize,
    /// The socket. Shared with the reactor's table (which needs it to re-arm
    /// interest); this handle is the one that outlives the other.
    source: Rc<T>,
}

impl<T: AsSource + 'static> Registration<T> {
    /// Registers `source`, which must be non-blocking, with `reactor`, with no
    /// interest yet.
    ///
    /// # Errors
    ///
    /// If the poller refuses the socket.
    pub fn new(reactor: &Reactor, source: T) -> io::Result<Self> {
        let source = Rc::new(source);
        let key = reactor.add_source(Rc::clone(&source) as Rc<dyn AsSource>)?;
        Ok(Registration {
            reactor: reactor.clone(),
            key,
            source,
        })
    }

    /// The socket, for its non-blocking calls (`&TcpStream` implements `Read`
    /// and `Write`).
    pub fn get_ref(&self) -> &T {
        &self.source
    }

    /// `Ready` if the socket was reported ready in `direction` since the last
    /// time this said so (then try the call again); otherwise keeps `cx`'s
    /// waker, the latest, as the one to wake when it is, and returns `Pending`.
    /// `Ready(Err)` if the poller refuses the interest.
    pub fn poll_ready(
        &self,
        direction: Direction,
        cx: &Context<'_>,
    ) -> Poll<io::Result<()>> {
        self.reactor.poll_ready(self.key, direction, cx.waker())
    }
}

impl<T: AsSource + 'static> Drop for Registration<T> {
    /// Deletes the socket from the poller, first; then the fields are dropped,
    /// and with `source`, the last handle to the socket, the socket is closed.
    /// This is where every socket of this style is closed: when the future that
    /// owns its registration finishes, or is dropped (a timeout, a failed run).
    fn drop(&mut self) {
        self.reactor.remove_source(self.key);
    }
}

impl<T: AsSource + fmt::Debug + 'static> fmt::Debug for Registration<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("key", &self.key)
            .field("source", &self.source)
            .finish()
    }
}
// ANCHOR_END: registration

// ANCHOR: sleep
// ANCHOR: sleep_fn
/// Waits until `duration` has passed. The deadline is fixed now, when the
/// future is created; the timer is registered at the first poll, because only
/// then is there a waker to register.
pub fn sleep(reactor: &Reactor, duration: Duration) -> Sleep {
    Sleep {
        reactor: reactor.clone(),
        deadline: Instant::now() + duration,
        state: SleepState::Created,
    }
}

/// Future for [`sleep`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct Sleep {
    /// The reactor that fires the timer.
    reactor: Reactor,
    /// When the sleep ends.
    deadline: Instant,
    /// Where the sleep is in its life.
    state: SleepState,
}

/// The states of a [`Sleep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SleepState {
    /// Not polled yet: the reactor does not know about us.
    Created,
    /// Polled, and waiting in the reactor under this id.
    Registered(TimerId),
    /// The deadline has passed (the reactor fired the timer). Polling again
    /// stays ready.
    Fired,
}
// ANCHOR_END: sleep_fn

// ANCHOR: sleep_poll
impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.state = match self.state {
            // A deadline already in the past needs no timer (a zero-length
            // sleep, say).
            SleepState::Created if Instant::now() >= self.deadline => {
                SleepState::Fired
            }
            // Created -> Registered: give the reactor our waker.
            SleepState::Created => SleepState::Registered(
                self.reactor.register(self.deadline, cx.waker()),
            ),
            // Still in the reactor: stay registered (with the current waker).
            // Not in the reactor any more: it fired, Registered -> Fired.
            SleepState::Registered(id)
                if self.reactor.refresh(id, cx.waker()) =>
            {
                self.state
            }
            SleepState::Registered(_) | SleepState::Fired => SleepState::Fired,
        };
        match self.state {
            SleepState::Fired => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }
}
// ANCHOR_END: sleep_poll

// ANCHOR: sleep_drop
impl Drop for Sleep {
    /// A `Sleep` dropped while registered (the loser of a race, say) takes its
    /// timer out of the reactor. Otherwise the executor would keep waking up
    /// for a timer nobody waits for, and a run could not end before its last
    /// abandoned timeout.
    fn drop(&mut self) {
        if let SleepState::Registered(id) = self.state {
            self.reactor.cancel(id);
        }
    }
}
// ANCHOR_END: sleep_drop
// ANCHOR_END: sleep

impl Sleep {
    /// The instant the sleep ends (tokio's `Sleep::deadline`). Fixed when the
    /// sleep is created, so it says when the sleep was *due*, however late the
    /// poll that finds it ready: what
    /// [`Timeout`](crate::executor::timeout::Timeout) compares to decide a race
    /// between two timers.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::CountingWaker;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn sleep_registers_at_the_first_poll_and_is_woken_when_it_fires() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut sleep = sleep(&reactor, SECOND);
        assert_eq!(reactor.pending_timers(), 0, "created, not registered yet");

        // Created -> Registered.
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 1);
        // A poll before the deadline stays registered, and registers nothing
        // new.
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 1);
        assert_eq!(wakes.count(), 0);

        // Nothing is due yet; then time moves on two seconds and the timer
        // fires.
        assert_eq!(reactor.fire_due(Instant::now()), 0);
        assert_eq!(reactor.fire_due(Instant::now() + 2 * SECOND), 1);
        assert_eq!(wakes.count(), 1, "woken when the timer fired");
        assert_eq!(reactor.pending_timers(), 0);

        // Registered -> Fired, and it stays ready.
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut sleep).poll(&mut cx).is_ready());
    }

    #[test]
    fn a_past_deadline_is_ready_at_once_without_a_timer() {
        let reactor = Reactor::new();
        let (waker, _) = CountingWaker::new();
        let mut sleep = sleep(&reactor, Duration::ZERO);
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
        );
        assert_eq!(reactor.pending_timers(), 0);
    }

    #[test]
    fn a_dropped_sleep_cancels_its_timer() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut sleep = sleep(&reactor, SECOND);
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(sleep);
        assert_eq!(reactor.pending_timers(), 0);
        assert_eq!(reactor.next_deadline(), None, "nothing left to wait for");
        assert_eq!(wakes.count(), 0);
    }

    #[test]
    fn the_latest_waker_is_the_one_woken() {
        let reactor = Reactor::new();
        let (first, first_wakes) = CountingWaker::new();
        let (second, second_wakes) = CountingWaker::new();
        let mut sleep = sleep(&reactor, SECOND);
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&first))
                .is_pending()
        );
        assert!(
            Pin::new(&mut sleep)
                .poll(&mut Context::from_waker(&second))
                .is_pending()
        );
        reactor.fire_due(Instant::now() + 2 * SECOND);
        assert_eq!((first_wakes.count(), second_wakes.count()), (0, 1));
    }

    #[test]
    fn timers_fire_in_deadline_order_and_the_reactor_waits_for_them() {
        let reactor = Reactor::new();
        let (waker, wakes) = CountingWaker::new();
        let mut cx = Context::from_waker(&waker);
        let mut later = sleep(&reactor, 2 * SECOND);
        let mut sooner = sleep(&reactor, Duration::from_millis(1));
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut sooner).poll(&mut cx).is_pending());
        assert!(reactor.next_deadline() < Some(Instant::now() + SECOND));
        // Waits in the poller for about a millisecond, then fires the sooner
        // timer only.
        while wakes.count() == 0 {
            reactor.park();
        }
        assert!(Pin::new(&mut sooner).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
        assert_eq!(reactor.pending_timers(), 1);
    }

    mod sockets {
        //! The socket half of the reactor, on connected pairs of loopback
        //! sockets made here.

        use std::io::{Read, Write};

        use super::*;
        use crate::test_support::loopback_pair;

        /// Turns the reactor until `done` (with a generous bound on turns, so
        /// that a lost event fails the test instead of hanging it). Each turn
        /// waits at most a second.
        fn turn_until(reactor: &Reactor, done: impl Fn() -> bool) {
            for _ in 0..20 {
                if done() {
                    return;
                }
                reactor.turn(Some(SECOND));
            }
            assert!(done(), "the event never came");
        }

        #[test]
        fn the_reactor_wakes_the_waker_of_the_direction_that_is_ready() {
            let reactor = Reactor::new();
            let (client, mut server) = loopback_pair();
            let registration = Registration::new(&reactor, client).unwrap();
            let (reader, reads) = CountingWaker::new();
            let (writer, writes) = CountingWaker::new();

            // Nothing to read yet: the reader waits. A fresh socket's send
            // buffer has room, so the writer's interest is reported at the next
            // turn.
            let read_cx = Context::from_waker(&reader);
            assert!(
                registration
                    .poll_ready(Direction::Read, &read_cx)
                    .is_pending()
            );
            let write_cx = Context::from_waker(&writer);
            assert!(
                registration
                    .poll_ready(Direction::Write, &write_cx)
                    .is_pending()
            );
            turn_until(&reactor, || writes.count() == 1);
            assert_eq!(reads.count(), 0, "writable is not readable");
            assert!(
                registration
                    .poll_ready(Direction::Write, &write_cx)
                    .is_ready()
            );

            // The reader is still armed, although the write event disarmed the
            // socket: the reactor re-armed it. Now the peer writes, and only
            // the reader is woken.
            server.write_all(b"x").unwrap();
            turn_until(&reactor, || reads.count() == 1);
            assert_eq!(writes.count(), 1, "the writer was not woken again");
            assert!(
                registration
                    .poll_ready(Direction::Read, &read_cx)
                    .is_ready()
            );
            let mut byte = [0];
            assert_eq!(registration.get_ref().read(&mut byte).unwrap(), 1);
        }

        #[test]
        fn the_latest_waker_of_a_socket_is_the_one_woken() {
            let reactor = Reactor::new();
            let (client, mut server) = loopback_pair();
            let registration = Registration::new(&reactor, client).unwrap();
            let (first, first_wakes) = CountingWaker::new();
            let (second, second_wakes) = CountingWaker::new();
            let read = |waker| {
                registration
                    .poll_ready(Direction::Read, &Context::from_waker(waker))
            };
            assert!(read(&first).is_pending());
            assert!(
                read(&second).is_pending(),
                "polled again, by another task"
            );
            server.write_all(b"x").unwrap();
            turn_until(&reactor, || second_wakes.count() == 1);
            assert_eq!(first_wakes.count(), 0);
        }

        #[test]
        fn a_dropped_registration_leaves_the_poller_and_closes_its_socket() {
            let reactor = Reactor::new();
            let (client, mut server) = loopback_pair();
            let registration = Registration::new(&reactor, client).unwrap();
            let (waker, wakes) = CountingWaker::new();
            let cx = Context::from_waker(&waker);
            assert!(registration.poll_ready(Direction::Read, &cx).is_pending());
            assert_eq!(reactor.registered_sockets(), 1);

            drop(registration);
            assert_eq!(
                reactor.registered_sockets(),
                0,
                "deleted from the table"
            );
            // Closed: the peer reads the end of the stream (0 bytes), not a
            // timeout.
            let mut byte = [0];
            assert_eq!(
                server.read(&mut byte).unwrap(),
                0,
                "the socket was closed"
            );
            // And its waker is gone with it: nothing is woken for a socket that
            // left.
            server.write_all(b"late").ok();
            reactor.turn(Some(Duration::ZERO));
            assert_eq!(wakes.count(), 0);
        }

        #[test]
        fn a_wait_in_the_poller_ends_when_another_thread_notifies_it() {
            // No timer, no socket: only the notify can end this wait (`None`:
            // no timeout).
            let reactor = Reactor::new();
            let poller = reactor.poller();
            let notifier = std::thread::spawn(move || poller.notify().unwrap());
            assert_eq!(
                reactor.turn(None),
                0,
                "the notify ended the wait, waking nobody"
            );
            notifier.join().unwrap();
        }
    }
}
