//! Solution of exercise 05: a minimal JavaScript-style `Promise` on the callback event loop.
//!
//! The exercise (`exercises/05-promise-on-event-loop/src/lib.rs`) explains the task; chapter 4
//! of the book (`book/src/callbacks.md`) explains the style, and chapter 5
//! (`book/src/promises.md`) compares this eager promise with Rust's lazy futures.

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

    // ANCHOR: when_resolved
    /// Calls `reaction` with the value, on a later turn of the loop: once the promise is
    /// resolved, or right after the current callback if it already is. Never synchronously.
    pub fn when_resolved(&self, reaction: impl FnOnce(T) + 'static) {
        let mut state = self.state.borrow_mut();
        match &mut *state {
            State::Pending(reactions) => reactions.push(Box::new(reaction)),
            State::Resolved(value) => {
                let value = value.clone();
                self.event_loop.set_immediate(move || reaction(value));
            }
        }
    }
    // ANCHOR_END: when_resolved

    // ANCHOR: then
    /// `promise.then(x => f(x))`, where `f` returns a plain value: a new promise, resolved
    /// with `f`'s result once this one is resolved.
    pub fn then<U: Clone + 'static>(&self, f: impl FnOnce(T) -> U + 'static) -> Promise<U> {
        Promise::new(&self.event_loop, |resolve| {
            self.when_resolved(move |value| resolve.resolve(f(value)));
        })
    }

    /// `promise.then(x => g(x))`, where `g` returns a promise: a new promise, resolved with the
    /// value of `g`'s promise. JavaScript's `then` does both; Rust needs two methods, because
    /// the type of the callback's result differs.
    pub fn then_promise<U: Clone + 'static>(
        &self,
        g: impl FnOnce(T) -> Promise<U> + 'static,
    ) -> Promise<U> {
        Promise::new(&self.event_loop, |resolve| {
            self.when_resolved(move |value| {
                g(value).when_resolved(move |inner| resolve.resolve(inner));
            });
        })
    }
    // ANCHOR_END: then
}

impl<T: Clone + 'static> Resolve<T> {
    // ANCHOR: resolve
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
    // ANCHOR_END: resolve
}

/// A promise resolved with `value` after `delay`, like `new Promise(r => setTimeout(() =>
/// r(value), delay))`.
pub fn delay<T: Clone + 'static>(event_loop: &EventLoop, delay: Duration, value: T) -> Promise<T> {
    let timers = event_loop.clone();
    Promise::new(event_loop, move |resolve| {
        timers.set_timeout(delay, move || resolve.resolve(value));
    })
}
