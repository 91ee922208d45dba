//! `rosetta trace STYLE`: what one style did, as a terminal timeline, a Chrome trace or an SVG.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use rosetta::{styles, view};
use rosetta_pipeline::scenario::one_line;

use crate::cli::{TIMELINE_WIDTHS, TraceArgs};

pub(crate) fn run_trace(args: &TraceArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (scenario, network) = args.scenario.prepare(1.0)?;
    let style = styles::find(&args.style).context("the style name was checked by the parser")?;
    let outcome = style.run_traced(&scenario, &network.options());
    if let Err(error) = &outcome.report {
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
    if let Some(path) = &args.chrome {
        let json = serde_json::to_string(&view::chrome_json(style.name, &spans))?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(
            out,
            "wrote {} (open it in ui.perfetto.dev or chrome://tracing)",
            path.display()
        )?;
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, view::svg(style.name, &spans))
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
        write!(
            out,
            "{}",
            view::timeline(
                style.name,
                &spans,
                view::TimelineOptions::full(width, colour)
            )
        )?;
    }
    Ok(if outcome.report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
