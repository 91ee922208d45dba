//! The trace views, for every style: the Chrome trace parses back with the required fields, and
//! the timeline and the SVG show every source and every thread.

use rosetta::styles;
use std::time::Duration;

use rosetta::view::{self, MAX_WIDTH, Span, SpanKind, Spans, TimelineOptions, timeline};
use rosetta_pipeline::run::AttemptOutcome;
use rosetta_pipeline::{RunOptions, Scenario};
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
