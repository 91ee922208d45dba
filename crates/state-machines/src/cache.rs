//! Step 3, enrich: the single-flight cache, as a shared slot with a list of
//! wakers.
//!
//! Every station gets one [`LookupSlot`], shared (`Rc<RefCell<..>>`) by
//! everyone who asks for it. The first asker finds no slot: it creates one and
//! spawns a [`Lookup`] task that waits `lookup_ms`, asks the registry and fills
//! the slot. Every asker, first or later, gets a [`RegionWait`] on the slot:
//! ready at once if the slot is filled, otherwise it leaves its waker in the
//! slot's list and is woken when the lookup fills it.
//!
//! The lookup runs on the executor of the asker that started it, and its timer
//! lives in *that* executor's reactor ([`Executor::reactor`]): a timer is only
//! ever fired by the executor whose reactor holds it, so the cache keeps no
//! reactor of its own.
//!
//! Why spawn the lookup instead of letting the askers' futures drive it, as a
//! `Shared` future does in the combinators style? A `Shared` goes on as long as
//! any clone is polled: it polls the inner future with a waker that wakes every
//! clone, so whichever clone is polled next drives it, and dropping one clone
//! (even the first asker's) stops nothing. That works too. A task is simpler to
//! write by hand: the lookup then needs no record of who is driving it, and it
//! runs to the end even if every asker is dropped, so the answer is in the
//! cache for the next one.
//!
//! # In production
//!
//! This cache grows without bound and keeps every answer forever, which is
//! right for one run over a fixed registry and wrong for a long-lived service.
//! There you would add three things, each in one place: a size bound (evict the
//! least recently used `Done` slot when [`SingleFlightCache::region_of`]
//! inserts a new one), an expiry (store an `Instant` next to the region in
//! `LookupSlot::Done`, and treat an old entry as missing in `region_of`), and
//! the removal of a failed lookup (a real registry call can fail:
//! `Lookup::finish` would then hand the error to the waiters already in the
//! slot, and also *remove* the slot from the map, for which the `Lookup` needs
//! a handle to it, so that the next asker starts a new lookup instead of
//! reading a cached failure).
//!
//! Read next: [`crate::executor::channel`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use rosetta_pipeline::registry::Registry;
use rosetta_pipeline::trace::{EventKind, Trace};

use crate::executor::Executor;
use crate::executor::reactor::{Reactor, Sleep, sleep};

/// One station's entry in the cache, shared by its lookup and its waiters.
#[derive(Debug)]
pub enum LookupSlot<'a> {
    /// The lookup is in flight.
    InFlight {
        /// Wakers of everyone waiting for the region. A waiter that is dropped
        /// leaves its waker behind; waking it later is harmless (the executor
        /// ignores tasks that are gone).
        waiters: Vec<Waker>,
    },
    /// The lookup is done: the region, or `None` for an unknown station.
    Done(Option<&'a str>),
}

type SharedSlot<'a> = Rc<RefCell<LookupSlot<'a>>>;

// ANCHOR: single_flight
/// Station to region, each station looked up at most once.
#[derive(Debug)]
pub struct SingleFlightCache<'a> {
    /// The registry the lookups ask.
    registry: &'a Registry,
    /// How long one lookup takes, scaled.
    lookup_time: Duration,
    /// Where lookups are recorded.
    trace: &'a Trace,
    /// One slot per station ever asked for.
    slots: RefCell<HashMap<String, SharedSlot<'a>>>,
}

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
            slots: RefCell::new(HashMap::new()),
        }
    }

    /// A future resolving to the region of `station`. The first call for a
    /// station spawns its lookup on `executor`, with its timer in `executor`'s
    /// reactor; every later call (on any executor) waits for that same lookup.
    pub fn region_of(
        &self,
        station: &str,
        executor: &Executor<'a>,
    ) -> RegionWait<'a> {
        let mut slots = self.slots.borrow_mut();
        if let Some(slot) = slots.get(station) {
            return RegionWait {
                slot: Rc::clone(slot),
                waiter: None,
            };
        }
        let slot = Rc::new(RefCell::new(LookupSlot::InFlight {
            waiters: Vec::new(),
        }));
        slots.insert(station.to_string(), Rc::clone(&slot));
        // The first asker starts the lookup, as a task of its own: its
        // JoinHandle is dropped (detached), because the answer arrives through
        // the slot.
        let _detached = executor.spawn(Lookup {
            station: station.to_string(),
            registry: self.registry,
            trace: self.trace,
            slot: Rc::clone(&slot),
            state: LookupState::Start {
                reactor: executor.reactor().clone(),
                lookup_time: self.lookup_time,
            },
        });
        RegionWait { slot, waiter: None }
    }

    /// How many lookups were started: one per distinct station asked for.
    pub fn lookups(&self) -> u64 {
        self.slots.borrow().len() as u64
    }
}

/// Future for [`SingleFlightCache::region_of`]: the station's region, or `None`
/// if it is unknown.
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct RegionWait<'a> {
    /// The station's slot.
    slot: SharedSlot<'a>,
    /// Where our waker is in the slot's list, once we have left one there.
    waiter: Option<usize>,
}

impl<'a> Future for RegionWait<'a> {
    type Output = Option<&'a str>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<&'a str>> {
        let slot = Rc::clone(&self.slot);
        let mut slot = slot.borrow_mut();
        match &mut *slot {
            // A cache hit, or the lookup we waited for has finished.
            LookupSlot::Done(region) => Poll::Ready(*region),
            // First poll while in flight: join the list. Later polls: refresh
            // our entry (the list only grows until the lookup is done, so our
            // index stays valid).
            LookupSlot::InFlight { waiters } => {
                match self.waiter {
                    Some(index) => waiters[index].clone_from(cx.waker()),
                    None => {
                        self.waiter = Some(waiters.len());
                        waiters.push(cx.waker().clone());
                    }
                }
                Poll::Pending
            }
        }
    }
}

/// The task that performs one lookup and fills its slot.
#[derive(Debug)]
#[must_use = "futures do nothing unless you poll them"]
pub struct Lookup<'a> {
    /// The station looked up.
    station: String,
    /// The registry to ask.
    registry: &'a Registry,
    /// Where the lookup is recorded.
    trace: &'a Trace,
    /// Where the answer goes.
    slot: SharedSlot<'a>,
    /// Where the lookup is.
    state: LookupState,
}

/// The states of a [`Lookup`].
#[derive(Debug)]
enum LookupState {
    /// Not polled yet: the lookup has not started.
    Start {
        /// For the lookup's timer.
        reactor: Reactor,
        /// How long the lookup takes.
        lookup_time: Duration,
    },
    /// Waiting for the registry to answer.
    Waiting(Sleep),
    /// The slot is filled.
    Done,
}

impl Future for Lookup<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match &mut self.state {
                // Start -> Waiting: the lookup starts (and is recorded) when
                // the task first runs.
                LookupState::Start {
                    reactor,
                    lookup_time,
                } => {
                    let wait = sleep(reactor, *lookup_time);
                    let station = self.station.clone();
                    self.trace.record(EventKind::LookupStarted { station });
                    self.state = LookupState::Waiting(wait);
                }
                // Waiting -> Done: the registry answers; fill the slot, wake
                // every waiter.
                LookupState::Waiting(wait) => {
                    ready!(Pin::new(wait).poll(cx));
                    self.state = LookupState::Done;
                    self.finish();
                    return Poll::Ready(());
                }
                LookupState::Done => panic!("Lookup polled after it completed"),
            }
        }
    }
}

impl Lookup<'_> {
    /// Asks the registry, fills the slot and wakes everyone waiting for it.
    fn finish(&self) {
        let region = self.registry.region_of(&self.station);
        self.trace.record(EventKind::LookupFinished {
            station: self.station.clone(),
            known: region.is_some(),
        });
        let previous = self.slot.replace(LookupSlot::Done(region));
        if let LookupSlot::InFlight { waiters } = previous {
            // The slot's borrow has ended (`replace` returned): a woken waiter
            // may poll it.
            waiters.into_iter().for_each(Waker::wake);
        }
    }
}
// ANCHOR_END: single_flight

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Instant;

    use crate::test_support::CountingWaker;

    fn registry() -> Registry {
        Registry::from(BTreeMap::from([(
            "Oslo".to_string(),
            "north".to_string(),
        )]))
    }

    #[test]
    fn two_askers_share_one_lookup_and_are_both_woken() {
        let (registry, trace) = (registry(), Trace::new());
        let executor = Executor::new();
        let reactor = executor.reactor();
        let cache =
            SingleFlightCache::new(&registry, Duration::from_secs(1), &trace);
        let (first_waker, first_wakes) = CountingWaker::new();
        let (second_waker, second_wakes) = CountingWaker::new();

        let mut first = cache.region_of("Oslo", &executor);
        let mut second = cache.region_of("Oslo", &executor);
        assert_eq!(cache.lookups(), 1);
        assert_eq!(executor.tasks(), 1, "one lookup task for two askers");

        // Both are in flight and leave their wakers.
        let mut cx = Context::from_waker(&first_waker);
        assert!(Pin::new(&mut first).poll(&mut cx).is_pending());
        assert!(
            Pin::new(&mut first).poll(&mut cx).is_pending(),
            "polled twice, listed once"
        );
        let mut cx2 = Context::from_waker(&second_waker);
        assert!(Pin::new(&mut second).poll(&mut cx2).is_pending());

        // Let the lookup task start (it registers its timer), then fire the
        // timer and let the task finish: both askers are woken, once each.
        executor.block_on(std::future::ready(()));
        assert_eq!(trace.summary().lookups, 1);
        assert_eq!(reactor.pending_timers(), 1);
        reactor.fire_due(Instant::now() + Duration::from_secs(2));
        executor.block_on(std::future::ready(()));
        assert_eq!((first_wakes.count(), second_wakes.count()), (1, 1));
        assert_eq!(
            Pin::new(&mut first).poll(&mut cx),
            Poll::Ready(Some("north"))
        );
        assert_eq!(
            Pin::new(&mut second).poll(&mut cx2),
            Poll::Ready(Some("north"))
        );
        assert_eq!(executor.tasks(), 0);

        // A later asker hits the cache: ready at first poll, no new lookup.
        let mut third = cache.region_of("Oslo", &executor);
        assert_eq!(
            Pin::new(&mut third).poll(&mut cx),
            Poll::Ready(Some("north"))
        );
        assert_eq!(cache.lookups(), 1);
    }

    #[test]
    fn an_unknown_station_is_looked_up_once_too() {
        let (registry, trace) = (registry(), Trace::new());
        let executor = Executor::new();
        let cache = SingleFlightCache::new(&registry, Duration::ZERO, &trace);
        assert_eq!(
            executor.block_on(cache.region_of("Atlantis", &executor)),
            None
        );
        assert_eq!(
            executor.block_on(cache.region_of("Atlantis", &executor)),
            None
        );
        assert_eq!(trace.summary().lookups, 1);
    }

    #[test]
    fn the_lookup_runs_on_the_executor_that_asked() {
        let registry = Registry::from(BTreeMap::from([
            ("Oslo".to_string(), "north".to_string()),
            ("Rome".to_string(), "south".to_string()),
        ]));
        let trace = Trace::new();
        let cache =
            SingleFlightCache::new(&registry, Duration::from_millis(1), &trace);
        // Two executors ask in turn: each lookup's timer must be in the reactor
        // of the executor that runs the lookup, or nothing ever fires it.
        let first = Executor::new();
        assert_eq!(
            first.block_on(cache.region_of("Oslo", &first)),
            Some("north")
        );
        let second = Executor::new();
        assert_eq!(
            second.block_on(cache.region_of("Rome", &second)),
            Some("south")
        );
        assert_eq!(first.reactor().pending_timers(), 0);
        assert_eq!(cache.lookups(), 2);
    }

    #[test]
    fn a_dropped_asker_does_not_stop_the_lookup() {
        let (registry, trace) = (registry(), Trace::new());
        let executor = Executor::new();
        let cache =
            SingleFlightCache::new(&registry, Duration::from_millis(1), &trace);
        let (waker, _) = CountingWaker::new();
        let mut first = cache.region_of("Oslo", &executor);
        assert!(
            Pin::new(&mut first)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(first);
        // The lookup is its own task: the second asker still gets the answer.
        assert_eq!(
            executor.block_on(cache.region_of("Oslo", &executor)),
            Some("north")
        );
    }
}
