//! Choosing the scenario a command runs: a built-in name, a file, or a generated one.

use std::path::Path;

use anyhow::{Context, bail};
use rosetta_pipeline::Scenario;

/// Picks a scenario from the command-line options.
///
/// - `--sources N [--seed S]` generates one (`--scenario` must then be absent);
/// - `--scenario NAME` picks a built-in scenario;
/// - `--scenario FILE` reads a file (anything that is not a built-in name is taken as a path);
/// - nothing picks `classroom`.
pub fn scenario(
    scenario: Option<&str>,
    sources: Option<usize>,
    seed: u64,
) -> anyhow::Result<Scenario> {
    match (scenario, sources) {
        (Some(_), Some(_)) => bail!("give either --scenario or --sources, not both"),
        (None, Some(count)) => Ok(Scenario::generate(count, seed)),
        (Some(name), None) => match Scenario::builtin(name) {
            Some(builtin) => Ok(builtin),
            None if Path::new(name).exists() || name.ends_with(".toml") || name.contains('/') => {
                Ok(Scenario::load(Path::new(name))?)
            }
            None => {
                let names: Vec<&str> = Scenario::builtin_names().collect();
                bail!(
                    "no built-in scenario `{name}` and no such file (built-in: {})",
                    names.join(", ")
                )
            }
        },
        (None, None) => {
            Scenario::builtin("classroom").context("the classroom scenario is built in")
        }
    }
}

/// How errors name the scenario that [`scenario`] picks with the same options: the file's path,
/// `built-in scenario `NAME``, or the generator's options. A scenario does not remember where it
/// came from, so a check made after loading (the time scale's) asks here.
pub fn origin(scenario: Option<&str>, sources: Option<usize>, seed: u64) -> String {
    match (scenario, sources) {
        (_, Some(count)) => format!("generated scenario (--sources {count} --seed {seed})"),
        (Some(name), None) if Scenario::builtin_text(name).is_some() => {
            format!("built-in scenario `{name}`")
        }
        (Some(path), None) => Path::new(path).display().to_string(),
        (None, None) => "built-in scenario `classroom`".to_string(),
    }
}
