//! The classroom mode: frames are drawn while styles run, fit an 80x24 terminal, and the
//! comparison at the end is the same as without drawing.

use std::time::Duration;

use rosetta::live::{self, LiveOptions};
use rosetta::styles;
use rosetta_pipeline::{RunOptions, Scenario};

/// Removes the cursor movements and clears (`ESC [ n A`, `ESC [ J`) that redraw a frame.
fn without_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // Skip `[`, the parameters, and the final letter.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn live_frames_fit_the_terminal_and_the_styles_still_agree() {
    let scenario = Scenario::builtin("classroom").unwrap();
    let chosen = [
        styles::find("callbacks").unwrap(),
        styles::find("smol").unwrap(),
    ];
    let options = LiveOptions {
        size: (80, 24),
        colour: false,
        frame: Duration::from_millis(20),
    };
    let mut out = Vec::new();
    let comparison = live::compare_live(
        &scenario,
        &RunOptions::with_time_scale(0.25),
        &chosen,
        options,
        &mut out,
    );
    assert!(
        comparison.all_agree(),
        "{}",
        rosetta::compare::render_disagreements(&comparison)
    );

    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("\x1b[") && text.contains("A\x1b[J"),
        "frames are redrawn in place"
    );
    let plain = without_escapes(&text);
    for line in plain.lines() {
        assert!(
            line.chars().count() <= 80,
            "wider than 80 columns: {line:?}"
        );
    }
    // Each style ends with its final frame, which says so.
    assert!(
        plain.contains("done callbacks: ") && plain.contains("done smol: "),
        "{plain}"
    );
    // A frame (from a title line to its status line) fits 24 rows.
    let frame_lengths = text.split("\x1b[J").map(|frame| frame.lines().count());
    assert!(
        frame_lengths.clone().all(|rows| rows <= 24),
        "{:?}",
        frame_lengths.collect::<Vec<_>>()
    );
}
