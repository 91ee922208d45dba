//! Solution of exercise 28: a single-flight cache that stores the lookup itself, as a `Shared`
//! future every asker can await.
//!
//! The exercise (`exercises/28-shared-cache/src/lib.rs`) explains the task; chapter 11 of the
//! book (`book/src/data-management.md`) compares the ways to build the cache.
//! `crates/combinators/src/cache.rs` stores `Shared` futures the same way;
//! `crates/async-await` uses a `OnceCell` per station instead.

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

    // ANCHOR: region_of
    /// The region of `station` (`None`: unknown), looking it up only if nobody has before.
    pub async fn region_of(&self, station: &str) -> Option<String> {
        let lookup = {
            let mut lookups = self.lookups.lock().unwrap_or_else(PoisonError::into_inner);
            lookups
                .entry(station.to_string())
                .or_insert_with(|| {
                    // The first asker creates the lookup; nothing runs until someone polls it.
                    lookup(Arc::clone(&self.registry), station.to_string())
                        .boxed()
                        .shared()
                })
                .clone()
        }; // The guard is dropped here: a `std` mutex must never be held across `.await`.
        lookup.await
    }
    // ANCHOR_END: region_of
}
