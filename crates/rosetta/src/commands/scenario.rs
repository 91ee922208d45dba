//! `rosetta scenario`: list, show and check scenario files, or print a long feed.

use anyhow::{Context, bail};
use rosetta_pipeline::scenario::one_line;
use rosetta_pipeline::{Scenario, model};
use std::io::Write;
use std::process::ExitCode;

use crate::cli::ScenarioCommand;

pub(crate) fn run_scenario(
    command: &ScenarioCommand,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    match command {
        ScenarioCommand::List => {
            for name in Scenario::builtin_names() {
                let scenario = Scenario::builtin(name).context("built-in scenarios exist")?;
                writeln!(
                    out,
                    "{name:10}  {:3} sources  {}",
                    scenario.sources.len(),
                    scenario.about
                )?;
            }
            writeln!(
                out,
                "\nGenerated: --sources N --seed S (any command that takes --scenario)."
            )?;
        }
        ScenarioCommand::LongFeed { lines } => {
            let lines = usize::try_from(*lines).context("the parser bounds the number")?;
            write!(out, "{}", Scenario::long_feed_toml(lines))?;
        }
        ScenarioCommand::Show { name } => match Scenario::starter_text(name) {
            Some(text) => write!(out, "{text}")?,
            None => bail!("no built-in scenario `{name}` (try `rosetta scenario list`)"),
        },
        ScenarioCommand::Check { file } => {
            // Validation (bounds included) comes before anything is computed from the
            // settings: `model::ideal` sizes nothing by a setting it has not seen validated.
            let scenario = Scenario::load(file)?;
            let ideal = model::ideal(&scenario);
            let min_scale = match scenario.min_time_scale() {
                scale if scale > 0.0 => format!("; runs at --time-scale {scale} or more"),
                _ => String::new(),
            };
            writeln!(
                out,
                "{}: ok: `{}`, {} sources, {} stations in the registry; ideal wall time {} \
                 (sequential {}){min_scale}",
                one_line(&file.display().to_string()),
                one_line(&scenario.name),
                scenario.sources.len(),
                scenario.registry.len(),
                model::describe_ms(ideal.total_ms),
                model::describe_ms(ideal.sequential_ms)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
