//! `rosetta run STYLE`: one style's report, as text or JSON.

use anyhow::Context;
use rosetta::styles;
use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Format, RunArgs};

pub(crate) fn run_one(args: &RunArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (scenario, network) = args.scenario.prepare(1.0)?;
    let style = styles::find(&args.style).context("the style name was checked by the parser")?;
    if !network.is_tcp()
        && let Some(why) = style.needs_tcp()
    {
        anyhow::bail!(why);
    }
    let outcome = style.run_traced(&scenario, &network.options());
    let report = outcome
        .report
        .with_context(|| format!("the {} style could not finish", style.name))?;
    match args.format {
        Format::Text => write!(out, "{report}")?,
        Format::Json => writeln!(out, "{}", report.to_json())?,
    }
    Ok(ExitCode::SUCCESS)
}
