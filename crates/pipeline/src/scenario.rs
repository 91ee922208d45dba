//! Scenario files: the input of every run.
//!
//! A scenario is a small TOML file that describes the world a pipeline runs in:
//! the feeds to fetch (with their latency, their fault and their body), the
//! station registry, and the settings (concurrency, timeouts, retries, ...).
//! The specification (the book's appendix, `book/src/specification.md`) and its
//! chapter "The pipeline" give the format; [`Scenario::from_toml`] is its one
//! parser.
//!
//! Validation is strict on purpose. A learner who mistypes `latncy_ms` must be
//! told so, with the file and the key, rather than silently running with a
//! default. A scenario whose outcome would depend on scheduling noise is
//! refused, because the whole project rests on every style producing the *same*
//! report: a latency within a factor of two of the timeout is refused here, and
//! a latency closer than [`MIN_REAL_GAP_MS`] to the timeout *in real time*,
//! after scaling, is refused by [`Scenario::check_time_scale`] before a run.
//! Values no teaching scenario needs and no machine can hold (a billion
//! workers, a 5 GB file) are refused before anything is allocated from them:
//! the `MAX_*` constants below are the bounds.
//!
//! Read next: [`crate::parse`], which turns a source's body into records.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, de};

use crate::options::{MAX_TIME_SCALE, RunOptions};
use crate::registry::Registry;
use crate::tenths::Tenths;

// ANCHOR: bounds
/// The most fetch attempts in flight a scenario may ask for
/// (`settings.concurrency`).
pub const MAX_CONCURRENCY: usize = 100_000;
/// The most aggregation workers (`settings.workers`): each is a thread in some
/// styles.
pub const MAX_WORKERS: usize = 1_024;
/// The largest bound of a worker's queue (`settings.channel_capacity`).
pub const MAX_CHANNEL_CAPACITY: usize = 65_536;
/// The most retries after a failed attempt (`settings.retries`).
pub const MAX_RETRIES: u32 = 100;
/// The longest timeout and the longest latency, in milliseconds: an hour.
pub const MAX_WAIT_MS: u64 = 3_600_000;
/// The longest registry lookup, in milliseconds: a minute.
pub const MAX_LOOKUP_MS: u64 = 60_000;
/// The largest scenario file, in bytes: 64 MiB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// How far apart, in real milliseconds after scaling, every latency and the
/// timeout must be. Timers are only as exact as the operating system's
/// scheduler (a millisecond or more under load); below this margin, which comes
/// first would be decided by timer noise, not by the scenario.
pub const MIN_REAL_GAP_MS: f64 = 5.0;
// ANCHOR_END: bounds

/// A whole scenario: what to fetch, how to enrich it, and the settings of the
/// run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in reports (`classroom`).
    pub name: String,
    /// One sentence saying what the scenario is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub about: String,
    /// Concurrency, timeouts, retries and the other knobs; every key is
    /// optional.
    #[serde(default)]
    pub settings: Settings,
    /// Station name to region. Stations not listed are unknown and their
    /// records rejected.
    #[serde(default)]
    pub registry: Registry,
    /// The feeds, in the order they are started.
    #[serde(default)]
    pub sources: Vec<Source>,
}

/// The knobs of a run. Every field has a default, so `[settings]` may be left
/// out.
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

/// How a feed misbehaves. Each kind exercises a different path of
/// fetch-with-retry.
///
/// Read from TOML by name (`fault = "hang"`); a name not listed, or a value
/// that is not a string, is refused with the list of names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
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

impl Fault {
    /// Every fault's name, as scenario files write it.
    pub const NAMES: &'static [&'static str] =
        &["none", "first", "always", "hang"];

    /// The fault with this name, if there is one.
    pub fn from_name(name: &str) -> Option<Fault> {
        match name {
            "none" => Some(Fault::None),
            "first" => Some(Fault::First),
            "always" => Some(Fault::Always),
            "hang" => Some(Fault::Hang),
            _ => None,
        }
    }
}

/// Written by hand rather than derived: serde's derived enum reader answers
/// `fault = 1` with "wanted string or table", which tells a learner nothing;
/// this one lists the names.
impl<'de> Deserialize<'de> for Fault {
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        struct FaultName;

        impl de::Visitor<'_> for FaultName {
            type Value = Fault;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("one of `none`, `first`, `always`, `hang`")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Fault, E> {
                Fault::from_name(name)
                    .ok_or_else(|| E::unknown_variant(name, Fault::NAMES))
            }
        }

        deserializer.deserialize_str(FaultName)
    }
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
    /// What this feed answers on attempt number `attempt` (1 for the first
    /// attempt), once its latency has passed. Whether that answer arrives
    /// before the timeout is the style's business: this is the "network", not
    /// the client.
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

/// A scenario that could not be read: which file, which key, and what is wrong
/// with it.
///
/// Displays as one line, `FILE: KEY: PROBLEM`, which the CLI prints as it is. A
/// newline or another control character inside a part (a source named `"a\nb"`,
/// an odd path) is shown escaped (`a\nb`), so the message stays one line
/// whatever the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (or built-in scenario) the error is in.
    pub file: String,
    /// The key at fault, as a path (`settings.workers`,
    /// `sources["oslo-feed"].latency_ms`), when there is one.
    pub key: Option<String>,
    /// What is wrong, as a plain sentence.
    pub problem: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (file, problem) = (one_line(&self.file), one_line(&self.problem));
        match &self.key {
            Some(key) => write!(f, "{file}: `{}`: {problem}", one_line(key)),
            None => write!(f, "{file}: {problem}"),
        }
    }
}

/// `text` with every control character (and the Unicode line and paragraph
/// separators) escaped the way Rust writes them in a string literal (`\n`,
/// `\u{1b}`), so that it cannot break a one-line message or move a terminal's
/// cursor. Other characters, accented letters included, are kept as they are.
pub fn one_line(text: &str) -> Cow<'_, str> {
    let breaks_lines =
        |c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}';
    if !text.contains(breaks_lines) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if breaks_lines(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// How a source is named in an error's key: by its name, quoted and escaped
/// (`sources["oslo-feed"].latency_ms`), because a learner knows a source by its
/// name, not by its position in the file.
fn source_key(source: &Source, field: &str) -> String {
    format!("sources[{:?}].{field}", source.name)
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

    /// The TOML text of a built-in scenario, for the book (which includes parts
    /// of it between
    /// its `ANCHOR` lines).
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
    }

    /// A built-in scenario's text as a starting point for a scenario of one's
    /// own, for `rosetta scenario show`: without the lines that mark what the
    /// book shows, and named `my-NAME`, so that a run of the copy says it is
    /// not the built-in one.
    pub fn starter_text(name: &str) -> Option<String> {
        let text = Scenario::builtin_text(name)?;
        let mut renamed = false;
        let mut starter = String::with_capacity(text.len());
        for line in text.lines() {
            if line.contains("ANCHOR") {
                continue;
            }
            // The scenario's own name is the first `name = ` line (the sources'
            // come later).
            if !renamed && line.starts_with("name = ") {
                renamed = true;
                starter.push_str(&format!("name = \"my-{name}\""));
            } else {
                starter.push_str(line);
            }
            starter.push('\n');
        }
        Some(starter)
    }

    /// Reads and validates a scenario file.
    ///
    /// Only a regular file of at most [`MAX_FILE_BYTES`] is read. The check
    /// comes from the file's metadata, *before* opening it: opening a FIFO with
    /// no writer blocks forever, and `/dev/zero` never ends. The read is
    /// limited too, in case the file grows after the check.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let fail = |problem: String| ScenarioError {
            file: file.clone(),
            key: None,
            problem,
        };
        let too_large = || {
            fail(
                "the file is larger than 64 MiB, the limit for a scenario"
                    .into(),
            )
        };
        let metadata = std::fs::metadata(path)
            .map_err(|err| fail(format!("cannot read the file: {err}")))?;
        if !metadata.is_file() {
            return Err(fail("not a regular file".into()));
        }
        if metadata.len() > MAX_FILE_BYTES {
            return Err(too_large());
        }
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|opened| {
                opened.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)
            })
            .map_err(|err| fail(format!("cannot read the file: {err}")))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large());
        }
        Scenario::from_toml(&text, &file)
    }

    /// Parses and validates a scenario. `file` names where the text came from,
    /// for errors.
    pub fn from_toml(
        text: &str,
        file: &str,
    ) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario =
            toml::from_str(text).map_err(|err| toml_error(text, file, &err))?;
        scenario
            .validate()
            .map_err(|(key, problem)| ScenarioError {
                file: file.to_string(),
                key: Some(key),
                problem,
            })?;
        Ok(scenario)
    }

    /// Checks the rules that TOML types alone cannot express. Returns the key
    /// and the problem.
    ///
    /// Bounds come first, so that nothing later (nor a style) allocates from an
    /// absurd value.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, problem: String| Err((key.to_string(), problem));
        if self.name.trim().is_empty() {
            return fail("name", "must not be empty".into());
        }
        let s = &self.settings;
        let settings = [
            ("concurrency", s.concurrency as u64),
            ("workers", s.workers as u64),
            ("channel_capacity", s.channel_capacity as u64),
            ("retries", u64::from(s.retries)),
            ("timeout_ms", s.timeout_ms),
            ("lookup_ms", s.lookup_ms),
        ];
        for (field, value) in settings {
            if let Some(problem) = out_of_bounds(field, value) {
                return fail(&format!("settings.{field}"), problem);
            }
        }
        // Source name to its number in the file (from 1), for the duplicate
        // check.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, source) in self.sources.iter().enumerate() {
            let number = index + 1;
            if source.name.trim().is_empty() {
                // The one key with no name to go by: the position it has in the
                // file.
                return fail(
                    &format!("sources[{index}].name"),
                    format!(
                        "must not be empty (source number {number} in the file)"
                    ),
                );
            }
            if let Some(earlier) = seen.insert(source.name.as_str(), number) {
                return fail(
                    &source_key(source, "name"),
                    format!(
                        "sources number {earlier} and {number} have the same name; names must be \
                         unique"
                    ),
                );
            }
            if let Some(problem) =
                out_of_bounds("latency_ms", source.latency_ms)
            {
                return fail(&source_key(source, "latency_ms"), problem);
            }
            if latency_is_ambiguous(source.latency_ms, s.timeout_ms) {
                return fail(
                    &source_key(source, "latency_ms"),
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

    /// The source whose latency is closest to the timeout, with that distance
    /// in scenario milliseconds; `None` without sources.
    pub fn tightest_source(&self) -> Option<(&Source, u64)> {
        let timeout_ms = self.settings.timeout_ms;
        self.sources
            .iter()
            .map(|source| (source, source.latency_ms.abs_diff(timeout_ms)))
            .min_by_key(|(_, gap)| *gap)
    }

    /// The smallest time scale at which every latency is at least
    /// [`MIN_REAL_GAP_MS`] away from the timeout in real time, rounded up to
    /// two significant digits (`0.023`); `0.0` without sources, and infinity if
    /// a latency equals the timeout (no scale separates them; validation
    /// refuses that).
    pub fn min_time_scale(&self) -> f64 {
        match self.tightest_source() {
            None => 0.0,
            Some((_, 0)) => f64::INFINITY,
            Some((_, gap)) => smallest_scale_for(gap),
        }
    }

    // ANCHOR: check_time_scale
    // ANCHOR: check_scale_range
    /// Checks that `time_scale` is in range and keeps every latency at least
    /// [`MIN_REAL_GAP_MS`] away from the timeout in real time. `file` names the
    /// scenario in the error, which names the tightest source and the smallest
    /// time scale that works.
    ///
    /// Time scale 0 is exempt: it is logical time (the tests'
    /// `expected_report`), where nothing waits and outcomes follow the
    /// specification exactly. Every command that runs styles calls this first.
    pub fn check_time_scale(
        &self,
        time_scale: f64,
        file: &str,
    ) -> Result<(), ScenarioError> {
        let fail = |key: Option<String>, problem: String| ScenarioError {
            file: file.to_string(),
            key,
            problem,
        };
        RunOptions::checked(time_scale)
            .map_err(|err| fail(None, err.to_string()))?;
        if time_scale == 0.0 {
            return Ok(());
        }
        // ANCHOR_END: check_scale_range
        // ANCHOR: check_scale_gap
        let Some((source, gap)) = self.tightest_source() else {
            return Ok(());
        };
        let real_gap_ms = gap as f64 * time_scale;
        if real_gap_ms >= MIN_REAL_GAP_MS {
            return Ok(());
        }
        let problem = if gap == 0 {
            "the latency equals timeout_ms, so no time scale can tell them \
             apart"
                .to_string()
        } else {
            format!(
                "at time scale {time_scale}, its {} ms latency and the {} ms \
                 timeout are {} ms apart in real time, less than the \
                 {MIN_REAL_GAP_MS} ms a timer needs to tell them apart; the \
                 smallest time scale that works is {}",
                source.latency_ms,
                self.settings.timeout_ms,
                // Rounded down, so that a gap just under the margin never reads
                // as the margin.
                (real_gap_ms * 1000.0).floor() / 1000.0,
                smallest_scale_for(gap),
            )
        };
        Err(fail(Some(source_key(source, "latency_ms")), problem))
    }
    // ANCHOR_END: check_scale_gap
    // ANCHOR_END: check_time_scale

    /// The scenario as TOML text (the generator's output can be saved and
    /// edited this way).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serializes to TOML")
    }

    /// The TOML text of a scenario with one feed of `lines` lines (about nine
    /// bytes each: a million lines make about 9 MB), over eight known stations
    /// and one unknown, the same on every machine. It measures what a style
    /// holds per *record* (`rosetta bench --scenario`): a style that keeps a
    /// task, a future or an event per line needs memory in proportion to this
    /// file; one that enriches in two passes ([`crate::enrich`]) does not.
    pub fn long_feed_toml(lines: usize) -> String {
        use std::fmt::Write as _;
        const STATIONS: [&str; 9] = [
            "Oslo", "Bodo", "Alta", "Moss", "Vard", "Kirk", "Lier", "Voss",
            "Nope",
        ];
        let mut text = format!(
            "name = \"long-feed\"\nabout = \"One feed of {lines} lines: memory per record\"\n\
             [registry]\n"
        );
        for (index, station) in STATIONS[..8].iter().enumerate() {
            let region = if index % 2 == 0 { "north" } else { "west" };
            let _ = writeln!(text, "{station} = \"{region}\"");
        }
        text.push_str(
            "[[sources]]\nname = \"long\"\nlatency_ms = 100\nbody = \"\"\"\n",
        );
        text.reserve(lines * 10);
        for line in 0..lines {
            let station = STATIONS[(line * 7 + line / 9) % STATIONS.len()];
            let _ = writeln!(text, "{station};{}.{}", line % 40, line % 10);
        }
        text.push_str("\"\"\"\n");
        text
    }

    /// A generated scenario with `count` feeds, the same for the same `seed` on
    /// every machine.
    ///
    /// Used for scale runs (`rosetta bench`) and property tests. Latencies come
    /// from one fixed distribution (20 to 120 ms, below half the timeout),
    /// about one source in fifty is faulty, and about one line in forty is
    /// malformed or names an unknown station.
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
                        1 => format!("Atlantis;{}", rng.temperature()),
                        2 => format!("Oslo;{}", rng.below(1000)),
                        _ => {
                            let (station, _) = GENERATED_STATIONS[rng
                                .below(GENERATED_STATIONS.len() as u64)
                                as usize];
                            format!("{station};{}", rng.temperature())
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
    latency_ms.saturating_mul(2) >= timeout_ms
        && latency_ms <= timeout_ms.saturating_mul(2)
}

/// The bounds of a numeric key, inclusive: least, most, and the unit the most
/// is counted in.
fn bounds_of(field: &str) -> Option<(u64, u64, &'static str)> {
    Some(match field {
        "concurrency" => (1, MAX_CONCURRENCY as u64, " attempts in flight"),
        "workers" => (1, MAX_WORKERS as u64, " workers"),
        "channel_capacity" => {
            (1, MAX_CHANNEL_CAPACITY as u64, " records per queue")
        }
        "retries" => (0, u64::from(MAX_RETRIES), " retries"),
        "timeout_ms" | "latency_ms" => (0, MAX_WAIT_MS, " ms (an hour)"),
        "lookup_ms" => (0, MAX_LOOKUP_MS, " ms (a minute)"),
        _ => return None,
    })
}

/// What is wrong with `value` for the numeric key `field`, if it is out of
/// bounds.
fn out_of_bounds(field: &str, value: u64) -> Option<String> {
    let (least, most, unit) = bounds_of(field)?;
    if value < least {
        Some(format!("must be at least {least}"))
    } else if value > most {
        Some(format!(
            "{value} is more than the limit: at most {most}{unit}"
        ))
    } else {
        None
    }
}

/// The smallest time scale, with two significant digits, at which a scenario
/// gap of `gap_ms` (at least 1) is [`MIN_REAL_GAP_MS`] of real time.
fn smallest_scale_for(gap_ms: u64) -> f64 {
    let gap = gap_ms.max(1) as f64;
    let exact = MIN_REAL_GAP_MS / gap;
    // Two significant digits: `decimals` places after the point. `exact` is at
    // most 5, so there is always at least one.
    let decimals = 1 - exact.log10().floor() as i32;
    let unit = 10f64.powi(decimals);
    let mut tenths = (exact * unit - 1e-9).ceil();
    // `tenths / unit` is the nearest double to the decimal, so it prints as
    // written (`0.023`); step up if rounding left it a hair short.
    while gap * (tenths / unit) < MIN_REAL_GAP_MS {
        tenths += 1.0;
    }
    (tenths / unit).min(MAX_TIME_SCALE)
}

/// The 1-based line number of a byte offset in `text`: where a TOML error is,
/// for the one-line messages of scenario files and of the exercise runner's
/// `info.toml`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A TOML error as a [`ScenarioError`]: the file and line, the key when the
/// line names one, and the parser's message, made specific where the parser's
/// own is vague.
fn toml_error(text: &str, file: &str, err: &toml::de::Error) -> ScenarioError {
    let message = err.message().trim();
    let Some(span) = err.span() else {
        // The one error without a place: a dotted key longer than the parser's
        // recursion limit (80 parts). Find the line ourselves.
        let problem = if message == "recursion limit" {
            "a key is nested too deeply (a dotted key of 80 parts or more); a scenario needs at \
             most `settings.workers`"
                .to_string()
        } else {
            message.to_string()
        };
        let file = match deep_key_line(text) {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        };
        return ScenarioError {
            file,
            key: None,
            problem,
        };
    };
    // Point at the line, so that an editor can jump to it.
    let line = line_of(text, span.start);
    let spanned = text.get(span.clone()).unwrap_or("").trim();
    let (key, problem) = if message == "duplicate key" {
        // The span is the key (or the table header) written a second time.
        let name = spanned.trim_matches(|c| c == '[' || c == ']').trim();
        (
            None,
            format!("duplicate key `{name}`: it is already set above"),
        )
    } else {
        let key = key_before(text, span.start);
        let field = key
            .as_deref()
            .map(|key| key.rsplit('.').next().unwrap_or(key));
        // An integer too large (or negative) for the key's type never reaches
        // `validate`: the parser refuses it first, with "expected u32". Say it
        // the way `validate` would.
        let bounds = field.and_then(bounds_of);
        let problem = match (bounds, integer_out_of_type(message)) {
            (Some((least, most, unit)), Some(negative)) => {
                if negative {
                    format!("must be at least {least}")
                } else {
                    let value = spanned.replace('_', "");
                    format!(
                        "{value} is more than the limit: at most {most}{unit}"
                    )
                }
            }
            _ => message.to_string(),
        };
        let key = match key {
            Some(key) => Some(
                table_of(text, span.start)
                    .map_or(key.clone(), |table| format!("{table}.{key}")),
            ),
            // A value written as a table of its own (`[settings.workers]`): its
            // header names it.
            None => header_at(text, span.start),
        };
        (key, problem)
    };
    ScenarioError {
        file: format!("{file}:{line}"),
        key,
        problem,
    }
}

/// The key of a `key = value` line when `offset` lies in the value: for an
/// error about a value (`workers = "3"`), the key it belongs to.
fn key_before(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text
        .get(..offset)?
        .rfind('\n')
        .map_or(0, |newline| newline + 1);
    let (key, _) = text.get(start..offset)?.split_once('=')?;
    let key = key.trim();
    let plain =
        |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '"');
    (!key.is_empty() && key.len() <= 200 && key.chars().all(plain))
        .then(|| key.to_string())
}

/// The name in a `[table]` header, if the line at `offset` is one.
fn header_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text
        .get(..offset)?
        .rfind('\n')
        .map_or(0, |newline| newline + 1);
    let line = text[start..].lines().next()?.trim();
    let name = line.strip_prefix('[')?.trim_start_matches('[');
    let name = name.split(']').next()?.trim();
    (!name.is_empty() && name.len() <= 200).then(|| name.to_string())
}

/// For the parser's "invalid value: integer `N`, expected u32" (a number that
/// does not fit the key's type): `Some(true)` if the number is negative,
/// `Some(false)` if it is too large.
fn integer_out_of_type(message: &str) -> Option<bool> {
    let number = message.strip_prefix("invalid value: integer `")?;
    let (number, expected) = number.split_once('`')?;
    let unsigned = [", expected u32", ", expected u64", ", expected usize"];
    unsigned
        .contains(&expected)
        .then(|| number.starts_with('-'))
}

/// The table a line at `offset` belongs to, as an error's key names it:
/// `settings` for a line under `[settings]`, `sources["name"]` under
/// `[[sources]]` (by the source's `name`, when the table has one), `None` at
/// the top level.
fn table_of(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset.min(text.len()))?;
    let header_start = before
        .match_indices('\n')
        .map(|(at, _)| at + 1)
        .chain([0])
        .filter(|&start| text[start..].trim_start().starts_with('['))
        .max()?;
    let header_line = text[header_start..].lines().next()?.trim();
    if let Some(array) = header_line.strip_prefix("[[") {
        let array = array.split("]]").next()?.trim();
        // The table runs to the next header; find its `name = "..."` line and
        // read it with the TOML parser itself, so that escapes in the name are
        // read correctly.
        let body = &text
            [header_start + header_line.len().min(text.len() - header_start)..];
        let name = body
            .lines()
            .take_while(|line| !line.trim_start().starts_with('['))
            .filter(|line| line.trim_start().starts_with("name"))
            .find_map(|line| {
                let table: toml::Table = toml::from_str(line).ok()?;
                table.get("name")?.as_str().map(str::to_string)
            });
        return Some(match name {
            Some(name) => format!("{array}[{name:?}]"),
            None => array.to_string(),
        });
    }
    let table = header_line.strip_prefix('[')?.split(']').next()?.trim();
    Some(table.to_string())
}

/// The first line with a dotted key of 80 parts or more (the TOML parser's
/// recursion limit), counting the dots outside quotes before the `=` (or in a
/// `[table]` header).
fn deep_key_line(text: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let mut dots = 0;
            let mut quote = None;
            for c in line.chars() {
                match (quote, c) {
                    (None, '"' | '\'') => quote = Some(c),
                    (Some(open), _) if c == open => quote = None,
                    (None, '.') => dots += 1,
                    (None, '=' | '#') => break,
                    _ => {}
                }
            }
            dots >= 79
        })
        .map(|index| index + 1)
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

/// SplitMix64, written out here rather than taken from `rand`: generated
/// scenarios must be the same for the same seed forever (benchmarks and bug
/// reports quote them), and `rand` does not promise stable streams across
/// versions. Ten lines are a fair price for that.
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

    /// A temperature between -30.0 and 34.9 degrees. Written into a body with
    /// `Display`, the text the parser reads back to the same value
    /// (`crate::tenths` proves it).
    fn temperature(&mut self) -> Tenths {
        Tenths(self.below(650) as i32 - 300)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_starter_is_the_builtin_renamed_without_the_books_marks() {
        for name in Scenario::builtin_names() {
            let text = Scenario::starter_text(name).unwrap();
            assert!(!text.contains("ANCHOR"), "{name}");
            let starter = Scenario::from_toml(&text, "my.toml").unwrap();
            let builtin = Scenario::builtin(name).unwrap();
            assert_eq!(starter.name, format!("my-{name}"));
            assert_eq!(
                Scenario {
                    name: builtin.name.clone(),
                    ..starter
                },
                builtin
            );
        }
    }

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
        let err = error_of(
            "name = \"x\"\n[[sources]]\nname = \"a\"\nlatncy_ms = 3\n",
        );
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
            "bad.toml: `sources[\"a\"].name`: sources number 1 and 2 have the same name; names \
             must be unique"
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
            format!(
                "name = \"x\"\n[[sources]]\nname = \"a\"\nlatency_ms = {latency}\n"
            )
        };
        // timeout_ms defaults to 400: 200..=800 is ambiguous.
        for latency in [200, 400, 800] {
            let err = error_of(&source(latency));
            assert!(
                err.starts_with("bad.toml: `sources[\"a\"].latency_ms`: "),
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
        let err =
            Scenario::load(Path::new("/no/such/scenario.toml")).unwrap_err();
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

    /// Every setting above its bound is refused with its key, and the bound
    /// itself is accepted.
    #[test]
    fn settings_above_their_bounds_are_refused() {
        for (key, bound) in [
            ("concurrency", 100_000_u64),
            ("workers", 1_024),
            ("channel_capacity", 65_536),
            ("retries", 100),
            ("timeout_ms", 3_600_000),
            ("lookup_ms", 60_000),
        ] {
            let text = |value: u64| {
                format!("name = \"x\"\n[settings]\n{key} = {value}\n")
            };
            Scenario::from_toml(&text(bound), "ok.toml").unwrap();
            for value in [bound + 1, 1 << 63, u64::MAX >> 1] {
                let err = error_of(&text(value));
                // Refused by `validate`, or by the parser when the number does
                // not fit the key's type (`retries` is a u32): the same words
                // either way.
                assert!(
                    err.starts_with(&format!(
                        "bad.toml: `settings.{key}`: {value} is more"
                    )) || err.starts_with(&format!(
                        "bad.toml:3: `settings.{key}`: {value} is more"
                    )),
                    "{key} = {value}: {err}"
                );
                assert!(
                    err.contains(&format!("at most {bound}")),
                    "{key} = {value}: {err}"
                );
            }
            let err = error_of(&text(0).replace('0', "-1"));
            assert!(
                err.starts_with(&format!(
                    "bad.toml:3: `settings.{key}`: must be at least"
                )),
                "{key} = -1: {err}"
            );
        }
        let source = |latency: u64| {
            format!(
                "name = \"x\"\n[[sources]]\nname = \"far\"\nlatency_ms = {latency}\n"
            )
        };
        Scenario::from_toml(&source(3_600_000), "ok.toml").unwrap();
        let err = error_of(&source(3_600_001));
        assert_eq!(
            err,
            "bad.toml: `sources[\"far\"].latency_ms`: 3600001 is more than the limit: at most \
             3600000 ms (an hour)"
        );
    }

    #[test]
    fn a_source_is_named_by_its_name_not_its_index() {
        let err = error_of(
            "name = \"x\"\n[[sources]]\nname = \"slow\"\nlatency_ms = 300\n",
        );
        assert!(
            err.starts_with("bad.toml: `sources[\"slow\"].latency_ms`: "),
            "{err}"
        );
    }

    #[test]
    fn a_wrong_type_of_fault_lists_the_allowed_values() {
        let err = error_of(
            "name = \"x\"\n[[sources]]\nname = \"a\"\nlatency_ms = 1\nfault = 1\n",
        );
        assert!(
            err.starts_with("bad.toml:5: `sources[\"a\"].fault`: "),
            "{err}"
        );
        for allowed in ["`none`", "`first`", "`always`", "`hang`"] {
            assert!(err.contains(allowed), "{err}");
        }
    }

    #[test]
    fn a_too_deep_dotted_key_gets_a_line() {
        let err = error_of(&format!(
            "name = \"x\"\n\n{} = 1\n",
            ["a"; 200].join(".")
        ));
        assert!(err.starts_with("bad.toml:3: "), "{err}");
        assert!(err.contains("nested too deeply"), "{err}");
    }

    #[test]
    fn a_duplicate_key_is_named() {
        let err = error_of("name = \"x\"\nname = \"y\"\n");
        assert!(err.starts_with("bad.toml:2: "), "{err}");
        assert!(err.contains("duplicate key `name`"), "{err}");
        let err =
            error_of("name = \"x\"\n[settings]\nworkers = 1\nworkers = 2\n");
        assert!(err.contains("duplicate key `workers`"), "{err}");
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let err = error_of("name = \"x\"\n[settings]\nworkers = \"3\"\n");
        assert!(err.starts_with("bad.toml:3: `settings.workers`: "), "{err}");
    }

    #[test]
    fn control_characters_in_names_and_paths_stay_on_one_line() {
        let err = error_of(
            "name = \"x\"\n[[sources]]\nname = \"a\\nb\"\nlatency_ms = 1\n\
             [[sources]]\nname = \"a\\nb\"\nlatency_ms = 2\n",
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("a\\nb"), "{err}");
        let err = Scenario::load(Path::new("/no/such\ndir/scenario.toml"))
            .unwrap_err()
            .to_string();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("/no/such\\ndir/scenario.toml: "), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_regular_file_is_refused_before_reading() {
        // A device that never ends: reading it would grow without bound.
        let err = Scenario::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "/dev/zero: not a regular file");
        let err = Scenario::load(&std::env::temp_dir())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with(": not a regular file"), "{err}");
    }

    #[test]
    fn a_file_over_64_mib_is_refused() {
        let dir = std::env::temp_dir()
            .join(format!("rosetta-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.toml");
        // A sparse file: no disk space, no time.
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = Scenario::load(&path).unwrap_err().to_string();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            err.ends_with(
                ": the file is larger than 64 MiB, the limit for a scenario"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_latency_too_close_to_the_timeout_in_real_time_is_refused() {
        // 5 ms against a 2 ms timeout passes the ratio rule (5 > 2 * 2), but at
        // time scale 0.05 the two are 0.15 ms apart: timer noise would decide.
        let tight = Scenario::from_toml(
            "name = \"x\"\n[settings]\ntimeout_ms = 2\n[[sources]]\nname = \"far\"\n\
             latency_ms = 100\n[[sources]]\nname = \"near\"\nlatency_ms = 5\n",
            "tight.toml",
        )
        .unwrap();
        let err = tight
            .check_time_scale(0.05, "tight.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "tight.toml: `sources[\"near\"].latency_ms`: at time scale 0.05, its 5 ms latency \
             and the 2 ms timeout are 0.15 ms apart in real time, less than the 5 ms a timer \
             needs to tell them apart; the smallest time scale that works is 1.7"
        );
        assert_eq!(tight.min_time_scale(), 1.7);
        tight.check_time_scale(1.7, "tight.toml").unwrap();
        tight.check_time_scale(1.6, "tight.toml").unwrap_err();
        // Logical time waits for nothing: exempt.
        tight.check_time_scale(0.0, "tight.toml").unwrap();
        for scale in [-1.0, f64::NAN, f64::INFINITY, 1e308, 5e19] {
            let err = tight.check_time_scale(scale, "tight.toml").unwrap_err();
            assert!(err.to_string().contains("from 0 to 1000"), "{err}");
        }
    }

    #[test]
    fn the_smallest_working_time_scale_has_two_significant_digits() {
        // classroom: 180 ms against 400 ms is the tightest (220 ms apart): 5 /
        // 220 = 0.0227...
        assert_eq!(
            Scenario::builtin("classroom").unwrap().min_time_scale(),
            0.023
        );
        // faults: 40 ms against 100 ms (60 ms apart): 5 / 60 = 0.0833...
        assert_eq!(
            Scenario::builtin("faults").unwrap().min_time_scale(),
            0.084
        );
        for gap in [1, 2, 3, 7, 20, 60, 99, 220, 1000, 3_600_000] {
            let scale = smallest_scale_for(gap);
            assert!(gap as f64 * scale >= MIN_REAL_GAP_MS, "{gap}: {scale}");
            let text = scale.to_string();
            let digits = text.trim_start_matches(['0', '.']).replace('.', "");
            assert!(digits.len() <= 2, "{gap}: {text}");
        }
        assert_eq!(smallest_scale_for(20), 0.25);
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
