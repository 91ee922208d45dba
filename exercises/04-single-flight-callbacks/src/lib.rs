//! # Exercise 04: a single-flight cache of callbacks, whose lookups can fail
//!
//! Chapter 4, Callbacks (`book/src/callbacks.md`). About 20 minutes.
//!
//! Many records name the same station, and a registry lookup is slow. A cache that only
//! remembers *answers* still looks a station up once per asker that comes before the first
//! answer. A **single-flight** cache also remembers lookups *in flight*: the first asker starts
//! the lookup, later askers wait for that same lookup, and when it answers, everyone is
//! answered.
//!
//! The chapter's cache never meets a registry that is down. This one does: a lookup may fail
//! ([`LookupError::Unreachable`]), and a failure is not an answer. Write
//! [`SingleFlightCache::region_of`] so that it keeps this contract (the tests check each point):
//!
//! - **one lookup at a time per station**: askers that come while a lookup of their station is
//!   in flight wait for it, and are answered in the order they asked; other stations' lookups
//!   do not wait for it;
//! - **answers are kept**: a region, or `None` for a station the registry does not know, is
//!   given to every later asker without another lookup;
//! - **failures are not kept**: everyone waiting for a failed lookup gets the error, and the
//!   next asker starts a fresh lookup, even one that asks again from inside its own error
//!   callback;
//! - **always later**: `then` is never called before `region_of` returns, not even on a hit;
//! - **re-entrant**: a callback may call `region_of` again, for any station.
//!
//! One thread runs every callback, one at a time: no lock is needed, but a `RefCell` borrowed
//! twice panics.
//!
//! Check your work with `cargo run -- learn check 4`. Stuck? `cargo run -- learn hint 4`.

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

    /// Calls `then` with the region of `station`, on a later turn of the loop: from the cache,
    /// from the lookup in flight, or from a new lookup. A failed lookup's error goes to
    /// everyone who waited for it, and is forgotten.
    pub fn region_of(self: &Rc<Self>, station: &str, then: impl FnOnce(Lookup) + 'static) {
        // TODO: keep the contract at the top of this file: one lookup per station at a time,
        // answers kept and failures not, every callback called later, never now.
        todo!("answer from the cache, wait for the lookup in flight, or start one")
    }
}
