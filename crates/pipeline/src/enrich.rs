//! Step 3, the part every style shares: which stations a body needs, then its records with their
//! regions, in two passes over the body that keep nothing per record.
//!
//! The obvious way to enrich is one record at a time: parse the body into a `Vec<Record>`, then
//! start one "look up this record's station and hand it off" task (or callback, or future) per
//! record. It is correct, and on a dozen-line feed it is what you would write. On a 50 MB feed
//! of 5.5 million lines it holds 5.5 million records and 5.5 million waiting tasks at once,
//! several gigabytes for a few distinct stations: the cost of waiting is paid per *record*,
//! while only a *station* ever needs to wait.
//!
//! So every style enriches a body the same way, in two passes:
//!
//! 1. [`survey`] reads the body once and keeps only what is small: its distinct stations (in
//!    order of first appearance), how many records it has, and its rejected lines. The style
//!    then looks up every distinct station through its single-flight cache, all at once and in
//!    its own idiom. This is where the waiting is, and it is exactly what the model assumes
//!    (every station looked up the moment its source answers; see [`crate::model`]).
//! 2. [`Survey::enriched`] reads the body again, parsing one line at a time, and yields each
//!    record with its region (or as an `unknown station` rejection). The style hands each one
//!    to its worker as it comes, so at most a queue's worth of records is alive at a time.
//!
//! Parsing twice costs far less than it saves: a pass over 50 MB takes tens of milliseconds,
//! and nothing is allocated per line except the record being handed off. In production you
//! would stream the body from the network instead of holding it whole; the second pass would
//! then read it from a spill file, or the records would wait in a bounded buffer per station.
//!
//! Read next: [`crate::partition`].

use std::collections::HashMap;

use crate::aggregate::Enriched;
use crate::parse::{Reason, Record, Rejection, parse_lines};

/// What the first pass over one body found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey<'b> {
    /// Index of the source (in file order) the body came from.
    pub source: usize,
    /// The body itself, for the second pass.
    body: &'b str,
    /// Each station that at least one record names, once, in order of first appearance. These
    /// are the lookups the body needs (the cache decides which of them are already known).
    pub stations: Vec<&'b str>,
    /// How many lines parsed into records (known station or not): the report's `cache_hits`
    /// counts records, not stations.
    pub records: usize,
    /// The lines that did not parse, in line order.
    pub rejected: Vec<Rejection>,
}

// ANCHOR: survey
/// Pass 1 over the body of source number `source`: its distinct stations, its number of
/// records and its rejected lines. Nothing is kept per record.
pub fn survey(source: usize, body: &str) -> Survey<'_> {
    let mut survey = Survey {
        source,
        body,
        stations: Vec::new(),
        records: 0,
        rejected: Vec::new(),
    };
    // Index of each station in `stations`: a set that remembers the order of first appearance.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for line in parse_lines(source, body) {
        match line {
            Ok(line) => {
                survey.records += 1;
                let next = seen.len();
                seen.entry(line.station).or_insert_with(|| {
                    survey.stations.push(line.station);
                    next
                });
            }
            Err(rejection) => survey.rejected.push(rejection),
        }
    }
    survey
}
// ANCHOR_END: survey

impl<'b> Survey<'b> {
    /// Pass 2: the body's records, parsed again one line at a time, each with its region.
    /// `regions[i]` is the region of `self.stations[i]` (`None`: the registry does not know it,
    /// and its records come out as `unknown station` rejections). Lines that did not parse are
    /// skipped here: [`Survey::rejected`] already has them.
    ///
    /// # Panics
    ///
    /// If `regions` does not have one entry per station.
    pub fn enriched<'r>(
        &self,
        regions: &'r [Option<String>],
    ) -> impl Iterator<Item = Result<Enriched, Rejection>> + use<'b, 'r> {
        assert_eq!(
            regions.len(),
            self.stations.len(),
            "one region (or None) per surveyed station"
        );
        let region_of: HashMap<&'b str, Option<&'r str>> = self
            .stations
            .iter()
            .zip(regions)
            .map(|(station, region)| (*station, region.as_deref()))
            .collect();
        parse_lines(self.source, self.body)
            .filter_map(Result::ok)
            .map(
                move |line| match region_of.get(line.station).copied().flatten() {
                    Some(region) => Ok(Enriched {
                        record: Record {
                            source: line.source,
                            line: line.line,
                            station: line.station.to_string(),
                            tenths: line.tenths,
                        },
                        region: region.to_string(),
                    }),
                    None => Err(Rejection {
                        source: line.source,
                        line: line.line,
                        reason: Reason::UnknownStation,
                    }),
                },
            )
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
        let regions = [Some("north".to_string()), Some("west".to_string()), None];
        let enriched: Vec<_> = survey.enriched(&regions).collect();
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
                    let region = if station == "Oslo" { "north" } else { "west" };
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
        let _ = survey.enriched(&[]);
    }
}
