//! # Exercise 05: a JavaScript Promise on the event loop
//!
//! Chapter 4, Callbacks (`book/src/callbacks.md`). About 20 minutes.
//!
//! A JavaScript `Promise` is a callback list with a value at the end. Build a small one on the
//! event loop of the earlier exercises, and you will see exactly what a promise adds to
//! callbacks, and (in chapter 5) what Rust's futures do differently.
//!
//! [`Promise::new`] is given: like `new Promise((resolve) => ...)`, it runs its executor **at
//! once** (promises are eager: the work starts whether or not anyone ever waits for the value).
//! A promise's [`State`] is `Pending`, with the reactions waiting for the value, or `Resolved`,
//! with the value. [`Resolve::resolve`] is given too: it stores the value and schedules the
//! reactions that were waiting. Write the three pieces that make it a promise (each one's doc
//! comment says what it guarantees):
//!
//! 1. [`Promise::when_resolved`]: a reaction runs once the value is there, and **never
//!    synchronously**, not even when the value is there already (JavaScript runs reactions as
//!    "microtasks", always after the current code);
//! 2. [`Promise::then`]: a new promise of `f(value)`;
//! 3. [`Promise::then_promise`]: a new promise of the value of the promise that `g(value)`
//!    returns.
//!
//! Check your work with `cargo run -- learn check 5`. Stuck? `cargo run -- learn hint 5`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use rosetta_callbacks::event_loop::EventLoop;

/// A callback waiting for a promise's value.
type Reaction<T> = Box<dyn FnOnce(T)>;

/// Where a promise stands.
enum State<T> {
    /// No value yet; these callbacks wait for it, in the order they were registered.
    Pending(Vec<Reaction<T>>),
    /// The value. A promise is resolved at most once and never changes afterwards.
    Resolved(T),
}

/// A value that will be there later, JavaScript style: *eager* (the work starts when the
/// promise is created, whether anyone waits for it or not) and shared (every `then` gets the
/// value).
///
/// `T: Clone` because every reaction gets a value of its own; JavaScript shares one object
/// between them instead, which Rust's ownership rules would not allow without an `Rc`.
pub struct Promise<T> {
    /// The state, shared by every clone of the promise and by its [`Resolve`].
    state: Rc<RefCell<State<T>>>,
    /// The loop that reactions are scheduled on.
    event_loop: EventLoop,
}

/// The right to resolve a promise: what JavaScript passes to the executor as `resolve`.
pub struct Resolve<T> {
    /// The promise this resolves.
    promise: Promise<T>,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            state: Rc::clone(&self.state),
            event_loop: self.event_loop.clone(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.state.borrow() {
            State::Pending(reactions) => write!(f, "Promise(pending, {} waiting)", reactions.len()),
            State::Resolved(value) => write!(f, "Promise({value:?})"),
        }
    }
}

impl<T: Clone + 'static> Promise<T> {
    /// `new Promise((resolve) => { ... })`: calls `executor` **now**, before returning, with
    /// the right to resolve the promise. That is what "eager" means.
    pub fn new(event_loop: &EventLoop, executor: impl FnOnce(Resolve<T>)) -> Promise<T> {
        let promise = Promise {
            state: Rc::new(RefCell::new(State::Pending(Vec::new()))),
            event_loop: event_loop.clone(),
        };
        executor(Resolve {
            promise: promise.clone(),
        });
        promise
    }

    /// `Promise.resolve(value)`: a promise that already has its value.
    pub fn resolved(event_loop: &EventLoop, value: T) -> Promise<T> {
        Promise::new(event_loop, |resolve| resolve.resolve(value))
    }

    /// The value, if the promise is resolved. (JavaScript has no such peek; the tests use it.)
    pub fn value(&self) -> Option<T> {
        match &*self.state.borrow() {
            State::Pending(_) => None,
            State::Resolved(value) => Some(value.clone()),
        }
    }

    /// Calls `reaction` with the value, on a later turn of the loop: once the promise is
    /// resolved, or right after the current callback if it already is. Never synchronously.
    pub fn when_resolved(&self, reaction: impl FnOnce(T) + 'static) {
        // TODO: `reaction` runs once, with the value, after the current callback: later if the
        // promise is pending, on the next turn of the loop if it is resolved already.
        todo!("react soon, or once resolved")
    }

    /// `promise.then(x => f(x))`, where `f` returns a plain value: a new promise, resolved
    /// with `f`'s result once this one is resolved.
    pub fn then<U: Clone + 'static>(&self, f: impl FnOnce(T) -> U + 'static) -> Promise<U> {
        // TODO: a promise of `f(value)`, resolved once this one is; `f` runs once.
        todo!("a new promise, resolved with f(value)")
    }

    /// `promise.then(x => g(x))`, where `g` returns a promise: a new promise, resolved with the
    /// value of `g`'s promise. JavaScript's `then` does both; Rust needs two methods, because
    /// the type of the callback's result differs.
    pub fn then_promise<U: Clone + 'static>(
        &self,
        g: impl FnOnce(T) -> Promise<U> + 'static,
    ) -> Promise<U> {
        // TODO: a promise of the value of `g(value)`'s promise, resolved once that one is.
        todo!("a new promise, resolved with the value of g(value)")
    }
}

impl<T: Clone + 'static> Resolve<T> {
    /// Resolves the promise with `value`, and schedules every waiting reaction on the loop, in
    /// the order they were registered. (Taking `self` by value makes resolving twice
    /// impossible.)
    pub fn resolve(self, value: T) {
        let promise = self.promise;
        // Swap the value in and take the waiting reactions out in one step: once the state
        // says `Resolved`, a reaction registered from now on is scheduled by `when_resolved`.
        let previous = std::mem::replace(
            &mut *promise.state.borrow_mut(),
            State::Resolved(value.clone()),
        );
        let State::Pending(reactions) = previous else {
            unreachable!("only `Resolve` resolves, and `resolve` takes it by value");
        };
        // Scheduled, not called: a reaction never runs inside the code that resolved the
        // promise. `set_immediate` keeps their order.
        for reaction in reactions {
            let value = value.clone();
            promise.event_loop.set_immediate(move || reaction(value));
        }
    }
}

/// A promise resolved with `value` after `delay`, like `new Promise(r => setTimeout(() =>
/// r(value), delay))`.
pub fn delay<T: Clone + 'static>(event_loop: &EventLoop, delay: Duration, value: T) -> Promise<T> {
    let timers = event_loop.clone();
    Promise::new(event_loop, move |resolve| {
        timers.set_timeout(delay, move || resolve.resolve(value));
    })
}
