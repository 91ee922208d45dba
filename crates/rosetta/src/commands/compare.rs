//! `rosetta compare` (and `rosetta` alone): every style on one scenario, side by side.

use std::io::IsTerminal;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use rosetta::{compare, live, styles};

use crate::cli::{CompareArgs, chosen};

pub(crate) fn run_compare(args: &CompareArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (live, fallback) = live::decide(args.live, std::io::stdout().is_terminal());
    if let Some(notice) = fallback {
        eprintln!("{notice}");
    }
    let (scenario, network) = args.scenario.prepare(if live { 3.0 } else { 1.0 })?;
    let chosen = chosen(&args.styles, network.is_tcp())?;
    writeln!(
        out,
        "Running {} style(s) on `{}` ({} sources, concurrency {}, time scale {}),\n\
         transport {}:\n",
        chosen.len(),
        scenario.name,
        scenario.sources.len(),
        scenario.settings.concurrency,
        network.time_scale(),
        network.describe()
    )?;
    let comparison = if live {
        let options = live::LiveOptions {
            size: live::terminal_size(),
            colour: super::stdout_takes_colour(),
            frame: Duration::from_millis(100),
        };
        live::compare_live(&scenario, &network, &chosen, options, out)
    } else {
        compare::compare(&scenario, &network, &chosen)
    };
    let width = std::io::stdout()
        .is_terminal()
        .then(|| live::terminal_size().0);
    write!(out, "{}", compare::render_table(&comparison, width))?;
    write!(out, "\n{}", compare::render_notes(&comparison, width))?;
    if !network.is_tcp() && args.styles.is_empty() {
        writeln!(
            out,
            "The JavaScript and Python styles run on tcp only: leave out --transport sim to see \
             them."
        )?;
    }
    let disagreements = compare::render_disagreements(&comparison);
    if !disagreements.is_empty() {
        writeln!(out, "\n{disagreements}")?;
    }
    if let Some(report) = &comparison.reference_text {
        writeln!(
            out,
            "\nThe report (identical for every style marked ✓):\n\n{report}"
        )?;
    }
    if comparison.all_agree() {
        // Said the way this run was started: a reader who followed the README runs
        // `cargo run --release -- ...` (cargo tells the programs it runs where they are, in
        // `CARGO_MANIFEST_DIR`), one who installed the tool runs `rosetta ...`.
        let rosetta = if std::env::var_os("CARGO_MANIFEST_DIR").is_some() {
            "cargo run --release --"
        } else {
            "rosetta"
        };
        writeln!(out, "Next steps:")?;
        for (args, what) in [
            ("trace callbacks", "one style, as a timeline"),
            ("compare --live", "the same, drawn as it runs"),
            ("compare --scenario faults", "every fault and rejection"),
            ("run STYLE --format json", "one report as JSON"),
            ("scenario show classroom", "this scenario, to edit"),
            ("feeds serve", "the feed server, for curl"),
            ("bench", "scale runs against the ideal"),
        ] {
            writeln!(out, "  {rosetta} {args:<26} {what}")?;
        }
        writeln!(out, "Styles: {}.", styles::names().join(", "))?;
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(out, "Some styles disagree with the reference: see above.")?;
        Ok(ExitCode::FAILURE)
    }
}
