//! Running styles side by side: the comparison table, and the proof that they agree.
//!
//! Styles run one after another, not at the same time, so that each one's wall time is its own
//! and not a share of a busy machine. Each report is compared with the reference's as text
//! (byte for byte), and a style that differs is shown with a unified diff.

use std::fmt::Write as _;
use std::time::Duration;

use unicode_width::UnicodeWidthStr;

use rosetta_pipeline::model::{self, Ideal};
use rosetta_pipeline::{RunError, RunOptions, Scenario};

use crate::network::Network;

use crate::styles::{Outcome, Style};
use crate::table::{self, Column, left, right};

/// How one style's report relates to the reference's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Identical, byte for byte.
    Agrees,
    /// Different: a unified diff from the reference's report to this style's.
    Differs {
        /// The diff, ready to print.
        diff: String,
    },
    /// The style returned an error instead of a report.
    Failed {
        /// The error, as one line.
        error: String,
    },
    /// The style is a program in another language whose interpreter this machine lacks: not a
    /// disagreement, and the Rust styles still run. (The test suite does not accept this: it
    /// runs the programs itself and fails without their interpreters.)
    NotInstalled {
        /// What is missing and the command that installs it, as one line.
        why: String,
    },
}

/// One style's line in the comparison.
#[derive(Debug)]
pub struct Row {
    /// The style.
    pub style: &'static Style,
    /// What its run produced.
    pub outcome: Outcome,
    /// How its report relates to the reference's.
    pub verdict: Verdict,
}

/// Every style's run on one scenario.
#[derive(Debug)]
pub struct Comparison {
    /// The scenario's name.
    pub scenario: String,
    /// The model's ideal times for the scenario (unscaled).
    pub ideal: Ideal,
    /// The scenario's `concurrency`: fetch attempts in flight at most.
    pub concurrency: usize,
    /// The options every style ran with.
    pub opts: RunOptions,
    /// The reference report as text, if the reference produced one.
    pub reference_text: Option<String>,
    /// One row per style, in registry order.
    pub rows: Vec<Row>,
}

impl Comparison {
    /// True if every style that ran produced the reference's report (a style whose interpreter
    /// is not installed did not run, and is listed as such).
    pub fn all_agree(&self) -> bool {
        self.reference_text.is_some()
            && self
                .rows
                .iter()
                .all(|row| matches!(row.verdict, Verdict::Agrees | Verdict::NotInstalled { .. }))
    }

    /// The reference's row, if the reference was one of the styles asked for (otherwise it ran
    /// only as the baseline, at time scale 0, and has no row).
    pub fn reference_row(&self) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.style.name == crate::styles::reference().name)
    }

    /// The ideal wall time of the scenario at the options' time scale.
    pub fn ideal_wall(&self) -> Duration {
        self.opts.scaled(self.ideal.total_ms)
    }
}

pub use rosetta_conformance::diff;

/// Compares a style's report text with the reference's.
pub fn verdict(reference: Option<&str>, style: &Style, outcome: &Outcome) -> Verdict {
    match (&outcome.report, reference) {
        (Err(error @ RunError::NotInstalled { .. }), _) => Verdict::NotInstalled {
            why: error.to_string(),
        },
        (Err(error), _) => Verdict::Failed {
            error: error.to_string(),
        },
        (Ok(_), None) => Verdict::Failed {
            error: "the reference failed, nothing to compare with".into(),
        },
        (Ok(report), Some(expected)) => {
            let actual = report.to_string();
            if actual == expected {
                Verdict::Agrees
            } else {
                Verdict::Differs {
                    diff: diff(expected, &actual, style.name),
                }
            }
        }
    }
}

/// Runs `styles` on `scenario`, one after another, and compares each report with the reference.
///
/// The reference always runs first (it is the gold master), whether or not `styles` lists it.
/// Listed, it runs like the others and has its row; otherwise it runs only as the baseline, at
/// time scale 0, and [`render_notes`] says so under the table.
///
/// Each style runs with options of its own from `network` (on `tcp`, a run of its own on the
/// feed server).
pub fn compare(scenario: &Scenario, network: &Network, styles: &[&'static Style]) -> Comparison {
    let shown = RunOptions::with_time_scale(network.time_scale());
    compare_with(scenario, &shown, styles, |style| {
        style.run_traced(scenario, &network.options())
    })
}

/// [`compare`], with `run` running each style (the live view draws while it runs).
pub fn compare_with(
    scenario: &Scenario,
    opts: &RunOptions,
    styles: &[&'static Style],
    mut run: impl FnMut(&'static Style) -> Outcome,
) -> Comparison {
    let reference = crate::styles::reference();
    // The reference runs first: listed, in its row; otherwise unseen, only to compare against.
    let listed = styles.iter().any(|style| style.name == reference.name);
    // Unlisted, it runs at time scale 0: its report cannot depend on time (it decides each
    // attempt from the specification), so there is no need to wait for it.
    let mut reference_text =
        (!listed).then(|| rosetta_conformance::expected_report(scenario).to_string());
    let ordered = styles
        .iter()
        .filter(|style| style.name == reference.name)
        .chain(styles.iter().filter(|style| style.name != reference.name));
    let mut rows = Vec::new();
    for style in ordered {
        let outcome = run(style);
        if style.name == reference.name {
            reference_text = outcome.report.as_ref().ok().map(ToString::to_string);
        }
        let verdict = verdict(reference_text.as_deref(), style, &outcome);
        rows.push(Row {
            style,
            outcome,
            verdict,
        });
    }
    Comparison {
        scenario: scenario.name.clone(),
        ideal: model::ideal(scenario),
        concurrency: scenario.settings.concurrency,
        opts: *opts,
        reference_text,
        rows,
    }
}

/// Milliseconds with one decimal.
fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// The table's header: the style, its runtime, five figures and its model of concurrency.
const HEADER: [&str; 8] = [
    "style",
    "runtime",
    "wall ms",
    "ideal ms",
    "ratio",
    "in flight",
    "threads",
    "model",
];

/// The five figures' columns, wide enough for their headers.
const FIGURES: [Column; 5] = [right(9), right(9), right(6), right(9), right(7)];

/// The comparison table, one row per style, fitted to `width` columns if given.
///
/// A row is the style, its runtime, five figures and its model of concurrency. When that is
/// wider than `width` (an 80-column terminal), the runtime and the model move to a second,
/// indented line under the figures, so no figure is ever cut; only that second line is
/// shortened (with `…`) if it is still too wide.
pub fn render_table(comparison: &Comparison, width: Option<usize>) -> String {
    let ideal = comparison.ideal_wall();
    let rows: Vec<(&str, [String; 8])> = comparison
        .rows
        .iter()
        .map(|row| (mark(&row.verdict), cells(row, ideal)))
        .collect();
    // A name's column is as wide as its widest name or header, in display columns (as
    // `table::line` pads), so that a wide character cannot push the figures out of line.
    let widest = |index: usize| {
        rows.iter()
            .map(|(_, cells)| cells[index].width())
            .fold(HEADER[index].width(), usize::max)
    };
    let (style, runtime) = (left(widest(0)), left(widest(1)));
    // Every line starts with its check mark and a space; the header with two spaces.
    let columns: Vec<Column> = [style, runtime].into_iter().chain(FIGURES).collect();
    let mut wide = format!("  {}\n", table::line(&columns, &HEADER));
    for (mark, cells) in &rows {
        let _ = writeln!(wide, "{mark} {}", table::line(&columns, cells));
    }
    let Some(width) = width else {
        return wide;
    };
    if wide.lines().all(|line| line.width() <= width) {
        return wide;
    }
    let columns: Vec<Column> = [style].into_iter().chain(FIGURES).collect();
    let mut narrow = format!("  {}\n", table::line(&columns, &figures_only(&HEADER)));
    let _ = writeln!(narrow, "    runtime; model");
    for (mark, cells) in &rows {
        let _ = writeln!(
            narrow,
            "{mark} {}",
            table::line(&columns, &figures_only(cells))
        );
        let details = format!("    {}; {}", cells[1], cells[7]);
        let _ = writeln!(narrow, "{}", shorten(&details, width));
    }
    // Narrower than the figures themselves (not a real terminal): cut, as a last resort.
    narrow
        .lines()
        .map(|line| format!("{}\n", table::cut(line, width)))
        .collect()
}

/// A row's cells without the runtime and the model, for the narrow table.
fn figures_only<S: AsRef<str>>(cells: &[S; 8]) -> [&str; 6] {
    [0, 2, 3, 4, 5, 6].map(|index| cells[index].as_ref())
}

/// A row's mark: whether the style's report is the reference's.
fn mark(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Agrees => "✓",
        Verdict::Differs { .. } | Verdict::Failed { .. } => "✗",
        Verdict::NotInstalled { .. } => "-",
    }
}

/// A row's cells, in the order of [`HEADER`].
fn cells(row: &Row, ideal: Duration) -> [String; 8] {
    if let Verdict::NotInstalled { .. } = row.verdict {
        let blank = || "-".to_string();
        return [
            row.style.name.to_string(),
            row.style.runtime.to_string(),
            blank(),
            ms(ideal),
            blank(),
            blank(),
            blank(),
            "not installed (see below)".to_string(),
        ];
    }
    let summary = &row.outcome.summary;
    let ratio = if ideal.is_zero() {
        "-".to_string()
    } else {
        format!("{:.2}", summary.wall.as_secs_f64() / ideal.as_secs_f64())
    };
    [
        row.style.name.to_string(),
        row.style.runtime.to_string(),
        ms(summary.wall),
        ms(ideal),
        ratio,
        summary.peak_attempts.to_string(),
        summary.threads.to_string(),
        row.style.model.to_string(),
    ]
}

/// `text` cut to `width` display columns, ending in `…` if it was cut.
fn shorten(text: &str, width: usize) -> String {
    if text.width() <= width {
        text.to_string()
    } else {
        format!("{}…", table::cut(text, width.saturating_sub(1)))
    }
}

/// `text` wrapped at spaces into lines of at most `width` characters (a longer word stays
/// whole, on a line of its own).
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The notes under the table, wrapped to `width` columns (100 if not given): what the ideal
/// and the ratio are, and what the reference is.
///
/// With a reference row, why its ratio is what it is: the sequential time over the ideal,
/// computed for this scenario, compared with the concurrency. That ratio is *not* simply the
/// concurrency `P`: the ideal is the sequential time divided by `P` only if the sources' times
/// fill all `P` slots evenly until the very end and no lookup runs after the last answer; and
/// the model runs lookups beside the fetch slots, which the reference does one by one. Without a
/// reference row, what the check marks compared with: the reference, run at time scale 0.
pub fn render_notes(comparison: &Comparison, width: Option<usize>) -> String {
    let width = width.unwrap_or(100);
    let mut out = wrap(
        "ideal ms: the model's limit with zero overhead; ratio = wall / ideal.",
        width,
    );
    let paragraph = if comparison.reference_row().is_some() {
        reference_note(comparison)
    } else {
        "✓: the same report, byte for byte, as the reference's. The reference ran first, not \
         shown, to compare against: at time scale 0 (logical time: it decides each attempt from \
         the specification and waits for nothing). Add `--style reference` to time it in the \
         table too."
            .to_string()
    };
    out.push_str(&wrap(&paragraph, width));
    out
}

/// Why the reference's ratio is what it is, on this comparison's scenario.
fn reference_note(comparison: &Comparison) -> String {
    let (sequential, ideal) = (comparison.ideal.sequential_ms, comparison.ideal.total_ms);
    let slots = comparison.concurrency;
    if ideal == 0 {
        return "The reference is sequential; this scenario's ideal time is 0 ms, so there is \
                no ratio to expect."
            .to_string();
    }
    let ratio = sequential as f64 / ideal as f64;
    // The figures at the run's time scale, as in the table; at time scale 0 (where every time
    // is 0), the scenario's own milliseconds.
    let figures = if comparison.opts.time_scale > 0.0 {
        format!(
            "{} ms / {} ms = {ratio:.2}",
            ms(comparison.opts.scaled(sequential)),
            ms(comparison.opts.scaled(ideal))
        )
    } else {
        format!("{sequential} ms / {ideal} ms = {ratio:.2} (the scenario's milliseconds)")
    };
    let why = if ratio < slots as f64 - 0.05 {
        format!(
            "That is below the concurrency ({slots}): the ideal is more than the sequential \
             time / {slots}, because the {slots} slots do not all stay busy until the end (the \
             sources' latencies, retries and timeouts do not divide evenly among them, and \
             lookups may still run after the last answer)."
        )
    } else if ratio > slots as f64 + 0.05 {
        format!(
            "That is above the concurrency ({slots}): the ideal runs the lookups beside the \
             {slots} fetch slots, and the reference runs them one after another."
        )
    } else {
        format!(
            "That is about the concurrency ({slots}): the sources keep all {slots} slots busy \
             until the end."
        )
    };
    format!(
        "The reference is sequential: it waits for every attempt and every lookup in turn, so \
         its ratio is about the sequential time / ideal = {figures}. {why}"
    )
}

/// The verdicts that are not agreement, with their diffs or errors, ready to print.
pub fn render_disagreements(comparison: &Comparison) -> String {
    let mut out = String::new();
    for row in &comparison.rows {
        match &row.verdict {
            Verdict::Agrees => {}
            Verdict::Differs { diff } => {
                let _ = writeln!(
                    out,
                    "✗ {} produced a different report:\n{diff}",
                    row.style.name
                );
            }
            Verdict::Failed { error } => {
                let _ = writeln!(out, "✗ {} failed: {error}", row.style.name);
            }
            Verdict::NotInstalled { why } => {
                let _ = writeln!(out, "- {why}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_footnote_holds_on_any_scenario() {
        let note = |sequential_ms, total_ms, concurrency| {
            let comparison = Comparison {
                scenario: "made up".into(),
                ideal: Ideal {
                    fetch_ms: total_ms,
                    total_ms,
                    sequential_ms,
                },
                concurrency,
                opts: RunOptions::with_time_scale(0.5),
                reference_text: None,
                rows: Vec::new(),
            };
            reference_note(&comparison)
        };
        // Equal latencies that fill every slot: exactly the concurrency.
        let even = note(1000, 250, 4);
        assert!(even.contains("500.0 ms / 125.0 ms = 4.00"), "{even}");
        assert!(even.contains("about the concurrency (4)"), "{even}");
        // Many lookups, which the model runs side by side: more than the concurrency.
        let lookups = note(2000, 200, 4);
        assert!(lookups.contains("above the concurrency (4)"), "{lookups}");
        // A slow tail: less.
        assert!(note(300, 200, 4).contains("below the concurrency (4)"));
        assert!(note(0, 0, 4).contains("no ratio"));
    }
}
