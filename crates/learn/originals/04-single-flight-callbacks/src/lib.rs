//! # Exercise 04: a single-flight cache of callbacks
//!
//! Chapter 4, Callbacks (`book/src/callbacks.md`). About 15 minutes.
//!
//! Many records name the same station, and a registry lookup is slow. A cache that only
//! remembers *answers* still looks a station up once per asker that comes before the first
//! answer. A **single-flight** cache also remembers lookups *in flight*: the first asker starts
//! the lookup, later askers wait for that same lookup, and when it answers, everyone is
//! answered.
//!
//! In callback style, "waiting" is a callback pushed onto a list. Each station's [`Entry`] is
//! either `Pending` (with the callbacks of everyone waiting) or `Done` (with the answer).
//! Write [`SingleFlightCache::region_of`]:
//!
//! - no entry: insert `Pending` with this asker's callback, then start [`lookup`]; when it
//!   answers, replace the entry by `Done` and call every waiter, in the order they asked;
//! - `Pending`: push the callback onto the list;
//! - `Done`: answer from the cache, but on a later turn of the loop (`set_immediate`), never
//!   before `region_of` returns, so that callers see the same order of events on a hit as on a
//!   miss.
//!
//! One thread runs every callback, one at a time, so "look at the map, then insert" cannot be
//! raced: no lock. But a `RefCell` borrowed twice panics: end the borrow before you start the
//! lookup and before you call the waiters (a waiter may ask the cache for another station).
//!
//! Check your work with `cargo run -- learn check 4`. Stuck? `cargo run -- learn hint 4`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use rosetta_callbacks::event_loop::EventLoop;

/// How long a registry lookup takes.
pub const LOOKUP_TIME: Duration = Duration::from_millis(10);

/// The registry: station to region.
const REGISTRY: &[(&str, &str)] = &[("Oslo", "north"), ("Bergen", "west"), ("Riga", "east")];

thread_local! {
    /// What happened on this thread, in order: `lookup STATION` when a lookup starts, then
    /// `found STATION` when it answers.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Takes the log of this thread's lookups so far, leaving it empty.
pub fn take_log() -> Vec<String> {
    LOG.with(|log| log.take())
}

fn log(entry: String) {
    LOG.with(|log| log.borrow_mut().push(entry));
}

/// Looks `station` up in the registry (slow: [`LOOKUP_TIME`]); calls `answer` with its region,
/// or `None` if the registry does not know it.
pub fn lookup(
    event_loop: &EventLoop,
    station: &str,
    answer: impl FnOnce(Option<String>) + 'static,
) {
    log(format!("lookup {station}"));
    let station = station.to_string();
    event_loop.set_timeout(LOOKUP_TIME, move || {
        log(format!("found {station}"));
        let region = REGISTRY
            .iter()
            .find(|(known, _)| *known == station)
            .map(|(_, region)| region.to_string());
        answer(region);
    });
}

/// A callback waiting for a region.
type Waiter = Box<dyn FnOnce(Option<String>)>;

/// What the cache knows about one station.
enum Entry {
    /// The lookup is in flight; these callbacks wait for it, in the order they asked.
    Pending(Vec<Waiter>),
    /// The registry has answered (`None`: the station is unknown, which is an answer too).
    Done(Option<String>),
}

/// Station to region, where each station is looked up at most once, however many ask for it
/// while its lookup is in flight.
pub struct SingleFlightCache {
    /// The loop that lookups and answers are scheduled on.
    event_loop: EventLoop,
    /// Every station ever asked for.
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

    /// Calls `then` with the region of `station`, on a later turn of the loop. Looks the station
    /// up only if nobody has asked for it before; askers that come while the lookup is in
    /// flight wait for it, and are answered in the order they asked.
    pub fn region_of(self: &Rc<Self>, station: &str, then: impl FnOnce(Option<String>) + 'static) {
        // TODO: `match` on `self.entries.borrow_mut().get_mut(station)`, with the three cases
        // described at the top of this file. For a new station, the lookup's callback needs the
        // cache (`Rc::clone(self)`) and the station as an owned `String`. In that callback,
        // `insert` the `Done` entry (which gives back the `Pending` one and its waiters), let
        // the borrow end, then call each waiter with a clone of the region.
        todo!("answer from the cache, wait for a lookup in flight, or start one")
    }
}
