//! `rosetta compare --live`: the classroom mode. Time runs slower, and each style's lanes are
//! drawn while it runs, one style after another, then the summary table.
//!
//! The drawing is a small redraw loop, not a terminal UI library: every 100 ms, move the cursor
//! back up over the previous frame (`ESC [ n A`), clear to the end of the screen (`ESC [ J`),
//! and print the new frame. The style runs on a thread of its own meanwhile, recording into a
//! [`Trace`] that the loop reads. Frames are sized to fit the terminal (80x24 at the least).

use std::io::Write;
use std::time::Duration;

use rosetta_pipeline::{RunError, RunOptions, Scenario, Trace, model};

use crate::compare::{self, Comparison};
use crate::styles::{Outcome, Style};
use crate::view::{self, TimelineOptions};

/// The terminal's size, from `$COLUMNS` and `$LINES` (as shells export them), at least 80x24.
pub fn terminal_size() -> (usize, usize) {
    let read = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    (read("COLUMNS", 80).max(80), read("LINES", 24).max(24))
}

/// How to draw.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Columns and rows of the terminal.
    pub size: (usize, usize),
    /// Use ANSI colours.
    pub colour: bool,
    /// Time between frames.
    pub frame: Duration,
}

/// Runs `styles` one after another, drawing each one's timeline to `out` as it runs.
pub fn compare_live(
    scenario: &Scenario,
    opts: &RunOptions,
    styles: &[&'static Style],
    options: LiveOptions,
    out: &mut impl Write,
) -> Comparison {
    let ideal = model::ideal(scenario);
    compare::compare_with(scenario, opts, styles, |style| {
        // A little room on the right, so that a style slower than its ideal still fits.
        let axis = opts
            .scaled(style.ideal_ms(&ideal))
            .mul_f64(1.15)
            .max(Duration::from_millis(1));
        run_drawing(style, scenario, opts, axis, options, out)
    })
}

fn run_drawing(
    style: &'static Style,
    scenario: &Scenario,
    opts: &RunOptions,
    axis: Duration,
    options: LiveOptions,
    out: &mut impl Write,
) -> Outcome {
    let (width, height) = options.size;
    // Rows: title, lanes, "+N more", axis, scale, legend, and a status line.
    let timeline = TimelineOptions {
        width,
        colour: options.colour,
        axis: Some(axis),
        max_sources: Some(height.saturating_sub(8).max(4)),
        details: false,
    };
    let trace = Trace::new();
    let mut drawn_lines = 0;
    let outcome = std::thread::scope(|scope| {
        let running = scope.spawn(|| style.run_into(scenario, opts, trace.clone()));
        loop {
            let done = running.is_finished();
            let spans = view::spans_until(
                scenario,
                &trace.events(),
                &trace.thread_names(),
                trace.elapsed(),
            );
            let mut frame = view::timeline(style.name, &spans, timeline);
            let threads = spans.threads.len();
            frame.push_str(&format!(
                "{} {}: {:.0} ms, {threads} thread{}\n",
                if done { "done" } else { "running" },
                style.name,
                trace.elapsed().as_secs_f64() * 1000.0,
                if threads == 1 { "" } else { "s" },
            ));
            if drawn_lines > 0 {
                let _ = write!(out, "\x1b[{drawn_lines}A\x1b[J");
            }
            let _ = write!(out, "{frame}");
            let _ = out.flush();
            drawn_lines = frame.lines().count();
            if done {
                break;
            }
            std::thread::sleep(options.frame);
        }
        running.join()
    });
    let _ = writeln!(out);
    // A style that panicked has no report, but its trace up to the panic is still worth seeing.
    outcome.unwrap_or_else(|payload| Outcome {
        report: Err(RunError::from_panic(style.name, "run", payload)),
        summary: trace.summary(),
        trace,
    })
}
