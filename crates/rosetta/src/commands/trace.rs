//! `rosetta trace STYLE [STYLE...]`: what a style did, as a terminal timeline, a Chrome trace or
//! an SVG. Several styles run one after another on the same scenario (and, on `tcp`, the same
//! feed server); their SVG timelines share one time axis, so that they compare at a glance.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use rosetta::styles::Style;
use rosetta::view;
use rosetta_pipeline::scenario::one_line;

use crate::cli::{TIMELINE_WIDTHS, TraceArgs, chosen};

pub(crate) fn run_trace(args: &TraceArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if args.chrome.is_some() && args.styles.len() > 1 {
        anyhow::bail!("--chrome writes one style's trace; name one style");
    }
    let (scenario, network) = args.scenario.prepare(1.0)?;
    // In the order given, not the registry's: the first style is drawn on top.
    let known = chosen(&args.styles, network.is_tcp())?;
    let styles: Vec<&'static Style> = args
        .styles
        .iter()
        .filter_map(|name| known.iter().copied().find(|style| style.name == name))
        .collect();
    let mut runs = Vec::new();
    let mut all_ok = true;
    for style in styles {
        let outcome = style.run_traced(&scenario, &network.options());
        if let Err(error) = &outcome.report {
            all_ok = false;
            let _ = writeln!(
                io::stderr(),
                "rosetta: the {} style failed ({}); drawing what it did",
                style.name,
                one_line(&error.to_string())
            );
        }
        let spans = view::spans(
            &scenario,
            &outcome.trace.events(),
            &outcome.trace.thread_names(),
        );
        runs.push((style.name, spans));
    }
    if let (Some(path), [(name, spans)]) = (&args.chrome, runs.as_slice()) {
        let json = serde_json::to_string(&view::chrome_json(name, spans))?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(
            out,
            "wrote {} (open it in ui.perfetto.dev or chrome://tracing)",
            path.display()
        )?;
    }
    if let Some(path) = &args.svg {
        let stacked: Vec<(&str, &view::Spans)> =
            runs.iter().map(|(name, spans)| (*name, spans)).collect();
        std::fs::write(path, view::svg_stacked(&stacked))
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "wrote {}", path.display())?;
    }
    if args.timeline || (args.chrome.is_none() && args.svg.is_none()) {
        // `--width` is range-checked by clap; `$COLUMNS` is whatever the environment says, so
        // it is clamped to the same range rather than trusted.
        let width = args
            .width
            .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
            .unwrap_or(100)
            .clamp(*TIMELINE_WIDTHS.start(), *TIMELINE_WIDTHS.end());
        let width = usize::try_from(width).unwrap_or(100);
        let colour = super::stdout_takes_colour();
        for (index, (name, spans)) in runs.iter().enumerate() {
            if index > 0 {
                writeln!(out)?;
            }
            let options = view::TimelineOptions::full(width, colour);
            write!(out, "{}", view::timeline(name, spans, options))?;
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
