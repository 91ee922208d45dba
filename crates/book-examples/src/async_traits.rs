//! `async fn` in traits, and async closures (chapter 8.2).
//!
//! [`Registry`] is a trait with an async method whose futures are `Send`, so
//! that generic code may spawn them ([`region_in_a_task`]); [`DynRegistry`]
//! is its dyn-compatible twin, with boxed futures ([`first_known`] keeps
//! registries of different types in one list). [`each_name`] takes an async
//! closure whose future borrows the closure's captures and its argument, and
//! [`Regions::region_of`] is the pipeline's single-flight lookup with one
//! `AsyncFnOnce` bound in place of two type parameters.
//!
//! The compiler's refusals that the chapter shows are trybuild tests in
//! `crates/compile-errors/tests/ui/`: `async_fn_in_public_trait`,
//! `trait_future_not_send` and `closure_future_borrows`.
//!
//! A trait whose method returns `impl Future` cannot be used as `dyn`:
//!
//! ```compile_fail,E0038
//! use rosetta_book_examples::async_traits::Registry;
//!
//! fn any_registry(registry: &dyn Registry) {}
//! ```
//!
//! A closure that returns a future cannot lend that future what it captured,
//! even without `move` (the chapter shows the error with `async move`):
//!
//! ```compile_fail
//! async fn twice<F, Fut>(mut call: F)
//! where
//!     F: FnMut() -> Fut,
//!     Fut: Future<Output = ()>,
//! {
//!     call().await;
//!     call().await;
//! }
//!
//! async fn count() -> u32 {
//!     let mut calls = 0;
//!     twice(|| async { calls += 1 }).await;
//!     calls
//! }
//! ```
//!
//! The same with an async closure compiles: see [`each_name`].
//!
//! And the future of an async closure has no name on stable Rust (1.95), so a
//! generic function cannot require it to be `Send`:
//!
//! ```compile_fail,E0658
//! fn spawnable<F>(lookup: F)
//! where
//!     F: AsyncFnOnce() -> u32,
//!     F::CallOnceFuture: Send,
//! {
//! }
//! ```

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

// ANCHOR: registry
/// Station to region, asked asynchronously. The futures it returns are
/// `Send`, so generic code may spawn them on a multi-threaded runtime.
pub trait Registry: Send + Sync + 'static {
    /// The region of `station`, or `None` if the registry does not know it.
    fn region_of(
        &self,
        station: &str,
    ) -> impl Future<Output = Option<String>> + Send;
}
// ANCHOR_END: registry

// ANCHOR: impls
/// A registry in memory: it answers at once.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Station to region.
    regions: HashMap<String, String>,
}

impl Registry for Table {
    // An impl may still write `async fn`: the compiler checks that the
    // future it makes is `Send`, as the trait promises its callers.
    async fn region_of(&self, station: &str) -> Option<String> {
        self.regions.get(station).cloned()
    }
}

/// A registry across a network: the same table, after `delay`.
#[derive(Debug, Clone)]
pub struct Remote {
    /// What it knows.
    pub table: Table,
    /// How long each answer takes.
    pub delay: Duration,
}

impl Registry for Remote {
    async fn region_of(&self, station: &str) -> Option<String> {
        tokio::time::sleep(self.delay).await;
        self.table.region_of(station).await
    }
}
// ANCHOR_END: impls

impl Table {
    /// A table of `(station, region)` pairs.
    pub fn new<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let regions = pairs
            .into_iter()
            .map(|(station, region)| (station.to_string(), region.to_string()))
            .collect();
        Table { regions }
    }
}

// ANCHOR: spawn
/// Looks `station` up on a task of its own. This compiles because the
/// trait's future is `Send`: `tokio::spawn` may move it to another thread.
pub fn region_in_a_task<R: Registry>(
    registry: Arc<R>,
    station: String,
) -> JoinHandle<Option<String>> {
    tokio::spawn(async move { registry.region_of(&station).await })
}
// ANCHOR_END: spawn

// ANCHOR: dyn_registry
/// A future on the heap, of any type that can cross threads: one type for
/// every implementation, which is what a `dyn` trait's method must return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`Registry`] in a form that `dyn` accepts.
pub trait DynRegistry: Send + Sync {
    /// The region of `station`, as a boxed future.
    fn region_of_boxed<'a>(
        &'a self,
        station: &'a str,
    ) -> BoxFuture<'a, Option<String>>;
}

/// Every [`Registry`] is a [`DynRegistry`], for one allocation per call.
impl<R: Registry> DynRegistry for R {
    fn region_of_boxed<'a>(
        &'a self,
        station: &'a str,
    ) -> BoxFuture<'a, Option<String>> {
        Box::pin(self.region_of(station))
    }
}

/// Asks each registry in turn; the first that knows `station` answers.
pub async fn first_known(
    registries: &[Box<dyn DynRegistry>],
    station: &str,
) -> Option<String> {
    for registry in registries {
        if let Some(region) = registry.region_of_boxed(station).await {
            return Some(region);
        }
    }
    None
}
// ANCHOR_END: dyn_registry

// ANCHOR: each_name
/// Calls `visit` with each name in turn, and waits for each call to finish.
/// The future of a call may borrow what the closure captured (mutably: this
/// is `AsyncFnMut`) and the name it was called with.
pub async fn each_name(names: &[&str], mut visit: impl AsyncFnMut(&str)) {
    for name in names {
        visit(name).await;
    }
}
// ANCHOR_END: each_name

/// Station to region, each station looked up at most once however many
/// tasks ask at the same moment: the pipeline's `SingleFlightCache`, cut
/// down to the lookup, with an `AsyncFnOnce` parameter.
#[derive(Debug, Default)]
pub struct Regions {
    /// One cell per station ever asked for. `Arc`, so that a cell can be
    /// awaited after the map's lock is released.
    cells: Mutex<HashMap<String, Arc<OnceCell<Option<String>>>>>,
}

impl Regions {
    // ANCHOR: region_of
    /// The region of `station`, from the cache, or from `lookup()` if nobody
    /// has asked for this station before.
    pub async fn region_of(
        &self,
        station: &str,
        lookup: impl AsyncFnOnce() -> Option<String>,
    ) -> Option<String> {
        let cell = {
            let mut cells =
                self.cells.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(cells.entry(station.to_string()).or_default())
        }; // The guard is dropped here, before the `.await` below.
        cell.get_or_init(|| lookup()).await.clone()
    }
    // ANCHOR_END: region_of
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tokio::time::Instant;

    use super::*;

    fn table() -> Table {
        Table::new([("oslo", "north"), ("rome", "south")])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_generic_function_spawns_the_traits_futures() {
        let remote = Remote {
            table: table(),
            delay: Duration::from_millis(1),
        };
        let from_table = region_in_a_task(Arc::new(table()), "oslo".into());
        let from_remote = region_in_a_task(Arc::new(remote), "rome".into());
        assert_eq!(from_table.await.unwrap().as_deref(), Some("north"));
        assert_eq!(from_remote.await.unwrap().as_deref(), Some("south"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_impl_written_with_async_fn_awaits_inside() {
        let remote = Remote {
            table: table(),
            delay: Duration::from_secs(5),
        };
        let start = Instant::now();
        assert_eq!(remote.region_of("nowhere").await, None);
        // Paused time: exactly the remote's delay, never the machine's.
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn registries_of_two_types_share_one_list_as_dyn() {
        let registries: Vec<Box<dyn DynRegistry>> = vec![
            Box::new(Table::new([("oslo", "north")])),
            Box::new(Remote {
                table: table(),
                delay: Duration::from_secs(1),
            }),
        ];
        let first = first_known(&registries, "oslo").await;
        let second = first_known(&registries, "rome").await;
        let neither = first_known(&registries, "lima").await;
        assert_eq!(first.as_deref(), Some("north"));
        assert_eq!(second.as_deref(), Some("south"));
        assert_eq!(neither, None);
    }

    // ANCHOR: each_name_test
    #[tokio::test]
    async fn an_async_closure_borrows_its_captures_and_its_argument() {
        let mut lengths = Vec::new();
        each_name(&["oslo", "bergen"], async |name| {
            // `lengths` and `name` are borrowed across this `.await`.
            tokio::task::yield_now().await;
            lengths.push(name.len());
        })
        .await;
        assert_eq!(lengths, [4, 6]);
    }
    // ANCHOR_END: each_name_test

    #[tokio::test(start_paused = true)]
    async fn askers_at_the_same_moment_share_one_lookup() {
        let regions = Regions::default();
        let remote = Remote {
            table: table(),
            delay: Duration::from_secs(1),
        };
        let lookups = AtomicU32::new(0);
        // Each asker's lookup borrows `remote` and `lookups`: an async
        // closure called once may borrow like any other closure.
        let ask = async || {
            regions
                .region_of("oslo", async || {
                    lookups.fetch_add(1, Ordering::Relaxed);
                    remote.region_of("oslo").await
                })
                .await
        };
        let answers = tokio::join!(ask(), ask(), ask());
        let north = Some("north".to_string());
        assert_eq!(answers, (north.clone(), north.clone(), north));
        assert_eq!(lookups.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_cache_serves_spawned_tasks() {
        let regions = Arc::new(Regions::default());
        let registry = Arc::new(table());
        let lookups = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (regions, registry) = (regions.clone(), registry.clone());
            let lookups = lookups.clone();
            // The closure's type is known here, so the compiler sees that
            // its future is `Send`, and the task may be spawned.
            tasks.push(tokio::spawn(async move {
                let lookup = async || {
                    lookups.fetch_add(1, Ordering::Relaxed);
                    registry.region_of("rome").await
                };
                regions.region_of("rome", lookup).await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().as_deref(), Some("south"));
        }
        assert_eq!(lookups.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_closure_that_returns_a_future_is_accepted_too() {
        // `|| async { .. }` is an `AsyncFnOnce` as well (the standard
        // library implements it for every `FnOnce() -> impl Future`), so
        // the pipeline's callers would not change.
        let regions = Regions::default();
        let region = regions
            .region_of("oslo", || async { Some("north".to_string()) })
            .await;
        assert_eq!(region.as_deref(), Some("north"));
    }
}
