//! Drawing a trace: a terminal timeline, a Chrome trace file and an SVG, from the same spans.
//!
//! A style's trace is a list of events (an attempt started, a lookup finished, ...). Pairing
//! each start with its end gives *spans*, one bar each, on *lanes*: one lane per source (its
//! attempts), one per looked-up station, and one per thread (when it was doing something). The
//! thread lanes are the point of the exercise: the callbacks style draws one, tokio several.
//!
//! On the `tcp` transport an attempt's bar also shows how far its exchange had come: its socket
//! connecting, then waiting for the answer (the request is written the moment it connects),
//! then reading the answer from its first byte on. The trace records the instants (the
//! `Socket` events, [`SocketPhase`]); [`Span::phases`] keeps them, and each view draws them its
//! own way: characters in the timeline, instant events in the Chrome trace, shading and ticks
//! in the SVG. On `sim` there are no sockets, no phases, and the views are drawn as before.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use rosetta_pipeline::Scenario;
use rosetta_pipeline::run::AttemptOutcome;
use rosetta_pipeline::trace::{Event, EventKind, SocketPhase};
use serde_json::json;
use unicode_width::UnicodeWidthStr;

use crate::svg::Svg;
use crate::table::{self, Align};

/// What a bar stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    /// A fetch attempt, numbered from 1, and how it ended (`None`: it never ended).
    Attempt(u32, Option<AttemptOutcome>),
    /// A registry lookup, and whether the station was known (`None`: it never ended).
    Lookup(Option<bool>),
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
    /// For an attempt on the `tcp` transport, when its socket reached each phase, in the order
    /// reached (an attempt that timed out has only the phases it reached). Empty on `sim`, and
    /// for lookups.
    pub phases: Vec<(Duration, SocketPhase)>,
}

impl Span {
    /// When the attempt's socket reached `phase`, if it did.
    pub fn phase(&self, phase: SocketPhase) -> Option<Duration> {
        self.phases
            .iter()
            .find(|(_, reached)| *reached == phase)
            .map(|(at, _)| *at)
    }
}

/// The three parts a `tcp` attempt's bar is drawn in, between its phases. `RequestSent` starts
/// no part of its own: the request is a few hundred bytes written as soon as the connection
/// is up, microseconds after `Connected` on loopback, and what follows it is more waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Before `Connected`.
    Connecting,
    /// From `Connected` to `FirstByte`: the request goes out, the server takes its time.
    Waiting,
    /// From `FirstByte` on: the answer arrives, read by read.
    Reading,
}

impl Part {
    /// The part an exchange is in once it has reached `phase` (`None`: no phase yet).
    fn after(phase: Option<SocketPhase>) -> Part {
        match phase {
            None => Part::Connecting,
            Some(SocketPhase::Connected | SocketPhase::RequestSent) => Part::Waiting,
            Some(SocketPhase::FirstByte) => Part::Reading,
        }
    }
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
///
/// An attempt's socket phases go into its span. A phase outside its attempt (a bug in a style,
/// which `rosetta_conformance::tcp::check_socket_phases` reports) has no bar to go in, and is
/// left out.
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
    // Each attempt in flight: when it started, on which thread, and the phases reached so far.
    type Open = (Duration, u64, Vec<(Duration, SocketPhase)>);
    let mut open_attempts: BTreeMap<(usize, u32), Open> = BTreeMap::new();
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
                open_attempts.insert((*source, *attempt), (event.at, event.thread, Vec::new()));
            }
            EventKind::AttemptFinished {
                source,
                attempt,
                outcome,
            } => {
                if let Some((start, thread, phases)) = open_attempts.remove(&(*source, *attempt)) {
                    let span = Span {
                        lane: source_name(*source),
                        kind: SpanKind::Attempt(*attempt, Some(*outcome)),
                        start,
                        end: event.at,
                        thread,
                        phases,
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
                        kind: SpanKind::Lookup(Some(*known)),
                        start,
                        end: event.at,
                        thread,
                        phases: Vec::new(),
                    });
                }
            }
            EventKind::Socket {
                source,
                attempt,
                phase,
            } => {
                if let Some((_, _, phases)) = open_attempts.get_mut(&(*source, *attempt)) {
                    phases.push((event.at, *phase));
                }
            }
            EventKind::HandedOff { worker, records } => out
                .handoffs
                .entry(*worker)
                .or_default()
                .push((event.at, *records)),
            EventKind::RunStarted | EventKind::RunFinished => {}
        }
    }
    for ((source, attempt), (start, thread, phases)) in open_attempts {
        let span = Span {
            lane: source_name(source),
            kind: SpanKind::Attempt(attempt, None),
            start,
            end: out.end,
            thread,
            phases,
        };
        attempts.push((source, span));
    }
    for (station, (start, thread)) in open_lookups {
        lookups.push(Span {
            lane: format!("lookup {station}"),
            kind: SpanKind::Lookup(None),
            start,
            end: out.end,
            thread,
            phases: Vec::new(),
        });
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
/// its name as metadata (`"ph": "M"`). On `tcp`, each socket phase of an attempt is an instant
/// event on the attempt's thread (`"s": "t"`), named after the attempt and the phase
/// (`oslo-feed #1: first byte`), in the category `socket`.
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
            SpanKind::Lookup(Some(known)) => {
                (span.lane.clone(), "lookup", json!({ "known": known }))
            }
            SpanKind::Lookup(None) => (
                span.lane.clone(),
                "lookup",
                json!({ "outcome": "unfinished" }),
            ),
        };
        events.push(json!({
            "name": name, "cat": category, "ph": "X", "pid": 1, "tid": span.thread,
            "ts": micros(span.start), "dur": micros(span.end.saturating_sub(span.start)), "args": args,
        }));
        // The phases are instant events, not complete events ("connect", "wait", "read")
        // nested inside the attempt's. The format requires the complete events of one thread
        // to nest, and in every single-threaded style dozens of attempts overlap on one thread
        // (that is the point of those styles): a "read" placed under the attempt on top of the
        // thread's stack would often be another attempt's, and Perfetto drops a complete event
        // that overlaps one it does not nest in (`slice_drop_overlapping_complete_event`). An
        // instant stands alone, names its attempt, and shows as a marker on the thread's
        // track; the time between two markers is that part of the exchange.
        for (at, phase) in &span.phases {
            events.push(json!({
                "name": format!("{name}: {}", phase.as_str()), "cat": "socket", "ph": "i",
                "s": "t", "pid": 1, "tid": span.thread, "ts": micros(*at),
                "args": { "phase": phase.as_str() },
            }));
        }
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
        SpanKind::Lookup(Some(true)) => ('-', AnsiColor::Cyan.on_default()),
        SpanKind::Lookup(Some(false)) => ('.', AnsiColor::Cyan.on_default()),
        SpanKind::Lookup(None) => ('>', AnsiColor::Cyan.on_default()),
    }
}

/// The character and colour of a cell of a `tcp` attempt's bar in `part` of its exchange,
/// given its bar's own (`glyph`). Waiting keeps the bar's character, so that the outcome
/// (`=` ok, `x` error, `~` timeout) still reads without colour; connecting and reading get a
/// character of their own, and, in colour, the outcome's colour dimmed and in bold.
fn part_glyph(part: Part, (c, style): (char, Style)) -> (char, Style) {
    match part {
        Part::Connecting => (':', style.dimmed()),
        Part::Waiting => (c, style),
        Part::Reading => ('#', style.bold()),
    }
}

/// The legend of the timeline's characters.
const LEGEND: &str =
    "= ok  x error  ~ timeout  | retry  > in flight  - lookup  . unknown  • busy\n";
/// Its second line, printed only when some bar has socket phases (a `tcp` run), so that a `sim`
/// timeline reads as it always has.
const PHASE_LEGEND: &str =
    "on tcp  : connecting  = x ~ > waiting for the answer  # reading the answer\n";

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
            let (from, to) = (
                column_of(span.start),
                column_of(span.end).max(column_of(span.start)),
            );
            // On tcp, each cell shows the part of the exchange the attempt was in at the end of
            // the cell's time (at its end, for its last cell): the latest phase whose column is
            // this one or an earlier one. So a connection made within the bar's first column
            // shows no `:`, and an answer whose first byte came in the last one shows one `#`.
            let phase_columns: Vec<(usize, SocketPhase)> = span
                .phases
                .iter()
                .map(|(at, phase)| (column_of(*at), *phase))
                .collect();
            let bar = glyph(span.kind);
            for (column, cell) in row.iter_mut().enumerate().take(to + 1).skip(from) {
                *cell = Some(if phase_columns.is_empty() {
                    bar
                } else {
                    let reached = phase_columns
                        .iter()
                        .rev()
                        .find(|(at, _)| *at <= column)
                        .map(|(_, phase)| *phase);
                    part_glyph(Part::after(reached), bar)
                });
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
    out.push_str(LEGEND);
    if spans.spans.iter().any(|span| !span.phases.is_empty()) {
        out.push_str(PHASE_LEGEND);
    }
    out
}

/// The same timeline as a standalone SVG (no external fonts or scripts), for the book and slides.
pub fn svg(style: &str, spans: &Spans) -> String {
    svg_stacked(&[(style, spans)])
}

/// Several runs' timelines in one SVG, one under the other, on one time axis (the longest
/// run's): `rosetta trace A B --svg FILE`, so that two styles' runs of one scenario can be set
/// side by side at the same scale (the book's Node.js and Rust figure).
pub fn svg_stacked(runs: &[(&str, &Spans)]) -> String {
    let (label_w, plot_w) = (180.0, 640.0);
    let total = runs
        .iter()
        .map(|(_, spans)| spans.end.saturating_sub(spans.start))
        .max()
        .unwrap_or_default()
        .max(Duration::from_micros(1))
        .as_secs_f64();
    let phases = runs
        .iter()
        .any(|(_, spans)| spans.spans.iter().any(|span| !span.phases.is_empty()));
    let heights: Vec<f64> = runs.iter().map(|(_, spans)| run_height(spans)).collect();
    // A second legend line on tcp, for the socket phases.
    let legend_h = if phases { 16.0 } else { 0.0 };
    let height = heights.iter().sum::<f64>() + 36.0 + legend_h;
    let width = label_w + plot_w + 20.0;
    let mut svg = Svg::new(width, height, "monospace", 11);
    let mut top = 0.0;
    for ((style, spans), run_h) in runs.iter().zip(&heights) {
        draw_run(&mut svg, style, spans, top, total, (label_w, plot_w));
        top += run_h;
    }
    let legend_y = top + 16.0;
    svg.text(
        format_args!(r##"x="8" y="{legend_y:.1}" fill="#333""##),
        "green answered, red error, yellow timed out, blue lookup, grey unknown station; grey \
         ticks: thread active",
    );
    if phases {
        svg.text(
            format_args!(r##"x="8" y="{:.1}" fill="#333""##, legend_y + 16.0),
            "on tcp: black ticks at connected, request sent, first byte; pale: connecting, \
             dark: reading",
        );
    }
    svg.finish()
}

/// The rows an SVG timeline draws for one run, at [`ROW_H`] each: a lane per source (and the
/// lookups), then a row per thread.
fn run_height(spans: &Spans) -> f64 {
    let rows = lanes(spans, true).len() + spans.threads.len();
    RUN_TOP + ROW_H * rows as f64 + 30.0
}

/// The height of one lane of an SVG timeline.
const ROW_H: f64 = 18.0;
/// The space above a run's lanes, for its title.
const RUN_TOP: f64 = 40.0;

/// One run's timeline, its title `top` from the SVG's top, on an axis of `total` seconds.
fn draw_run(
    svg: &mut Svg,
    style: &str,
    spans: &Spans,
    top: f64,
    total: f64,
    (label_w, plot_w): (f64, f64),
) {
    let lanes = lanes(spans, true);
    let threads: Vec<&String> = spans.threads.values().map(|(name, _)| name).collect();
    let rows = lanes.len() + threads.len();
    let x_of =
        |at: Duration| label_w + at.saturating_sub(spans.start).as_secs_f64() / total * plot_w;
    let colour = |kind: SpanKind| match kind {
        SpanKind::Attempt(_, Some(AttemptOutcome::Answered)) => "#2e7d32",
        SpanKind::Attempt(_, Some(AttemptOutcome::Error)) => "#c62828",
        SpanKind::Attempt(_, Some(AttemptOutcome::Timeout)) => "#f9a825",
        SpanKind::Attempt(_, None) | SpanKind::Lookup(None) => "#6a1b9a",
        SpanKind::Lookup(Some(true)) => "#0277bd",
        SpanKind::Lookup(Some(false)) => "#90a4ae",
    };
    let wall = spans.end.saturating_sub(spans.start).as_secs_f64();
    svg.text(
        format_args!(r#"x="8" y="{:.1}" font-size="13""#, top + 20.0),
        format_args!(
            "{style}: {:.1} ms, {}",
            wall * 1000.0,
            threads_phrase(threads.len())
        ),
    );
    let lanes_top = top + RUN_TOP;
    for (row, (lane, list)) in lanes.iter().enumerate() {
        let y = lanes_top + ROW_H * row as f64;
        svg.text(format_args!(r#"x="8" y="{:.1}""#, y + 12.0), lane);
        for span in list {
            let (x0, x1) = (x_of(span.start), x_of(span.end));
            svg.shape(
                "rect",
                format_args!(
                    r#"x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" stroke="white" stroke-width="0.5""#,
                    y + 2.0,
                    (x1 - x0).max(1.0),
                    ROW_H - 4.0,
                    colour(span.kind)
                ),
            );
            if !span.phases.is_empty() {
                svg_phases(svg, span, y + 2.0, ROW_H - 4.0, x_of);
            }
        }
    }
    for (index, (name, times)) in spans.threads.values().enumerate() {
        let y = lanes_top + ROW_H * (lanes.len() + index) as f64;
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
                    ROW_H - 8.0
                ),
            );
        }
    }
    let axis_y = lanes_top + ROW_H * rows as f64 + 14.0;
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
}

/// A `tcp` attempt's phases on its bar (at `y`, `height` high): the connecting part shaded
/// pale, the reading part dark, over the bar's colour, so that the plain part between them is
/// the waiting; and a tick at each phase reached. The parts are drawn as long as they lasted
/// (on loopback, a connection and a short answer take microseconds: slivers); the ticks are
/// always a pixel wide, so that every phase shows, however short its part, and stand out of
/// the bar above and below, so that they read as marks rather than as the bar's edges.
fn svg_phases(svg: &mut Svg, span: &Span, y: f64, height: f64, x_of: impl Fn(Duration) -> f64) {
    // Connecting ends at the first phase reached (`Connected`), or with the attempt if the
    // connection was never made.
    let connected = span.phases.first().map_or(span.end, |(at, _)| *at);
    // A translucent white or black over the bar lightens or darkens whatever its colour.
    let mut shade = |class: &str, from: Duration, to: Duration, fill: &str, opacity: f64| {
        let (x0, x1) = (x_of(from), x_of(to));
        svg.shape(
            "rect",
            format_args!(
                r#"class="{class}" x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{height:.1}" fill="{fill}" fill-opacity="{opacity}""#,
                x1 - x0
            ),
        );
    };
    shade("connecting", span.start, connected, "white", 0.6);
    if let Some(first_byte) = span.phase(SocketPhase::FirstByte) {
        shade("reading", first_byte, span.end, "black", 0.35);
    }
    for (at, phase) in &span.phases {
        svg.shape(
            "rect",
            format_args!(
                r##"class="phase {}" x="{:.1}" y="{:.1}" width="1" height="{:.1}" fill="#212121""##,
                phase.as_str().replace(' ', "-"),
                x_of(*at) - 0.5,
                y - 2.0,
                height + 4.0
            ),
        );
    }
}

/// "1 thread", "4 threads": the count in a timeline's title.
pub fn threads_phrase(count: usize) -> String {
    if count == 1 {
        "1 thread".to_string()
    } else {
        format!("{count} threads")
    }
}
