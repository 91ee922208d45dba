//! Drawing a trace: a terminal timeline, a Chrome trace file and an SVG, from the same spans.
//!
//! A style's trace is a list of events (an attempt started, a lookup finished, ...). Pairing
//! each start with its end gives *spans*, one bar each, on *lanes*: one lane per source (its
//! attempts), one per looked-up station, and one per thread (when it was doing something). The
//! thread lanes are the point of the exercise: the callbacks style draws one, tokio several.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use rosetta_pipeline::Scenario;
use rosetta_pipeline::run::AttemptOutcome;
use rosetta_pipeline::trace::{Event, EventKind};
use serde_json::json;
use unicode_width::UnicodeWidthStr;

use crate::svg::Svg;
use crate::table::{self, Align};

/// What a bar stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// A fetch attempt, numbered from 1, and how it ended (`None`: it never ended).
    Attempt(u32, Option<AttemptOutcome>),
    /// A registry lookup, and whether the station was known.
    Lookup(bool),
}

/// One bar: something that took time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The lane's label (a source or `lookup <station>`).
    pub lane: String,
    /// What it was.
    pub kind: SpanKind,
    /// When it started, since the trace began.
    pub start: Duration,
    /// When it ended.
    pub end: Duration,
    /// The thread that started it.
    pub thread: u64,
}

/// The spans of a trace, and the moments each thread recorded something.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    /// Attempts and lookups, ordered by lane (sources in file order, then lookups) and start.
    pub spans: Vec<Span>,
    /// For each thread (by number, with its name), the times it recorded events.
    pub threads: BTreeMap<u64, (String, Vec<Duration>)>,
    /// Record hand-offs per worker: when each group started, and how many records it holds.
    pub handoffs: BTreeMap<usize, Vec<(Duration, u32)>>,
    /// From the first to the last event.
    pub start: Duration,
    /// The last event's time.
    pub end: Duration,
}

/// Pairs starts with ends. A start without an end (a bug in a style) becomes a span that runs
/// to the end of the trace, so it shows rather than vanishes.
pub fn spans(scenario: &Scenario, events: &[Event], names: &BTreeMap<u64, String>) -> Spans {
    let end = events.last().map(|e| e.at).unwrap_or_default();
    spans_until(scenario, events, names, end)
}

/// Like [`spans`], for a run still going on: the trace ends at `now`, and attempts and lookups
/// that have not ended yet run until then (drawn as "in flight").
pub fn spans_until(
    scenario: &Scenario,
    events: &[Event],
    names: &BTreeMap<u64, String>,
    now: Duration,
) -> Spans {
    let mut out = Spans {
        start: events.first().map(|e| e.at).unwrap_or_default(),
        end: now,
        ..Spans::default()
    };
    let source_name = |index: usize| {
        scenario
            .sources
            .get(index)
            .map_or_else(|| format!("source {index}"), |s| s.name.clone())
    };
    let mut open_attempts: BTreeMap<(usize, u32), (Duration, u64)> = BTreeMap::new();
    let mut open_lookups: BTreeMap<String, (Duration, u64)> = BTreeMap::new();
    let mut attempts: Vec<(usize, Span)> = Vec::new();
    let mut lookups: Vec<Span> = Vec::new();
    for event in events {
        let name = names
            .get(&event.thread)
            .cloned()
            .unwrap_or_else(|| format!("thread {}", event.thread));
        out.threads
            .entry(event.thread)
            .or_insert_with(|| (name, Vec::new()))
            .1
            .push(event.at);
        match &event.kind {
            EventKind::AttemptStarted { source, attempt } => {
                open_attempts.insert((*source, *attempt), (event.at, event.thread));
            }
            EventKind::AttemptFinished {
                source,
                attempt,
                outcome,
            } => {
                if let Some((start, thread)) = open_attempts.remove(&(*source, *attempt)) {
                    let span = Span {
                        lane: source_name(*source),
                        kind: SpanKind::Attempt(*attempt, Some(*outcome)),
                        start,
                        end: event.at,
                        thread,
                    };
                    attempts.push((*source, span));
                }
            }
            EventKind::LookupStarted { station } => {
                open_lookups.insert(station.clone(), (event.at, event.thread));
            }
            EventKind::LookupFinished { station, known } => {
                if let Some((start, thread)) = open_lookups.remove(station) {
                    lookups.push(Span {
                        lane: format!("lookup {station}"),
                        kind: SpanKind::Lookup(*known),
                        start,
                        end: event.at,
                        thread,
                    });
                }
            }
            EventKind::HandedOff { worker, records } => out
                .handoffs
                .entry(*worker)
                .or_default()
                .push((event.at, *records)),
            // Socket phases are drawn once the tcp transport is wired into the views.
            EventKind::RunStarted | EventKind::RunFinished | EventKind::Socket { .. } => {}
        }
    }
    for ((source, attempt), (start, thread)) in open_attempts {
        let span = Span {
            lane: source_name(source),
            kind: SpanKind::Attempt(attempt, None),
            start,
            end: out.end,
            thread,
        };
        attempts.push((source, span));
    }
    attempts.sort_by_key(|(source, span)| (*source, span.start));
    lookups.sort_by_key(|span| span.start);
    out.spans = attempts
        .into_iter()
        .map(|(_, span)| span)
        .chain(lookups)
        .collect();
    out
}

/// The Chrome trace event format: opens in Perfetto (ui.perfetto.dev) and `chrome://tracing`.
///
/// Attempts and lookups are complete events (`"ph": "X"`, `ts` and `dur` in microseconds), on
/// the thread that started them; hand-offs are instant events (`"ph": "i"`); every thread gets
/// its name as metadata (`"ph": "M"`).
pub fn chrome_json(style: &str, spans: &Spans) -> serde_json::Value {
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let mut events = vec![json!({
        "name": "process_name", "ph": "M", "ts": 0, "pid": 1, "tid": 0,
        "args": { "name": format!("rosetta: {style}") },
    })];
    for (thread, (name, _)) in &spans.threads {
        events.push(json!({
            "name": "thread_name", "ph": "M", "ts": 0, "pid": 1, "tid": thread,
            "args": { "name": name },
        }));
    }
    for span in &spans.spans {
        let (name, category, args) = match span.kind {
            SpanKind::Attempt(attempt, outcome) => (
                format!("{} #{attempt}", span.lane),
                "fetch",
                json!({ "attempt": attempt, "outcome": outcome.map_or("unfinished", outcome_word) }),
            ),
            SpanKind::Lookup(known) => (span.lane.clone(), "lookup", json!({ "known": known })),
        };
        events.push(json!({
            "name": name, "cat": category, "ph": "X", "pid": 1, "tid": span.thread,
            "ts": micros(span.start), "dur": micros(span.end.saturating_sub(span.start)), "args": args,
        }));
    }
    for (worker, groups) in &spans.handoffs {
        for (at, records) in groups {
            events.push(json!({
                "name": format!("hand-off to worker {worker}"), "cat": "handoff", "ph": "i", "s": "p",
                "pid": 1, "tid": 0, "ts": micros(*at), "args": { "records": records },
            }));
        }
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

fn outcome_word(outcome: AttemptOutcome) -> &'static str {
    match outcome {
        AttemptOutcome::Answered => "answered",
        AttemptOutcome::Error => "error",
        AttemptOutcome::Timeout => "timeout",
    }
}

/// The character and colour of each kind of bar. The characters alone tell them apart, so the
/// timeline reads without colour (in a pipe, in a file, or with `NO_COLOR` set).
fn glyph(kind: SpanKind) -> (char, Style) {
    match kind {
        SpanKind::Attempt(_, Some(AttemptOutcome::Answered)) => {
            ('=', AnsiColor::Green.on_default())
        }
        SpanKind::Attempt(_, Some(AttemptOutcome::Error)) => ('x', AnsiColor::Red.on_default()),
        SpanKind::Attempt(_, Some(AttemptOutcome::Timeout)) => {
            ('~', AnsiColor::Yellow.on_default())
        }
        // Still in flight.
        SpanKind::Attempt(_, None) => ('>', AnsiColor::Magenta.on_default()),
        SpanKind::Lookup(true) => ('-', AnsiColor::Cyan.on_default()),
        SpanKind::Lookup(false) => ('.', AnsiColor::Cyan.on_default()),
    }
}

/// The widest timeline drawn, in columns. A wider request (a `--width` or a terminal size) is
/// drawn this wide: every row is allocated and padded by the width, so it must be bounded.
pub const MAX_WIDTH: usize = 1_000;

/// Options of the terminal timeline.
#[derive(Debug, Clone, Copy)]
pub struct TimelineOptions {
    /// Total width in columns (at most [`MAX_WIDTH`] are used).
    pub width: usize,
    /// Colour the bars. The caller decides, as the ecosystem does: `anstream` says whether the
    /// output takes colour (a terminal, no `NO_COLOR`); see `rosetta trace`.
    pub colour: bool,
    /// The time the width stands for; `None`: the trace's own length. The live view fixes it,
    /// so that bars grow from left to right as time passes.
    pub axis: Option<Duration>,
    /// Draw at most this many source lanes (the live view must fit 24 rows); `None`: all.
    pub max_sources: Option<usize>,
    /// Draw the lookup lanes and the thread lanes (the live view leaves them out).
    pub details: bool,
}

impl TimelineOptions {
    /// Every lane, fitted to `width` columns.
    pub fn full(width: usize, colour: bool) -> Self {
        TimelineOptions {
            width,
            colour,
            axis: None,
            max_sources: None,
            details: true,
        }
    }
}

/// The spans grouped by lane, in the order of [`Spans::spans`] (sources, then lookups), leaving
/// out the lookups unless `lookups` is true.
fn lanes(spans: &Spans, lookups: bool) -> Vec<(&str, Vec<&Span>)> {
    let mut lanes: Vec<(&str, Vec<&Span>)> = Vec::new();
    for span in &spans.spans {
        if !lookups && matches!(span.kind, SpanKind::Lookup(_)) {
            continue;
        }
        match lanes.last_mut() {
            Some((lane, list)) if *lane == span.lane => list.push(span),
            _ => lanes.push((&span.lane, vec![span])),
        }
    }
    lanes
}

/// The terminal timeline: one row per lane, time running left to right.
pub fn timeline(style: &str, spans: &Spans, options: TimelineOptions) -> String {
    let mut lanes = lanes(spans, options.details);
    let mut hidden = 0;
    if let Some(max) = options.max_sources {
        hidden = lanes.len().saturating_sub(max);
        lanes.truncate(max);
    }
    let label_width = lanes
        .iter()
        .map(|(lane, _)| lane.width())
        .chain(spans.threads.values().map(|(name, _)| name.width()))
        .max()
        .unwrap_or(8)
        .clamp(8, 28);
    let columns = options
        .width
        .min(MAX_WIDTH)
        .saturating_sub(label_width + 3)
        .max(10);
    let total = options
        .axis
        .unwrap_or_else(|| spans.end.saturating_sub(spans.start))
        .max(Duration::from_micros(1));
    let column_of = |at: Duration| {
        let fraction = at.saturating_sub(spans.start).as_secs_f64() / total.as_secs_f64();
        ((fraction * columns as f64) as usize).min(columns - 1)
    };
    // `{style}` writes the colour's escape code and `{style:#}` the reset after it (nothing at
    // all for the plain style of a retry mark).
    let paint = |c: char, style: Style| {
        if options.colour {
            format!("{style}{c}{style:#}")
        } else {
            c.to_string()
        }
    };
    // Padding is computed by hand rather than with `{:width$}`: a format width must fit a u16
    // and panics beyond it ("Formatting argument out of range"), and here widths come from the
    // input (lane names, `--width`). Widths are display columns (`table::pad`), so that a
    // source named "Bodø" or "東京" keeps its lane's marks in line with the others.
    let label = |text: &str| table::pad(table::cut(text, label_width), label_width, Align::Left);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "{style}: {:.1} ms, {}",
        spans.end.saturating_sub(spans.start).as_secs_f64() * 1000.0,
        threads_phrase(spans.threads.len())
    );
    for (lane, list) in &lanes {
        let mut row: Vec<Option<(char, Style)>> = vec![None; columns];
        for span in list {
            let (c, style) = glyph(span.kind);
            let (from, to) = (
                column_of(span.start),
                column_of(span.end).max(column_of(span.start)),
            );
            for cell in &mut row[from..=to] {
                *cell = Some((c, style));
            }
            // A retry starts where the previous attempt ended: mark the boundary.
            if matches!(span.kind, SpanKind::Attempt(n, _) if n > 1) {
                row[from] = Some(('|', Style::new()));
            }
        }
        let bar: String = row
            .into_iter()
            .map(|cell| cell.map_or(" ".to_string(), |(c, style)| paint(c, style)))
            .collect();
        let _ = writeln!(out, "{} │{bar}│", label(lane));
    }
    if hidden > 0 {
        let _ = writeln!(out, "{} │ (+{hidden} more sources)", label(""));
    }
    let _ = writeln!(out, "{} ├{}┤", label(""), "─".repeat(columns));
    if options.details {
        for (name, times) in spans.threads.values() {
            let mut row = vec![' '; columns];
            for at in times {
                row[column_of(*at)] = '•';
            }
            let row: String = row.into_iter().collect();
            let _ = writeln!(out, "{} │{row}│", label(name));
        }
    }
    let end_label = format!("{:.0} ms", total.as_secs_f64() * 1000.0);
    let gap = " ".repeat((columns + 1).saturating_sub(end_label.chars().count()));
    let _ = writeln!(out, "{} 0{gap}{end_label}", label(""));
    out.push_str("= ok  x error  ~ timeout  | retry  > in flight  - lookup  . unknown  • busy\n");
    out
}

/// The same timeline as a standalone SVG (no external fonts or scripts), for the book and slides.
pub fn svg(style: &str, spans: &Spans) -> String {
    let lanes = lanes(spans, true);
    let (label_w, plot_w, row_h, top) = (180.0, 640.0, 18.0, 40.0);
    let threads: Vec<&String> = spans.threads.values().map(|(name, _)| name).collect();
    let rows = lanes.len() + threads.len();
    let height = top + row_h * rows as f64 + 50.0;
    let width = label_w + plot_w + 20.0;
    let total = spans
        .end
        .saturating_sub(spans.start)
        .max(Duration::from_micros(1))
        .as_secs_f64();
    let x_of =
        |at: Duration| label_w + at.saturating_sub(spans.start).as_secs_f64() / total * plot_w;
    let colour = |kind: SpanKind| match kind {
        SpanKind::Attempt(_, Some(AttemptOutcome::Answered)) => "#2e7d32",
        SpanKind::Attempt(_, Some(AttemptOutcome::Error)) => "#c62828",
        SpanKind::Attempt(_, Some(AttemptOutcome::Timeout)) => "#f9a825",
        SpanKind::Attempt(_, None) => "#6a1b9a",
        SpanKind::Lookup(true) => "#0277bd",
        SpanKind::Lookup(false) => "#90a4ae",
    };
    let mut svg = Svg::new(width, height, "monospace", 11);
    svg.text(
        format_args!(r#"x="8" y="20" font-size="13""#),
        format_args!(
            "{style}: {:.1} ms, {}",
            total * 1000.0,
            threads_phrase(threads.len())
        ),
    );
    for (row, (lane, list)) in lanes.iter().enumerate() {
        let y = top + row_h * row as f64;
        svg.text(format_args!(r#"x="8" y="{:.1}""#, y + 12.0), lane);
        for span in list {
            let (x0, x1) = (x_of(span.start), x_of(span.end));
            svg.shape(
                "rect",
                format_args!(
                    r#"x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" stroke="white" stroke-width="0.5""#,
                    y + 2.0,
                    (x1 - x0).max(1.0),
                    row_h - 4.0,
                    colour(span.kind)
                ),
            );
        }
    }
    for (index, (name, times)) in spans.threads.values().enumerate() {
        let y = top + row_h * (lanes.len() + index) as f64;
        svg.text(
            format_args!(r##"x="8" y="{:.1}" fill="#555""##, y + 12.0),
            name,
        );
        for at in times {
            svg.shape(
                "rect",
                format_args!(
                    r##"x="{:.1}" y="{:.1}" width="1.5" height="{:.1}" fill="#555""##,
                    x_of(*at),
                    y + 4.0,
                    row_h - 8.0
                ),
            );
        }
    }
    let axis_y = top + row_h * rows as f64 + 14.0;
    svg.shape(
        "line",
        format_args!(
            r##"x1="{label_w}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#333""##,
            axis_y - 10.0,
            label_w + plot_w,
            axis_y - 10.0
        ),
    );
    svg.text(format_args!(r#"x="{label_w}" y="{axis_y:.1}""#), "0 ms");
    svg.text(
        format_args!(
            r#"x="{:.1}" y="{axis_y:.1}" text-anchor="end""#,
            label_w + plot_w
        ),
        format_args!("{:.0} ms", total * 1000.0),
    );
    svg.text(
        format_args!(r##"x="8" y="{:.1}" fill="#333""##, axis_y + 16.0),
        "green answered, red error, yellow timed out, blue lookup, grey unknown station; grey \
         ticks: thread active",
    );
    svg.finish()
}

/// "1 thread", "4 threads": the count in a timeline's title.
pub fn threads_phrase(count: usize) -> String {
    if count == 1 {
        "1 thread".to_string()
    } else {
        format!("{count} threads")
    }
}
