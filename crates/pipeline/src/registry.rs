//! Step 3: the registry, which says which region a station belongs to.
//!
//! In a real system this is a remote service: each lookup costs a round trip
//! (`lookup_ms` in the scenario). That cost is why styles cache lookups, and
//! the *single-flight* rule is why the cache is interesting: however the work
//! interleaves, each distinct station is looked up exactly once, so a second
//! request for a station whose lookup is still in flight must wait for that
//! lookup instead of starting its own. Each style expresses that waiting
//! differently (a condition variable, a list of callbacks, a shared future),
//! and the report's `lookups` count proves it.
//!
//! This module is only the answer of the service, without the waiting. Read
//! next: [`crate::partition`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Station name to region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Registry(BTreeMap<String, String>);

impl Registry {
    /// The region of `station`, or `None` if the station is unknown. A style
    /// must wait `lookup_ms` before it may use the answer: that is the cost it
    /// caches.
    pub fn region_of(&self, station: &str) -> Option<&str> {
        self.0.get(station).map(String::as_str)
    }

    /// Number of stations the registry knows.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if the registry knows no station.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<BTreeMap<String, String>> for Registry {
    fn from(map: BTreeMap<String, String>) -> Self {
        Registry(map)
    }
}
