//! Scenario files: the input of every run.
//!
//! A scenario is a small TOML file that describes the world a pipeline runs in: the feeds to
//! fetch (with their latency, their fault and their body), the station registry, and the
//! settings (concurrency, timeouts, retries, ...). `shared/DESIGN.md` and the book's chapter
//! "The pipeline" give the format; [`Scenario::from_toml`] is its one parser.
//!
//! Validation is strict on purpose. A learner who mistypes `latncy_ms` must be told so, with the
//! file and the key, rather than silently running with a default. And a scenario whose outcome
//! would depend on scheduling noise (a latency close to the timeout) is refused, because the
//! whole project rests on every style producing the *same* report.
//!
//! Read next: [`crate::parse`], which turns a source's body into records.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::registry::Registry;

/// A whole scenario: what to fetch, how to enrich it, and the settings of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in reports (`classroom`).
    pub name: String,
    /// One sentence saying what the scenario is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub about: String,
    /// Concurrency, timeouts, retries and the other knobs; every key is optional.
    #[serde(default)]
    pub settings: Settings,
    /// Station name to region. Stations not listed are unknown and their records rejected.
    #[serde(default)]
    pub registry: Registry,
    /// The feeds, in the order they are started.
    #[serde(default)]
    pub sources: Vec<Source>,
}

/// The knobs of a run. Every field has a default, so `[settings]` may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Fetch attempts in flight at most.
    pub concurrency: usize,
    /// Number of aggregation workers (partitions).
    pub workers: usize,
    /// Time limit of one fetch attempt, in milliseconds.
    pub timeout_ms: u64,
    /// Further attempts after a failed attempt.
    pub retries: u32,
    /// Latency of one registry lookup, in milliseconds.
    pub lookup_ms: u64,
    /// Bound of each worker's queue.
    pub channel_capacity: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: 4,
            workers: 3,
            timeout_ms: 400,
            retries: 1,
            lookup_ms: 30,
            channel_capacity: 16,
        }
    }
}

impl Settings {
    /// How many attempts a source gets at most: the first one plus `retries`.
    pub fn max_attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }
}

/// One feed to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Unique name, shown in reports and traces.
    pub name: String,
    /// Time until the feed answers (or fails), in milliseconds.
    pub latency_ms: u64,
    /// How the feed misbehaves, if at all.
    #[serde(default)]
    pub fault: Fault,
    /// The text the feed answers with: one `<station>;<temperature>` per line.
    #[serde(default)]
    pub body: String,
}

/// How a feed misbehaves. Each kind exercises a different path of fetch-with-retry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// Answers its body.
    #[default]
    None,
    /// Fails on the first attempt, answers on later ones (a retry saves it).
    First,
    /// Fails on every attempt.
    Always,
    /// Never answers: only a timeout ends the attempt.
    Hang,
}

/// What a feed does when an attempt's latency has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    /// The feed answers with this body.
    Body(&'a str),
    /// The feed answers with an error.
    Error,
    /// The feed never answers; only the timeout ends this attempt.
    Never,
}

impl Source {
    /// What this feed answers on attempt number `attempt` (1 for the first attempt), once its
    /// latency has passed. Whether that answer arrives before the timeout is the style's
    /// business: this is the "network", not the client.
    pub fn respond(&self, attempt: u32) -> Response<'_> {
        match (self.fault, attempt) {
            (Fault::None, _) => Response::Body(&self.body),
            (Fault::First, 1) => Response::Error,
            (Fault::First, _) => Response::Body(&self.body),
            (Fault::Always, _) => Response::Error,
            (Fault::Hang, _) => Response::Never,
        }
    }
}

/// A scenario that could not be read: which file, which key, and what is wrong with it.
///
/// Displays as one line, `FILE: KEY: PROBLEM`, which the CLI prints as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (or built-in scenario) the error is in.
    pub file: String,
    /// The key at fault, as a path (`sources[2].latency_ms`), when there is one.
    pub key: Option<String>,
    /// What is wrong, as a plain sentence.
    pub problem: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: `{}`: {}", self.file, key, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

/// The scenarios shipped inside the binary, by name.
const BUILTIN: &[(&str, &str)] = &[
    ("classroom", include_str!("../scenarios/classroom.toml")),
    ("faults", include_str!("../scenarios/faults.toml")),
];

impl Scenario {
    /// Names of the built-in scenarios, `classroom` first (it is the default).
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    /// A built-in scenario by name, or `None` if there is no such scenario.
    pub fn builtin(name: &str) -> Option<Scenario> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        let scenario = Scenario::from_toml(text, &format!("built-in scenario `{name}`"))
            .expect("built-in scenarios are valid: the test `builtins_are_valid` checks them");
        Some(scenario)
    }

    /// The TOML text of a built-in scenario, for `rosetta scenario show` and the book.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
    }

    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ScenarioError {
            file: file.clone(),
            key: None,
            problem: format!("cannot read the file: {err}"),
        })?;
        Scenario::from_toml(&text, &file)
    }

    /// Parses and validates a scenario. `file` names where the text came from, for errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|err| ScenarioError {
            file: match err.span() {
                // Point at the line, so that an editor can jump to it.
                Some(span) => format!("{file}:{}", line_of(text, span.start)),
                None => file.to_string(),
            },
            key: None,
            problem: err.message().trim().to_string(),
        })?;
        scenario
            .validate()
            .map_err(|(key, problem)| ScenarioError {
                file: file.to_string(),
                key: Some(key),
                problem,
            })?;
        Ok(scenario)
    }

    /// Checks the rules that TOML types alone cannot express. Returns the key and the problem.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, problem: String| Err((key.to_string(), problem));
        if self.name.trim().is_empty() {
            return fail("name", "must not be empty".into());
        }
        let s = &self.settings;
        if s.concurrency == 0 {
            return fail("settings.concurrency", "must be at least 1".into());
        }
        if s.workers == 0 {
            return fail("settings.workers", "must be at least 1".into());
        }
        if s.channel_capacity == 0 {
            return fail("settings.channel_capacity", "must be at least 1".into());
        }
        let mut seen = HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            if source.name.trim().is_empty() {
                return fail(&format!("sources[{i}].name"), "must not be empty".into());
            }
            if !seen.insert(source.name.as_str()) {
                return fail(
                    &format!("sources[{i}].name"),
                    format!(
                        "`{}` is used by an earlier source; names must be unique",
                        source.name
                    ),
                );
            }
            if latency_is_ambiguous(source.latency_ms, s.timeout_ms) {
                return fail(
                    &format!("sources[{i}].latency_ms"),
                    format!(
                        "{} ms is between half and twice timeout_ms ({} ms), so whether it times \
                         out would depend on scheduling noise; use less than {} or more than {}",
                        source.latency_ms,
                        s.timeout_ms,
                        s.timeout_ms.div_ceil(2),
                        s.timeout_ms.saturating_mul(2),
                    ),
                );
            }
        }
        Ok(())
    }

    /// The scenario as TOML text (the generator's output can be saved and edited this way).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serializes to TOML")
    }

    /// A generated scenario with `count` feeds, the same for the same `seed` on every machine.
    ///
    /// Used for scale runs (`rosetta bench`) and property tests. Latencies come from one fixed
    /// distribution (20 to 120 ms, below half the timeout), about one source in fifty is faulty,
    /// and about one line in forty is malformed or names an unknown station.
    pub fn generate(count: usize, seed: u64) -> Scenario {
        let mut rng = SplitMix64(seed);
        let registry: BTreeMap<String, String> = GENERATED_STATIONS
            .iter()
            .map(|(station, region)| (station.to_string(), region.to_string()))
            .collect();
        let sources = (0..count)
            .map(|i| {
                let fault = match rng.below(100) {
                    0 => Fault::First,
                    1 if i % 3 == 0 => Fault::Always,
                    1 => Fault::Hang,
                    _ => Fault::None,
                };
                let mut body = String::new();
                for _ in 0..1 + rng.below(6) {
                    let line = match rng.below(40) {
                        0 => "no separator here".to_string(),
                        1 => format!("Atlantis;{}", tenths_text(rng.temperature())),
                        2 => format!("Oslo;{}", rng.below(1000)),
                        _ => {
                            let (station, _) = GENERATED_STATIONS
                                [rng.below(GENERATED_STATIONS.len() as u64) as usize];
                            format!("{station};{}", tenths_text(rng.temperature()))
                        }
                    };
                    body.push_str(&line);
                    body.push('\n');
                }
                Source {
                    name: format!("feed-{i:05}"),
                    latency_ms: 20 + rng.below(101),
                    fault,
                    body,
                }
            })
            .collect();
        Scenario {
            name: format!("generated-{count}-{seed}"),
            about: "Generated by `--sources N --seed S`".into(),
            settings: Settings {
                concurrency: 100,
                workers: 4,
                ..Settings::default()
            },
            registry: Registry::from(registry),
            sources,
        }
    }
}

/// True when a latency is within a factor of two of the timeout, inclusive.
fn latency_is_ambiguous(latency_ms: u64, timeout_ms: u64) -> bool {
    latency_ms.saturating_mul(2) >= timeout_ms && latency_ms <= timeout_ms.saturating_mul(2)
}

/// The 1-based line number of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Formats integer tenths the way feeds write them (`-3.5`).
fn tenths_text(tenths: i32) -> String {
    crate::report::Tenths(tenths).to_string()
}

/// Stations of generated scenarios, with their regions.
const GENERATED_STATIONS: &[(&str, &str)] = &[
    ("Aberdeen", "west"),
    ("Bergen", "west"),
    ("Bodø", "north"),
    ("Cork", "west"),
    ("Dublin", "west"),
    ("Gdańsk", "east"),
    ("Göteborg", "west"),
    ("Helsinki", "east"),
    ("Kiruna", "north"),
    ("Malmö", "south"),
    ("Oslo", "north"),
    ("Reykjavík", "north"),
    ("Riga", "east"),
    ("Rostock", "south"),
    ("Stockholm", "east"),
    ("Tallinn", "east"),
    ("Tromsø", "north"),
    ("Trondheim", "north"),
    ("Turku", "east"),
    ("Växjö", "south"),
];

/// SplitMix64, written out here rather than taken from `rand`: generated scenarios must be the
/// same for the same seed forever (benchmarks and bug reports quote them), and `rand` does not
/// promise stable streams across versions. Ten lines are a fair price for that.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`); the tiny modulo bias does not matter here.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A temperature between -30.0 and 34.9 degrees, in tenths.
    fn temperature(&mut self) -> i32 {
        self.below(650) as i32 - 300
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_valid() {
        for name in Scenario::builtin_names() {
            let scenario = Scenario::builtin(name).unwrap();
            assert_eq!(scenario.name, name);
        }
    }

    #[test]
    fn defaults_apply_when_settings_are_left_out() {
        let s = Scenario::from_toml("name = \"tiny\"", "tiny.toml").unwrap();
        assert_eq!(s.settings, Settings::default());
        assert!(s.sources.is_empty());
    }

    fn error_of(text: &str) -> String {
        Scenario::from_toml(text, "bad.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_key_is_named_with_file_and_line() {
        let err = error_of("name = \"x\"\n[[sources]]\nname = \"a\"\nlatncy_ms = 3\n");
        assert!(err.starts_with("bad.toml:4: "), "{err}");
        assert!(err.contains("unknown field `latncy_ms`"), "{err}");
    }

    #[test]
    fn missing_name_is_named() {
        let err = error_of("about = \"no name\"\n");
        assert!(err.starts_with("bad.toml"), "{err}");
        assert!(err.contains("missing field `name`"), "{err}");
    }

    #[test]
    fn empty_name_is_refused() {
        assert_eq!(
            error_of("name = \" \""),
            "bad.toml: `name`: must not be empty"
        );
    }

    #[test]
    fn duplicate_source_is_refused() {
        let err = error_of(
            "name = \"x\"\n[[sources]]\nname = \"a\"\nlatency_ms = 1\n\
             [[sources]]\nname = \"a\"\nlatency_ms = 2\n",
        );
        assert_eq!(
            err,
            "bad.toml: `sources[1].name`: `a` is used by an earlier source; names must be unique"
        );
    }

    #[test]
    fn zero_workers_and_concurrency_are_refused() {
        let err = error_of("name = \"x\"\n[settings]\nworkers = 0\n");
        assert_eq!(err, "bad.toml: `settings.workers`: must be at least 1");
        let err = error_of("name = \"x\"\n[settings]\nconcurrency = 0\n");
        assert_eq!(err, "bad.toml: `settings.concurrency`: must be at least 1");
    }

    #[test]
    fn latency_near_timeout_is_refused() {
        let source = |latency: u64| {
            format!("name = \"x\"\n[[sources]]\nname = \"a\"\nlatency_ms = {latency}\n")
        };
        // timeout_ms defaults to 400: 200..=800 is ambiguous.
        for latency in [200, 400, 800] {
            let err = error_of(&source(latency));
            assert!(
                err.starts_with("bad.toml: `sources[0].latency_ms`: "),
                "{err}"
            );
            assert!(err.contains("scheduling noise"), "{err}");
        }
        for latency in [0, 199, 801] {
            Scenario::from_toml(&source(latency), "ok.toml").unwrap();
        }
    }

    #[test]
    fn unknown_fault_is_refused() {
        let err = error_of(
            "name = \"x\"\n[[sources]]\nname = \"a\"\nlatency_ms = 1\nfault = \"sometimes\"\n",
        );
        assert!(err.starts_with("bad.toml:5: "), "{err}");
        assert!(err.contains("unknown variant `sometimes`"), "{err}");
    }

    #[test]
    fn invalid_toml_names_the_line() {
        let err = error_of("name = \"x\"\nsettings = [\n");
        assert!(err.starts_with("bad.toml:"), "{err}");
    }

    #[test]
    fn missing_file_is_reported() {
        let err = Scenario::load(Path::new("/no/such/scenario.toml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/no/such/scenario.toml: cannot read the file")
        );
    }

    #[test]
    fn generator_is_deterministic_and_valid() {
        let a = Scenario::generate(50, 7);
        assert_eq!(a, Scenario::generate(50, 7));
        assert_ne!(a, Scenario::generate(50, 8));
        assert_eq!(a.sources.len(), 50);
        a.validate().unwrap();
        // What the generator writes can be read back.
        assert_eq!(Scenario::from_toml(&a.to_toml(), "gen.toml").unwrap(), a);
    }

    #[test]
    fn responses_follow_the_fault() {
        let mut source = Source {
            name: "a".into(),
            latency_ms: 1,
            fault: Fault::First,
            body: "Oslo;1.0".into(),
        };
        assert_eq!(source.respond(1), Response::Error);
        assert_eq!(source.respond(2), Response::Body("Oslo;1.0"));
        source.fault = Fault::Hang;
        assert_eq!(source.respond(2), Response::Never);
    }
}
