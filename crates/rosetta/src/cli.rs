//! The command line's arguments: what each command accepts, and the checks clap runs on each
//! value before any command starts. `main.rs` holds the command list itself; the bodies that act
//! on these arguments are in `commands/`.

use clap::{Args, Subcommand, ValueEnum};
use rosetta::network::Network;
use rosetta::{select, styles, view};
use rosetta_pipeline::run::MAX_TIME_SCALE;
use rosetta_pipeline::scenario::MAX_CONCURRENCY;
use rosetta_pipeline::{RunOptions, Scenario};

/// The most sources `--sources` and `bench --sizes` generate: ten times the largest bench
/// size, and well within memory.
pub(crate) const MAX_GENERATED_SOURCES: usize = 1_000_000;

/// The narrowest and widest terminal timeline (`trace --width`).
pub(crate) const TIMELINE_WIDTHS: std::ops::RangeInclusive<i64> = 40..=view::MAX_WIDTH as i64;

/// Which scenario to run, and how fast.
#[derive(Debug, Args)]
pub(crate) struct ScenarioArgs {
    /// A built-in scenario (`classroom`, `faults`) or a scenario file.
    #[arg(long, value_name = "NAME|FILE")]
    pub(crate) scenario: Option<String>,
    /// Generate a scenario with this many sources instead (at most 1,000,000).
    #[arg(long, value_name = "N", value_parser = source_count, allow_negative_numbers = true)]
    pub(crate) sources: Option<usize>,
    /// Seed of the generated scenario.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "sources")]
    pub(crate) seed: u64,
    /// Multiply every latency, timeout and lookup time by this (0.1 runs ten times faster; at
    /// most 1000). Each latency must stay at least 5 ms from the timeout after scaling.
    /// [default: 1; `compare --live` runs at 3 unless this is given].
    // `allow_hyphen_values`: without it, clap takes `-1` (or `-inf`) for an option and answers
    // with a tip about `-- -1` that does not work here; with it, the text reaches
    // `positive_scale`, which says what a time scale must be.
    #[arg(long, value_name = "X", value_parser = positive_scale, allow_hyphen_values = true)]
    pub(crate) time_scale: Option<f64>,
    /// Fetch attempts in flight at most, instead of the scenario's own `concurrency` (a
    /// generated scenario has 100). `bench` prints this flag in the command that reproduces a
    /// disagreement.
    #[arg(long, value_name = "C", value_parser = concurrency)]
    pub(crate) concurrency: Option<usize>,
    /// Where attempts get their answers: `tcp`, a real connection per attempt to a feed server
    /// on loopback (started in this process), or `sim`, a timer per attempt.
    #[arg(long, value_enum, default_value_t = TransportArg::Tcp)]
    pub(crate) transport: TransportArg,
    /// Fetch from the feed server already running at URL (`rosetta feeds serve`), with the
    /// scenario and time scale it serves.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with_all = ["scenario", "sources", "time_scale", "transport"]
    )]
    pub(crate) feeds: Option<String>,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TransportArg {
    /// Real TCP connections to a feed server on loopback.
    Tcp,
    /// Timers: no sockets, deterministic.
    Sim,
}

impl ScenarioArgs {
    /// The scenario to run and where its runs get their feeds, checked together: the time
    /// scale must keep every latency far enough from the timeout in real time (5 ms), so that
    /// no timer race decides an outcome. Every command that runs styles goes through here.
    pub(crate) fn prepare(&self, default_scale: f64) -> anyhow::Result<(Scenario, Network)> {
        if let Some(url) = &self.feeds {
            let (mut scenario, network) = Network::remote(url)?;
            if let Some(concurrency) = self.concurrency {
                scenario.settings.concurrency = concurrency;
            }
            scenario.check_time_scale(network.time_scale(), url)?;
            return Ok((scenario, network));
        }
        let mut scenario = select::scenario(self.scenario.as_deref(), self.sources, self.seed)?;
        if let Some(concurrency) = self.concurrency {
            scenario.settings.concurrency = concurrency;
        }
        let time_scale = self.time_scale.unwrap_or(default_scale);
        let origin = select::origin(self.scenario.as_deref(), self.sources, self.seed);
        scenario.check_time_scale(time_scale, &origin)?;
        let network = match self.transport {
            TransportArg::Sim => Network::sim(time_scale),
            TransportArg::Tcp => Network::local(&scenario, time_scale)
                .map_err(|error| anyhow::anyhow!("cannot start a feed server: {error}"))?,
        };
        Ok((scenario, network))
    }
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Run only these styles. The reference always runs first, to compare against: in the
    /// table if listed, otherwise unseen at time scale 0 (logical time, no waiting).
    #[arg(long = "style", value_name = "STYLE", value_parser = style_name)]
    pub(crate) styles: Vec<String>,
    /// Classroom mode: draw each style's lanes while it runs, at time scale 3 (three times
    /// slower) unless --time-scale is given. When standard output is not a terminal, prints the
    /// plain table instead and says so on stderr.
    #[arg(long)]
    pub(crate) live: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The style to run.
    #[arg(value_parser = style_name)]
    pub(crate) style: String,
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The style to trace; several run one after another on the same scenario, and their SVG
    /// timelines share one time axis (`trace callbacks node-callbacks --svg both.svg`).
    #[arg(value_parser = style_name, required = true, num_args = 1..)]
    pub(crate) styles: Vec<String>,
    #[command(flatten)]
    pub(crate) scenario: ScenarioArgs,
    /// Draw a timeline in the terminal (the default when no file is asked for).
    #[arg(long)]
    pub(crate) timeline: bool,
    /// Write the trace in the Chrome trace event format (open it in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    pub(crate) chrome: Option<std::path::PathBuf>,
    /// Write the timeline as a standalone SVG.
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<std::path::PathBuf>,
    /// Width of the terminal timeline, 40 to 1000 (default: $COLUMNS, or 100).
    #[arg(
        long,
        value_name = "COLUMNS",
        value_parser = clap::value_parser!(i64).range(TIMELINE_WIDTHS),
        allow_negative_numbers = true
    )]
    pub(crate) width: Option<i64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Numbers of sources, comma-separated [default: 10,100,1000,10000; with --tasks:
    /// 10000,100000].
    #[arg(long, value_delimiter = ',', value_parser = source_count, allow_negative_numbers = true)]
    pub(crate) sizes: Vec<usize>,
    /// Seed of the generated scenarios.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Fetch attempts in flight at most (1 to 100,000).
    #[arg(long, default_value_t = 100, conflicts_with = "tasks", value_parser = concurrency)]
    pub(crate) concurrency: usize,
    /// Task-scale run: every source in flight at once (concurrency = number of sources), to see
    /// how many sleeping fetches each style holds and what each costs in memory.
    #[arg(long)]
    pub(crate) tasks: bool,
    /// Bare sleeping tasks instead of the pipeline: N tasks (callbacks, threads) that each
    /// sleep 500 ms and do nothing else, per runtime, with the memory each costs.
    #[arg(long, conflicts_with_all = ["tasks", "svg", "styles"])]
    pub(crate) sleepers: bool,
    /// Multiply every latency by this (at most 1000; each latency must stay at least 5 ms from
    /// the timeout after scaling).
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1.0,
        value_parser = positive_scale,
        allow_hyphen_values = true
    )]
    pub(crate) time_scale: f64,
    /// Skip a style at a size when the model says it would need more than this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) budget: u64,
    /// Run only these styles.
    #[arg(long = "style", value_name = "STYLE", value_parser = style_name)]
    pub(crate) styles: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Table)]
    pub(crate) format: BenchFormat,
    /// Also draw ratio-to-ideal against the number of sources, as an SVG file.
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<std::path::PathBuf>,
    /// Instead of scale runs: each style's peak memory on this one scenario (a built-in name or
    /// a file, such as one feed of millions of lines), against the file's size, beside a
    /// process that only loads it.
    #[arg(long, value_name = "NAME|FILE", conflicts_with_all = ["sizes", "tasks", "sleepers", "svg"])]
    pub(crate) scenario: Option<String>,
    /// Where attempts get their answers: `tcp`, a feed server in this process (each style's
    /// measuring process holds only the clients), with a raw hyper baseline per size; or `sim`,
    /// timers.
    #[arg(long, value_enum, default_value_t = TransportArg::Tcp)]
    pub(crate) transport: TransportArg,
}

/// One measurement in a fresh process, for `bench` (hidden: not for people).
#[derive(Debug, Args)]
pub(crate) struct BenchOneArgs {
    #[arg(value_parser = style_name, required_unless_present_any = ["load_only", "raw"])]
    pub(crate) style: Option<String>,
    #[arg(long, value_parser = source_count, required_unless_present = "scenario")]
    pub(crate) sources: Option<usize>,
    /// A scenario by name or file, instead of a generated one (`bench --scenario`).
    #[arg(long, conflicts_with = "sources")]
    pub(crate) scenario: Option<String>,
    /// Only load the scenario and compute its model (the floor of `bench --scenario`).
    #[arg(long, requires = "scenario", conflicts_with = "style")]
    pub(crate) load_only: bool,
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    #[arg(long, value_parser = concurrency)]
    pub(crate) concurrency: Option<usize>,
    #[arg(long, value_parser = positive_scale, allow_hyphen_values = true)]
    pub(crate) time_scale: f64,
    /// The raw baseline instead of a style.
    #[arg(long, conflicts_with_all = ["style", "load_only"])]
    pub(crate) raw: bool,
    /// On tcp: the feed server's address and the run id to fetch (the bench hosts the run).
    #[arg(long, requires = "feeds_run")]
    pub(crate) feeds_addr: Option<std::net::SocketAddr>,
    #[arg(long, requires = "feeds_addr")]
    pub(crate) feeds_run: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FeedsCommand {
    /// Serve a scenario's feeds over HTTP on loopback until Ctrl-C (explore them with curl, or
    /// point `compare --feeds URL` at it).
    Serve {
        /// A built-in scenario (`classroom`, `faults`) or a scenario file [default: classroom].
        #[arg(long, value_name = "NAME|FILE")]
        scenario: Option<String>,
        /// Where to listen: loopback only (127.0.0.1 or [::1]); port 0 picks a free one.
        #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7878")]
        addr: std::net::SocketAddr,
        /// Multiply every latency by this (at most 1000).
        #[arg(
            long,
            value_name = "X",
            default_value_t = 1.0,
            value_parser = positive_scale,
            allow_hyphen_values = true
        )]
        time_scale: f64,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScenarioCommand {
    /// List the built-in scenarios.
    List,
    /// Print a built-in scenario's TOML as a starting point for your own (named `my-NAME`).
    Show {
        /// A built-in scenario name.
        name: String,
    },
    /// Check a scenario file and summarise it, or say exactly what is wrong with it.
    Check {
        /// The scenario file.
        file: std::path::PathBuf,
    },
    /// Print a scenario of one feed of N lines, for `bench --scenario` (memory per record).
    LongFeed {
        /// Lines in the feed (about nine bytes each), at most 7,000,000 (a 64 MiB file).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=7_000_000))]
        lines: u64,
    },
}

/// `--time-scale`: more than 0 (time scale 0, logical time, is for tests: the concurrent
/// styles would race zero-length timers) and at most [`MAX_TIME_SCALE`] (so that no scaled
/// wait overflows a `Duration`). Whether the scale suits the scenario is checked once the
/// scenario is known ([`ScenarioArgs::prepare`]).
pub(crate) fn positive_scale(text: &str) -> Result<f64, String> {
    let scale: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if scale > 0.0 && RunOptions::checked(scale).is_ok() {
        Ok(scale)
    } else {
        Err(format!(
            "the time scale must be more than 0 and at most {MAX_TIME_SCALE}, not {text}"
        ))
    }
}

/// A count of generated sources: at most [`MAX_GENERATED_SOURCES`].
pub(crate) fn source_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if count <= MAX_GENERATED_SOURCES => Ok(count),
        _ => Err(format!(
            "`{text}` is not a number of sources from 0 to {MAX_GENERATED_SOURCES}"
        )),
    }
}

/// `--concurrency`: the bounds of the scenario format, 1 to [`MAX_CONCURRENCY`].
pub(crate) fn concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if (1..=MAX_CONCURRENCY).contains(&count) => Ok(count),
        _ => Err(format!(
            "`{text}` is not a concurrency from 1 to {MAX_CONCURRENCY}"
        )),
    }
}

pub(crate) fn style_name(text: &str) -> Result<String, String> {
    match styles::find(text) {
        Some(style) => Ok(style.name.to_string()),
        None => Err(format!(
            "no style `{text}` (styles: {})",
            styles::names().join(", ")
        )),
    }
}

/// The styles `names` ask for, in registry order; all of them if none is named. On `sim`
/// (`tcp` false) "all" is the Rust styles, and naming a style in another language is an error
/// (it fetches from a feed server).
pub(crate) fn chosen(names: &[String], tcp: bool) -> anyhow::Result<Vec<&'static styles::Style>> {
    if names.is_empty() {
        return Ok(if tcp {
            styles::every().collect()
        } else {
            styles::ALL.iter().collect()
        });
    }
    let chosen: Vec<_> = styles::every()
        .filter(|style| names.iter().any(|name| name == style.name))
        .collect();
    if !tcp && let Some(why) = chosen.iter().find_map(|style| style.needs_tcp()) {
        anyhow::bail!(why);
    }
    Ok(chosen)
}
