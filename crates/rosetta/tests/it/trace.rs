//! The trace views, for every style: the Chrome trace parses back with the required fields, and
//! the timeline and the SVG show every source and every thread; on `tcp`, every view shows the
//! socket phases of each attempt, where they happened.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rosetta::styles;
use rosetta::view::{self, MAX_WIDTH, Span, SpanKind, Spans, TimelineOptions, timeline};
use rosetta_pipeline::run::AttemptOutcome;
use rosetta_pipeline::trace::{Event, EventKind, SocketPhase};
use rosetta_pipeline::transport::Transport;
use rosetta_pipeline::{RunOptions, Scenario, Trace};
use unicode_width::UnicodeWidthStr;

#[test]
fn chrome_traces_have_the_required_structure() {
    let scenario = Scenario::builtin("faults").unwrap();
    for style in styles::ALL {
        let outcome = style.run_traced(&scenario, &RunOptions::with_time_scale(0.5));
        let spans = view::spans(
            &scenario,
            &outcome.trace.events(),
            &outcome.trace.thread_names(),
        );
        // Written and read back as text, as Perfetto would read the file.
        let text = serde_json::to_string(&view::chrome_json(style.name, &spans)).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let events = parsed["traceEvents"].as_array().unwrap();
        let mut complete = 0;
        for event in events {
            for key in ["name", "ph", "ts", "pid", "tid"] {
                assert!(
                    event.get(key).is_some(),
                    "{}: `{key}` missing in {event}",
                    style.name
                );
            }
            if event["ph"] == "X" {
                complete += 1;
                assert!(
                    event["dur"].as_f64().is_some_and(|dur| dur >= 0.0),
                    "{event}"
                );
            }
        }
        let report = outcome.report.unwrap();
        assert_eq!(
            complete as u64,
            report.attempts + report.lookups,
            "{}: one X per attempt and lookup",
            style.name
        );
        let names = events
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .count();
        assert_eq!(
            names, outcome.summary.threads,
            "{}: every thread is named",
            style.name
        );
    }
}

#[test]
fn timeline_and_svg_show_every_source_and_thread() {
    let scenario = Scenario::builtin("classroom").unwrap();
    for style in styles::ALL {
        let outcome = style.run_traced(&scenario, &RunOptions::with_time_scale(0.25));
        let spans = view::spans(
            &scenario,
            &outcome.trace.events(),
            &outcome.trace.thread_names(),
        );
        let text = view::timeline(style.name, &spans, TimelineOptions::full(80, false));
        for source in &scenario.sources {
            let label: String = source.name.chars().take(28).collect();
            assert!(
                text.contains(&label),
                "{}: no lane for {}:\n{text}",
                style.name,
                source.name
            );
        }
        assert!(
            text.lines().all(|line| line.chars().count() <= 80),
            "{}: wider than asked:\n{text}",
            style.name
        );
        // Retries, errors and timeouts are told apart without colour.
        assert!(
            text.contains('|') && text.contains('x') && text.contains('~'),
            "{text}"
        );
        let svg = view::svg(style.name, &spans);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("<script") && !svg.contains("@import") && !svg.contains("href"));
        for (name, _) in spans.threads.values() {
            assert!(
                svg.contains(name.as_str()),
                "{}: thread {name} missing from the SVG",
                style.name
            );
        }
    }
}

fn one_span() -> Spans {
    Spans {
        spans: vec![Span {
            lane: "feed".into(),
            kind: SpanKind::Attempt(1, Some(AttemptOutcome::Answered)),
            start: Duration::ZERO,
            end: Duration::from_millis(10),
            thread: 0,
            phases: Vec::new(),
        }],
        end: Duration::from_millis(10),
        ..Spans::default()
    }
}

#[test]
fn any_width_is_drawn_at_most_max_width_wide() {
    // 65,600 overflowed a format width (a u16) and panicked; usize::MAX asked for a row of
    // usize::MAX cells. Both are now drawn MAX_WIDTH wide.
    for width in [65_600, usize::MAX] {
        let text = timeline("s", &one_span(), TimelineOptions::full(width, false));
        let widest = text.lines().map(|line| line.chars().count()).max().unwrap();
        assert!(widest <= MAX_WIDTH + 4, "{width}: {widest}");
        assert!(text.lines().any(|line| line.ends_with(" ms")), "{text}");
    }
}

#[test]
fn lanes_with_wide_names_line_up_with_the_others() {
    // "東京" is two `char`s in four columns: padded by `char`s, its lane's marks started two
    // columns to the right of the Oslo lane's.
    let lane = |name: &str| Span {
        lane: name.into(),
        ..one_span().spans[0].clone()
    };
    let spans = Spans {
        spans: vec![lane("Oslo feed"), lane("東京 feed")],
        ..one_span()
    };
    let text = timeline("s", &spans, TimelineOptions::full(60, false));
    let rows: Vec<&str> = ["Oslo feed", "東京 feed"]
        .iter()
        .map(|name| text.lines().find(|line| line.starts_with(name)).unwrap())
        .collect();
    let marks_at = |row: &str| {
        let label_end = row.find(" feed").unwrap() + " feed".len();
        let rest = &row[label_end..];
        let blank = rest.len() - rest.trim_start().len();
        row[..label_end].width() + blank
    };
    assert_eq!(marks_at(rows[0]), marks_at(rows[1]), "{text}");
}

/// An event at `micros` microseconds, on thread 1.
fn at(micros: u64, kind: EventKind) -> Event {
    Event {
        at: Duration::from_micros(micros),
        thread: 1,
        kind,
    }
}

#[test]
fn an_unfinished_lookup_is_drawn_in_flight_like_an_unfinished_attempt() {
    // `spans_until` said that lookups not ended yet run until `now`, drawn as in flight; only
    // attempts did, and an unfinished lookup vanished from the live view.
    let scenario = Scenario::builtin("classroom").unwrap();
    let events = [
        at(0, EventKind::RunStarted),
        at(
            1_000,
            EventKind::AttemptStarted {
                source: 0,
                attempt: 1,
            },
        ),
        at(
            5_000,
            EventKind::LookupStarted {
                station: "Oslo".into(),
            },
        ),
    ];
    let now = Duration::from_millis(20);
    let spans = view::spans_until(&scenario, &events, &BTreeMap::new(), now);
    let lookup = spans
        .spans
        .iter()
        .find(|span| span.lane == "lookup Oslo")
        .unwrap_or_else(|| panic!("the unfinished lookup is dropped: {spans:?}"));
    assert_eq!((lookup.start, lookup.end), (Duration::from_millis(5), now));
    assert_eq!(lookup.kind, SpanKind::Lookup(None));
    let text = timeline("s", &spans, TimelineOptions::full(80, false));
    let row = text
        .lines()
        .find(|line| line.starts_with("lookup Oslo"))
        .unwrap();
    assert!(row.contains('>'), "drawn as in flight:\n{text}");
}

fn started(source: usize) -> EventKind {
    EventKind::AttemptStarted { source, attempt: 1 }
}

fn socket(source: usize, phase: SocketPhase) -> EventKind {
    EventKind::Socket {
        source,
        attempt: 1,
        phase,
    }
}

fn finished(source: usize, outcome: AttemptOutcome) -> EventKind {
    EventKind::AttemptFinished {
        source,
        attempt: 1,
        outcome,
    }
}

/// A `tcp` run of 100 ms, drawn 100 columns wide so that a column is a millisecond. Every
/// instant is in the middle of a column (10.5 ms, ...), far from where rounding could move it.
/// `oslo-feed` connects at 20.5 ms, sends at 21.5, reads from 60.5 and is answered at 80.5;
/// `stockholm-feed` connects at 40.5 and times out at 90.5 without an answer.
fn tcp_events() -> Vec<Event> {
    use SocketPhase::{Connected, FirstByte, RequestSent};
    vec![
        at(0, EventKind::RunStarted),
        at(10_500, started(0)),
        at(20_500, socket(0, Connected)),
        at(21_500, socket(0, RequestSent)),
        at(30_500, started(1)),
        at(40_500, socket(1, Connected)),
        at(40_600, socket(1, RequestSent)),
        at(60_500, socket(0, FirstByte)),
        at(80_500, finished(0, AttemptOutcome::Answered)),
        at(90_500, finished(1, AttemptOutcome::Timeout)),
        at(100_000, EventKind::RunFinished),
    ]
}

/// `stockholm-feed`, the longest label, is 14 columns: 117 columns leave 100 for the bars.
const HUNDRED_COLUMNS: usize = 117;

/// The bar of `lane` in `text`: what is between its two `│`.
fn bar<'a>(text: &'a str, lane: &str) -> &'a str {
    let row = text
        .lines()
        .find(|line| line.starts_with(lane))
        .unwrap_or_else(|| panic!("no lane {lane}:\n{text}"));
    row.split('│').nth(1).unwrap()
}

/// `count` times `c`, for an expected bar.
fn run_of(c: char, count: usize) -> String {
    std::iter::repeat_n(c, count).collect()
}

fn tcp_spans() -> Spans {
    let scenario = Scenario::builtin("classroom").unwrap();
    let names = BTreeMap::from([(1, "main".to_string())]);
    view::spans(&scenario, &tcp_events(), &names)
}

#[test]
fn an_attempt_keeps_its_socket_phases() {
    let spans = tcp_spans();
    let ms = |micros| Duration::from_micros(micros);
    assert_eq!(
        spans.spans[0].phases,
        [
            (ms(20_500), SocketPhase::Connected),
            (ms(21_500), SocketPhase::RequestSent),
            (ms(60_500), SocketPhase::FirstByte)
        ]
    );
    assert_eq!(spans.spans[1].phase(SocketPhase::FirstByte), None);
    assert_eq!(
        spans.spans[1].phase(SocketPhase::Connected),
        Some(ms(40_500))
    );
}

#[test]
fn the_timeline_draws_each_part_of_an_exchange_in_its_columns() {
    let text = timeline(
        "s",
        &tcp_spans(),
        TimelineOptions::full(HUNDRED_COLUMNS, false),
    );
    // Connecting from column 10 to 19, waiting from 20 to 59 (the request sent at 21.5 starts
    // no part of its own), reading from 60 to the end of the bar, in column 80.
    let answered = [
        run_of(' ', 10),
        run_of(':', 10),
        run_of('=', 40),
        run_of('#', 21),
        run_of(' ', 19),
    ]
    .concat();
    assert_eq!(bar(&text, "oslo-feed"), answered, "{text}");
    // Timed out while waiting: the outcome's character, as on sim.
    let timed_out = [
        run_of(' ', 30),
        run_of(':', 10),
        run_of('~', 51),
        run_of(' ', 9),
    ]
    .concat();
    assert_eq!(bar(&text, "stockholm-feed"), timed_out, "{text}");
    assert!(
        text.ends_with(
            "• busy\non tcp  : connecting  = x ~ > waiting for the answer  # reading the answer\n"
        ),
        "the legend explains the parts:\n{text}"
    );
}

#[test]
fn without_socket_phases_the_bars_and_legend_are_as_on_sim() {
    let events: Vec<Event> = tcp_events()
        .into_iter()
        .filter(|event| !matches!(event.kind, EventKind::Socket { .. }))
        .collect();
    let scenario = Scenario::builtin("classroom").unwrap();
    let spans = view::spans(&scenario, &events, &BTreeMap::new());
    assert!(spans.spans.iter().all(|span| span.phases.is_empty()));
    let text = timeline("s", &spans, TimelineOptions::full(HUNDRED_COLUMNS, false));
    let answered = [run_of(' ', 10), run_of('=', 71), run_of(' ', 19)].concat();
    assert_eq!(bar(&text, "oslo-feed"), answered, "{text}");
    assert!(
        text.ends_with("• busy\n") && !text.contains("on tcp"),
        "{text}"
    );
    let svg = view::svg("s", &spans);
    assert!(!svg.contains("on tcp") && !svg.contains("class="), "{svg}");
}

#[test]
fn the_colour_timeline_dims_connecting_and_bolds_reading() {
    let text = timeline(
        "s",
        &tcp_spans(),
        TimelineOptions::full(HUNDRED_COLUMNS, true),
    );
    let green = anstyle::AnsiColor::Green.on_default();
    for (c, style) in [(':', green.dimmed()), ('=', green), ('#', green.bold())] {
        let cell = format!("{style}{c}{style:#}");
        assert!(text.contains(&cell), "no {cell:?} in {text:?}");
    }
}

#[test]
fn the_chrome_trace_has_each_phase_as_an_instant_on_the_attempts_thread() {
    let json = view::chrome_json("s", &tcp_spans());
    let events = json["traceEvents"].as_array().unwrap();
    let phases: Vec<(&str, f64)> = events
        .iter()
        .filter(|event| event["cat"] == "socket")
        .map(|event| {
            assert_eq!(
                (&event["ph"], &event["s"], &event["tid"]),
                (&"i".into(), &"t".into(), &1.into()),
                "{event}"
            );
            (
                event["name"].as_str().unwrap(),
                event["ts"].as_f64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("oslo-feed #1: connected", 20_500.0),
        ("oslo-feed #1: request sent", 21_500.0),
        ("oslo-feed #1: first byte", 60_500.0),
        ("stockholm-feed #1: connected", 40_500.0),
        ("stockholm-feed #1: request sent", 40_600.0),
    ];
    assert_eq!(phases.len(), expected.len(), "{phases:?}");
    for ((name, ts), (expected_name, expected_ts)) in phases.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        assert!((ts - expected_ts).abs() < 0.01, "{name}: ts {ts}");
    }
    // The attempts are still one complete event each.
    assert_eq!(events.iter().filter(|event| event["ph"] == "X").count(), 2);
}

#[test]
fn the_svg_shades_the_parts_and_ticks_the_phases() {
    let svg = view::svg("s", &tcp_spans());
    // x = 180 + 6.4 per millisecond (a 640-pixel plot for 100 ms).
    for expected in [
        // oslo-feed, in the first row: connecting from 10.5 to 20.5 ms, reading from 60.5 to 80.5,
        r#"class="connecting" x="247.2" y="42.0" width="64.0""#,
        r#"class="reading" x="567.2" y="42.0" width="128.0""#,
        // its phases, a pixel wide each and centred on their instants;
        r#"class="phase connected" x="310.7""#,
        r#"class="phase request-sent" x="317.1""#,
        r#"class="phase first-byte" x="566.7""#,
        // stockholm-feed, in the second row, connecting from 30.5 ms to 40.5.
        r#"class="connecting" x="375.2" y="60.0" width="64.0""#,
        "on tcp: black ticks at connected, request sent, first byte; pale: connecting, dark: reading",
    ] {
        assert!(svg.contains(expected), "no {expected} in\n{svg}");
    }
    let count = |class: &str| svg.matches(&format!("class=\"{class}")).count();
    assert_eq!(
        (count("connecting"), count("reading"), count("phase ")),
        (2, 1, 5),
        "{svg}"
    );
}

#[test]
fn a_reference_run_over_tcp_shows_the_phases_of_every_answered_attempt() {
    let scenario = Scenario::builtin("classroom").unwrap();
    let server = rosetta_conformance::tcp::feed_server();
    let time_scale =
        rosetta_conformance::tcp::TCP_SLOWDOWN * rosetta_conformance::time_scale_for("classroom");
    let feeds = server.host(Arc::new(scenario.clone()), time_scale);
    let opts = RunOptions::with_time_scale(time_scale).on(Transport::Tcp(feeds));
    let trace = Trace::new();
    let report = rosetta_pipeline::reference::run(&scenario, &opts, &trace);
    server.retire(feeds);
    let report = report.expect("the reference runs over tcp");
    let spans = view::spans(&scenario, &trace.events(), &trace.thread_names());
    let answered: Vec<&Span> = spans
        .spans
        .iter()
        .filter(|span| {
            matches!(
                span.kind,
                SpanKind::Attempt(_, Some(AttemptOutcome::Answered))
            )
        })
        .collect();
    // One answered attempt per source fetched.
    assert_eq!(answered.len(), report.sources_ok);
    assert!(report.sources_ok > 0);
    for span in &answered {
        let phases: Vec<SocketPhase> = span.phases.iter().map(|(_, phase)| *phase).collect();
        assert_eq!(
            phases,
            [
                SocketPhase::Connected,
                SocketPhase::RequestSent,
                SocketPhase::FirstByte
            ],
            "{}",
            span.lane
        );
    }
    // Every view draws them: a `#` at the end of each answered bar (its last column at least),
    let text = timeline("reference", &spans, TimelineOptions::full(MAX_WIDTH, false));
    for span in &answered {
        assert!(
            bar(&text, &span.lane).contains('#'),
            "{}:\n{text}",
            span.lane
        );
    }
    assert!(text.contains("# reading the answer"), "{text}");
    // its three phases as instants in the Chrome trace,
    let json = view::chrome_json("reference", &spans).to_string();
    for span in &answered {
        let SpanKind::Attempt(attempt, _) = span.kind else {
            unreachable!("answered attempts only")
        };
        for phase in ["connected", "request sent", "first byte"] {
            let name = format!("\"{} #{attempt}: {phase}\"", span.lane);
            assert!(json.contains(&name), "no {name}");
        }
    }
    // and a dark reading part in the SVG.
    let svg = view::svg("reference", &spans);
    assert!(
        svg.matches(r#"class="reading""#).count() >= answered.len(),
        "{svg}"
    );
}
