//! The single-flight cache, with a lock and a `OnceLock` per station.
//!
//! The rule (see `rosetta_pipeline::registry`): each distinct station is looked
//! up exactly once per run, however the threads interleave. A thread that asks
//! for a station whose lookup is in flight on another thread must wait for that
//! lookup, not start its own.
//!
//! # Why a plain `Mutex<HashMap>` is not enough
//!
//! The obvious cache is `Mutex<HashMap<String, Region>>`: lock, look, unlock;
//! on a miss, look up, then lock again and insert. Two threads that ask for
//! Oslo at the same moment both see the miss (neither has inserted yet: the
//! lookup takes 30 ms), and both look Oslo up. The report's `lookups` count
//! shows it, and the test `a_plain_mutex_map_looks_up_twice` below proves it.
//! Holding the lock during the lookup would fix that and break something else:
//! every lookup, of *any* station, would then wait for the one in flight, one
//! after the other.
//!
//! # The fix: a cell per station
//!
//! The map's lock is held only long enough to find (or create) the station's
//! cell, an [`OnceLock`]. The waiting happens on the cell:
//! [`OnceLock::get_or_init`] runs the lookup in the first caller and blocks
//! every later caller until it has finished (inside, it is the Mutex + Condvar
//! pair you would otherwise write by hand). Different stations have different
//! cells, so their lookups overlap. The cell is behind an `Arc` because the
//! waiting happens after the map's lock is released, while the map may grow and
//! move its entries.
//!
//! In production you would also bound the cache and expire entries (a registry
//! changes); and a lookup that fails (a network error) would not be cached at
//! all. `OnceLock` helps there too: if the lookup panics, the cell stays empty
//! and the next caller tries again.
//!
//! Read next: `rosetta-callbacks`'s `cache.rs`, the same cache as a list of
//! waiting callbacks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

/// A station's region, or `None` if the registry does not know the station.
pub type Region = Option<String>;

// ANCHOR: single_flight
// ANCHOR: cache_type
/// Station to region; each station is looked up once, however many threads ask
/// at once.
#[derive(Debug, Default)]
pub struct SingleFlightCache {
    /// One cell per station ever asked for. A cell is empty while its lookup is
    /// in flight.
    cells: Mutex<HashMap<String, Arc<OnceLock<Region>>>>,
    /// Lookups started: the report's `lookups`.
    lookups: AtomicU64,
}
// ANCHOR_END: cache_type

impl SingleFlightCache {
    /// An empty cache.
    pub fn new() -> Self {
        SingleFlightCache::default()
    }

    // ANCHOR: cache_region_of
    /// The region of `station`: from the cache, or from `look_up`, which runs
    /// on the calling thread if, and only if, no other thread has looked the
    /// station up or is doing so now. Otherwise this blocks until that other
    /// lookup has finished, and shares its answer.
    pub fn region_of(
        &self,
        station: &str,
        look_up: impl FnOnce() -> Region,
    ) -> Region {
        let cell = self.cell(station);
        // The map's lock is released: other stations can be asked for while
        // this waits.
        //
        // In production a lookup can fail (the registry is unreachable; an
        // unknown station is an answer, not a failure), and a failure must not
        // be cached. This is where it would be handled: fill the cell only with
        // an answer (`OnceLock::get_or_try_init`, not yet stable, or the cell's
        // own `Mutex<Option<_>>`), and on failure remove the station's cell
        // from the map, so that the next asker starts a fresh lookup.
        cell.get_or_init(|| {
            self.lookups.fetch_add(1, Ordering::Relaxed);
            look_up()
        })
        .clone()
    }
    // ANCHOR_END: cache_region_of

    /// The region of `station` if its lookup has finished; `None` if it has not
    /// started or is still in flight. Never blocks (beyond the map's short
    /// lock).
    pub fn cached(&self, station: &str) -> Option<Region> {
        self.lock().get(station)?.get().cloned()
    }

    /// Number of lookups started so far.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    // ANCHOR: cache_cell
    /// The cell of `station`, created empty if nobody asked for the station
    /// before.
    fn cell(&self, station: &str) -> Arc<OnceLock<Region>> {
        let mut cells = self.lock();
        if let Some(cell) = cells.get(station) {
            // In production, expiry goes here: keep the instant each cell was
            // filled, and treat a cell older than its time-to-live as missing
            // (replace it with an empty one), since a registry changes.
            return Arc::clone(cell);
        }
        // In production, the size bound goes here: before inserting into a full
        // map, evict the least recently used station whose cell is filled (the
        // `moka` or `lru` crates do the bookkeeping). Never evict a cell whose
        // lookup is in flight: the next asker would start a second lookup of
        // that station, which is exactly what single-flight forbids.
        let cell = Arc::new(OnceLock::new());
        cells.insert(station.to_string(), Arc::clone(&cell));
        cell
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<OnceLock<Region>>>> {
        // Nothing panics while holding this lock (lookups run outside it), so a
        // poisoned lock still holds a consistent map; use it.
        self.cells.lock().unwrap_or_else(PoisonError::into_inner)
    }
    // ANCHOR_END: cache_cell
}
// ANCHOR_END: single_flight

#[cfg(test)]
mod tests {
    use std::sync::{Barrier, Condvar};
    use std::thread;
    use std::time::Duration;

    use super::*;

    /// A meeting point: `meet` waits until `expected` threads have arrived, or
    /// until `patience` has passed, and says whether they all met. It proves
    /// that some lookups were in flight at the same time without a test that
    /// hangs when they are not.
    struct Meeting {
        arrived: Mutex<usize>,
        everyone_here: Condvar,
        expected: usize,
    }

    impl Meeting {
        fn new(expected: usize) -> Self {
            Meeting {
                arrived: Mutex::new(0),
                everyone_here: Condvar::new(),
                expected,
            }
        }

        fn meet(&self) -> bool {
            let patience = Duration::from_secs(10);
            let mut arrived = self.arrived.lock().unwrap();
            *arrived += 1;
            self.everyone_here.notify_all();
            let (_arrived, wait) = self
                .everyone_here
                .wait_timeout_while(arrived, patience, |arrived| {
                    *arrived < self.expected
                })
                .unwrap();
            !wait.timed_out()
        }
    }

    #[test]
    fn one_lookup_per_station_however_many_ask_at_once() {
        let cache = SingleFlightCache::new();
        let start = Barrier::new(8);
        let answers: Vec<Region> = thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        start.wait();
                        cache.region_of("Oslo", || {
                            // Long enough for the other seven to arrive while
                            // this is in flight.
                            thread::sleep(Duration::from_millis(20));
                            Some("north".into())
                        })
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(cache.lookups(), 1);
        assert!(
            answers
                .iter()
                .all(|answer| answer.as_deref() == Some("north"))
        );
        assert_eq!(cache.cached("Oslo"), Some(Some("north".into())));
        assert_eq!(cache.cached("Bergen"), None);
    }

    #[test]
    fn lookups_of_different_stations_overlap() {
        let cache = SingleFlightCache::new();
        let meeting = Meeting::new(2);
        let met = thread::scope(|scope| {
            let threads: Vec<_> = ["Oslo", "Bergen"]
                .into_iter()
                .map(|station| {
                    let (cache, meeting) = (&cache, &meeting);
                    scope.spawn(move || {
                        let mut met = false;
                        cache.region_of(station, || {
                            met = meeting.meet();
                            None
                        });
                        met
                    })
                })
                .collect();
            threads.into_iter().all(|t| t.join().unwrap())
        });
        assert!(met, "the two lookups were never in flight at the same time");
        assert_eq!(cache.lookups(), 2);
    }

    /// The broken variant: check, look up, insert, with the lock released
    /// during the lookup.
    #[derive(Default)]
    struct PlainMutexCache {
        regions: Mutex<HashMap<String, Region>>,
        lookups: AtomicU64,
    }

    impl PlainMutexCache {
        fn region_of(
            &self,
            station: &str,
            look_up: impl FnOnce() -> Region,
        ) -> Region {
            if let Some(region) = self.regions.lock().unwrap().get(station) {
                return region.clone();
            }
            // Another thread can get here too before either of us inserts.
            self.lookups.fetch_add(1, Ordering::Relaxed);
            let region = look_up();
            self.regions
                .lock()
                .unwrap()
                .insert(station.to_string(), region.clone());
            region
        }
    }

    #[test]
    fn a_plain_mutex_map_looks_up_twice() {
        let cache = PlainMutexCache::default();
        let meeting = Meeting::new(2);
        thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    cache.region_of("Oslo", || {
                        // Both lookups of Oslo are in flight at once: exactly
                        // what single-flight forbids.
                        assert!(meeting.meet());
                        Some("north".into())
                    })
                });
            }
        });
        assert_eq!(cache.lookups.load(Ordering::Relaxed), 2);
    }
}
