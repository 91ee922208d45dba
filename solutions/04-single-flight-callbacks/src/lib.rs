//! Solution of exercise 04: a single-flight cache with lists of waiting callbacks.
//!
//! The exercise (`exercises/04-single-flight-callbacks/src/lib.rs`) explains the task; chapter 4
//! of the book (`book/src/callbacks.md`) explains the style. `crates/callbacks/src/cache.rs` is
//! the same cache in the real pipeline.

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

    // ANCHOR: region_of
    /// Calls `then` with the region of `station`, on a later turn of the loop. Looks the station
    /// up only if nobody has asked for it before; askers that come while the lookup is in
    /// flight wait for it, and are answered in the order they asked.
    pub fn region_of(self: &Rc<Self>, station: &str, then: impl FnOnce(Option<String>) + 'static) {
        let mut entries = self.entries.borrow_mut();
        match entries.get_mut(station) {
            // Known: answer on a later turn, never before `region_of` returns.
            Some(Entry::Done(region)) => {
                let region = region.clone();
                self.event_loop.set_immediate(move || then(region));
            }
            // In flight: wait for it.
            Some(Entry::Pending(waiters)) => waiters.push(Box::new(then)),
            // First asker: remember that a lookup is in flight, then start it.
            None => {
                entries.insert(station.to_string(), Entry::Pending(vec![Box::new(then)]));
                drop(entries); // The answer's callback borrows the map again.
                let (cache, key) = (Rc::clone(self), station.to_string());
                lookup(&self.event_loop, station, move |region| {
                    let done = Entry::Done(region.clone());
                    let previous = cache.entries.borrow_mut().insert(key, done);
                    let Some(Entry::Pending(waiters)) = previous else {
                        unreachable!("a lookup starts only from a new `Pending` entry");
                    };
                    // The map is no longer borrowed: a waiter may ask for another station.
                    for waiter in waiters {
                        waiter(region.clone());
                    }
                });
            }
        }
    }
    // ANCHOR_END: region_of
}
