//! `rosetta compare --live`: the classroom mode. Time runs slower, and each style's lanes are
//! drawn while it runs, one style after another, then the summary table.
//!
//! The drawing is a small redraw loop, not a terminal UI library: every 100 ms, move the cursor
//! back up over the previous frame (`ESC [ n A`), clear to the end of the screen (`ESC [ J`),
//! and print the new frame. The style runs on a thread of its own meanwhile, recording into a
//! [`Trace`] that the loop reads. Frames are sized to fit the terminal (80x24 at the least):
//! the first sources' lanes, one lane for every lookup, and the threads' busy marks (one lane
//! each, or one for all when there are many), under a header with the style's wall time, the
//! same figure as in the table that follows.

use std::io::Write;
use std::time::Duration;

use rosetta_pipeline::transport::Transport;
use rosetta_pipeline::{RunError, RunOptions, Scenario, Trace, model};

use crate::compare::{self, Comparison};
use crate::network::Network;
use crate::styles::{Outcome, Style};
use crate::view::{self, Span, SpanKind, Spans, TimelineOptions};

/// The terminal's size in columns and rows, at least 80x24 and at most 1000x1000.
///
/// Asked of the terminal itself (the `terminal_size` crate: an `ioctl` on Unix, the console API on
/// Windows), because shells keep `$COLUMNS` and `$LINES` as their own variables and do not export
/// them to the programs they start. The variables are the fallback, for a terminal that does not
/// answer (and for tests).
pub fn terminal_size() -> (usize, usize) {
    let (columns, rows) = match terminal_size::terminal_size() {
        Some((terminal_size::Width(columns), terminal_size::Height(rows))) => {
            (usize::from(columns), usize::from(rows))
        }
        None => {
            let read = |name: &str, default: usize| {
                std::env::var(name)
                    .ok()
                    .and_then(|value| value.parse().ok())
                    .unwrap_or(default)
            };
            (read("COLUMNS", 80), read("LINES", 24))
        }
    };
    (columns.clamp(80, 1000), rows.clamp(24, 1000))
}

/// How to draw.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Columns and rows of the terminal.
    pub size: (usize, usize),
    /// Colour the bars (see [`TimelineOptions::colour`]).
    pub colour: bool,
    /// Time between frames.
    pub frame: Duration,
}

/// Whether `compare --live` draws: only when standard output is a terminal (escape sequences
/// in a file or a pipe are noise). When `--live` was asked for and cannot draw, the second
/// value is the one line to print on standard error, so that the fallback is not silent.
pub fn decide(live_requested: bool, stdout_is_terminal: bool) -> (bool, Option<&'static str>) {
    match (live_requested, stdout_is_terminal) {
        (true, true) => (true, None),
        (true, false) => (
            false,
            Some(
                "rosetta: --live draws only on a terminal, and standard output is not one: \
                 printing the plain table (at time scale 1 unless --time-scale says otherwise)",
            ),
        ),
        (false, _) => (false, None),
    }
}

/// Runs `styles` one after another, drawing each one's timeline to `out` as it runs.
/// Each style runs with options of its own from `network`, as in [`compare::compare`].
pub fn compare_live(
    scenario: &Scenario,
    network: &Network,
    styles: &[&'static Style],
    options: LiveOptions,
    out: &mut impl Write,
) -> Comparison {
    let ideal = model::ideal(scenario);
    let shown = RunOptions::with_time_scale(network.time_scale());
    compare::compare_with(scenario, &shown, styles, |style| {
        // A little room on the right, so that a style slower than its ideal still fits.
        let axis = shown
            .scaled(style.ideal_ms(&ideal))
            .mul_f64(1.15)
            .max(Duration::from_millis(1));
        run_drawing(style, scenario, &network.options(), axis, options, out)
    })
}

/// At most this many thread lanes of busy marks; a style with more threads (the threads style
/// has dozens) gets one lane with every thread's marks.
const THREAD_LANES: usize = 4;

/// Rows of a frame besides the source lanes and the thread lanes: the header, the lookups lane,
/// "+N more sources", the axis, the time scale, the legend and the status line. On `tcp` the
/// legend has a second line, for the socket phases ([`frame`] counts it).
const OTHER_ROWS: usize = 7;

fn run_drawing(
    style: &'static Style,
    scenario: &Scenario,
    opts: &RunOptions,
    axis: Duration,
    options: LiveOptions,
    out: &mut impl Write,
) -> Outcome {
    let trace = Trace::new();
    // On tcp the timeline's legend gains a line once the first socket phase is recorded; its
    // row is kept from the first frame on, so that the lanes shown do not change mid-run.
    let tcp = matches!(opts.transport, Transport::Tcp(_));
    let mut drawn_lines = 0;
    // Each frame is drawn over the previous one of the same style.
    let mut draw = |frame: &str| {
        // Cursor movement, not colour, so written raw whatever the colour choice: an `anstream`
        // stream that strips colour would strip these too, and the frames would pile up. Only
        // a terminal gets here (see `decide`).
        if drawn_lines > 0 {
            let _ = write!(out, "\x1b[{drawn_lines}A\x1b[J");
        }
        let _ = write!(out, "{frame}");
        let _ = out.flush();
        drawn_lines = frame.lines().count();
    };
    let outcome = std::thread::scope(|scope| {
        let running = scope.spawn(|| style.run_into(scenario, opts, trace.clone()));
        while !running.is_finished() {
            let now = trace.elapsed();
            let spans = view::spans_until(scenario, &trace.events(), &trace.thread_names(), now);
            let so_far = now.saturating_sub(spans.start);
            let frame = frame(style.name, spans, so_far, "running", axis, tcp, options);
            draw(&frame);
            std::thread::sleep(options.frame);
        }
        running.join()
    });
    // A style that panicked has no report, but its trace up to the panic is still worth seeing.
    let outcome = outcome.unwrap_or_else(|payload| Outcome {
        report: Err(RunError::from_panic(style.name, "run", payload)),
        summary: trace.summary(),
        trace,
        child_peak_kib: None,
    });
    // The last frame is drawn from the finished trace, and headed with the wall time the table
    // shows for this run: one figure (`RunStarted` to `RunFinished`), from one place.
    let spans = view::spans(
        scenario,
        &outcome.trace.events(),
        &outcome.trace.thread_names(),
    );
    let frame = frame(
        style.name,
        spans,
        outcome.summary.wall,
        "done",
        axis,
        tcp,
        options,
    );
    draw(&frame);
    let _ = writeln!(out);
    outcome
}

/// One frame: a header with `wall`, the timeline fitted to the terminal, and a status line.
/// `tcp`: the run is on the tcp transport, whose legend takes one more row.
fn frame(
    style: &str,
    spans: Spans,
    wall: Duration,
    status: &str,
    axis: Duration,
    tcp: bool,
    options: LiveOptions,
) -> String {
    let (width, height) = options.size;
    let threads = spans.threads.len();
    let thread_lanes = threads.min(THREAD_LANES);
    let other_rows = OTHER_ROWS + usize::from(tcp);
    let sources = height.saturating_sub(other_rows + thread_lanes).max(1);
    let fitted = fit_lanes(spans, sources, THREAD_LANES);
    let timeline = view::timeline(
        style,
        &fitted,
        TimelineOptions {
            width,
            colour: options.colour,
            axis: Some(axis),
            // The lookups lane is placed right after the sources shown (see `fit_lanes`).
            max_sources: Some(sources + 1),
            details: true,
        },
    );
    let wall = format!(
        "{:.1} ms, {}",
        wall.as_secs_f64() * 1000.0,
        view::threads_phrase(threads)
    );
    // The timeline's own title measures from the first to the last event it was given; the
    // header says the figure the table will say.
    let lanes = timeline.split_once('\n').map_or("", |(_, rest)| rest);
    format!("{style}: {wall}\n{lanes}{status} {style}: {wall}\n")
}

/// The spans rearranged for a frame of a few rows: the first `sources` source lanes, then every
/// lookup on one lane (`lookups`), then the other sources (which the timeline counts as "+N more
/// sources"); and, if there are more than `thread_lanes` threads, one lane with all their busy
/// marks, labelled with their number.
pub fn fit_lanes(mut spans: Spans, sources: usize, thread_lanes: usize) -> Spans {
    let (lookups, mut attempts): (Vec<Span>, Vec<Span>) = std::mem::take(&mut spans.spans)
        .into_iter()
        .partition(|span| matches!(span.kind, SpanKind::Lookup(_)));
    // Attempts come grouped by source: the first `sources` groups are the lanes shown.
    let shown: usize = attempts
        .chunk_by(|a, b| a.lane == b.lane)
        .take(sources)
        .map(<[Span]>::len)
        .sum();
    let rest = attempts.split_off(shown);
    spans.spans = attempts
        .into_iter()
        .chain(lookups.into_iter().map(|span| Span {
            lane: "lookups".to_string(),
            ..span
        }))
        .chain(rest)
        .collect();
    if spans.threads.len() > thread_lanes {
        let count = spans.threads.len();
        let mut times: Vec<Duration> = std::mem::take(&mut spans.threads)
            .into_values()
            .flat_map(|(_, times)| times)
            .collect();
        times.sort();
        spans.threads.insert(0, (format!("{count} threads"), times));
    }
    spans
}
