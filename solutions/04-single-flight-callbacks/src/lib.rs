//! Solution of exercise 04: a single-flight cache with lists of waiting callbacks, whose
//! lookups can fail.
//!
//! The exercise (`exercises/04-single-flight-callbacks/src/lib.rs`) explains the task; chapter 4
//! of the book (`book/src/callbacks.md`) explains the style. `crates/callbacks/src/cache.rs` is
//! the same cache in the real pipeline, where a lookup cannot fail.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use rosetta_callbacks::event_loop::EventLoop;

/// How long a registry lookup takes.
pub const LOOKUP_TIME: Duration = Duration::from_millis(10);

/// The registry: station to region.
const REGISTRY: &[(&str, &str)] = &[("Oslo", "north"), ("Bergen", "west"), ("Riga", "east")];

/// Why a lookup failed. A station the registry does not know is not a failure: it is the
/// answer `Ok(None)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The registry could not be reached; asking again later may work.
    Unreachable,
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::Unreachable => f.write_str("the registry is unreachable"),
        }
    }
}

/// What a lookup gives: the region (`None`: the station is unknown), or why there is none.
pub type Lookup = Result<Option<String>, LookupError>;

thread_local! {
    /// What happened on this thread, in order: `lookup STATION` when a lookup starts, then
    /// `found STATION` or `failed STATION` when it ends.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// How many of the next lookups on this thread fail (the registry is down for them).
    static OUTAGE: Cell<usize> = const { Cell::new(0) };
}

/// Takes the log of this thread's lookups so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

/// Makes the next `count` lookups started on this thread fail with
/// [`LookupError::Unreachable`]; the ones after them reach the registry again.
pub fn fail_next_lookups(count: usize) {
    OUTAGE.with(|outage| outage.set(count));
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Looks `station` up in the registry (slow: [`LOOKUP_TIME`]); calls `answer` with its region,
/// `None` if the registry does not know it, or an error if the registry cannot be reached.
pub fn lookup(event_loop: &EventLoop, station: &str, answer: impl FnOnce(Lookup) + 'static) {
    log(format!("lookup {station}"));
    // Decided when the lookup starts, so that a test can say which lookups fail.
    let fails = OUTAGE.with(|outage| {
        let left = outage.get();
        outage.set(left.saturating_sub(1));
        left > 0
    });
    let station = station.to_string();
    event_loop.set_timeout(LOOKUP_TIME, move || {
        if fails {
            log(format!("failed {station}"));
            return answer(Err(LookupError::Unreachable));
        }
        log(format!("found {station}"));
        let region = REGISTRY
            .iter()
            .find(|(known, _)| *known == station)
            .map(|(_, region)| region.to_string());
        answer(Ok(region));
    });
}

/// A callback waiting for a lookup.
type Waiter = Box<dyn FnOnce(Lookup)>;

/// What the cache knows about one station.
enum Entry {
    /// A lookup is in flight; these callbacks wait for it, in the order they asked.
    Pending(Vec<Waiter>),
    /// The registry has answered (`None`: the station is unknown, which is an answer too).
    Done(Option<String>),
}

/// Station to region, where each station is looked up at most once at a time, however many
/// ask for it while its lookup is in flight, and answers (never failures) are kept.
pub struct SingleFlightCache {
    /// The loop that lookups and answers are scheduled on.
    event_loop: EventLoop,
    /// Every station with a lookup in flight or an answer.
    entries: RefCell<HashMap<String, Entry>>,
}

impl SingleFlightCache {
    /// An empty cache. It is shared (`Rc`) because callbacks that outlive the caller must reach
    /// it when a lookup answers.
    pub fn new(event_loop: &EventLoop) -> Rc<Self> {
        Rc::new(SingleFlightCache {
            event_loop: event_loop.clone(),
            entries: RefCell::new(HashMap::new()),
        })
    }

    // ANCHOR: region_of
    /// Calls `then` with the region of `station`, on a later turn of the loop: from the cache,
    /// from the lookup in flight, or from a new lookup. A failed lookup's error goes to
    /// everyone who waited for it, and is forgotten.
    pub fn region_of(self: &Rc<Self>, station: &str, then: impl FnOnce(Lookup) + 'static) {
        let mut entries = self.entries.borrow_mut();
        match entries.get_mut(station) {
            // Known: answer on a later turn, never before `region_of` returns.
            Some(Entry::Done(region)) => {
                let answer = Ok(region.clone());
                self.event_loop.set_immediate(move || then(answer));
            }
            // In flight: wait for it.
            Some(Entry::Pending(waiters)) => waiters.push(Box::new(then)),
            // Never asked, or the last lookup failed: remember that a lookup is in flight, then
            // start it.
            None => {
                entries.insert(station.to_string(), Entry::Pending(vec![Box::new(then)]));
                drop(entries); // End the borrow before calling out of the cache.
                let (cache, key) = (Rc::clone(self), station.to_string());
                lookup(&self.event_loop, station, move |answer| {
                    cache.finish(key, answer);
                });
            }
        }
    }

    /// Ends the lookup of `station`: keeps an answer, forgets a failure, then calls every
    /// waiter.
    fn finish(&self, station: String, answer: Lookup) {
        let previous = {
            let mut entries = self.entries.borrow_mut();
            match &answer {
                Ok(region) => entries.insert(station, Entry::Done(region.clone())),
                // Not kept: with no entry, the next asker starts a fresh lookup. Removed
                // *before* the waiters are called, so that a waiter that asks again from its
                // error callback is that next asker, rather than a waiter on a lookup that has
                // already ended (nobody would ever answer it).
                Err(_) => entries.remove(&station),
            }
        };
        let Some(Entry::Pending(waiters)) = previous else {
            unreachable!("a lookup starts only from a new `Pending` entry");
        };
        // The map is no longer borrowed: a waiter may ask for any station, this one included.
        for waiter in waiters {
            waiter(answer.clone());
        }
    }
    // ANCHOR_END: region_of
}
