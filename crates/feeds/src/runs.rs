//! The runs a feed server serves: which scenario each run id answers with, and how many
//! requests each of its feeds has had.
//!
//! A run is one pipeline run's view of the feeds. The `first` fault fails the first request *of
//! a run*, so every `compare` row and every test registers a run of its own
//! ([`Runs::host`], numbered ids) and never sees another run's first failure. A server started
//! with a default scenario also creates runs on demand, under any id a person types
//! (`/runs/demo/feeds/...`): [`Runs::find_or_create`].
//!
//! Read next: `routes.rs`, which looks runs up here and answers for them.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rosetta_pipeline::RunOptions;
use rosetta_pipeline::Scenario;
use rosetta_pipeline::scenario::{Response, Source};

/// The most runs a server creates on demand. Each costs a counter per source; without a bound,
/// a loop of requests with made-up run ids would grow the table until memory runs out. Runs a
/// program registers with [`FeedServer::host`](crate::FeedServer::host) do not count: the
/// program decides how many it needs.
pub const MAX_RUNS_ON_DEMAND: usize = 1024;

/// The longest run id a request may name, and what it may be made of: enough for a word, a
/// number or a UUID, and nothing that needs escaping in a URL or a terminal.
pub const MAX_RUN_ID_LEN: usize = 64;

/// Whether `id` may name a run: 1 to [`MAX_RUN_ID_LEN`] characters from `A-Z a-z 0-9 _ -`.
pub fn is_run_id(id: &str) -> bool {
    (1..=MAX_RUN_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A scenario and the time scale its feeds wait at: what a run serves, and what a server
/// started with a default serves on demand and at `/scenario.toml`.
#[derive(Debug, Clone)]
pub struct Served {
    /// The scenario whose sources are the feeds.
    pub scenario: Arc<Scenario>,
    /// Multiplies every latency, as [`RunOptions::time_scale`] does for a style.
    pub time_scale: f64,
}

/// One run: its scenario, and a request counter per source.
#[derive(Debug)]
pub struct Run {
    served: Served,
    /// The indices of the scenario's sources, sorted by name, so that a request finds its
    /// source by binary search (a generated scenario may have ten thousand).
    by_name: Vec<usize>,
    /// Requests so far, per source (same order as the scenario's sources).
    requests: Vec<AtomicU64>,
}

impl Run {
    fn new(served: Served) -> Run {
        let sources = &served.scenario.sources;
        let mut by_name: Vec<usize> = (0..sources.len()).collect();
        by_name.sort_unstable_by(|&a, &b| sources[a].name.cmp(&sources[b].name));
        let requests = sources.iter().map(|_| AtomicU64::new(0)).collect();
        Run {
            served,
            by_name,
            requests,
        }
    }

    /// The scenario this run serves.
    pub fn scenario(&self) -> &Arc<Scenario> {
        &self.served.scenario
    }

    /// The index of the source named `name`, if the scenario has one.
    pub fn source_index(&self, name: &str) -> Option<usize> {
        let sources = &self.served.scenario.sources;
        self.by_name
            .binary_search_by(|&i| sources[i].name.as_str().cmp(name))
            .ok()
            .map(|found| self.by_name[found])
    }

    /// Counts a request for source `index` and says what the feed will answer to it, once its
    /// latency has passed: [`Source::respond`], the same rule the `sim` transport follows, with
    /// this run's request count as the attempt number. Called when the request *arrives*, so
    /// that of two requests waiting out their latency at once, the first to arrive is the one a
    /// `first` fault fails.
    pub fn arrive(&self, index: usize) -> (&Source, Response<'_>) {
        let source = &self.served.scenario.sources[index];
        let count = self.requests[index].fetch_add(1, Ordering::Relaxed) + 1;
        let attempt = u32::try_from(count).unwrap_or(u32::MAX);
        (source, source.respond(attempt))
    }

    /// The time scale this run's feeds wait at.
    pub fn time_scale(&self) -> f64 {
        self.served.time_scale
    }

    /// A latency in scenario milliseconds as the real time this run waits.
    pub fn scaled(&self, latency_ms: u64) -> Duration {
        RunOptions::with_time_scale(self.served.time_scale).scaled(latency_ms)
    }
}

/// Every run a server knows, by id.
#[derive(Debug)]
pub struct Runs {
    table: Mutex<Table>,
    /// What runs created on demand serve; `None`: only registered runs exist.
    default: Option<Served>,
}

#[derive(Debug, Default)]
struct Table {
    runs: HashMap<String, Arc<Run>>,
    /// The next number [`Runs::host`] tries as an id.
    next_id: u64,
    /// How many runs were created on demand, against [`MAX_RUNS_ON_DEMAND`].
    on_demand: usize,
}

impl Runs {
    /// An empty table; `default` is what unknown run ids get, if anything.
    pub fn new(default: Option<Served>) -> Runs {
        Runs {
            table: Mutex::default(),
            default,
        }
    }

    /// What runs created on demand serve, if the server has a default.
    pub fn default_served(&self) -> Option<&Served> {
        self.default.as_ref()
    }

    /// Registers a fresh run serving `served` and returns its id, a number no run has used.
    pub fn host(&self, served: Served) -> u64 {
        let mut table = self.lock();
        loop {
            let id = table.next_id;
            table.next_id += 1;
            // A person may have created run "7" on demand before the program got to 7: skip it,
            // so that a registered run never shares its `first` state with anyone.
            if let Entry::Vacant(slot) = table.runs.entry(id.to_string()) {
                slot.insert(Arc::new(Run::new(served)));
                return id;
            }
        }
    }

    /// Forgets a run; later requests for it are answered as for any unknown id.
    pub fn retire(&self, id: &str) {
        self.lock().runs.remove(id);
    }

    /// The run named `id`: a registered one, or one created now (or earlier) on demand with
    /// the default scenario. `None` without a default, or once [`MAX_RUNS_ON_DEMAND`] runs
    /// have been created on demand.
    pub fn find_or_create(&self, id: &str) -> Option<Arc<Run>> {
        let mut table = self.lock();
        if let Some(run) = table.runs.get(id) {
            return Some(Arc::clone(run));
        }
        let served = self.default.as_ref()?;
        if !is_run_id(id) || table.on_demand >= MAX_RUNS_ON_DEMAND {
            return None;
        }
        table.on_demand += 1;
        let run = Arc::new(Run::new(served.clone()));
        table.runs.insert(id.to_owned(), Arc::clone(&run));
        Some(run)
    }

    /// How many runs exist now.
    pub fn len(&self) -> usize {
        self.lock().runs.len()
    }

    /// The table, locked. Never held across an `.await`: every use is a lookup or an insert.
    /// A panic while it was held (there is nothing in it that could panic) would leave the map
    /// as consistent as it was, so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served() -> Served {
        Served {
            scenario: Arc::new(Scenario::builtin("classroom").unwrap()),
            time_scale: 1.0,
        }
    }

    #[test]
    fn run_ids_are_short_words() {
        assert!(is_run_id("demo"));
        assert!(is_run_id("run_7-b"));
        assert!(is_run_id(&"x".repeat(MAX_RUN_ID_LEN)));
        assert!(!is_run_id(""));
        assert!(!is_run_id(&"x".repeat(MAX_RUN_ID_LEN + 1)));
        assert!(!is_run_id("a b"));
        assert!(!is_run_id("a.b"));
        assert!(!is_run_id("ø"));
    }

    #[test]
    fn every_source_is_found_by_name() {
        let run = Run::new(served());
        for (index, source) in run.scenario().sources.iter().enumerate() {
            assert_eq!(run.source_index(&source.name), Some(index));
        }
        assert_eq!(run.source_index("no-such-feed"), None);
    }

    #[test]
    fn a_registered_id_skips_ids_taken_on_demand() {
        let runs = Runs::new(Some(served()));
        runs.find_or_create("0").unwrap();
        runs.find_or_create("1").unwrap();
        assert_eq!(runs.host(served()), 2);
        assert_eq!(runs.host(served()), 3);
        assert_eq!(runs.len(), 4);
        runs.retire("3");
        assert_eq!(runs.len(), 3);
    }

    #[test]
    fn without_a_default_unknown_runs_do_not_exist() {
        let runs = Runs::new(None);
        assert!(runs.find_or_create("demo").is_none());
        let id = runs.host(served());
        assert!(runs.find_or_create(&id.to_string()).is_some());
    }

    #[test]
    fn runs_on_demand_are_bounded() {
        let runs = Runs::new(Some(served()));
        for i in 0..MAX_RUNS_ON_DEMAND {
            assert!(runs.find_or_create(&format!("r{i}")).is_some());
        }
        assert!(runs.find_or_create("one-too-many").is_none());
        // Runs that exist are still found, and a program can still register its own.
        assert!(runs.find_or_create("r0").is_some());
        runs.host(served());
    }
}
