//! Steps 4 and 5: what a worker keeps, and how the workers' results are merged.
//!
//! A worker receives enriched records for the stations of its partition and
//! keeps, per station, the count, the minimum, the maximum and the sum, all in
//! integer tenths. Because integer addition is associative, the totals do not
//! depend on the order in which records arrive, which is what lets eight very
//! different styles agree byte for byte.
//!
//! Read next: [`crate::report`].

use std::collections::BTreeMap;

use crate::parse::Record;

/// A record that passed the registry lookup: it now knows its region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enriched {
    /// The parsed record.
    pub record: Record,
    /// The station's region, from the registry.
    pub region: String,
}

/// Running totals for one station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationStats {
    /// The station's region.
    pub region: String,
    /// Number of records.
    pub count: u64,
    /// Lowest temperature, in tenths.
    pub min: i32,
    /// Highest temperature, in tenths.
    pub max: i32,
    /// Sum of all temperatures, in tenths. `i64`: a million records of 99.9
    /// still fit.
    pub sum: i64,
}

impl StationStats {
    fn new(region: String, tenths: i32) -> Self {
        StationStats {
            region,
            count: 1,
            min: tenths,
            max: tenths,
            sum: i64::from(tenths),
        }
    }

    fn combine(&mut self, other: &StationStats) {
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    // ANCHOR: mean
    /// The mean in tenths: `sum / count`, rounded to the nearest tenth, ties
    /// away from zero.
    ///
    /// Done in integers: `round(|s| / c) = floor((2|s| + c) / 2c)`, then the
    /// sign put back.
    pub fn mean(&self) -> i32 {
        assert!(self.count > 0, "a station has at least one record");
        let count = i128::from(self.count);
        let sum = i128::from(self.sum);
        let magnitude = (2 * sum.abs() + count) / (2 * count);
        let mean = if sum < 0 { -magnitude } else { magnitude };
        i32::try_from(mean)
            .expect("a mean lies between the minimum and the maximum")
    }
    // ANCHOR_END: mean
}

/// Everything one worker has aggregated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerTally {
    /// Totals per station.
    pub stations: BTreeMap<String, StationStats>,
    /// Number of records this worker received.
    pub records: u64,
}

impl WorkerTally {
    /// An empty tally.
    pub fn new() -> Self {
        WorkerTally::default()
    }

    /// Adds one enriched record.
    pub fn add(&mut self, enriched: Enriched) {
        self.records += 1;
        let Enriched { record, region } = enriched;
        match self.stations.get_mut(&record.station) {
            Some(stats) => {
                stats.combine(&StationStats::new(region, record.tenths.0))
            }
            None => {
                let stats = StationStats::new(region, record.tenths.0);
                self.stations.insert(record.station, stats);
            }
        }
    }
}

/// Merges the workers' tallies into one total per station, sorted by station
/// name (bytewise).
pub fn merge(tallies: &[WorkerTally]) -> BTreeMap<String, StationStats> {
    let mut merged: BTreeMap<String, StationStats> = BTreeMap::new();
    for tally in tallies {
        for (station, stats) in &tally.stations {
            match merged.get_mut(station) {
                Some(total) => total.combine(stats),
                None => {
                    merged.insert(station.clone(), stats.clone());
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenths::Tenths;

    fn stats(sum: i64, count: u64) -> StationStats {
        StationStats {
            region: "r".into(),
            count,
            min: 0,
            max: 0,
            sum,
        }
    }

    #[test]
    fn mean_rounds_half_away_from_zero() {
        assert_eq!(stats(3, 2).mean(), 2); // 1.5 tenths -> 2
        assert_eq!(stats(-3, 2).mean(), -2); // -1.5 -> -2
        assert_eq!(stats(5, 4).mean(), 1); // 1.25 -> 1
        assert_eq!(stats(-5, 4).mean(), -1);
        assert_eq!(stats(7, 4).mean(), 2); // 1.75 -> 2
        assert_eq!(stats(-1, 3).mean(), 0); // -0.33 -> 0 (and never "-0")
        assert_eq!(stats(10, 1).mean(), 10);
    }

    #[test]
    fn tallies_merge_per_station() {
        let record = |station: &str, tenths| Enriched {
            record: Record {
                source: 0,
                line: 1,
                station: station.into(),
                tenths: Tenths(tenths),
            },
            region: "north".into(),
        };
        let mut a = WorkerTally::new();
        a.add(record("Oslo", 10));
        a.add(record("Oslo", -20));
        let mut b = WorkerTally::new();
        b.add(record("Oslo", 50));
        b.add(record("Bergen", 1));
        let merged = merge(&[a, b]);
        let oslo = &merged["Oslo"];
        assert_eq!(
            (oslo.count, oslo.min, oslo.max, oslo.sum),
            (3, -20, 50, 40)
        );
        assert_eq!(merged.keys().collect::<Vec<_>>(), ["Bergen", "Oslo"]);
    }
}
