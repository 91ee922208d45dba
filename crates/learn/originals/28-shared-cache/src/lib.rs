//! # Exercise 28: a single-flight cache of `Shared` futures
//!
//! Chapter 11, Data management (`book/src/data-management.md`). About 15 minutes.
//!
//! Exercise 04 built a single-flight cache from lists of callbacks. With futures there is a
//! shorter way: cache the *lookup itself*. `FutureExt::shared()` turns a future into one that
//! can be cloned; every clone, when awaited, gets the same output, and the work runs once.
//! (JavaScript programmers do the same by caching promises in a `Map`.)
//!
//! Write [`SingleFlightCache::region_of`]: each station is looked up at most once, however
//! many tasks ask for it, at the same time or later, and every one of them gets the region.
//! Tasks that ask for *other* stations never wait for this lookup.
//!
//! What the types ask of you: a stored future needs a type you can name (`SharedLookup`), a
//! future that owns everything it uses (`'static`), and is `Send` (tasks run on other
//! threads). And the lock is a `std::sync::Mutex`: held across an `.await`, it would block
//! other threads and make the future un-`Send` (chapter 13, exercise 30).
//!
//! Check your work with `cargo run -- learn check 28`. Stuck? `cargo run -- learn hint 28`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};

/// The station registry: slow to ask, so worth caching.
#[derive(Debug)]
pub struct Registry {
    /// Station to region.
    regions: HashMap<String, String>,
    /// Lookups started.
    lookups: AtomicU64,
    /// How long a lookup takes.
    delay: Duration,
}

impl Registry {
    /// A registry of `(station, region)` pairs, whose lookups take `delay`.
    pub fn new(entries: &[(&str, &str)], delay: Duration) -> Arc<Registry> {
        Arc::new(Registry {
            regions: entries
                .iter()
                .map(|(station, region)| (station.to_string(), region.to_string()))
                .collect(),
            lookups: AtomicU64::new(0),
            delay,
        })
    }

    /// How many lookups have started.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::SeqCst)
    }
}

/// Looks `station` up (counted when it starts, at the first poll): its region, or `None` if the
/// registry does not know it. Takes owned arguments, so that the future is `'static`.
pub async fn lookup(registry: Arc<Registry>, station: String) -> Option<String> {
    registry.lookups.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(registry.delay).await;
    registry.regions.get(&station).cloned()
}

/// A lookup that several askers can await: `Shared` hands each clone the same output.
type SharedLookup = Shared<BoxFuture<'static, Option<String>>>;

/// Station to region, where each station is looked up at most once, however many ask for it at
/// the same moment, from however many tasks.
#[derive(Debug)]
pub struct SingleFlightCache {
    /// Where lookups go.
    registry: Arc<Registry>,
    /// One lookup per station ever asked for: in flight, or finished (a finished `Shared`
    /// answers at once).
    lookups: Mutex<HashMap<String, SharedLookup>>,
}

impl SingleFlightCache {
    /// An empty cache in front of `registry`.
    pub fn new(registry: Arc<Registry>) -> SingleFlightCache {
        SingleFlightCache {
            registry,
            lookups: Mutex::new(HashMap::new()),
        }
    }

    /// The region of `station` (`None`: unknown), looking it up only if nobody has before.
    pub async fn region_of(&self, station: &str) -> Option<String> {
        // TODO: the station's region, from the one lookup of it that every asker shares; the
        // map is never locked while anything is awaited.
        todo!("find or start the station's shared lookup, then await it")
    }
}
