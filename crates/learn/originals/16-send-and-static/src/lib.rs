//! # Exercise 16: the first spawn
//!
//! Chapter 7.1, The first spawn: `Send` and `'static` (`book/src/spawning.md`). About 20
//! minutes.
//!
//! **This exercise does not compile.** [`fetch_all`] below is written the way most people
//! write their first `tokio::spawn`, and the compiler refuses it. Reading its errors is the
//! exercise: run `cargo run -- learn check 16`, read each error from its first line to its
//! notes, and change the code they point at, until it compiles and the tests pass. The errors
//! may come in rounds: the compiler checks borrows only in code that passed its type checks.
//!
//! **Goal:** [`fetch_all`] fetches every feed in `names` from [`Feeds`], each fetch in a
//! `tokio::spawn`ed task of its own, and returns the readings.
//!
//! **Contract**, checked by the tests (on tokio's multi-threaded runtime):
//!
//! - every name is fetched once, each fetch in a different spawned task, all of them at the
//!   same time: a fetch answers only once every fetch has started ([`Feeds::fetch`] waits for
//!   the others), so fetching one after the other never ends;
//! - the readings come in the order of `names`, although the fetches finish in the opposite
//!   order;
//! - the future `fetch_all` returns is `Send`, so that it can be spawned itself;
//! - nothing outlives the call: when `fetch_all` returns, no task and nothing leaked still
//!   holds a handle on the `Feeds` ([`Feeds::handles`] is back to one).
//!
//! Change only the body of [`fetch_all`] (and the imports, if you need to).
//!
//! Check your work with `cargo run -- learn check 16`. Stuck? `cargo run -- learn hint 16`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Barrier, watch};
use tokio::task;

/// What a feed answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The feed's name.
    pub name: String,
    /// Its temperature, in tenths of a degree.
    pub tenths: i32,
}

/// A stand-in for a feed server: a handle that is cheap to clone (every clone shares one
/// server, behind an `Arc`) and can be sent to any thread, like an HTTP client.
///
/// Made for one round of fetches, one per feed, all at the same time.
#[derive(Debug, Clone)]
pub struct Feeds {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Each feed's name and reading, in the order they were given.
    feeds: Vec<(String, i32)>,
    /// Every fetch waits here until all the feeds' fetches have started.
    all_started: Barrier,
    /// How many fetches have finished: the feeds answer last one first.
    finished: watch::Sender<usize>,
    /// The task each fetch ran in, in the order the fetches started (`None`: outside any task).
    tasks: Mutex<Vec<Option<task::Id>>>,
}

impl Feeds {
    /// A server of these feeds, each a name and its reading.
    pub fn new(feeds: &[(&str, i32)]) -> Self {
        let shared = Shared {
            feeds: feeds
                .iter()
                .map(|&(name, tenths)| (name.to_owned(), tenths))
                .collect(),
            all_started: Barrier::new(feeds.len()),
            finished: watch::Sender::new(0),
            tasks: Mutex::new(Vec::new()),
        };
        Feeds {
            shared: Arc::new(shared),
        }
    }

    /// Fetches the feed called `name`: answers its reading once every feed's fetch has
    /// started, and after the fetches of every feed listed after it have answered.
    ///
    /// # Panics
    ///
    /// If there is no feed called `name`.
    pub async fn fetch(&self, name: &str) -> i32 {
        let shared = &*self.shared;
        let Some(position) = shared.feeds.iter().position(|(feed, _)| feed == name) else {
            panic!("no feed is called {name:?}");
        };
        // A task spawned with `tokio::spawn` has an id; a future polled by `block_on` has none.
        shared
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(task::try_id());
        shared.all_started.wait().await;
        let answered_before_me = shared.feeds.len() - 1 - position;
        let mut finished = shared.finished.subscribe();
        finished
            .wait_for(|&finished| finished == answered_before_me)
            .await
            .expect("the sender lives as long as `self`");
        shared.finished.send_modify(|finished| *finished += 1);
        shared.feeds[position].1
    }

    /// The task each fetch ran in, in the order the fetches started (`None`: a fetch outside
    /// any spawned task).
    pub fn tasks(&self) -> Vec<Option<task::Id>> {
        self.shared
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many handles on this server exist: this one and its clones, wherever they are.
    pub fn handles(&self) -> usize {
        Arc::strong_count(&self.shared)
    }
}

/// Fetches every feed in `names`, each in a spawned task of its own, all at the same time, and
/// returns their readings in the order of `names`.
pub async fn fetch_all(feeds: &Feeds, names: &[String]) -> Vec<Reading> {
    let readings = Rc::new(RefCell::new(Vec::new()));
    let mut tasks = Vec::new();
    for name in names {
        let readings = Rc::clone(&readings);
        tasks.push(tokio::spawn(async move {
            let tenths = feeds.fetch(name).await;
            readings.borrow_mut().push(Reading {
                name: name.clone(),
                tenths,
            });
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    readings.take()
}
