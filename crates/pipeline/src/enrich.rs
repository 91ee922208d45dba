//! Step 3, the part every style shares: which stations a body needs, then its
//! records with their regions, in two passes over the body that keep nothing
//! per record.
//!
//! The obvious way to enrich is one record at a time: parse the body into a
//! `Vec<Record>`, then start one "look up this record's station and hand it
//! off" task (or callback, or future) per record. It is correct, and on a
//! dozen-line feed it is what you would write. On a 50 MB feed of 5.5 million
//! lines it holds 5.5 million records and 5.5 million waiting tasks at once,
//! several gigabytes for a few distinct stations: the cost of waiting is paid
//! per *record*, while only a *station* ever needs to wait.
//!
//! So every style enriches a body the same way, in two passes:
//!
//! 1. [`survey`] reads the body once and keeps only what is small: its distinct
//!    stations (in order of first appearance), how many records it has, and its
//!    rejected lines. The style then looks up every distinct station through
//!    its single-flight cache, all at once and in its own idiom. This is where
//!    the waiting is, and it is exactly what the model assumes (every station
//!    looked up the moment its source answers; see [`crate::model`]).
//! 2. [`Survey::into_enriched`] reads the body again, parsing one line at a
//!    time, and yields each record with its region (or as an `unknown station`
//!    rejection). The style hands each one to its worker as it comes, so at
//!    most a queue's worth of records is alive at a time.
//!
//! Parsing twice costs far less than it saves: a pass over 50 MB takes tens of
//! milliseconds, and nothing is allocated per line except the record being
//! handed off. In production you would stream the body from the network instead
//! of holding it whole; the second pass would then read it from a spill file,
//! or the records would wait in a bounded buffer per station.
//!
//! Read next: [`crate::partition`].

use std::borrow::Cow;
use std::collections::HashMap;

use crate::aggregate::Enriched;
use crate::parse::{LineCursor, Reason, Record, Rejection, parse_lines};

/// What the first pass over one body found, and the body itself, for the second
/// pass.
///
/// A survey owns what it needs: the body (borrowed from the scenario on the
/// `sim` transport, owned as read from the socket on `tcp`: a [`Cow`] either
/// way) and its stations. So a style can move it into a callback or a future
/// and let pass 2 ([`Survey::into_enriched`]) take it over with the regions,
/// with nothing left behind to borrow from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey<'b> {
    /// Index of the source (in file order) the body came from.
    pub source: usize,
    /// The body itself, for the second pass.
    body: Cow<'b, str>,
    /// Each station that at least one record names, once, in order of first
    /// appearance. These are the lookups the body needs (the cache decides
    /// which of them are already known). Owned: a station of a body read from a
    /// socket lives no longer than the body, and the cache keeps its keys for
    /// the whole run.
    pub stations: Vec<String>,
    /// How many lines parsed into records (known station or not): the report's
    /// `cache_hits` counts records, not stations.
    pub records: usize,
    /// The lines that did not parse, in line order.
    pub rejected: Vec<Rejection>,
}

// ANCHOR: survey
/// Pass 1 over the body of source number `source`: its distinct stations, its
/// number of records and its rejected lines. Nothing is kept per record.
pub fn survey<'b>(source: usize, body: impl Into<Cow<'b, str>>) -> Survey<'b> {
    let body = body.into();
    let mut stations = Vec::new();
    let mut records = 0;
    let mut rejected = Vec::new();
    // A set that remembers the order of first appearance: `stations` keeps the
    // order.
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for line in parse_lines(source, &body) {
        match line {
            Ok(line) => {
                records += 1;
                if seen.insert(line.station, ()).is_none() {
                    stations.push(line.station.to_string());
                }
            }
            Err(rejection) => rejected.push(rejection),
        }
    }
    Survey {
        source,
        body,
        stations,
        records,
        rejected,
    }
}
// ANCHOR_END: survey

impl<'b> Survey<'b> {
    /// Pass 2: the body's records, parsed again one line at a time, each with
    /// its region. `regions[i]` is the region of `self.stations[i]` (`None`:
    /// the registry does not know it, and its records come out as `unknown
    /// station` rejections). Lines that did not parse are skipped here:
    /// [`Survey::rejected`] already has them.
    ///
    /// Takes the survey and the regions: the iterator owns everything it reads,
    /// so it can be kept in a callback's state or a future and advanced a few
    /// records at a time.
    ///
    /// # Panics
    ///
    /// If `regions` does not have one entry per station.
    pub fn into_enriched(self, regions: Vec<Option<String>>) -> Enrich<'b> {
        assert_eq!(
            regions.len(),
            self.stations.len(),
            "one region (or None) per surveyed station"
        );
        Enrich {
            source: self.source,
            body: self.body,
            cursor: LineCursor::default(),
            region_of: self.stations.into_iter().zip(regions).collect(),
        }
    }
}

/// The records of one body with their regions: the iterator of pass 2
/// ([`Survey::into_enriched`]). It owns the body and keeps a [`LineCursor`]
/// into it, since a value cannot hold both a `String` and a borrow of it.
#[derive(Debug)]
pub struct Enrich<'b> {
    source: usize,
    body: Cow<'b, str>,
    cursor: LineCursor,
    region_of: HashMap<String, Option<String>>,
}

impl Iterator for Enrich<'_> {
    type Item = Result<Enriched, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Rejected lines were reported by the survey: skip them.
            let Ok(line) = self.cursor.next(self.source, &self.body)? else {
                continue;
            };
            return Some(match self.region_of.get(line.station) {
                Some(Some(region)) => Ok(Enriched {
                    record: Record {
                        source: line.source,
                        line: line.line,
                        station: line.station.to_string(),
                        tenths: line.tenths,
                    },
                    region: region.clone(),
                }),
                // Unknown to the registry (or, were the regions not this
                // body's, never surveyed).
                Some(None) | None => Err(Rejection {
                    source: line.source,
                    line: line.line,
                    reason: Reason::UnknownStation,
                }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_body;

    const BODY: &str = "Oslo;1.0\nnope\nBergen;2.0\n\nOslo;-1.5\r\nAtlantis;0.0\n;1.0\nBergen;x\n";

    #[test]
    fn the_survey_keeps_stations_once_in_order_and_every_rejected_line() {
        let survey = survey(3, BODY);
        assert_eq!(survey.stations, ["Oslo", "Bergen", "Atlantis"]);
        assert_eq!(survey.records, 4);
        assert_eq!(survey.rejected, parse_body(3, BODY).rejected);
    }

    #[test]
    fn the_second_pass_gives_every_record_with_its_region_or_rejects_it() {
        let survey = survey(3, BODY);
        let regions =
            [Some("north".to_string()), Some("west".to_string()), None];
        let enriched: Vec<_> = survey.into_enriched(regions.to_vec()).collect();
        let records = parse_body(3, BODY).records;
        assert_eq!(enriched.len(), records.len());
        for (item, record) in enriched.into_iter().zip(records) {
            match record.station.as_str() {
                "Atlantis" => assert_eq!(
                    item,
                    Err(Rejection {
                        source: 3,
                        line: record.line,
                        reason: Reason::UnknownStation
                    })
                ),
                station => {
                    let region =
                        if station == "Oslo" { "north" } else { "west" };
                    assert_eq!(
                        item,
                        Ok(Enriched {
                            record,
                            region: region.into()
                        })
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "one region (or None) per surveyed station")]
    fn the_second_pass_needs_a_region_for_every_station() {
        let survey = survey(0, BODY);
        let _ = survey.into_enriched(Vec::new());
    }
}
