//! The classroom mode: frames are drawn while styles run, fit an 80x24 terminal, and the
//! comparison at the end is the same as without drawing.

use std::time::Duration;

use rosetta::live::{self, LiveOptions, decide, fit_lanes};
use rosetta::network::Network;
use rosetta::styles;
use rosetta::view::{Span, SpanKind, Spans};
use rosetta_pipeline::Scenario;
use rosetta_pipeline::run::AttemptOutcome;

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

/// The rows of each frame drawn in `text`. Frames are separated by the clear that redraws
/// them (`ESC [ J`, after the cursor movement `ESC [ n A` that ends the frame before), and one
/// style's last frame from the next style's first by the blank line between them (a frame has
/// no blank line).
fn frame_rows(text: &str) -> Vec<usize> {
    text.split("\x1b[J")
        .map(|chunk| {
            // The cursor movement belongs to the redraw, not to the frame before it.
            chunk
                .rfind("\x1b[")
                .filter(|at| chunk[*at..].ends_with('A'))
                .map_or(chunk, |at| &chunk[..at])
        })
        .flat_map(|chunk| chunk.split("\n\n"))
        .map(|frame| frame.lines().count())
        .collect()
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
    let comparison = live::compare_live(&scenario, &Network::sim(0.25), &chosen, options, &mut out);
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
    // Each style ends with its final frame, which says so, with the wall time the table shows
    // for the same run: one figure, from the trace's `RunStarted` to its `RunFinished`.
    for row in &comparison.rows {
        let wall = format!("{:.1} ms", row.outcome.summary.wall.as_secs_f64() * 1000.0);
        let name = row.style.name;
        assert!(
            plain.contains(&format!("\n{name}: {wall}, ")),
            "no header `{name}: {wall}` in the last frame:\n{plain}"
        );
        assert!(
            plain.contains(&format!("done {name}: {wall}")),
            "no `done {name}: {wall}`:\n{plain}"
        );
        let table = rosetta::compare::render_table(&comparison, None);
        assert!(table.contains(&wall[..wall.len() - 3]), "{table}");
    }
    // What the legend lists is drawn: the lookups (one lane; in the last frame, where every
    // lookup has ended) and the threads' busy marks.
    let lookups = plain
        .lines()
        .rfind(|line| line.starts_with("lookups "))
        .unwrap_or_else(|| panic!("no lookups lane:\n{plain}"));
    assert!(lookups.contains('-'), "{lookups}");
    assert!(plain.contains('•'), "no busy marks:\n{plain}");
    assert!(plain.contains("• busy"), "{plain}");
    // The table printed after the frames fits the same 80 columns, every figure whole.
    let table = rosetta::compare::render_table(&comparison, Some(80));
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "table wider than 80: {line:?}");
    }
    for row in &comparison.rows {
        let threads = row.outcome.summary.threads.to_string();
        assert!(
            table
                .lines()
                .any(|line| line.starts_with(&format!("✓ {} ", row.style.name))
                    && line.ends_with(&format!(" {threads}"))),
            "{table}"
        );
    }
    // A frame (from a title line to its status line) fits 24 rows.
    let frame_lengths = frame_rows(&text);
    assert!(
        frame_lengths.iter().all(|rows| *rows <= 24),
        "{frame_lengths:?}"
    );
}

#[test]
fn without_a_terminal_live_mode_says_it_falls_back() {
    assert_eq!(decide(true, true), (true, None));
    assert_eq!(decide(false, true), (false, None));
    assert_eq!(decide(false, false), (false, None));
    let (draw, notice) = decide(true, false);
    assert!(!draw);
    let notice = notice.expect("the fallback is said");
    assert!(
        notice.starts_with("rosetta: --live") && !notice.contains('\n'),
        "{notice}"
    );
}

fn span(lane: &str, kind: SpanKind, start_ms: u64) -> Span {
    Span {
        lane: lane.to_string(),
        kind,
        start: Duration::from_millis(start_ms),
        end: Duration::from_millis(start_ms + 5),
        thread: 1,
        phases: Vec::new(),
    }
}

#[test]
fn lookups_share_one_lane_after_the_sources_shown() {
    let answered = SpanKind::Attempt(1, Some(AttemptOutcome::Answered));
    let mut spans = Spans {
        spans: vec![
            span("a", answered, 0),
            span("a", SpanKind::Attempt(2, None), 6),
            span("b", answered, 0),
            span("c", answered, 0),
            span("lookup Oslo", SpanKind::Lookup(Some(true)), 10),
            span("lookup Atlantis", SpanKind::Lookup(Some(false)), 12),
        ],
        ..Spans::default()
    };
    for thread in 1..=6 {
        spans.threads.insert(
            thread,
            (format!("t{thread}"), vec![Duration::from_millis(thread)]),
        );
    }
    let fitted = fit_lanes(spans, 2, 4);
    let lanes: Vec<&str> = fitted.spans.iter().map(|span| span.lane.as_str()).collect();
    assert_eq!(lanes, ["a", "a", "b", "lookups", "lookups", "c"]);
    // Six threads do not fit four lanes: one lane has every thread's marks.
    assert_eq!(fitted.threads.len(), 1);
    let (label, times) = &fitted.threads[&0];
    assert_eq!((label.as_str(), times.len()), ("6 threads", 6));
}

#[test]
fn live_frames_on_tcp_keep_a_row_for_the_phase_legend() {
    // On tcp the legend has a second line, for the socket phases. With more sources than fit,
    // a frame is full to its last row; without a row kept for that line, it was one too many.
    let scenario = Scenario::generate(20, 4);
    let network = Network::local(&scenario, 0.4).expect("a feed server starts");
    // The reference: one thread on any machine, so one thread lane, and the frame is full.
    let chosen = [styles::find("reference").unwrap()];
    let options = LiveOptions {
        size: (80, 24),
        colour: false,
        frame: Duration::from_millis(20),
    };
    let mut out = Vec::new();
    let comparison = live::compare_live(&scenario, &network, &chosen, options, &mut out);
    assert!(
        comparison.all_agree(),
        "{}",
        rosetta::compare::render_disagreements(&comparison)
    );
    let text = String::from_utf8(out).unwrap();
    let plain = without_escapes(&text);
    assert!(
        plain.contains("more sources"),
        "the frame is full:\n{plain}"
    );
    assert!(
        plain.contains("# reading the answer"),
        "the last frame explains the phases:\n{plain}"
    );
    for line in plain.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line:?}");
    }
    let frame_lengths = frame_rows(&text);
    assert!(
        frame_lengths.iter().all(|rows| *rows <= 24),
        "{frame_lengths:?}"
    );
    assert!(
        frame_lengths.contains(&24),
        "full frames: {frame_lengths:?}"
    );
}
