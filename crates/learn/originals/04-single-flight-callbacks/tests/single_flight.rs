//! Tests of exercise 04: the cache looks each station up once at a time, answers everyone, in
//! order, and never before `region_of` returns; it keeps answers and forgets failures.

use std::cell::RefCell;
use std::fmt::Debug;
use std::rc::Rc;

use rosetta_callbacks::event_loop::EventLoop;
use single_flight_callbacks::{Lookup, SingleFlightCache, fail_next_lookups, take_log};

/// Where to read about this exercise.
const REREAD: &str = "chapter 4, Callbacks (book/src/callbacks.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

/// Answers, as `"NAME: REGION"` (or `unknown`, or `failed`), in the order they came.
type Answers = Rc<RefCell<Vec<String>>>;

/// An answer as the tests write it.
fn describe(lookup: Lookup) -> String {
    match lookup {
        Ok(Some(region)) => region,
        Ok(None) => "unknown".into(),
        Err(_) => "failed".into(),
    }
}

/// Asks `cache` for `station` on behalf of `name`; the answer goes to `answers`.
fn ask(cache: &Rc<SingleFlightCache>, answers: &Answers, name: &str, station: &str) {
    let (answers, name) = (Rc::clone(answers), name.to_string());
    cache.region_of(station, move |lookup| {
        answers
            .borrow_mut()
            .push(format!("{name}: {}", describe(lookup)));
    });
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

#[test]
fn five_askers_at_once_share_one_lookup_and_are_answered_in_order() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    for name in ["a", "b", "c", "d", "e"] {
        ask(&cache, &answers, name, "Oslo");
    }
    event_loop.run();
    check(
        "five askers for Oslo while its lookup is in flight: one lookup, not five",
        take_log(),
        strings(&["lookup Oslo", "found Oslo"]),
    );
    check(
        "every asker answered, in the order they asked",
        answers.borrow().clone(),
        strings(&["a: north", "b: north", "c: north", "d: north", "e: north"]),
    );
}

#[test]
fn an_asker_after_the_answer_gets_it_from_the_cache_but_not_at_once() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    ask(&cache, &answers, "first", "Bergen");
    event_loop.run();
    ask(&cache, &answers, "late", "Bergen");
    check(
        "a station already known must still be answered on a later turn of the loop, never \
         before `region_of` returns (use `set_immediate`)",
        answers.borrow().clone(),
        strings(&["first: west"]),
    );
    event_loop.run();
    check(
        "the late asker is answered from the cache",
        answers.borrow().clone(),
        strings(&["first: west", "late: west"]),
    );
    check(
        "one lookup in all: the late asker must not start another",
        take_log(),
        strings(&["lookup Bergen", "found Bergen"]),
    );
}

#[test]
fn an_unknown_station_is_looked_up_once_too() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    ask(&cache, &answers, "a", "Atlantis");
    ask(&cache, &answers, "b", "Atlantis");
    event_loop.run();
    ask(&cache, &answers, "c", "Atlantis");
    event_loop.run();
    check(
        "\"unknown\" is an answer worth caching: one lookup for three askers",
        take_log(),
        strings(&["lookup Atlantis", "found Atlantis"]),
    );
    check(
        "every asker hears that Atlantis is unknown",
        answers.borrow().clone(),
        strings(&["a: unknown", "b: unknown", "c: unknown"]),
    );
}

#[test]
fn different_stations_are_looked_up_at_the_same_time() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    ask(&cache, &answers, "a", "Oslo");
    ask(&cache, &answers, "b", "Riga");
    ask(&cache, &answers, "c", "Oslo");
    event_loop.run();
    check(
        "Riga's lookup must not wait for Oslo's: both start before either answers",
        take_log(),
        strings(&["lookup Oslo", "lookup Riga", "found Oslo", "found Riga"]),
    );
    check(
        "each asker gets its own station's region",
        answers.borrow().clone(),
        strings(&["a: north", "c: north", "b: east"]),
    );
}

#[test]
fn a_waiter_may_ask_the_cache_again_from_its_callback() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    let (again, answers_again) = (Rc::clone(&cache), Rc::clone(&answers));
    // When Oslo's answer comes, this waiter asks for Bergen: if the cache still borrows its
    // map while it calls waiters, this panics with "already borrowed".
    cache.region_of("Oslo", move |lookup| {
        answers_again
            .borrow_mut()
            .push(format!("a: {}", describe(lookup)));
        ask(&again, &answers_again, "b", "Bergen");
    });
    event_loop.run();
    check(
        "a waiter that asks for another station from its callback is answered too (call the \
         waiters after the `RefCell` borrow has ended)",
        answers.borrow().clone(),
        strings(&["a: north", "b: west"]),
    );
}

#[test]
fn a_failed_lookup_reaches_everyone_waiting_for_it() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    fail_next_lookups(1);
    for name in ["a", "b", "c"] {
        ask(&cache, &answers, name, "Oslo");
    }
    event_loop.run();
    check(
        "three askers while Oslo's lookup is in flight: one lookup, which fails",
        take_log(),
        strings(&["lookup Oslo", "failed Oslo"]),
    );
    check(
        "every asker that waited for the failed lookup gets its error",
        answers.borrow().clone(),
        strings(&["a: failed", "b: failed", "c: failed"]),
    );
}

#[test]
fn a_failure_is_not_kept_the_next_asker_looks_up_again() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    fail_next_lookups(1);
    ask(&cache, &answers, "a", "Oslo");
    event_loop.run();
    ask(&cache, &answers, "b", "Oslo");
    ask(&cache, &answers, "c", "Oslo");
    event_loop.run();
    check(
        "a failure is not an answer: the next askers share one fresh lookup, instead of being \
         given the old error from the cache",
        take_log(),
        strings(&["lookup Oslo", "failed Oslo", "lookup Oslo", "found Oslo"]),
    );
    check(
        "the askers after the failure get the region",
        answers.borrow().clone(),
        strings(&["a: failed", "b: north", "c: north"]),
    );
    ask(&cache, &answers, "d", "Oslo");
    event_loop.run();
    check(
        "once found, the region is kept: no third lookup",
        take_log(),
        Vec::<String>::new(),
    );
}

#[test]
fn a_waiter_may_try_again_from_its_error_callback() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    fail_next_lookups(1);
    let (again, answers_again) = (Rc::clone(&cache), Rc::clone(&answers));
    // On the failure, this waiter asks for Oslo again at once, from inside its callback: the
    // failed lookup must be forgotten by then, or the new question waits for a lookup that
    // has already ended (and is never answered), or gets the old error back.
    cache.region_of("Oslo", move |lookup| {
        let failed = lookup.is_err();
        answers_again
            .borrow_mut()
            .push(format!("a: {}", describe(lookup)));
        if failed {
            ask(&again, &answers_again, "a again", "Oslo");
        }
    });
    event_loop.run();
    check(
        "asking again from the error callback starts a fresh lookup (forget the failure before \
         calling the waiters)",
        take_log(),
        strings(&["lookup Oslo", "failed Oslo", "lookup Oslo", "found Oslo"]),
    );
    check(
        "the second try is answered",
        answers.borrow().clone(),
        strings(&["a: failed", "a again: north"]),
    );
}

#[test]
fn a_failure_of_one_station_leaves_the_others_alone() {
    take_log();
    let event_loop = EventLoop::new();
    let cache = SingleFlightCache::new(&event_loop);
    let answers = Answers::default();
    ask(&cache, &answers, "a", "Riga");
    event_loop.run();
    fail_next_lookups(1);
    ask(&cache, &answers, "b", "Bergen");
    ask(&cache, &answers, "c", "Riga");
    event_loop.run();
    check(
        "Bergen's lookup fails; Riga, known already, is answered from the cache",
        answers.borrow().clone(),
        strings(&["a: east", "c: east", "b: failed"]),
    );
    check(
        "one lookup for Riga in all, one (failed) for Bergen",
        take_log(),
        strings(&[
            "lookup Riga",
            "found Riga",
            "lookup Bergen",
            "failed Bergen",
        ]),
    );
}
