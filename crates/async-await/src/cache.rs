//! Step 3's cache: [`SingleFlightCache`], station to region, each station
//! looked up at most once even when many tasks ask for it at the same moment,
//! and `lookup`, the registry call it makes on a miss.
//!
//! One `async_lock::OnceCell` per station, asked once per distinct station of a
//! body, all at once with `futures::future::join_all` (in
//! [`crate::workers::hand_off`]), between the two passes over the body that
//! `rosetta_pipeline::enrich` describes.
//!
//! Read next: [`crate::workers`], where the cache is asked and the records go
//! to the workers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_lock::OnceCell;
use rosetta_pipeline::trace::EventKind;

use crate::RunContext;
use crate::runtime::Runtime;

/// One registry lookup: waits `lookup_ms`, then answers. Only the cache calls
/// it, on a miss.
pub(crate) async fn lookup<R: Runtime>(
    run: &RunContext<R>,
    station: &str,
) -> Option<String> {
    run.trace.record(EventKind::LookupStarted {
        station: station.to_string(),
    });
    let lookup_ms = run.scenario.settings.lookup_ms;
    run.runtime.sleep(run.opts.scaled(lookup_ms)).await;
    let region = run.scenario.registry.region_of(station).map(str::to_string);
    run.trace.record(EventKind::LookupFinished {
        station: station.to_string(),
        known: region.is_some(),
    });
    region
}

// ANCHOR: single_flight
// ANCHOR: cache_why
/// Station to region, where each station is looked up at most once, even when
/// many tasks ask for it at the same moment (*single-flight*).
///
/// Each station gets an `async_lock::OnceCell`. The first task to ask runs the
/// lookup inside [`OnceCell::get_or_init`]; tasks that ask while it runs wait
/// on the same cell, and every later one finds the value there. The map itself
/// sits behind a `std::sync::Mutex`, held only to find or insert a cell and
/// never across an `.await` (see [`crate::pitfalls`] for why that matters), so
/// an async mutex is not needed.
///
/// The other common answer is to store the lookup's future itself, made
/// cloneable with `futures::FutureExt::shared`, and have every asker await a
/// clone. That needs the future's type in the map, so a boxed `'static` future
/// that owns clones of everything it touches; a cell keeps the waiting and the
/// value apart and lets the lookup borrow.
///
/// **Cancellation.** If the asker running a `OnceCell` initialisation is
/// dropped halfway, the lookup is dropped with it, the cell stays empty, and
/// the next asker starts the lookup again (a `Shared` future, by contrast, goes
/// on as long as any clone is polled). So [`SingleFlightCache::lookups`] counts
/// lookups when they *complete*, never twice for one station; and the pipeline
/// never drops an asker halfway ([`crate::workers::hand_off`] uses `join_all`,
/// and `run_async` awaits every task), so each `LookupStarted` in its trace has
/// its `LookupFinished`.
// ANCHOR_END: cache_why
///
// ANCHOR: cache_struct
/// **In production**, three things would be added, each in `region_of`. A *size
/// bound*: `cells` keeps every station ever asked for; evict the least recently
/// used cell when inserting a new one (an evicted cell that is still being
/// filled only costs a repeated lookup, since its askers hold their own `Arc`).
/// An *expiry*: store the time of the answer next to it, and treat a cell older
/// than its time-to-live as missing, replacing it under the map's lock. And
/// *the removal of a failed lookup*: a real registry call returns a `Result`;
/// with `OnceCell::get_or_try_init` an error leaves the cell empty, so the next
/// asker tries again instead of every later one getting the cached failure (and
/// remove the cell if failures should not hold memory). A crate such as `moka`
/// does all three, with single-flight `get_with`.
#[derive(Debug, Default)]
pub struct SingleFlightCache {
    /// One cell per station ever asked for. `Arc`, so that a cell can be
    /// awaited after the map's lock is released.
    cells: Mutex<HashMap<String, Arc<OnceCell<Option<String>>>>>,
    /// Lookups completed: the report's `lookups`.
    lookups: AtomicU64,
}
// ANCHOR_END: cache_struct

impl SingleFlightCache {
    // ANCHOR: region_of
    /// The region of `station` (`None`: unknown), from the cache, or from
    /// `lookup()` if nobody has asked for this station before.
    // ANCHOR: region_of_signature
    pub async fn region_of<F, Fut>(
        &self,
        station: &str,
        lookup: F,
    ) -> Option<String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<String>>,
        // ANCHOR_END: region_of_signature
    {
        let cell = {
            let mut cells =
                self.cells.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cells.entry(station.to_string()).or_default())
        }; // The guard is dropped here, before the `.await` below.
        let region = cell
            .get_or_init(|| async {
                let region = lookup().await;
                // Counted once it has *completed*. A lookup abandoned halfway
                // (its asker was dropped) leaves the cell empty, the next asker
                // runs it again, and counting at the start would count that
                // station twice.
                self.lookups.fetch_add(1, Ordering::Relaxed);
                region
            })
            .await;
        region.clone()
    }
    // ANCHOR_END: region_of

    /// How many lookups have completed (one per station asked for, unless an
    /// asker was dropped halfway, in which case its lookup is run again and
    /// counted once).
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// How many futures hold a station's cell right now, less the map's own:
    /// each asker holds its cell (an `Arc`) while it waits, so these are the
    /// askers waiting on a lookup. For the tests of [`crate::workers`].
    #[cfg(test)]
    pub(crate) fn askers(&self) -> usize {
        let cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        cells.values().map(|cell| Arc::strong_count(cell) - 1).sum()
    }
}
// ANCHOR_END: single_flight

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use futures::future;

    use super::*;

    #[test]
    fn askers_at_the_same_moment_share_one_lookup() {
        let cache = SingleFlightCache::default();
        let calls = AtomicU32::new(0);
        // The lookup waits at a gate, so that every asker arrives while it is
        // in flight.
        let (open, gate) = async_channel::bounded::<()>(1);
        let lookup = || async {
            calls.fetch_add(1, Ordering::Relaxed);
            gate.recv().await.unwrap();
            Some("north".to_string())
        };
        let askers = (0..3).map(|_| cache.region_of("Oslo", lookup));
        // One message, then `open` is dropped: a second lookup would find the
        // gate closed and panic, so a cache that is not single-flight fails
        // this test.
        let opener = async move { open.send(()).await.unwrap() };
        let (regions, ()) = futures::executor::block_on(future::join(
            future::join_all(askers),
            opener,
        ));
        assert_eq!(regions, vec![Some("north".to_string()); 3]);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_eq!(cache.lookups(), 1);
        // A later asker finds the value; an unknown station is cached as
        // unknown, too.
        let never = || async { unreachable!("Oslo is cached") };
        let oslo = futures::executor::block_on(cache.region_of("Oslo", never));
        assert_eq!(oslo.as_deref(), Some("north"));
        let unknown = futures::executor::block_on(
            cache.region_of("Atlantis", || async { None }),
        );
        assert_eq!((unknown, cache.lookups()), (None, 2));
    }

    #[test]
    fn a_lookup_abandoned_by_its_asker_is_counted_once() {
        use futures::FutureExt as _;

        let cache = SingleFlightCache::default();
        // The first asker starts the lookup, which waits at a gate that never
        // opens...
        let (_gate_stays_shut, gate) = async_channel::bounded::<()>(1);
        let stuck = || async {
            gate.recv().await.unwrap();
            Some("north".to_string())
        };
        let mut first = Box::pin(cache.region_of("Oslo", stuck));
        assert_eq!(
            first.as_mut().now_or_never(),
            None,
            "the lookup is in flight"
        );
        // ...and is cancelled: dropped halfway, as `try_join_all` drops its
        // other futures at the first error. The next asker finds the cell empty
        // and runs the lookup itself.
        drop(first);
        let quick = || async { Some("north".to_string()) };
        let region =
            futures::executor::block_on(cache.region_of("Oslo", quick));
        assert_eq!(region.as_deref(), Some("north"));
        assert_eq!(
            cache.lookups(),
            1,
            "one lookup completed, one was abandoned"
        );
    }
}
