//! Running styles side by side: the comparison table, and the proof that they agree.
//!
//! Styles run one after another, not at the same time, so that each one's wall time is its own
//! and not a share of a busy machine. Each report is compared with the reference's as text
//! (byte for byte), and a style that differs is shown with a unified diff.

use std::fmt::Write as _;
use std::time::Duration;

use rosetta_pipeline::model::{self, Ideal};
use rosetta_pipeline::{RunOptions, Scenario};

use crate::styles::{Outcome, Style};

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
    /// The options every style ran with.
    pub opts: RunOptions,
    /// The reference report as text, if the reference produced one.
    pub reference_text: Option<String>,
    /// One row per style, in registry order.
    pub rows: Vec<Row>,
}

impl Comparison {
    /// True if every style produced the reference's report.
    pub fn all_agree(&self) -> bool {
        self.reference_text.is_some() && self.rows.iter().all(|row| row.verdict == Verdict::Agrees)
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
/// The reference always runs first (it is the gold master), whether or not `styles` lists it;
/// it is shown as a row only if `styles` lists it.
pub fn compare(scenario: &Scenario, opts: &RunOptions, styles: &[&'static Style]) -> Comparison {
    compare_with(scenario, opts, styles, |style| {
        style.run_traced(scenario, opts)
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
        opts: *opts,
        reference_text,
        rows,
    }
}

/// Milliseconds with one decimal.
fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// The comparison table, one row per style; with a `width`, lines are cut to it (the model
/// column, last, is the one that gives way).
pub fn render_table(comparison: &Comparison, width: Option<usize>) -> String {
    let ideal = comparison.ideal_wall();
    let style_width = comparison
        .rows
        .iter()
        .map(|row| row.style.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let runtime_width = comparison
        .rows
        .iter()
        .map(|row| row.style.runtime.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:style_width$}  {:runtime_width$}  {:>9}  {:>9}  {:>6}  {:>9}  {:>7}  model",
        "style", "runtime", "wall ms", "ideal ms", "ratio", "in flight", "threads",
    );
    for row in &comparison.rows {
        let mark = match row.verdict {
            Verdict::Agrees => "✓",
            Verdict::Differs { .. } | Verdict::Failed { .. } => "✗",
        };
        let summary = &row.outcome.summary;
        let ratio = if ideal.is_zero() {
            "-".to_string()
        } else {
            format!("{:.2}", summary.wall.as_secs_f64() / ideal.as_secs_f64())
        };
        let _ = writeln!(
            out,
            "{mark} {:style_width$}  {:runtime_width$}  {:>9}  {:>9}  {:>6}  {:>9}  {:>7}  {}",
            row.style.name,
            row.style.runtime,
            ms(summary.wall),
            ms(ideal),
            ratio,
            summary.peak_attempts,
            summary.threads,
            row.style.model,
        );
    }
    match width {
        Some(width) => out
            .lines()
            .map(|line| line.chars().take(width).collect::<String>() + "\n")
            .collect(),
        None => out,
    }
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
        }
    }
    out
}
