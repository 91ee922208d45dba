//! Step 2: parse a feed's body into records.
//!
//! A body is split on `\n`; one trailing `\r` is removed from each line (so
//! CRLF files work); empty lines are skipped but still count for line numbers,
//! which start at 1. A line is `<station>;<temperature>`, split at the first
//! `;`. The temperature must match `-?[0-9]{1,2}\.[0-9]` exactly and is kept as
//! integer [`Tenths`], never as a float: float sums depend on the order of
//! addition, and the order changes from run to run in a concurrent program.
//! Integers do not care. [`crate::tenths`] holds that format, both ways.
//!
//! This is pure, synchronous code, like `frame.rs` in mini-redis: every style
//! calls it the same way. Read next: [`crate::registry`].

use serde::{Deserialize, Serialize};

use crate::tenths::Tenths;

/// One parsed line of a feed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Index of the source (in file order) the record came from.
    pub source: usize,
    /// Line number in that source's body, from 1.
    pub line: u32,
    /// Station name, verbatim.
    pub station: String,
    /// Temperature in tenths of a degree (`-3.5` is `Tenths(-35)`).
    pub tenths: Tenths,
}

/// Why a line (or a record) was rejected. The text of each reason is part of
/// the specification.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
pub enum Reason {
    /// The line has no `;`.
    #[serde(rename = "missing ';'")]
    MissingSeparator,
    /// Nothing before the `;`.
    #[serde(rename = "empty station")]
    EmptyStation,
    /// The temperature is not `-?[0-9]{1,2}\.[0-9]`.
    #[serde(rename = "bad temperature")]
    BadTemperature,
    /// The station is not in the registry (found at the enrich step, not here).
    #[serde(rename = "unknown station")]
    UnknownStation,
}

impl Reason {
    /// The reason as the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MissingSeparator => "missing ';'",
            Reason::EmptyStation => "empty station",
            Reason::BadTemperature => "bad temperature",
            Reason::UnknownStation => "unknown station",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line (or record) that did not make it into the report's statistics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rejection {
    /// Index of the source the line came from.
    pub source: usize,
    /// Line number in the source's body, from 1.
    pub line: u32,
    /// Why it was rejected.
    pub reason: Reason,
}

/// A parsed body: the records, and the lines that could not be parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Records, in line order.
    pub records: Vec<Record>,
    /// Rejected lines, in line order.
    pub rejected: Vec<Rejection>,
}

/// Parses the body of source number `source` into records and rejected lines,
/// all at once.
///
/// Convenient for a short body; for a long one this holds a `Record` (and its
/// station's `String`) per line. The styles use [`parse_lines`] through
/// [`crate::enrich`] instead, which keeps nothing per line.
pub fn parse_body(source: usize, body: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for line in parse_lines(source, body) {
        match line {
            Ok(line) => parsed.records.push(line.to_record()),
            Err(rejection) => parsed.rejected.push(rejection),
        }
    }
    parsed
}

/// One parsed line that borrows its station from the body: a [`Record`] before
/// anything is allocated for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedLine<'b> {
    /// Index of the source (in file order) the line came from.
    pub source: usize,
    /// Line number in that source's body, from 1.
    pub line: u32,
    /// Station name, verbatim, borrowed from the body.
    pub station: &'b str,
    /// Temperature in tenths of a degree.
    pub tenths: Tenths,
}

impl ParsedLine<'_> {
    /// The record, owning its station name.
    pub fn to_record(&self) -> Record {
        Record {
            source: self.source,
            line: self.line,
            station: self.station.to_string(),
            tenths: self.tenths,
        }
    }
}

// ANCHOR: parse_lines
/// The non-empty lines of the body of source number `source`, parsed one at a
/// time as the iterator is advanced: a [`ParsedLine`] or the line's
/// [`Rejection`], in line order.
pub fn parse_lines(
    source: usize,
    body: &str,
) -> impl Iterator<Item = Result<ParsedLine<'_>, Rejection>> {
    let mut cursor = LineCursor::default();
    std::iter::from_fn(move || cursor.next(source, body))
}

/// Where [`parse_lines`] is in a body: a byte offset and a line number, and
/// nothing borrowed. An iterator that owns its body
/// (`rosetta_pipeline::enrich::Enrich`) keeps one beside the body, since it
/// cannot also hold a borrow of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineCursor {
    /// Byte offset of the next line's start; past the end once the last line is
    /// read.
    at: usize,
    /// Number of the next line, counted from 0.
    index: usize,
}

impl LineCursor {
    /// The next non-empty line of `body` (the same body at every call), parsed.
    pub fn next<'b>(
        &mut self,
        source: usize,
        body: &'b str,
    ) -> Option<Result<ParsedLine<'b>, Rejection>> {
        loop {
            let rest = body.get(self.at..)?;
            let (line, next) = match rest.find('\n') {
                Some(end) => (&rest[..end], self.at + end + 1),
                // The last line: after it, `at` is past the end and `get` above
                // ends the loop.
                None => (rest, body.len() + 1),
            };
            self.at = next;
            self.index += 1;
            // A scenario file is at most 64 MiB, so a body has far fewer than 4
            // billion lines.
            let line_no = u32::try_from(self.index).unwrap_or(u32::MAX);
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                // Skipped, but counted: line numbers stay those of the file.
                continue;
            }
            return Some(match parse_line(line) {
                Ok((station, tenths)) => Ok(ParsedLine {
                    source,
                    line: line_no,
                    station,
                    tenths,
                }),
                Err(reason) => Err(Rejection {
                    source,
                    line: line_no,
                    reason,
                }),
            });
        }
    }
}
// ANCHOR_END: parse_lines

// ANCHOR: parse_line
/// Parses one non-empty line into a station and a temperature in tenths.
pub fn parse_line(line: &str) -> Result<(&str, Tenths), Reason> {
    let (station, temperature) =
        line.split_once(';').ok_or(Reason::MissingSeparator)?;
    if station.is_empty() {
        return Err(Reason::EmptyStation);
    }
    let tenths = temperature
        .parse::<Tenths>()
        .map_err(|_| Reason::BadTemperature)?;
    Ok((station, tenths))
}
// ANCHOR_END: parse_line

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The cursor splits exactly as the specification reads: on `\n`, one
        /// trailing `\r` removed, empty lines skipped but counted.
        #[test]
        fn the_cursor_reads_lines_as_the_specification_splits_them(
            body in "[a;1.\\-\r\n]{0,40}"
        ) {
            let by_split: Vec<_> = body
                .split('\n')
                .enumerate()
                .map(|(index, line)| (index + 1, line.strip_suffix('\r').unwrap_or(line)))
                .filter(|(_, line)| !line.is_empty())
                .map(|(line_no, line)| (line_no as u32, parse_line(line)))
                .collect();
            let by_cursor: Vec<_> = parse_lines(0, &body)
                .map(|line| match line {
                    Ok(line) => (line.line, Ok((line.station, line.tenths))),
                    Err(rejection) => (rejection.line, Err(rejection.reason)),
                })
                .collect();
            prop_assert_eq!(by_cursor, by_split);
        }
    }

    #[test]
    fn lines_split_at_the_first_separator() {
        assert_eq!(parse_line("Oslo;3.5"), Ok(("Oslo", Tenths(35))));
        assert_eq!(parse_line("Oslo;3.5;x"), Err(Reason::BadTemperature));
        assert_eq!(parse_line("Oslo"), Err(Reason::MissingSeparator));
        assert_eq!(parse_line(";3.5"), Err(Reason::EmptyStation));
        // The station is verbatim: spaces are part of it.
        assert_eq!(parse_line(" Oslo ;3.5"), Ok((" Oslo ", Tenths(35))));
    }

    #[test]
    fn bodies_keep_line_numbers_across_empty_lines_and_crlf() {
        let parsed = parse_body(4, "Oslo;1.0\r\n\r\n\nBergen\nTromsø;-2.5\r\n");
        assert_eq!(
            parsed.records,
            vec![
                Record {
                    source: 4,
                    line: 1,
                    station: "Oslo".into(),
                    tenths: Tenths(10)
                },
                Record {
                    source: 4,
                    line: 5,
                    station: "Tromsø".into(),
                    tenths: Tenths(-25)
                },
            ]
        );
        assert_eq!(
            parsed.rejected,
            vec![Rejection {
                source: 4,
                line: 4,
                reason: Reason::MissingSeparator
            }]
        );
    }

    #[test]
    fn only_one_carriage_return_is_removed() {
        let parsed = parse_body(0, "Oslo;1.0\r\r\n");
        assert_eq!(parsed.rejected[0].reason, Reason::BadTemperature);
    }
}
