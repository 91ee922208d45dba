//! The single-flight cache, as lists of waiting callbacks.
//!
//! Each station is in one of two states. While its lookup is in flight it is
//! `Pending`, with the callbacks of everyone who asked for it; once the
//! registry has answered it is `Done`. The first asker finds no entry, creates
//! a `Pending` one and starts the lookup; later askers push their callback onto
//! the list; when the lookup's timer fires, the entry becomes `Done` and every
//! waiting callback is called with the answer.
//!
//! No lock is needed, and no "check, then insert" race exists: one thread runs
//! one callback at a time, so between looking at the map and writing to it
//! nothing else can happen. What the threads style needs a `OnceLock` for is
//! here a `match` on a `HashMap` entry.
//!
//! This is how Node libraries deduplicate requests (and what a JavaScript
//! `Promise` cached in a `Map` does for you). In production you would also
//! bound the cache and expire entries, and a failed lookup would be removed
//! rather than cached, so that the next asker tries again.
//!
//! Read next: `workers.rs`, where callbacks wait for room in a queue.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use rosetta_pipeline::parse::Reason;
use rosetta_pipeline::trace::EventKind;

use crate::Pipeline;

/// The answer of a lookup: the station's region, or why the record must be
/// rejected.
pub type Lookup = Result<String, Reason>;

/// A callback waiting for a lookup.
type Waiter<'a> = Box<dyn FnOnce(Lookup) + 'a>;

// ANCHOR: single_flight
// ANCHOR: cache_entry
/// What the cache knows about one station.
enum Entry<'a> {
    /// The lookup is in flight; these callbacks wait for it, in the order they
    /// asked.
    Pending(Vec<Waiter<'a>>),
    /// The registry has answered.
    Done(Lookup),
}

/// Station to region; each station is looked up once.
#[derive(Default)]
pub struct SingleFlightCache<'a> {
    /// Every station ever asked for.
    entries: RefCell<HashMap<String, Entry<'a>>>,
    /// Lookups started: the report's `lookups`.
    lookups: Cell<u64>,
}
// ANCHOR_END: cache_entry

// ANCHOR: cache_region_of
impl<'a> SingleFlightCache<'a> {
    /// Calls `then` with the region of `station`, looking the station up only
    /// if nobody has yet.
    ///
    /// It takes the whole pipeline, not `&self`: the lookup's timer callback,
    /// which runs later, needs its own `Rc` of everything (the loop, the trace,
    /// this cache) to answer the waiters.
    pub fn region_of(
        pipeline: &Rc<Pipeline<'a>>,
        station: &str,
        then: impl FnOnce(Lookup) + 'a,
    ) {
        let mut entries = pipeline.cache.entries.borrow_mut();
        // In production, expiry goes here: `Done` would keep the instant of its
        // answer, and an answer older than its time-to-live would be treated
        // like no entry at all (a registry changes). And the size bound goes in
        // the `None` arm, before the insert: when the map is full, evict the
        // least recently used `Done` entry, never a `Pending` one, whose
        // waiters would be lost and whose station would be looked up twice.
        match entries.get_mut(station) {
            Some(Entry::Done(lookup)) => {
                // Known already, yet answered on a later turn rather than right
                // now: see below.
                let lookup = lookup.clone();
                pipeline.event_loop.set_immediate(move || then(lookup));
            }
            Some(Entry::Pending(waiters)) => waiters.push(Box::new(then)),
            None => {
                entries.insert(
                    station.to_string(),
                    Entry::Pending(vec![Box::new(then)]),
                );
                // `look_up` borrows the map again when its timer fires
                drop(entries);
                look_up(pipeline, station);
            }
        }
    }
}
// ANCHOR_END: cache_region_of

// ANCHOR: cache_look_up
/// Starts the lookup of `station`; when it answers, every waiting callback is
/// called.
fn look_up(pipeline: &Rc<Pipeline<'_>>, station: &str) {
    let cache = &pipeline.cache;
    cache.lookups.set(cache.lookups.get() + 1);
    pipeline.trace.record(EventKind::LookupStarted {
        station: station.to_string(),
    });
    let lookup_ms = pipeline.scenario.settings.lookup_ms;
    let (shared, station) = (Rc::clone(pipeline), station.to_string());
    pipeline.event_loop.set_timeout(
        pipeline.opts.scaled(lookup_ms),
        move || {
            let lookup = match shared.scenario.registry.region_of(&station) {
                Some(region) => Ok(region.to_string()),
                None => Err(Reason::UnknownStation),
            };
            shared.trace.record(EventKind::LookupFinished {
                station: station.clone(),
                known: lookup.is_ok(),
            });
            // In production a lookup can also fail (the registry is
            // unreachable; an unknown station is an answer, not a failure). A
            // failure would not become `Done`: remove the entry here instead
            // (`entries.remove(&station)`), pass the error to the waiters, and
            // the next asker starts a fresh lookup.
            let done = Entry::Done(lookup.clone());
            let previous =
                shared.cache.entries.borrow_mut().insert(station, done);
            let Some(Entry::Pending(waiters)) = previous else {
                unreachable!("a lookup starts only from a new `Pending` entry");
            };
            // The map is no longer borrowed: the waiters may ask for other
            // stations.
            for waiter in waiters {
                waiter(lookup.clone());
            }
        },
    );
}
// ANCHOR_END: cache_look_up
// ANCHOR_END: single_flight

// Why a cache hit is answered with `set_immediate` instead of calling `then` at
// once: a function that calls its callback sometimes before it returns (a hit)
// and sometimes long after (a miss) is hard to use correctly, because the
// caller's code after the call may or may not have run when the callback does.
// Node's community calls this "releasing Zalgo" (Isaac Schlueter, "Designing
// APIs for Asynchrony"); the rule is to be always asynchronous. Here,
// `hand_off` asks for each station of a body in a loop; being always
// asynchronous means that no answer, and so no hand-off of the body's records,
// can start before that loop has ended.

impl SingleFlightCache<'_> {
    /// Number of lookups started so far.
    pub(crate) fn lookups(&self) -> u64 {
        self.lookups.get()
    }

    /// True if no lookup is in flight (at the end of a run, none should be).
    pub(crate) fn is_settled(&self) -> bool {
        self.entries
            .borrow()
            .values()
            .all(|entry| matches!(entry, Entry::Done(_)))
    }
}

#[cfg(test)]
mod tests {
    use rosetta_pipeline::{RunOptions, Scenario, Trace};

    use super::*;

    /// Runs `test` with a pipeline on a scenario whose registry knows Oslo.
    fn with_pipeline(test: impl FnOnce(&Rc<Pipeline<'_>>)) {
        let scenario = Scenario::from_toml(
            "name = \"c\"\nsettings.lookup_ms = 20\n[registry]\nOslo = \"north\"\n",
            "c.toml",
        )
        .unwrap();
        let (opts, trace) = (RunOptions::with_time_scale(0.5), Trace::new());
        test(&Rc::new(Pipeline::new(&scenario, &opts, &trace)));
    }

    #[test]
    fn one_lookup_per_station_and_every_asker_answered() {
        with_pipeline(|pipeline| {
            let answers = Rc::new(RefCell::new(Vec::new()));
            // Five askers for Oslo while its lookup is in flight, two for an
            // unknown station, and one more for Oslo after its lookup is done.
            for station in [
                "Oslo", "Atlantis", "Oslo", "Oslo", "Atlantis", "Oslo", "Oslo",
            ] {
                let answers = Rc::clone(&answers);
                SingleFlightCache::region_of(
                    pipeline,
                    station,
                    move |lookup| {
                        answers.borrow_mut().push(lookup);
                    },
                );
            }
            let late = Rc::clone(&answers);
            let shared = Rc::clone(pipeline);
            pipeline.event_loop.set_timeout(
                std::time::Duration::from_millis(30),
                move || {
                    SingleFlightCache::region_of(
                        &shared,
                        "Oslo",
                        move |lookup| late.borrow_mut().push(lookup),
                    );
                },
            );
            pipeline.event_loop.run();
            assert_eq!(pipeline.cache.lookups(), 2);
            assert!(pipeline.cache.is_settled());
            let answers = answers.borrow();
            let north = answers
                .iter()
                .filter(|a| a.as_deref() == Ok("north"))
                .count();
            let unknown = answers
                .iter()
                .filter(|a| **a == Err(Reason::UnknownStation))
                .count();
            assert_eq!((north, unknown), (6, 2));
        });
    }

    #[test]
    fn a_hit_is_answered_on_a_later_turn() {
        with_pipeline(|pipeline| {
            SingleFlightCache::region_of(pipeline, "Oslo", |_| {});
            pipeline.event_loop.run();
            let answered = Rc::new(Cell::new(false));
            let flag = Rc::clone(&answered);
            SingleFlightCache::region_of(pipeline, "Oslo", move |_| {
                flag.set(true)
            });
            assert!(
                !answered.get(),
                "a hit must not call back before `region_of` returns"
            );
            pipeline.event_loop.run();
            assert!(answered.get());
            assert_eq!(pipeline.cache.lookups(), 1);
        });
    }

    /// The broken variant: remember answers, but not lookups in flight. Every
    /// asker that comes before the first answer starts a lookup of its own.
    fn region_of_without_single_flight(
        pipeline: &Rc<Pipeline<'_>>,
        answers: &Rc<RefCell<HashMap<String, Lookup>>>,
        station: &str,
        then: impl FnOnce(Lookup) + 'static,
    ) {
        if let Some(lookup) = answers.borrow().get(station).cloned() {
            pipeline.event_loop.set_immediate(move || then(lookup));
            return;
        }
        pipeline.cache.lookups.set(pipeline.cache.lookups.get() + 1);
        let (shared, answers, station) =
            (Rc::clone(pipeline), Rc::clone(answers), station.to_string());
        let lookup_ms = pipeline.scenario.settings.lookup_ms;
        pipeline.event_loop.set_timeout(
            pipeline.opts.scaled(lookup_ms),
            move || {
                let lookup = shared
                    .scenario
                    .registry
                    .region_of(&station)
                    .map(str::to_string)
                    .ok_or(Reason::UnknownStation);
                answers.borrow_mut().insert(station, lookup.clone());
                then(lookup);
            },
        );
    }

    #[test]
    fn without_single_flight_every_early_asker_looks_up() {
        with_pipeline(|broken| {
            let answers = Rc::new(RefCell::new(HashMap::new()));
            for _ in 0..5 {
                region_of_without_single_flight(
                    broken,
                    &answers,
                    "Oslo",
                    |_| {},
                );
            }
            broken.event_loop.run();
            assert_eq!(broken.cache.lookups(), 5);
        });
        with_pipeline(|fixed| {
            for _ in 0..5 {
                SingleFlightCache::region_of(fixed, "Oslo", |_| {});
            }
            fixed.event_loop.run();
            assert_eq!(fixed.cache.lookups(), 1);
        });
    }
}
