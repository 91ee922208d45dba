//! Step 5: the report, as text for people and as JSON for tools.
//!
//! A report never depends on timing or on the order in which things finished:
//! every list is sorted by a stated key, temperatures are integer tenths, and
//! times live in the trace, not here. That is what makes "every style produces
//! the identical report" a testable claim.
//!
//! Every style ends by calling [`Report::assemble`] with what it collected;
//! none renders a report itself. Read next: [`crate::trace`].

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};
use unicode_width::UnicodeWidthStr;

use crate::aggregate::{self, WorkerTally};
use crate::outcome::{FailReason, FetchSummary};
use crate::parse::{Reason, Rejection};
use crate::scenario::Scenario;
use crate::tenths::Tenths;

/// The final report of a run. Its JSON form has exactly these keys, in this
/// order.
///
/// It also reads back from JSON, strictly (a missing, unknown or mistyped key
/// is an error): that is how the JavaScript and Python styles, whose reports
/// arrive as JSON from another process, are compared with the reference like
/// every other style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Sources that answered.
    pub sources_ok: usize,
    /// Sources that did not, in file order.
    pub sources_failed: Vec<FailedSource>,
    /// All fetch attempts, retries included.
    pub attempts: u64,
    /// Records that reached a worker.
    pub accepted: u64,
    /// Lines and records that did not, by source (file order), then line.
    pub rejected: Vec<RejectedLine>,
    /// Registry lookups made (each distinct station once, if the cache is
    /// single-flight).
    pub lookups: u64,
    /// Parsed records whose region came from the cache: parsed records minus
    /// lookups.
    pub cache_hits: u64,
    /// Accepted records per worker, by worker index.
    pub partitions: Vec<u64>,
    /// Per-station statistics, sorted by station name, bytewise.
    pub stations: Vec<StationRow>,
}

/// A source that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedSource {
    /// The source's name.
    pub source: String,
    /// The outcome of its last attempt.
    pub reason: FailReason,
    /// Attempts made.
    pub attempts: u32,
}

/// A rejected line or record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectedLine {
    /// The source's name.
    pub source: String,
    /// Line number in the source's body, from 1.
    pub line: u32,
    /// Why it was rejected.
    pub reason: Reason,
}

/// One station's statistics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationRow {
    /// The station's name.
    pub station: String,
    /// Its region, from the registry.
    pub region: String,
    /// Number of accepted records.
    pub count: u64,
    /// Lowest temperature.
    pub min: Tenths,
    /// Mean temperature, rounded to a tenth, ties away from zero.
    pub mean: Tenths,
    /// Highest temperature.
    pub max: Tenths,
}

impl Report {
    /// Builds the report from what a style collected, in any order.
    ///
    /// - `fetches`: one summary per source, in file order;
    /// - `rejected`: every rejected line and record, in any order;
    /// - `lookups`: registry lookups made;
    /// - `tallies`: one per worker, by worker index.
    pub fn assemble(
        scenario: &Scenario,
        fetches: &[FetchSummary],
        mut rejected: Vec<Rejection>,
        lookups: u64,
        tallies: &[WorkerTally],
    ) -> Report {
        assert_eq!(
            fetches.len(),
            scenario.sources.len(),
            "one fetch summary per source"
        );
        assert_eq!(
            tallies.len(),
            scenario.settings.workers,
            "one tally per worker"
        );
        rejected.sort();
        let source_name = |index: usize| scenario.sources[index].name.clone();

        let sources_failed: Vec<FailedSource> = fetches
            .iter()
            .enumerate()
            .filter_map(|(index, fetch)| {
                fetch.failure.map(|reason| FailedSource {
                    source: source_name(index),
                    reason,
                    attempts: fetch.attempts,
                })
            })
            .collect();
        let accepted: u64 = tallies.iter().map(|tally| tally.records).sum();
        let unknown = rejected
            .iter()
            .filter(|rejection| rejection.reason == Reason::UnknownStation)
            .count() as u64;
        let parsed = accepted + unknown;
        let stations = aggregate::merge(tallies)
            .into_iter()
            .map(|(station, stats)| StationRow {
                mean: Tenths(stats.mean()),
                min: Tenths(stats.min),
                max: Tenths(stats.max),
                count: stats.count,
                region: stats.region,
                station,
            })
            .collect();

        Report {
            scenario: scenario.name.clone(),
            sources_ok: fetches.len() - sources_failed.len(),
            sources_failed,
            attempts: fetches
                .iter()
                .map(|fetch| u64::from(fetch.attempts))
                .sum(),
            accepted,
            rejected: rejected
                .into_iter()
                .map(|rejection| RejectedLine {
                    source: source_name(rejection.source),
                    line: rejection.line,
                    reason: rejection.reason,
                })
                .collect(),
            lookups,
            // A cache that is not single-flight looks up more often, never
            // less; saturate so that such a bug shows as a wrong `lookups`
            // figure rather than a panic.
            cache_hits: parsed.saturating_sub(lookups),
            partitions: tallies.iter().map(|tally| tally.records).collect(),
            stations,
        }
    }

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }
}

impl fmt::Display for Report {
    /// The text form: what `rosetta run` prints and what the snapshots hold.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scenario    {}", self.scenario)?;
        writeln!(
            f,
            "sources     {} ok, {} failed",
            self.sources_ok,
            self.sources_failed.len()
        )?;
        for failed in &self.sources_failed {
            let plural = if failed.attempts == 1 { "" } else { "s" };
            writeln!(
                f,
                "  failed    {}: {} after {} attempt{plural}",
                failed.source,
                failed.reason.as_str(),
                failed.attempts
            )?;
        }
        writeln!(f, "attempts    {}", self.attempts)?;
        writeln!(
            f,
            "records     {} accepted, {} rejected",
            self.accepted,
            self.rejected.len()
        )?;
        for rejected in &self.rejected {
            writeln!(
                f,
                "  rejected  {} line {}: {}",
                rejected.source, rejected.line, rejected.reason
            )?;
        }
        writeln!(
            f,
            "lookups     {} ({} cache hits)",
            self.lookups, self.cache_hits
        )?;
        let partitions: Vec<String> =
            self.partitions.iter().map(u64::to_string).collect();
        writeln!(f, "partitions  {}", partitions.join(" "))?;
        writeln!(f)?;

        // The name columns are as wide as their longest entry, up to
        // NAME_COLUMN_CAP: a longer name is printed whole and pushes its own
        // row's figures right, rather than widening every row. Widths are
        // display columns (`UnicodeWidthStr::width`, see `write_padded`).
        // Padding is written by hand, never with `{:width$}`, whose width comes
        // from the input here and must fit a u16 (a 65,536-character name would
        // panic).
        let column = |names: &mut dyn Iterator<Item = &String>,
                      header: &str| {
            names
                .map(|name| name.width())
                .chain([header.width()])
                .max()
                .unwrap_or(0)
                .min(NAME_COLUMN_CAP)
        };
        let station_width = column(
            &mut self.stations.iter().map(|row| &row.station),
            "station",
        );
        let region_width =
            column(&mut self.stations.iter().map(|row| &row.region), "region");
        let mut row =
            |station: &str, region: &str, figures: [&dyn fmt::Display; 4]| {
                write_padded(f, station, station_width)?;
                f.write_str("  ")?;
                write_padded(f, region, region_width)?;
                let [count, min, mean, max] = figures;
                writeln!(f, "  {count:>5}  {min:>5}  {mean:>5}  {max:>5}")
            };
        row("station", "region", [&"count", &"min", &"mean", &"max"])?;
        for station in &self.stations {
            row(
                &station.station,
                &station.region,
                [&station.count, &station.min, &station.mean, &station.max],
            )?;
        }
        Ok(())
    }
}

/// The widest a name column of the text report grows; longer names overflow
/// their row.
const NAME_COLUMN_CAP: usize = 40;

/// Writes `text`, then spaces up to `width` display columns (none if it is
/// already wider).
///
/// Columns, not bytes or `char`s: "Bodø" is five bytes in four columns,
/// "Tromsø" spelt with a combining stroke (`o` + U+0338) is seven `char`s in
/// six columns, and "東京" is two `char`s in four columns. Only the display width
/// keeps the figures aligned.
fn write_padded(
    f: &mut fmt::Formatter<'_>,
    text: &str,
    width: usize,
) -> fmt::Result {
    f.write_str(text)?;
    for _ in text.width()..width {
        f.write_char(' ')?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with_stations(names: &[String]) -> Report {
        Report {
            scenario: "s".into(),
            sources_ok: 0,
            sources_failed: Vec::new(),
            attempts: 0,
            accepted: 0,
            rejected: Vec::new(),
            lookups: 0,
            cache_hits: 0,
            partitions: vec![0],
            stations: names
                .iter()
                .map(|name| StationRow {
                    station: name.clone(),
                    region: name.clone(),
                    count: 1,
                    min: Tenths(1),
                    mean: Tenths(1),
                    max: Tenths(1),
                })
                .collect(),
        }
    }

    #[test]
    fn non_ascii_station_names_keep_the_figures_aligned() {
        // "Bodø" (five bytes), "Tromsø" spelt with a combining stroke (seven
        // `char`s, six columns) and "東京" (two `char`s, four columns): every
        // figure column must start at the same display column as in the header.
        // Before display widths, the last two rows were one and two columns
        // off.
        let names = [
            "Bodø".to_string(),
            "Tromso\u{338}".to_string(),
            "東京".to_string(),
        ];
        let text = report_with_stations(&names).to_string();
        let header = text
            .lines()
            .find(|line| line.starts_with("station"))
            .unwrap();
        for name in &names {
            let row = text
                .lines()
                .find(|line| line.starts_with(name.as_str()))
                .unwrap();
            // The figures are fixed-width and right-aligned, so equal display
            // widths mean the name columns were padded to the same column.
            assert_eq!(row.width(), header.width(), "{header}\n{row}");
        }
    }

    #[test]
    fn a_huge_station_name_does_not_break_the_table() {
        // 65,536 characters: more than a format width can hold (`{:w$}` takes a
        // u16 width).
        let huge = "S".repeat(65_536);
        let text =
            report_with_stations(&[huge.clone(), "Oslo".into()]).to_string();
        let row = text.lines().find(|line| line.starts_with('S')).unwrap();
        assert!(
            row.starts_with(&format!("{huge}  {huge}  ")),
            "the name is printed whole"
        );
        // Short names are still aligned with the header.
        let header = text
            .lines()
            .find(|line| line.starts_with("station"))
            .unwrap();
        let oslo = text.lines().find(|line| line.starts_with("Oslo")).unwrap();
        assert_eq!(
            header.chars().count(),
            oslo.chars().count(),
            "{header}\n{oslo}"
        );
    }
}
