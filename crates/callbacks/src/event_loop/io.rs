//! Readiness I/O for the event loop: a table of registered sockets, a callback
//! per direction, and the dispatch that calls them when the operating system
//! says a socket is ready.
//!
//! # Blocking, non-blocking, ready
//!
//! A blocking `read` on a socket with no data puts the thread to sleep until
//! data comes. On the loop's only thread that would stall every other callback,
//! so every socket the loop holds is *non-blocking*: a `read` with no data, or
//! a `write` with no room in the send buffer, returns at once with
//! [`io::ErrorKind::WouldBlock`]. That is not an error. It means "not now": the
//! caller asks the loop to call it back when the socket is ready
//! ([`ScopedEventLoop::on_readable`], [`ScopedEventLoop::on_writable`]) and
//! returns. (`Interrupted`, a call cut short by a signal, is not an error
//! either: the caller simply calls again.)
//!
//! *Ready* is a promise about the next call, not a result: "readable" means a
//! `read` will not block now (it returns data, 0 at the end of the stream, or
//! an error), "writable" means a `write` will take at least a byte. The loop
//! finds out which sockets are ready the way libuv and every Unix server do:
//! one call to the operating system's readiness wait (`epoll_wait` on Linux,
//! `kevent` on macOS and the BSDs) with every registered socket and the time
//! until the next timer. It returns when a socket is ready or the timer is due,
//! whichever comes first. That wait replaces the loop's `thread::sleep`.
//!
//! # What is written here, and what `polling` does
//!
//! The OS call comes from [`polling`], a thin, well-kept layer over epoll,
//! kqueue and IOCP (through wepoll on Windows), which is what smol and async-io
//! are built on; `mio` is the same layer under tokio. `polling` does three
//! things for us: [`Poller::add`] and [`Poller::modify`] (tell the kernel which
//! directions we care about for a socket, under a number, the *key*),
//! [`Poller::delete`], and [`Poller::wait`] (block until some keys are ready or
//! the timeout passes). Everything else is written here by hand, because it is
//! the lesson:
//!
//! - the **registration table**: key to socket and its waiting callbacks
//!   ([`Sockets`]);
//! - **oneshot interest and re-arming**: a registration reports one event, then
//!   is disarmed until re-armed with `modify`; after every event the loop
//!   re-arms the directions still waited for, and arming a callback arms its
//!   direction ([`Registration::arm`]);
//! - the **dispatch**: turning the keys of a wait into callbacks, run one at a
//!   time on the loop's thread (`ScopedEventLoop::dispatch`);
//! - **deregistration before close**: a socket leaves the poller before its
//!   descriptor is closed, on every path, because [`Registration`]'s `Drop`
//!   does it;
//! - **liveness**: the loop keeps turning while a callback waits on a socket,
//!   as it does while a timer is set (`mod.rs`, step 3 of a turn).
//!
//! Oneshot is why a callback here is an `FnOnce`, exactly like a timer's: an
//! event calls it once, and whoever wants the next event asks again. It also
//! keeps a socket that nobody reads from waking the loop over and over:
//! level-triggered interest (`polling`'s oneshot mode is level-triggered)
//! reports a socket as long as it has unread data, so without oneshot a socket
//! whose reader is waiting for something else would spin the loop.
//!
//! # Readiness and completion
//!
//! epoll and kqueue are *readiness* interfaces: they say when you may read, and
//! you read, into your buffer, when you like. Windows' IOCP and Linux's
//! io_uring are *completion* interfaces: you hand the kernel a buffer and an
//! operation, and the wait says that it has been done, into that buffer, which
//! you may not touch meanwhile. `polling` (like mio and libuv) presents
//! readiness on Windows too, through wepoll. So on every system a callback here
//! gets a socket that is ready, never bytes that were read for it.
//!
//! Read next: `fetch.rs`, whose tcp attempt connects, writes and reads with
//! these callbacks.

use std::collections::HashMap;
use std::io;
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Instant;

use polling::{Event, Events, Poller};

use super::ScopedEventLoop;

/// Names a socket registered with [`ScopedEventLoop::register`], so that
/// callbacks can be armed on it and it can be closed. Never reused within a
/// loop (see `Sockets::next_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketId(usize);

/// A callback waiting for a socket to be ready, error-first like the rest of
/// the crate: `Ok` with the socket when it is ready, `Err` when the loop could
/// not wait for it (the socket is not registered, or the kernel refused to arm
/// it). It borrows the socket only for the call: the loop owns it.
pub type ReadyCallback<'a> = Box<dyn FnOnce(io::Result<&TcpStream>) + 'a>;

/// Which directions of a socket the loop is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Interest {
    readable: bool,
    writable: bool,
}

// ANCHOR: registration
/// One registered socket: the socket, the callback waiting for each direction,
/// and what the poller is armed for.
///
/// Owning the socket is what makes the close safe. `polling` requires a socket
/// to be deleted from the poller before its descriptor is closed (otherwise the
/// kernel, or wepoll's table on Windows, may report a number that now names
/// some other file), so `Drop` deletes it, and the socket, held here, can only
/// close after that.
struct Registration<'a> {
    /// The socket. An `Rc` so that the dispatch can lend it to a callback
    /// without holding the loop's `RefCell` borrowed during the call; the
    /// socket closes when the last `Rc` goes, which is never before this
    /// registration's `Drop` has deleted it from the poller.
    socket: Rc<TcpStream>,
    /// The poller it is registered with (shared with the loop).
    poller: Rc<Poller>,
    /// Its key: what the poller reports when it is ready.
    key: usize,
    /// The callback for "readable", if one waits.
    on_readable: Option<ReadyCallback<'a>>,
    /// The callback for "writable", if one waits.
    on_writable: Option<ReadyCallback<'a>>,
    /// What the poller is armed for now. An event disarms everything (oneshot).
    armed: Interest,
}

impl<'a> Registration<'a> {
    /// Registers `socket` with `poller` under `key`, armed for nothing yet.
    #[allow(
        unsafe_code,
        reason = "`Poller::add` is unsafe; the one call in this crate"
    )]
    fn new(
        poller: Rc<Poller>,
        socket: TcpStream,
        key: usize,
    ) -> io::Result<Self> {
        // Every socket the loop holds is non-blocking: its callbacks read and
        // write it on the loop's only thread, and a blocking call there would
        // stall everything.
        socket.set_nonblocking(true)?;
        // SAFETY: `Poller::add` requires that the socket be deleted from the
        // poller before it is dropped. The socket moves into the `Registration`
        // returned below (in an `Rc` that never leaves this module but for the
        // length of a callback's call), and `Registration::drop` deletes it;
        // the `Rc` the registration holds keeps the descriptor open until after
        // that `drop` has run. If `add` fails, nothing was registered, and the
        // socket is dropped unregistered, which is allowed.
        unsafe { poller.add(&socket, Event::none(key))? };
        Ok(Registration {
            socket: Rc::new(socket),
            poller,
            key,
            on_readable: None,
            on_writable: None,
            armed: Interest::default(),
        })
    }

    /// Where the callback for `direction` waits.
    fn slot(&mut self, direction: Direction) -> &mut Option<ReadyCallback<'a>> {
        match direction {
            Direction::Readable => &mut self.on_readable,
            Direction::Writable => &mut self.on_writable,
        }
    }

    /// The directions a callback waits for.
    fn wanted(&self) -> Interest {
        Interest {
            readable: self.on_readable.is_some(),
            writable: self.on_writable.is_some(),
        }
    }

    /// Arms the poller for the directions a callback waits for, if it is not
    /// armed for exactly those already (one `modify` system call, only when
    /// something changed).
    fn arm(&mut self) -> io::Result<()> {
        let wanted = self.wanted();
        if wanted != self.armed {
            let event = Event::new(self.key, wanted.readable, wanted.writable);
            self.poller.modify(&*self.socket, event)?;
            self.armed = wanted;
        }
        Ok(())
    }

    /// How many callbacks wait on this socket (0, 1 or 2).
    fn waiting(&self) -> usize {
        usize::from(self.on_readable.is_some())
            + usize::from(self.on_writable.is_some())
    }

    /// Takes the waiting callbacks out, for a caller that cannot arm them: they
    /// will be called with the error instead.
    fn take_callbacks(&mut self) -> [Option<ReadyCallback<'a>>; 2] {
        [self.on_readable.take(), self.on_writable.take()]
    }
}

impl Drop for Registration<'_> {
    /// Deregistration, before the close: the socket leaves the poller here, and
    /// its descriptor closes when the `Rc` in `socket` is dropped, right after
    /// (or, if a callback is running with the socket, when that call returns).
    fn drop(&mut self) {
        // An error here means the socket was not registered any more; either
        // way it is not now, which is all the close needs.
        let _ = self.poller.delete(&*self.socket);
    }
}
// ANCHOR_END: registration

/// The loop's sockets: the poller, created with the first registration (a loop
/// that never registers a socket, on the `sim` transport, never opens one), and
/// the registration table.
#[derive(Default)]
pub(super) struct Sockets<'a> {
    /// The poller: one epoll (or kqueue) instance for the whole loop.
    poller: Option<Rc<Poller>>,
    /// Every registered socket, by key.
    table: HashMap<usize, Registration<'a>>,
    /// The key of the next registration. Keys only go up: a key is never
    /// reused, so an event still in the batch of a wait for a socket that a
    /// callback of that batch has closed finds no registration and is dropped,
    /// instead of being delivered to a new socket that took its number. (A slab
    /// that reuses keys, as mio's users and tokio do, adds a generation to the
    /// key for the same reason.)
    next_key: usize,
    /// How many callbacks wait on sockets, all registrations together: the loop
    /// keeps turning while this is above 0.
    pub(super) waiting: usize,
}

impl Sockets<'_> {
    /// The poller, if a socket was ever registered.
    pub(super) fn poller(&self) -> Option<Rc<Poller>> {
        self.poller.clone()
    }

    /// How many sockets are registered.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }
}

/// Which callback of a socket.
#[derive(Debug, Clone, Copy)]
enum Direction {
    Readable,
    Writable,
}

impl<'a> ScopedEventLoop<'a> {
    // ANCHOR: io_api
    // ANCHOR: io_register
    /// Hands `socket` to the loop: it is made non-blocking, registered with the
    /// loop's poller (created now if this is the first socket), and from now on
    /// owned by the loop until [`close`](ScopedEventLoop::close) (or until the
    /// loop is dropped). A registered socket with no callback waiting costs
    /// nothing and does not keep the loop running.
    ///
    /// Fails if the poller cannot be created or the kernel refuses the
    /// registration (out of memory, or of epoll watches); the socket is closed
    /// then.
    pub fn register(&self, socket: TcpStream) -> io::Result<SocketId> {
        let mut state = self.state.borrow_mut();
        let sockets = &mut state.sockets;
        let poller = match &sockets.poller {
            Some(poller) => Rc::clone(poller),
            None => Rc::clone(sockets.poller.insert(Rc::new(Poller::new()?))),
        };
        let key = sockets.next_key;
        sockets.next_key += 1;
        let registration = Registration::new(poller, socket, key)?;
        sockets.table.insert(key, registration);
        Ok(SocketId(key))
    }
    // ANCHOR_END: io_register

    // ANCHOR: io_on_ready
    /// Calls `callback` once, when `socket` is readable: a `read` will not
    /// block (it returns data, 0 at the end of the stream, or an error). For
    /// the next time, ask again.
    ///
    /// If the loop cannot wait for the socket (it is closed, or arming it
    /// fails), `callback` gets the error, on a later turn: like every callback
    /// here, never before this returns.
    ///
    /// # Panics
    ///
    /// If a readable callback already waits on `socket`: one reader at a time.
    pub fn on_readable(
        &self,
        socket: SocketId,
        callback: impl FnOnce(io::Result<&TcpStream>) + 'a,
    ) {
        self.when_ready(socket, Direction::Readable, Box::new(callback));
    }

    /// Calls `callback` once, when `socket` is writable: a `write` will take at
    /// least a byte. (For a socket whose connect is in progress: when the
    /// connect has finished, one way or the other.) Errors and panics as
    /// [`on_readable`](ScopedEventLoop::on_readable).
    pub fn on_writable(
        &self,
        socket: SocketId,
        callback: impl FnOnce(io::Result<&TcpStream>) + 'a,
    ) {
        self.when_ready(socket, Direction::Writable, Box::new(callback));
    }
    // ANCHOR_END: io_on_ready

    // ANCHOR: io_close
    /// Deregisters `socket` from the poller and closes it; its waiting
    /// callbacks are dropped without being called. Closing a socket that is
    /// already closed does nothing, as clearing a fired timer does.
    pub fn close(&self, socket: SocketId) {
        let removed = {
            let mut state = self.state.borrow_mut();
            let removed = state.sockets.table.remove(&socket.0);
            if let Some(registration) = &removed {
                state.sockets.waiting -= registration.waiting();
            }
            removed
        };
        // The close happens here, outside the loop's borrow: dropping the
        // registration deletes the socket from the poller, then closes it, and
        // drops its callbacks, whose captured state may hold handles to this
        // loop.
        drop(removed);
    }
    // ANCHOR_END: io_close
    // ANCHOR_END: io_api

    /// Stores `callback` for `direction` of `socket` and arms the poller for
    /// it, or, if that is impossible, schedules it to be called with the error.
    fn when_ready(
        &self,
        socket: SocketId,
        direction: Direction,
        callback: ReadyCallback<'a>,
    ) {
        let refused = {
            let mut state = self.state.borrow_mut();
            let sockets = &mut state.sockets;
            match sockets.table.get_mut(&socket.0) {
                None => Some((callback, not_registered())),
                Some(registration) => {
                    let slot = registration.slot(direction);
                    assert!(
                        slot.is_none(),
                        "a {direction:?} callback already waits on this socket"
                    );
                    *slot = Some(callback);
                    match registration.arm() {
                        Ok(()) => {
                            sockets.waiting += 1;
                            None
                        }
                        // Not armed: the callback could never be called by an
                        // event.
                        Err(error) => registration
                            .slot(direction)
                            .take()
                            .map(|callback| (callback, error)),
                    }
                }
            }
        };
        if let Some((callback, error)) = refused {
            self.set_immediate(move || callback(Err(error)));
        } else {
            self.state.borrow_mut().count_callbacks();
        }
    }

    // ANCHOR: dispatch
    /// Step 3 of a turn with sockets: waits in the poller until a socket is
    /// ready or `deadline` (`None`: no timer, wait for sockets only), then
    /// calls the ready sockets' callbacks, one at a time, on this thread.
    pub(super) fn wait_for_readiness(
        &self,
        poller: &Poller,
        events: &mut Events,
        deadline: Option<Instant>,
    ) {
        events.clear();
        // The one blocking call of the loop. `polling` retries a wait a signal
        // interrupted.
        if let Err(error) = poller.wait(
            events,
            deadline.map(|at| at.saturating_duration_since(Instant::now())),
        ) {
            // Only a broken poller fails here (a bad descriptor, an invalid
            // argument): nothing the loop could go on from.
            panic!("the event loop's readiness wait failed: {error}");
        }
        // The wait may also return with no event at all: the deadline passed,
        // or a spurious wake-up. Either way the next turn looks at the timers
        // again.
        for event in events.iter() {
            self.dispatch(event);
        }
    }

    /// Calls the callbacks `event` makes ready, after re-arming the directions
    /// still waited for.
    fn dispatch(&self, event: Event) {
        let (socket, ready, refused) = {
            let mut state = self.state.borrow_mut();
            let sockets = &mut state.sockets;
            // Closed by a callback earlier in this batch: the event is stale.
            let Some(registration) = sockets.table.get_mut(&event.key) else {
                return;
            };
            // Oneshot: the poller has disarmed the socket to deliver this
            // event.
            registration.armed = Interest::default();
            let on_readable =
                event.readable.then(|| registration.on_readable.take());
            let on_writable =
                event.writable.then(|| registration.on_writable.take());
            let ready = [on_readable.flatten(), on_writable.flatten()];
            sockets.waiting -= ready.iter().flatten().count();
            // Re-arm for what is still waited for (a writer, when only reading
            // was ready).
            let refused = match registration.arm() {
                Ok(()) => None,
                Err(error) => {
                    let left = registration.take_callbacks();
                    sockets.waiting -= left.iter().flatten().count();
                    Some((left, error))
                }
            };
            (Rc::clone(&registration.socket), ready, refused)
        };
        // Outside the borrow: the callbacks will arm, register, close and set
        // timers.
        for callback in ready.into_iter().flatten() {
            // A callback before this one may have closed the socket: then this
            // one is dropped, not called, as `close` promises.
            if !self.state.borrow().sockets.table.contains_key(&event.key) {
                break;
            }
            callback(Ok(&socket));
        }
        if let Some((left, error)) = refused {
            for callback in left.into_iter().flatten() {
                let error = io::Error::new(error.kind(), error.to_string());
                self.set_immediate(move || callback(Err(error)));
            }
        }
    }
    // ANCHOR_END: dispatch
}

impl ScopedEventLoop<'_> {
    /// How many sockets are registered (open, and owned by the loop).
    pub fn open_sockets(&self) -> usize {
        self.state.borrow().sockets.len()
    }
}

/// The error for a callback armed on a socket the loop does not hold.
fn not_registered() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the socket is closed, or was never registered with this event loop",
    )
}

#[cfg(test)]
mod tests {
    //! The loop's readiness I/O on loopback sockets made here: a connected
    //! pair, the client end registered with the loop, the server end driven by
    //! the test (from timer callbacks, so that everything stays on one thread
    //! and in a known order). Every test runs its loop on a thread of its own
    //! under a watchdog, so that a loop that waits forever fails the test
    //! instead of hanging it. No test asserts a duration.

    use std::cell::{Cell, RefCell};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::event_loop::EventLoop;

    /// Far more than any test here takes; only a loop that never returns runs
    /// it out.
    const WATCHDOG: Duration = Duration::from_secs(60);

    /// Runs `test` on a thread of its own and returns what it returns, or fails
    /// if it has not finished within [`WATCHDOG`].
    fn within_watchdog<T: Send + 'static>(
        test: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || done.send(test()).unwrap());
        finished
            .recv_timeout(WATCHDOG)
            .expect("the test's event loop never returned")
    }

    /// A connected pair on loopback: (client, server). The client will be
    /// registered with the loop; the server stays blocking, with a read timeout
    /// so that no test can hang on it.
    fn connected_pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client =
            TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_read_timeout(Some(WATCHDOG)).unwrap();
        (client, server)
    }

    /// Whether the server sees the client's close: a read of 0 bytes (or a
    /// reset) rather than data or a timeout.
    fn sees_the_close(server: &mut TcpStream) -> bool {
        let mut buffer = [0; 1024];
        loop {
            match server.read(&mut buffer) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(error) => {
                    return error.kind() == io::ErrorKind::ConnectionReset;
                }
            }
        }
    }

    /// A log that callbacks append to.
    type Log = Rc<RefCell<Vec<String>>>;

    /// Reads from a ready socket until it would block; logs what it read, then
    /// `would block`. `true` if the stream has ended.
    fn read_until_it_would_block(mut stream: &TcpStream, log: &Log) -> bool {
        let mut buffer = [0; 64];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => {
                    log.borrow_mut().push("end".into());
                    return true;
                }
                Ok(n) => log
                    .borrow_mut()
                    .push(String::from_utf8_lossy(&buffer[..n]).into_owned()),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    log.borrow_mut().push("would block".into());
                    return false;
                }
                Err(error) => panic!("read: {error}"),
            }
        }
    }

    /// Reads `socket` as it becomes readable, re-arming after each
    /// `WouldBlock`, until the end of the stream, then closes it.
    fn read_to_end(event_loop: &EventLoop, socket: SocketId, log: &Log) {
        let (event_loop, log) = (event_loop.clone(), Rc::clone(log));
        event_loop.clone().on_readable(socket, move |ready| {
            if read_until_it_would_block(ready.unwrap(), &log) {
                event_loop.close(socket);
            } else {
                read_to_end(&event_loop, socket, &log);
            }
        });
    }

    #[test]
    fn a_read_that_would_block_waits_for_readable_again() {
        let log = within_watchdog(|| {
            let (client, server) = connected_pair();
            let server = Rc::new(RefCell::new(Some(server)));
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            let log = Log::default();
            read_to_end(&event_loop, socket, &log);
            // The server answers in two pieces, then closes; each piece is
            // read, then the read that follows says `WouldBlock` and the reader
            // waits again.
            let write = |delay_ms, piece: &'static [u8]| {
                let server = Rc::clone(&server);
                event_loop.set_timeout(
                    Duration::from_millis(delay_ms),
                    move || {
                        server
                            .borrow_mut()
                            .as_mut()
                            .unwrap()
                            .write_all(piece)
                            .unwrap();
                    },
                );
            };
            write(5, b"hel");
            write(30, b"lo");
            event_loop.set_timeout(Duration::from_millis(60), move || {
                server.borrow_mut().take(); // closes the server's end
            });
            event_loop.run();
            assert_eq!(event_loop.open_sockets(), 0);
            log.take()
        });
        assert_eq!(log, ["hel", "would block", "lo", "would block", "end"]);
    }

    #[test]
    fn an_event_calls_its_callback_once_until_it_is_armed_again() {
        let calls = within_watchdog(|| {
            let (client, mut server) = connected_pair();
            server.write_all(b"unread").unwrap();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            let calls = Rc::new(Cell::new(0));
            // Readable, and left unread: oneshot, so the callback runs once,
            // and the loop, with nothing left waiting, returns instead of
            // spinning on a socket still readable.
            let counter = Rc::clone(&calls);
            event_loop.on_readable(socket, move |ready| {
                ready.unwrap();
                counter.set(counter.get() + 1);
            });
            event_loop.run();
            assert_eq!(calls.get(), 1);
            // Armed again: still readable (interest is level-triggered), so
            // called again.
            let counter = Rc::clone(&calls);
            event_loop.on_readable(socket, move |ready| {
                let mut unread = [0; 6];
                ready.unwrap().read_exact(&mut unread).unwrap();
                assert_eq!(&unread, b"unread");
                counter.set(counter.get() + 1);
            });
            event_loop.run();
            event_loop.close(socket);
            calls.get()
        });
        assert_eq!(calls, 2);
    }

    #[test]
    fn an_event_for_one_direction_re_arms_the_other() {
        let log = within_watchdog(|| {
            let (client, server) = connected_pair();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            let log = Log::default();
            // Both armed at once: writable comes first (the send buffer is
            // empty), and the reader must stay armed after that event, to be
            // called when the server writes.
            let reader_log = Rc::clone(&log);
            event_loop.on_readable(socket, move |ready| {
                read_until_it_would_block(ready.unwrap(), &reader_log);
            });
            let (writer_log, shared_loop) =
                (Rc::clone(&log), event_loop.clone());
            // The server's end stays open (this clone is written to, the
            // original kept), so the reader sees the data and then
            // `WouldBlock`, not the end of the stream.
            let writer = server.try_clone().unwrap();
            event_loop.on_writable(socket, move |ready| {
                ready.unwrap();
                writer_log.borrow_mut().push("writable".into());
                shared_loop.set_timeout(Duration::from_millis(5), move || {
                    (&writer).write_all(b"later").unwrap();
                });
            });
            event_loop.run();
            event_loop.close(socket);
            drop(server);
            log.take()
        });
        assert_eq!(log, ["writable", "later", "would block"]);
    }

    #[test]
    fn a_write_larger_than_the_send_buffer_finishes_over_several_callbacks() {
        /// What the client sends: many times what both sockets' buffers (set
        /// below) hold together, and not much more, since every round trip of a
        /// small window can wait for a delayed acknowledgement.
        const TOTAL: usize = 256 * 1024;
        let (callbacks, received) = within_watchdog(|| {
            let (client, server) = connected_pair();
            // Small buffers (which also turns the kernel's automatic sizing
            // off), so that the write is sure to outgrow them.
            socket2::SockRef::from(&client)
                .set_send_buffer_size(8 * 1024)
                .unwrap();
            socket2::SockRef::from(&server)
                .set_recv_buffer_size(8 * 1024)
                .unwrap();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            let callbacks = Rc::new(Cell::new(0));
            let (blocked, first_would_block) = mpsc::channel();
            write_from(
                &event_loop,
                socket,
                Rc::new(vec![7; TOTAL]),
                0,
                &callbacks,
                blocked,
            );
            // The server reads on a thread of its own, and only once the
            // client's write has filled the buffers and stopped with
            // `WouldBlock`; then it drains them, and the writer goes on,
            // callback after callback.
            let reader = std::thread::spawn(move || {
                let mut server = server;
                first_would_block
                    .recv_timeout(WATCHDOG)
                    .expect("the write never said WouldBlock");
                let (mut received, mut buffer) = (0, vec![0; 64 * 1024]);
                loop {
                    match server.read(&mut buffer) {
                        Ok(0) => return received,
                        Ok(n) => received += n,
                        Err(error) => panic!("server read: {error}"),
                    }
                }
            });
            event_loop.run();
            assert_eq!(
                event_loop.open_sockets(),
                0,
                "closed once everything was written"
            );
            (callbacks.get(), reader.join().unwrap())
        });
        assert_eq!(received, TOTAL);
        assert!(
            callbacks > 1,
            "the write was split: {callbacks} writable callbacks"
        );
    }

    /// Writes `data[sent..]` when `socket` is writable, as much as the socket
    /// takes, and arms itself again on `WouldBlock` (telling `blocked`); closes
    /// the socket once everything is written.
    fn write_from(
        event_loop: &EventLoop,
        socket: SocketId,
        data: Rc<Vec<u8>>,
        mut sent: usize,
        callbacks: &Rc<Cell<usize>>,
        blocked: mpsc::Sender<()>,
    ) {
        let (shared_loop, callbacks) =
            (event_loop.clone(), Rc::clone(callbacks));
        event_loop.on_writable(socket, move |ready| {
            callbacks.set(callbacks.get() + 1);
            let mut stream = ready.unwrap();
            while sent < data.len() {
                match stream.write(&data[sent..]) {
                    Ok(written) => sent += written,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        // The reader may have stopped listening after the
                        // first: ignore.
                        let _ = blocked.send(());
                        return write_from(
                            &shared_loop,
                            socket,
                            data,
                            sent,
                            &callbacks,
                            blocked,
                        );
                    }
                    Err(error) => panic!("write: {error}"),
                }
            }
            shared_loop.close(socket);
        });
    }

    #[test]
    fn a_timeout_deregisters_and_closes_the_socket_and_drops_its_callback() {
        let (called, dropped, server_saw_close) = within_watchdog(|| {
            let (client, mut server) = connected_pair();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            // The server never writes; the reader's callback must never run,
            // and must be dropped (freeing what it holds) when the timeout
            // closes the socket.
            let called = Rc::new(Cell::new(false));
            let guard = DropFlag::default();
            let (flag, dropped) = (Rc::clone(&called), Rc::clone(&guard.0));
            event_loop.on_readable(socket, move |_| {
                let _guard = guard;
                flag.set(true);
            });
            let shared_loop = event_loop.clone();
            event_loop.set_timeout(Duration::from_millis(20), move || {
                shared_loop.close(socket)
            });
            event_loop.run();
            assert_eq!(event_loop.open_sockets(), 0);
            (called.get(), dropped.get(), sees_the_close(&mut server))
        });
        assert!(!called, "the callback of a closed socket never runs");
        assert!(dropped, "and is dropped");
        assert!(
            server_saw_close,
            "the socket is closed, not only deregistered"
        );
    }

    /// Sets its flag when dropped.
    #[derive(Default)]
    struct DropFlag(Rc<Cell<bool>>);

    impl Drop for DropFlag {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    #[test]
    fn the_loop_waits_for_a_socket_when_no_timer_is_set() {
        let log = within_watchdog(|| {
            let (client, mut server) = connected_pair();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            let log = Log::default();
            read_to_end(&event_loop, socket, &log);
            // No timer, no ready callback: only the socket can wake the loop,
            // from another thread's write.
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                server.write_all(b"woken").unwrap();
            });
            event_loop.run();
            log.take()
        });
        assert_eq!(log.first().map(String::as_str), Some("woken"));
        assert_eq!(log.last().map(String::as_str), Some("end"));
    }

    #[test]
    fn a_socket_with_no_callback_does_not_keep_the_loop_alive() {
        within_watchdog(|| {
            let (client, _server) = connected_pair();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            event_loop.run(); // returns: nothing waits on the socket
            assert_eq!(event_loop.open_sockets(), 1, "registered until closed");
            event_loop.close(socket);
            event_loop.close(socket); // already closed: ignored
            assert_eq!(event_loop.open_sockets(), 0);
        });
    }

    #[test]
    fn a_callback_on_a_closed_socket_gets_an_error_on_a_later_turn() {
        let error = within_watchdog(|| {
            let (client, _server) = connected_pair();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            event_loop.close(socket);
            let error = Rc::new(RefCell::new(None));
            let slot = Rc::clone(&error);
            event_loop.on_readable(socket, move |ready| {
                *slot.borrow_mut() = ready.err().map(|error| error.kind());
            });
            assert!(
                error.borrow().is_none(),
                "not before `on_readable` returns"
            );
            event_loop.run();
            error.take()
        });
        assert_eq!(error, Some(io::ErrorKind::NotFound));
    }

    #[test]
    fn abandoning_the_loop_closes_its_sockets_and_drops_its_callbacks() {
        let (dropped, server_saw_close) = within_watchdog(|| {
            let (client, mut server) = connected_pair();
            let event_loop = EventLoop::new();
            let socket = event_loop.register(client).unwrap();
            let guard = DropFlag::default();
            let dropped = Rc::clone(&guard.0);
            event_loop.on_readable(socket, move |_| drop(guard));
            event_loop.set_timeout(Duration::from_secs(3600), || {});
            event_loop.abandon();
            assert_eq!(event_loop.open_sockets(), 0);
            assert_eq!(event_loop.live_timers(), 0);
            event_loop.run(); // nothing left: returns at once
            (dropped.get(), sees_the_close(&mut server))
        });
        assert!(dropped);
        assert!(server_saw_close);
    }
}
