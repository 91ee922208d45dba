//! Chapter 11: why a plain cache looks the same key up many times under
//! concurrency, and the single-flight fix with a shared future.
//!
//! Both caches below answer "the region of this station" through a slow lookup
//! (one that has to wait; here it yields once, which is enough to let other
//! askers in). Five askers ask for the same station at the same time, joined on
//! one thread.
//!
//! - [`PlainCache`] remembers *answers*. Every asker that arrives before the
//!   first answer finds nothing and starts a lookup of its own: five lookups.
//! - [`SingleFlightCache`] remembers *lookups in flight*: the first asker
//!   stores the lookup's future, made cloneable with `FutureExt::shared`, and
//!   every later asker awaits a clone of it. One lookup, five answers. It is
//!   the combinators style's cache in miniature (a cache of promises, as
//!   JavaScript programmers write it with a `Map` of `Promise`s).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::FutureExt as _;
use futures::future::{LocalBoxFuture, Shared};

use crate::poll_by_hand::YieldNow;

/// The slow lookup both caches share: counts itself, waits a turn, answers.
async fn look_up(station: String, lookups: Rc<Cell<u32>>) -> Option<String> {
    lookups.set(lookups.get() + 1);
    // The round trip to the registry: other askers get a turn.
    YieldNow::default().await;
    (station == "Oslo").then(|| "north".to_string())
}

// ANCHOR: plain_cache
/// Remembers answers, not lookups in flight.
#[derive(Debug, Default)]
pub struct PlainCache {
    /// Station to region, once a lookup has answered.
    answers: RefCell<HashMap<String, Option<String>>>,
    /// Lookups started.
    pub lookups: Rc<Cell<u32>>,
}

impl PlainCache {
    /// The region of `station`: from the map, or from a new lookup.
    pub async fn region(&self, station: &str) -> Option<String> {
        if let Some(answer) = self.answers.borrow().get(station) {
            return answer.clone();
        }
        // A miss. Every asker that gets here before the first answer is stored
        // starts a lookup of its own: the check and the insert are separated by
        // an `.await`.
        let answer =
            look_up(station.to_string(), Rc::clone(&self.lookups)).await;
        self.answers
            .borrow_mut()
            .insert(station.to_string(), answer.clone());
        answer
    }
}
// ANCHOR_END: plain_cache

// ANCHOR: single_flight
/// A lookup in flight or done, which any number of askers can await.
type SharedLookup = Shared<LocalBoxFuture<'static, Option<String>>>;

/// Remembers lookups, in flight or done: each station is looked up once.
#[derive(Default)]
pub struct SingleFlightCache {
    /// Station to its one lookup. A finished `Shared` future keeps its output
    /// for every later clone, so the map is the cache of answers too.
    lookups_by_station: RefCell<HashMap<String, SharedLookup>>,
    /// Lookups started.
    pub lookups: Rc<Cell<u32>>,
}

impl SingleFlightCache {
    /// The region of `station`: the first asker starts the lookup, every asker
    /// awaits it.
    pub async fn region(&self, station: &str) -> Option<String> {
        let lookup = self
            .lookups_by_station
            .borrow_mut()
            .entry(station.to_string())
            // No `.await` between the check and the insert: nobody else can get
            // in between.
            .or_insert_with(|| {
                let lookups = Rc::clone(&self.lookups);
                look_up(station.to_string(), lookups).boxed_local().shared()
            })
            .clone();
        lookup.await // The map's borrow ended above; only the clone is awaited.
    }
}
// ANCHOR_END: single_flight

// ANCHOR: five_askers
/// Five askers for Oslo at the same moment, through each cache: the number of
/// lookups.
pub fn five_askers() -> (u32, u32) {
    let plain = PlainCache::default();
    let asks = (0..5).map(|_| plain.region("Oslo"));
    futures::executor::block_on(futures::future::join_all(asks));

    let single = SingleFlightCache::default();
    let asks = (0..5).map(|_| single.region("Oslo"));
    let answers = futures::executor::block_on(futures::future::join_all(asks));
    assert!(answers.iter().all(|a| a.as_deref() == Some("north")));

    (plain.lookups.get(), single.lookups.get())
}
// ANCHOR_END: five_askers

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_cache_looks_up_five_times_and_single_flight_once() {
        assert_eq!(five_askers(), (5, 1));
    }

    #[test]
    fn both_caches_answer_later_askers_from_memory() {
        let plain = PlainCache::default();
        let single = SingleFlightCache::default();
        futures::executor::block_on(async {
            for _ in 0..3 {
                assert_eq!(
                    plain.region("Oslo").await.as_deref(),
                    Some("north")
                );
                assert_eq!(
                    single.region("Oslo").await.as_deref(),
                    Some("north")
                );
            }
            assert_eq!(single.region("Atlantis").await, None);
        });
        assert_eq!((plain.lookups.get(), single.lookups.get()), (1, 2));
    }
}
