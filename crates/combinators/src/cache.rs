//! Step 3, enrich: the single-flight cache, as a map of shared futures.
//!
//! JavaScript programmers know this trick: to make sure a slow lookup runs only
//! once, cache the *promise*, not the value. The first caller creates the
//! promise and stores it; every later caller, whether the lookup has finished
//! or not, gets the same promise and `.then`s on it.
//!
//! futures-rs has the same thing with one twist. A Rust future has exactly one
//! owner (polling needs `&mut`), so it cannot simply be handed to several
//! callers. [`FutureExt::shared`] wraps it in a [`Shared`]: a cloneable handle
//! whose clones all poll the one inner future and all get a clone of its
//! output. That is a cached promise, and it is single-flight by construction:
//! the map holds at most one `Shared` per station, so at most one lookup per
//! station ever starts.
//!
//! Read next: [`crate::workers`], where enriched records are handed to the
//! workers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use futures::future::{self, FutureExt, LocalBoxFuture, Shared};
use futures_timer::Delay;
use rosetta_pipeline::registry::Registry;
use rosetta_pipeline::trace::{EventKind, Trace};

/// A region lookup that any number of callers can wait for. Resolves to the
/// station's region, or `None` for an unknown station. The region is borrowed
/// from the scenario's registry, so the output is `Copy` and every waiter's
/// clone of it is free.
pub type RegionLookup<'a> = Shared<LocalBoxFuture<'a, Option<&'a str>>>;

// ANCHOR: single_flight
// ANCHOR: cache_map
/// Station to region, looked up at most once per station however the work
/// interleaves.
#[derive(Debug)]
pub struct SingleFlightCache<'a> {
    /// The registry the lookups ask.
    registry: &'a Registry,
    /// How long one lookup takes, in real time.
    lookup_time: Duration,
    /// Where `LookupStarted` and `LookupFinished` go.
    trace: &'a Trace,
    /// One shared lookup per station ever asked for, in flight or finished. A
    /// `RefCell` is enough: everything runs on one thread, and no borrow is
    /// held across a poll.
    lookups: RefCell<HashMap<String, RegionLookup<'a>>>,
}
// ANCHOR_END: cache_map

impl<'a> SingleFlightCache<'a> {
    /// An empty cache in front of `registry`.
    pub fn new(
        registry: &'a Registry,
        lookup_time: Duration,
        trace: &'a Trace,
    ) -> Self {
        SingleFlightCache {
            registry,
            lookup_time,
            trace,
            lookups: RefCell::new(HashMap::new()),
        }
    }

    // ANCHOR: cache_region_of
    /// The region of `station`: the lookup already in the map (running or
    /// done), or a new one.
    pub fn region_of(&self, station: &str) -> RegionLookup<'a> {
        let mut lookups = self.lookups.borrow_mut();
        if let Some(lookup) = lookups.get(station) {
            // A cache hit, or a second caller while the first lookup is still
            // in flight: both get a clone of the same shared future, and
            // neither starts a lookup.
            //
            // In production, expiry goes here: keep the instant the lookup
            // finished beside it, and treat a finished lookup older than its
            // time-to-live as missing (a registry changes).
            return lookup.clone();
        }
        // In production, the size bound goes here: before inserting into a full
        // map, evict the least recently used *finished* lookup (`Shared::peek`
        // says whether it has an output); evicting one in flight would let the
        // next asker start a second lookup.
        let lookup = self.lookup(station.to_string()).boxed_local().shared();
        lookups.insert(station.to_string(), lookup.clone());
        lookup
    }
    // ANCHOR_END: cache_region_of

    /// How many lookups were started: one per distinct station asked for.
    pub fn lookups(&self) -> u64 {
        self.lookups.borrow().len() as u64
    }

    // ANCHOR: cache_lookup
    /// One lookup: wait `lookup_time`, then ask the registry.
    fn lookup(
        &self,
        station: String,
    ) -> impl Future<Output = Option<&'a str>> + 'a {
        let (registry, trace, lookup_time) =
            (self.registry, self.trace, self.lookup_time);
        // As in `fetch`, `lazy` starts the clock at the first poll, not at
        // construction.
        future::lazy(move |_| {
            trace.record(EventKind::LookupStarted {
                station: station.clone(),
            });
            Delay::new(lookup_time).map(move |()| station)
        })
        .flatten()
        .map(move |station| {
            // In production a lookup can fail (the registry is unreachable; an
            // unknown station is an answer, not a failure), and a `Shared`
            // would hand that failure to every later asker forever. The lookup
            // would resolve to a `Result`, and an `Err` would take the
            // station's entry out of the map (the future would need a handle to
            // it), so that the next asker starts a fresh lookup.
            let region = registry.region_of(&station);
            trace.record(EventKind::LookupFinished {
                station,
                known: region.is_some(),
            });
            region
        })
    }
    // ANCHOR_END: cache_lookup
}
// ANCHOR_END: single_flight

#[cfg(test)]
impl SingleFlightCache<'_> {
    /// How many futures hold `station`'s lookup besides the map: the askers
    /// waiting for it while it runs. Tests count waiters with it (one per
    /// station, or one per record?) without a clock.
    pub(crate) fn waiting_for(&self, station: &str) -> usize {
        self.lookups
            .borrow()
            .get(station)
            .and_then(Shared::strong_count)
            .map_or(0, |holders| holders - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use futures::executor::block_on;

    fn registry() -> Registry {
        Registry::from(BTreeMap::from([(
            "Oslo".to_string(),
            "north".to_string(),
        )]))
    }

    #[test]
    fn concurrent_askers_share_one_lookup() {
        let (registry, trace) = (registry(), Trace::new());
        let cache =
            SingleFlightCache::new(&registry, Duration::from_millis(5), &trace);
        // Three callers ask before any lookup has finished (none has even
        // started: futures are lazy); `join3` then waits for all of them, like
        // `Promise.all`.
        let askers = future::join3(
            cache.region_of("Oslo"),
            cache.region_of("Oslo"),
            cache.region_of("Atlantis"),
        );
        assert_eq!(block_on(askers), (Some("north"), Some("north"), None));
        assert_eq!(cache.lookups(), 2);
        assert_eq!(trace.summary().lookups, 2);
        // Later askers hit the finished lookup and start nothing.
        assert_eq!(block_on(cache.region_of("Oslo")), Some("north"));
        assert_eq!(trace.summary().lookups, 2);
    }

    #[test]
    fn the_lookup_starts_when_first_polled() {
        let (registry, trace) = (registry(), Trace::new());
        let cache = SingleFlightCache::new(&registry, Duration::ZERO, &trace);
        let lookup = cache.region_of("Oslo");
        assert!(trace.events().is_empty());
        assert_eq!(block_on(lookup), Some("north"));
        assert_eq!(trace.summary().lookups, 1);
    }
}
