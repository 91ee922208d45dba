//! Solution of exercise 16: one spawned task per feed, each owning what it uses, each
//! returning its reading; the caller awaits the handles in the order of the names.
//!
//! The exercise (`exercises/16-send-and-static/src/lib.rs`) explains the task; chapter 7.1 of
//! the book (`book/src/spawning.md`) explains the errors its first version meets and these
//! fixes: a clone of the `Feeds` handle and of the name moved into each task (`'static`), and
//! the reading returned by the task instead of pushed into an `Rc<RefCell<_>>` (`Send`).

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
    // A spawned task may outlive this call, so it can borrow nothing from it (`'static`): each
    // task owns a clone of the handle (one `Arc` more) and of its name.
    let tasks: Vec<_> = names
        .iter()
        .map(|name| {
            let feeds = feeds.clone();
            let name = name.clone();
            // The task returns its reading instead of writing it into a shared place: nothing
            // to share, so nothing to make `Send` and `Sync`, and no lock.
            tokio::spawn(async move {
                let tenths = feeds.fetch(&name).await;
                Reading { name, tenths }
            })
        })
        .collect();
    // Every task is already running; awaiting the handles in the order of the names gives the
    // readings in that order, whichever task finishes first.
    let mut readings = Vec::with_capacity(tasks.len());
    for task in tasks {
        // `Err` only if the task panicked (an unknown name) or the runtime is shutting down.
        readings.push(task.await.expect("a fetch task panicked or was cancelled"));
    }
    readings
}
