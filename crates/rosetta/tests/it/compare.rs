//! The comparison as `rosetta compare` prints it: the table fits the terminal without cutting a
//! figure, and the notes under it say what the check marks and the reference's ratio mean.

use rosetta::compare::{compare, render_notes, render_table};
use rosetta::network::Network;
use rosetta::styles::{self, Style};
use rosetta_pipeline::{Scenario, model};

/// The reference's code under another name: a style that always agrees, at any time scale,
/// without waiting at time scale 0.
static COPYCAT: Style = Style {
    name: "copycat",
    model: "the reference under another name",
    runtime: "none",
    run: rosetta_pipeline::reference::run,
    program: None,
};

fn classroom() -> Scenario {
    Scenario::builtin("classroom").unwrap()
}

#[test]
fn without_a_reference_row_the_notes_say_what_the_check_marks_compare_with() {
    let scenario = classroom();
    let comparison = compare(&scenario, &Network::sim(0.0), &[&COPYCAT]);
    assert!(comparison.all_agree());
    assert_eq!(comparison.rows.len(), 1);
    let notes = render_notes(&comparison, None);
    // No footnote about a row that is not there...
    assert!(!notes.contains("The reference is sequential"), "{notes}");
    // ...but the baseline is named, and how to time it.
    assert!(notes.contains("time scale 0"), "{notes}");
    assert!(notes.contains("--style reference"), "{notes}");
}

#[test]
fn the_reference_footnote_gives_its_expected_ratio_and_why() {
    let scenario = classroom();
    let comparison = compare(
        &scenario,
        &Network::sim(0.0),
        &[styles::reference(), &COPYCAT],
    );
    let notes = render_notes(&comparison, Some(80));
    assert!(
        notes.lines().all(|line| line.chars().count() <= 80),
        "{notes}"
    );
    let notes = notes.split_whitespace().collect::<Vec<_>>().join(" ");
    let ideal = model::ideal(&scenario);
    let expected = ideal.sequential_ms as f64 / ideal.total_ms as f64;
    // On classroom the ratio is about 3, not the concurrency 4: the note must say so.
    assert!(
        (expected - 4.0).abs() > 0.5,
        "classroom changed: {expected}"
    );
    assert!(notes.contains(&format!("{expected:.2}")), "{notes}");
    assert!(
        notes.contains(&format!(
            "{} ms / {} ms = {expected:.2}",
            ideal.sequential_ms, ideal.total_ms
        )),
        "{notes}"
    );
    assert!(notes.contains("below the concurrency (4)"), "{notes}");
}

#[test]
fn the_table_fits_80_columns_without_cutting_a_figure() {
    let scenario = classroom();
    let chosen: Vec<&'static Style> = styles::ALL.iter().take(1).chain([&COPYCAT]).collect();
    let comparison = compare(&scenario, &Network::sim(0.0), &chosen);
    let table = render_table(&comparison, Some(80));
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    // Every figure of every row is still there, and so is every style's runtime.
    for row in &comparison.rows {
        let summary = &row.outcome.summary;
        let line = table
            .lines()
            .find(|line| line.starts_with(&format!("✓ {} ", row.style.name)))
            .unwrap_or_else(|| panic!("no row for {}:\n{table}", row.style.name));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            words[words.len() - 2..],
            [
                summary.peak_attempts.to_string(),
                summary.threads.to_string()
            ],
            "{line}"
        );
        assert!(table.contains(row.style.runtime), "{table}");
    }
    // A wide terminal keeps one line per style.
    let wide = render_table(&comparison, Some(200));
    assert_eq!(wide.lines().count(), 1 + comparison.rows.len(), "{wide}");
    assert_eq!(render_table(&comparison, None), wide);
}
