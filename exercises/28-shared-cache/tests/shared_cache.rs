//! Tests of exercise 28: one lookup per station, however many ask at once, from one task or
//! from many, and even if the first asker gives up.
//!
//! Lookups take 30 ms, so that askers that start together certainly overlap with the lookup.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use shared_cache::{Registry, SingleFlightCache};

/// Where to read about this exercise.
const REREAD: &str = "chapter 11, Data management (book/src/data-management.md)";

/// Fails the test, saying what was expected, what happened and where to read more.
#[track_caller]
fn check<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    if got != expected {
        panic!("{what}\n  expected: {expected:?}\n       got: {got:?}\n    reread: {REREAD}");
    }
}

fn registry() -> Arc<Registry> {
    Registry::new(
        &[("Oslo", "north"), ("Bergen", "west")],
        Duration::from_millis(30),
    )
}

/// Fails to compile unless `T` is `Send`.
fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn askers_at_the_same_moment_share_one_lookup() {
    let registry = registry();
    let cache = SingleFlightCache::new(Arc::clone(&registry));
    let askers = (0..8).map(|_| cache.region_of("Oslo"));
    let regions = join_all(askers).await;
    check(
        "eight askers for Oslo at once",
        regions,
        vec![Some("north".to_string()); 8],
    );
    check(
        "one lookup, not eight: the first asker stores the lookup (`.boxed().shared()`) and \
         every asker awaits a clone of it",
        registry.lookups(),
        1,
    );
    check(
        "a later asker gets the answer from the cache",
        (cache.region_of("Oslo").await, registry.lookups()),
        (Some("north".to_string()), 1),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn askers_in_different_tasks_share_one_lookup() {
    let registry = registry();
    let cache = Arc::new(SingleFlightCache::new(Arc::clone(&registry)));
    assert_send(&cache.region_of("Oslo"));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.region_of("Bergen").await })
        })
        .collect();
    for task in tasks {
        check(
            "each task gets Bergen's region",
            task.await.unwrap(),
            Some("west".to_string()),
        );
    }
    check("one lookup for eight tasks", registry.lookups(), 1);
}

#[tokio::test]
async fn each_station_has_its_own_lookup_and_unknown_is_an_answer() {
    let registry = registry();
    let cache = SingleFlightCache::new(Arc::clone(&registry));
    let stations = ["Oslo", "Atlantis", "Bergen", "Atlantis", "Oslo", "Atlantis"];
    let regions = join_all(stations.map(|station| cache.region_of(station))).await;
    let north = Some("north".to_string());
    let west = Some("west".to_string());
    check(
        "each asker gets its own station's region; Atlantis is unknown",
        regions,
        vec![north.clone(), None, west, None, north, None],
    );
    check(
        "one lookup per distinct station (unknown included): 3",
        registry.lookups(),
        3,
    );
}

#[tokio::test]
async fn an_asker_that_gives_up_does_not_cost_a_second_lookup() {
    let registry = registry();
    let cache = SingleFlightCache::new(Arc::clone(&registry));
    let impatient = tokio::time::timeout(Duration::from_millis(5), cache.region_of("Oslo")).await;
    check(
        "the first asker gives up after 5 ms (its future is dropped)",
        impatient.is_err(),
        true,
    );
    check(
        "the next asker still gets the region",
        cache.region_of("Oslo").await,
        Some("north".to_string()),
    );
    check(
        "from the same lookup: a `Shared` future goes on while anyone polls a clone",
        registry.lookups(),
        1,
    );
}
