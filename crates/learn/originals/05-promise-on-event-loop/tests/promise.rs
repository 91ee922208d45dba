//! Tests of exercise 05: the promise is eager, reacts later (never synchronously), in order,
//! and chains with `then` and `then_promise`.

use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;
use std::time::Duration;

use promise_on_event_loop::{Promise, delay};
use rosetta_callbacks::event_loop::EventLoop;

/// Where to read about this exercise.
const REREAD: &str = "chapter 4, Callbacks (book/src/callbacks.md), and chapter 5, Promises \
                      (book/src/promises.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

const MS: Duration = Duration::from_millis(1);

/// A log that reactions write to.
#[derive(Clone, Default)]
struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.borrow_mut().push(entry.into());
    }

    fn entries(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

#[test]
fn a_promise_is_resolved_by_its_executor_once_the_loop_runs() {
    let event_loop = EventLoop::new();
    let promise = delay(&event_loop, 5 * MS, 42);
    check("no value before the timer fires", promise.value(), None);
    event_loop.run();
    check(
        "the value, once the loop has run",
        promise.value(),
        Some(42),
    );
}

#[test]
fn reactions_get_the_value_in_the_order_they_were_registered() {
    let event_loop = EventLoop::new();
    let log = Log::default();
    let promise = delay(&event_loop, 5 * MS, "Oslo".to_string());
    for name in ["first", "second", "third"] {
        let log = log.clone();
        promise.when_resolved(move |value| log.push(format!("{name}: {value}")));
    }
    check(
        "nothing reacts before the promise is resolved",
        log.entries(),
        vec![],
    );
    event_loop.run();
    check(
        "each reaction gets the value, in the order the reactions were registered",
        log.entries(),
        vec![
            "first: Oslo".into(),
            "second: Oslo".into(),
            "third: Oslo".into(),
        ],
    );
}

#[test]
fn a_reaction_to_a_resolved_promise_runs_later_not_at_once() {
    let event_loop = EventLoop::new();
    let log = Log::default();
    let promise = Promise::resolved(&event_loop, 7);
    let reaction = log.clone();
    promise.when_resolved(move |value| reaction.push(format!("got {value}")));
    log.push("when_resolved returned");
    event_loop.run();
    check(
        "a reaction never runs inside `when_resolved`, even when the value is already there: \
         schedule it with `set_immediate`",
        log.entries(),
        vec!["when_resolved returned".into(), "got 7".into()],
    );
}

#[test]
fn the_executor_runs_at_once_eagerly() {
    let event_loop = EventLoop::new();
    let log = Log::default();
    let executor_log = log.clone();
    let promise: Promise<u32> = Promise::new(&event_loop, move |resolve| {
        executor_log.push("executor ran");
        resolve.resolve(1);
    });
    log.push("new returned");
    check(
        "`Promise::new` calls its executor before it returns (promises are eager)",
        log.entries(),
        vec!["executor ran".into(), "new returned".into()],
    );
    check(
        "a promise resolved by its executor has its value at once",
        promise.value(),
        Some(1),
    );
}

#[test]
fn then_chains_plain_values() {
    let event_loop = EventLoop::new();
    let result = delay(&event_loop, 2 * MS, 20)
        .then(|tenths| tenths + 15)
        .then(|tenths| format!("{}.{}", tenths / 10, tenths % 10));
    check("nothing before the loop runs", result.value(), None);
    event_loop.run();
    check(
        "20, then + 15, then formatted as degrees",
        result.value(),
        Some("3.5".to_string()),
    );
}

#[test]
fn then_promise_waits_for_the_inner_promise() {
    let event_loop = EventLoop::new();
    let timers = event_loop.clone();
    let log = Log::default();
    let lookup_log = log.clone();
    let region = delay(&event_loop, 2 * MS, "Oslo").then_promise(move |station| {
        lookup_log.push(format!("looking up {station}"));
        delay(&timers, 5 * MS, "north")
    });
    event_loop.run();
    check(
        "the inner promise ran",
        log.entries(),
        vec!["looking up Oslo".into()],
    );
    check(
        "`then_promise` resolves with the inner promise's value, not with the promise",
        region.value(),
        Some("north"),
    );
}

#[test]
fn every_then_of_one_promise_gets_the_value() {
    let event_loop = EventLoop::new();
    let shared = delay(&event_loop, 2 * MS, 10);
    let doubled = shared.then(|x| x * 2);
    let plus_one = shared.then(|x| x + 1);
    event_loop.run();
    check(
        "two `then`s on one promise each get its value",
        (doubled.value(), plus_one.value()),
        (Some(20), Some(11)),
    );
}
