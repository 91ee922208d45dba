//! # Exercise 01: a countdown of callbacks
//!
//! Chapter 4, Callbacks (`book/src/callbacks.md`). About 10 minutes.
//!
//! [`fetch`] starts fetching one feed and returns at once; when the feed answers, the event
//! loop calls the callback you gave it with the body. Write [`fetch_all`]:
//!
//! 1. start **every** feed at once, without waiting for one before starting the next;
//! 2. when the **last** one has answered, call `done` **exactly once**, with all the bodies in
//!    the order of `feeds` (not the order in which they answered);
//! 3. with no feeds at all, `done` still gets its (empty) list, but on a later turn of the
//!    loop, never before `fetch_all` has returned. A function that calls back sometimes *now*
//!    and sometimes *later* is a trap for whoever calls it.
//!
//! Callbacks have no `join`: nothing tells you when *all* of them have run. [`Countdown`] is
//! the state the feeds' callbacks can share while they answer (one thread runs every callback,
//! one at a time, so no lock is needed).
//!
//! Check your work with `cargo run -- learn check 1`, or let `cargo run -- learn watch` check it
//! each time you save. Stuck? `cargo run -- learn hint 1`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rosetta_callbacks::event_loop::EventLoop;

/// A feed to fetch: after `latency`, it answers with `body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    /// The feed's name, as the log writes it.
    pub name: &'static str,
    /// How long the feed takes to answer.
    pub latency: Duration,
    /// What it answers.
    pub body: &'static str,
}

thread_local! {
    /// What happened, in order: `start NAME` when a fetch starts, `answer NAME` when it answers.
    /// One log per thread: each test runs on a thread of its own, and so does its event loop.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Takes the log of this thread's fetches so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Starts fetching `feed`; calls `answer` with its body once the feed has answered.
///
/// Returns at once: the answer comes later, from a timer on `event_loop`.
pub fn fetch(event_loop: &EventLoop, feed: &Feed, answer: impl FnOnce(String) + 'static) {
    log(format!("start {}", feed.name));
    let Feed { name, body, .. } = *feed;
    event_loop.set_timeout(feed.latency, move || {
        log(format!("answer {name}"));
        answer(body.to_string());
    });
}

/// What the feeds' callbacks share while they answer.
struct Countdown<F> {
    /// Feeds that have not answered yet.
    remaining: usize,
    /// The body of each feed, by its index in `feeds`, once it has answered.
    bodies: Vec<Option<String>>,
    /// The continuation, taken (and called) by the last feed to answer.
    done: Option<F>,
}

/// Fetches every feed at once, then calls `done` once with their bodies, in the order of
/// `feeds`. With no feeds, `done` gets an empty list, on a later turn of the loop.
pub fn fetch_all<F>(event_loop: &EventLoop, feeds: &[Feed], done: F)
where
    F: FnOnce(Vec<String>) + 'static,
{
    // TODO: every feed started before any answers; `done` called exactly once, after the last
    // answer, with the bodies in the order of `feeds`; with no feeds, `done(vec![])` later,
    // never before this function returns.
    todo!("start every feed, and call `done` once, when all have answered")
}
