//! `rosetta`: one data pipeline, every async style Rust can express, side by side.
//!
//! This file parses the command line and prints; the work is in the library (`src/lib.rs`), so
//! that the tests call exactly what the command runs. Run `rosetta --help` for the commands.
//!
//! Bad input of any kind (an argument, a scenario file, a time scale) ends with one line on
//! stderr, `rosetta: ...`, and exit code 2; a closed stdout (`rosetta compare | head -1`) ends
//! the command quietly. See [`main`] for both.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand, ValueEnum};
use rosetta::{bench, compare, live, select, styles, view};
use rosetta_pipeline::run::MAX_TIME_SCALE;
use rosetta_pipeline::scenario::{MAX_CONCURRENCY, one_line};
use rosetta_pipeline::{RunOptions, Scenario, model};

/// The most sources `--sources` and `bench --sizes` generate: ten times the largest bench
/// size, and well within memory.
const MAX_GENERATED_SOURCES: usize = 1_000_000;

/// The narrowest and widest terminal timeline (`trace --width`).
const TIMELINE_WIDTHS: std::ops::RangeInclusive<i64> = 40..=view::MAX_WIDTH as i64;

/// The exit code of a command whose stdout was closed before it finished: 128 + SIGPIPE (13),
/// what a shell reports for a C program that the signal ended (`yes | head -1`).
const BROKEN_PIPE_EXIT: u8 = 141;

/// One data pipeline, written in every async style Rust can express, side by side.
///
/// With no command, runs `compare` on the built-in `classroom` scenario.
#[derive(Debug, Parser)]
#[command(
    name = "rosetta",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no command: the options of `compare`.
    #[command(flatten)]
    compare: CompareArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every style on one scenario and show that their reports agree.
    Compare(CompareArgs),
    /// Run one style and print its report.
    Run(RunArgs),
    /// Scale runs of the generated scenario against the model's ideal time.
    Bench(BenchArgs),
    /// Run one style and draw what it did: a terminal timeline, a Chrome trace, an SVG.
    Trace(TraceArgs),
    /// One measurement of `bench`, in a process of its own.
    #[command(hide = true)]
    BenchOne(BenchOneArgs),
    /// One measurement of `bench --sleepers`, in a process of its own.
    #[command(hide = true)]
    BenchSleepersOne {
        /// The kind of sleeper.
        kind: String,
        /// How many.
        count: usize,
    },
    /// The exercises: list, check, hint, watch, reset.
    Learn(rosetta::learn::LearnArgs),
    /// List, show or check scenario files.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
}

/// Which scenario to run, and how fast.
#[derive(Debug, Args)]
struct ScenarioArgs {
    /// A built-in scenario (`classroom`, `faults`) or a scenario file.
    #[arg(long, value_name = "NAME|FILE")]
    scenario: Option<String>,
    /// Generate a scenario with this many sources instead (at most 1,000,000).
    #[arg(long, value_name = "N", value_parser = source_count, allow_negative_numbers = true)]
    sources: Option<usize>,
    /// Seed of the generated scenario.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "sources")]
    seed: u64,
    /// Multiply every latency, timeout and lookup time by this (0.1 runs ten times faster; at
    /// most 1000). Each latency must stay at least 5 ms from the timeout after scaling.
    /// [default: 1; `compare --live` runs at 3 unless this is given].
    // `allow_hyphen_values`: without it, clap takes `-1` (or `-inf`) for an option and answers
    // with a tip about `-- -1` that does not work here; with it, the text reaches
    // `positive_scale`, which says what a time scale must be.
    #[arg(long, value_name = "X", value_parser = positive_scale, allow_hyphen_values = true)]
    time_scale: Option<f64>,
    /// Fetch attempts in flight at most, instead of the scenario's own `concurrency` (a
    /// generated scenario has 100). `bench` prints this flag in the command that reproduces a
    /// disagreement.
    #[arg(long, value_name = "C", value_parser = concurrency)]
    concurrency: Option<usize>,
}

impl ScenarioArgs {
    /// The scenario to run and the options to run it with, checked together: the time scale
    /// must keep every latency far enough from the timeout in real time (5 ms), so that no
    /// timer race decides an outcome. Every command that runs styles goes through here.
    fn prepare(&self, default_scale: f64) -> anyhow::Result<(Scenario, RunOptions)> {
        let mut scenario = select::scenario(self.scenario.as_deref(), self.sources, self.seed)?;
        if let Some(concurrency) = self.concurrency {
            scenario.settings.concurrency = concurrency;
        }
        let opts = RunOptions::with_time_scale(self.time_scale.unwrap_or(default_scale));
        let origin = select::origin(self.scenario.as_deref(), self.sources, self.seed);
        scenario.check_time_scale(opts.time_scale, &origin)?;
        Ok((scenario, opts))
    }
}

#[derive(Debug, Args)]
struct CompareArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Run only these styles. The reference always runs first, to compare against: in the
    /// table if listed, otherwise unseen at time scale 0 (logical time, no waiting).
    #[arg(long = "style", value_name = "STYLE", value_parser = style_name)]
    styles: Vec<String>,
    /// Classroom mode: draw each style's lanes while it runs, at time scale 3 (three times
    /// slower) unless --time-scale is given. When standard output is not a terminal, prints the
    /// plain table instead and says so on stderr.
    #[arg(long)]
    live: bool,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The style to run.
    #[arg(value_parser = style_name)]
    style: String,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Args)]
struct TraceArgs {
    /// The style to trace.
    #[arg(value_parser = style_name)]
    style: String,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Draw a timeline in the terminal (the default when no file is asked for).
    #[arg(long)]
    timeline: bool,
    /// Write the trace in the Chrome trace event format (open it in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    chrome: Option<std::path::PathBuf>,
    /// Write the timeline as a standalone SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// Width of the terminal timeline, 40 to 1000 (default: $COLUMNS, or 100).
    #[arg(
        long,
        value_name = "COLUMNS",
        value_parser = clap::value_parser!(i64).range(TIMELINE_WIDTHS),
        allow_negative_numbers = true
    )]
    width: Option<i64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BenchFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Numbers of sources, comma-separated [default: 10,100,1000,10000; with --tasks:
    /// 10000,100000].
    #[arg(long, value_delimiter = ',', value_parser = source_count, allow_negative_numbers = true)]
    sizes: Vec<usize>,
    /// Seed of the generated scenarios.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fetch attempts in flight at most (1 to 100,000).
    #[arg(long, default_value_t = 100, conflicts_with = "tasks", value_parser = concurrency)]
    concurrency: usize,
    /// Task-scale run: every source in flight at once (concurrency = number of sources), to see
    /// how many sleeping fetches each style holds and what each costs in memory.
    #[arg(long)]
    tasks: bool,
    /// Bare sleeping tasks instead of the pipeline: N tasks (callbacks, threads) that each
    /// sleep 500 ms and do nothing else, per runtime, with the memory each costs.
    #[arg(long, conflicts_with_all = ["tasks", "svg", "styles"])]
    sleepers: bool,
    /// Multiply every latency by this (at most 1000; each latency must stay at least 5 ms from
    /// the timeout after scaling).
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1.0,
        value_parser = positive_scale,
        allow_hyphen_values = true
    )]
    time_scale: f64,
    /// Skip a style at a size when the model says it would need more than this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    budget: u64,
    /// Run only these styles.
    #[arg(long = "style", value_name = "STYLE", value_parser = style_name)]
    styles: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = BenchFormat::Table)]
    format: BenchFormat,
    /// Also draw ratio-to-ideal against the number of sources, as an SVG file.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
    /// Instead of scale runs: each style's peak memory on this one scenario (a built-in name or
    /// a file, such as one feed of millions of lines), against the file's size, beside a
    /// process that only loads it.
    #[arg(long, value_name = "NAME|FILE", conflicts_with_all = ["sizes", "tasks", "sleepers", "svg"])]
    scenario: Option<String>,
}

/// One measurement in a fresh process, for `bench` (hidden: not for people).
#[derive(Debug, Args)]
struct BenchOneArgs {
    #[arg(value_parser = style_name, required_unless_present = "load_only")]
    style: Option<String>,
    #[arg(long, value_parser = source_count, required_unless_present = "scenario")]
    sources: Option<usize>,
    /// A scenario by name or file, instead of a generated one (`bench --scenario`).
    #[arg(long, conflicts_with = "sources")]
    scenario: Option<String>,
    /// Only load the scenario and compute its model (the floor of `bench --scenario`).
    #[arg(long, requires = "scenario", conflicts_with = "style")]
    load_only: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_parser = concurrency)]
    concurrency: Option<usize>,
    #[arg(long, value_parser = positive_scale, allow_hyphen_values = true)]
    time_scale: f64,
}

#[derive(Debug, Subcommand)]
enum ScenarioCommand {
    /// List the built-in scenarios.
    List,
    /// Print a built-in scenario's TOML (a starting point for your own).
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
fn positive_scale(text: &str) -> Result<f64, String> {
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
fn source_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if count <= MAX_GENERATED_SOURCES => Ok(count),
        _ => Err(format!(
            "`{text}` is not a number of sources from 0 to {MAX_GENERATED_SOURCES}"
        )),
    }
}

/// `--concurrency`: the bounds of the scenario format, 1 to [`MAX_CONCURRENCY`].
fn concurrency(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(count) if (1..=MAX_CONCURRENCY).contains(&count) => Ok(count),
        _ => Err(format!(
            "`{text}` is not a concurrency from 1 to {MAX_CONCURRENCY}"
        )),
    }
}

fn style_name(text: &str) -> Result<String, String> {
    match styles::find(text) {
        Some(style) => Ok(style.name.to_string()),
        None => Err(format!(
            "no style `{text}` (styles: {})",
            styles::names().join(", ")
        )),
    }
}

fn chosen(names: &[String]) -> Vec<&'static styles::Style> {
    if names.is_empty() {
        styles::ALL.iter().collect()
    } else {
        styles::ALL
            .iter()
            .filter(|style| names.iter().any(|name| name == style.name))
            .collect()
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_error(&error),
    };
    let command = cli.command.unwrap_or(Command::Compare(cli.compare));
    // Everything a command prints goes through this one locked handle, with `writeln!` and `?`,
    // never `println!`: `println!` panics when stdout is closed (`rosetta scenario list |
    // head -1` exited 101 with "failed printing to stdout"), while `writeln!` returns the
    // error, which ends the command below like any other.
    //
    // The C way is to let SIGPIPE kill the process, which Rust's runtime prevents by ignoring
    // that signal at start-up; restoring it takes `libc::signal`, an `unsafe` call this
    // workspace forbids (`unsafe_code = "forbid"`). The error path is the idiomatic safe one.
    let mut out = io::stdout().lock();
    let result = match command {
        Command::Compare(args) => run_compare(&args, &mut out),
        Command::Run(args) => run_one(&args, &mut out),
        Command::Bench(args) => run_bench(&args, &mut out),
        Command::BenchOne(args) => run_bench_one(&args, &mut out),
        Command::BenchSleepersOne { kind, count } => run_sleepers_one(&kind, count, &mut out),
        Command::Trace(args) => run_trace(&args, &mut out),
        Command::Learn(args) => rosetta::learn::run(&args),
        Command::Scenario(command) => run_scenario(&command, &mut out),
    };
    let result = result.and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        // The reader went away (`| head -1`): nobody is left to tell, so say nothing, and exit
        // as a C tool ended by SIGPIPE would, so that a shell's `pipefail` still sees it.
        Err(error) if is_broken_pipe(&error) => ExitCode::from(BROKEN_PIPE_EXIT),
        Err(error) => {
            // One line, no backtrace: the chain of causes joined, most general first, with any
            // newline from the input (a path, a source name) escaped so it stays one line.
            // `writeln!` rather than `eprintln!`, which would panic if stderr were closed too.
            let _ = writeln!(io::stderr(), "rosetta: {}", one_line(&format!("{error:#}")));
            ExitCode::from(2)
        }
    }
}

/// True if `error` (or one of its causes) is a write to a closed pipe.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// A command line clap cannot parse, as one line and exit code 2 like every other bad input.
/// Help and version requests are printed in full, as clap prints them.
///
/// clap's own report is several lines (the error, a usage line, a pointer to `--help`); the
/// error and its tips are kept, joined on one line, and the rest left to `--help`.
fn clap_error(error: &clap::Error) -> ExitCode {
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Printing help to a closed pipe is not worth a panic either.
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    let rendered = error.render().to_string();
    let mut line = String::new();
    // A usage block runs from `Usage:` to the next empty line (it may list several forms).
    let mut in_usage = false;
    for part in rendered.lines().map(str::trim) {
        in_usage = part.starts_with("Usage:") || (in_usage && !part.is_empty());
        if part.is_empty() || in_usage || part.starts_with("For more information") {
            continue;
        }
        let part = part.strip_prefix("error: ").unwrap_or(part);
        if !line.is_empty() {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(part);
    }
    let _ = writeln!(io::stderr(), "rosetta: {} (see --help)", one_line(&line));
    ExitCode::from(2)
}

fn run_compare(args: &CompareArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (live, fallback) = live::decide(args.live, std::io::stdout().is_terminal());
    if let Some(notice) = fallback {
        eprintln!("{notice}");
    }
    let (scenario, opts) = args.scenario.prepare(if live { 3.0 } else { 1.0 })?;
    let chosen = chosen(&args.styles);
    writeln!(
        out,
        "Running {} style(s) on `{}` ({} sources, concurrency {}, time scale {}):\n",
        chosen.len(),
        scenario.name,
        scenario.sources.len(),
        scenario.settings.concurrency,
        opts.time_scale
    )?;
    let comparison = if live {
        let options = live::LiveOptions {
            size: live::terminal_size(),
            colour: std::env::var_os("NO_COLOR").is_none(),
            frame: Duration::from_millis(100),
        };
        live::compare_live(&scenario, &opts, &chosen, options, out)
    } else {
        compare::compare(&scenario, &opts, &chosen)
    };
    let width = std::io::stdout()
        .is_terminal()
        .then(|| live::terminal_size().0);
    write!(out, "{}", compare::render_table(&comparison, width))?;
    write!(out, "\n{}", compare::render_notes(&comparison, width))?;
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
        writeln!(
            out,
            "Next steps:\n\
             \x20 rosetta trace callbacks            what one style did, as a timeline\n\
             \x20 rosetta compare --live             the same, drawn while it runs (class)\n\
             \x20 rosetta compare --scenario faults  every fault and rejection reason\n\
             \x20 rosetta run STYLE --format json    one style's report as JSON\n\
             \x20 rosetta scenario show classroom    this scenario's file, to copy and edit\n\
             \x20 rosetta bench                      scale runs against the ideal time\n\
             Styles: {}.",
            styles::names().join(", ")
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(out, "Some styles disagree with the reference: see above.")?;
        Ok(ExitCode::FAILURE)
    }
}

fn run_one(args: &RunArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (scenario, opts) = args.scenario.prepare(1.0)?;
    let style = styles::find(&args.style).context("the style name was checked by the parser")?;
    let outcome = style.run_traced(&scenario, &opts);
    let report = outcome
        .report
        .with_context(|| format!("the {} style could not finish", style.name))?;
    match args.format {
        Format::Text => write!(out, "{report}")?,
        Format::Json => writeln!(out, "{}", report.to_json())?,
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bench(args: &BenchArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let sizes = match (&args.sizes[..], args.tasks || args.sleepers) {
        ([], false) => vec![10, 100, 1_000, 10_000],
        ([], true) => vec![10_000, 100_000],
        (sizes, _) => sizes.to_vec(),
    };
    if sizes.contains(&0) {
        bail!("--sizes needs positive numbers of sources");
    }
    if args.sleepers {
        return run_sleepers(&sizes, args.format, out);
    }
    if let Some(name) = &args.scenario {
        return run_memory(name, args, out);
    }
    if args.tasks && sizes.iter().any(|&size| size > MAX_CONCURRENCY) {
        bail!(
            "--tasks puts every source in flight at once: --sizes must be at most {MAX_CONCURRENCY}"
        );
    }
    let spec = bench::BenchSpec {
        sizes,
        seed: args.seed,
        concurrency: (!args.tasks).then_some(args.concurrency),
        time_scale: args.time_scale,
        budget: Duration::from_secs(args.budget),
        child: Some(std::env::current_exe().context("cannot find the rosetta executable")?),
    };
    // Every size's scenario must suit the time scale before anything runs (a bench can take
    // minutes; a refusal after the first rows would waste them).
    for &size in &spec.sizes {
        bench::scenario(size, spec.seed, spec.concurrency).check_time_scale(
            spec.time_scale,
            &select::origin(None, Some(size), spec.seed),
        )?;
    }
    let chosen = chosen(&args.styles);
    let table = args.format == BenchFormat::Table;
    let concurrency = match spec.concurrency {
        Some(concurrency) => format!("concurrency {concurrency}"),
        None => "every source in flight at once".to_string(),
    };
    let description = format!(
        "generated scenario, seed {}, {concurrency}, time scale {}",
        spec.seed, spec.time_scale
    );
    if table {
        writeln!(
            out,
            "Bench: {description}. Each run in a process of its own; ideal = the model's limit \
             (the sequential time for the reference).\n"
        )?;
        writeln!(out, "{}", bench::render_header())?;
        out.flush()?;
    }
    // The table is printed row by row as runs finish; JSON and CSV in one piece at the end. A
    // row that cannot be written (stdout closed) is kept as the error to end with.
    let mut written: io::Result<()> = Ok(());
    let rows = bench::run(&spec, &chosen, |row| {
        if table && written.is_ok() {
            written = writeln!(out, "{}", bench::render_row(row)).and_then(|()| out.flush());
        }
    });
    written?;
    match args.format {
        BenchFormat::Table => {}
        BenchFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        BenchFormat::Csv => write!(out, "{}", bench::render_csv(&rows))?,
    }
    if let Some(path) = &args.svg {
        let caption = format!("rosetta bench ({description}) on {}", machine());
        std::fs::write(path, bench::render_svg(&rows, &caption))
            .with_context(|| format!("cannot write {}", path.display()))?;
        if table {
            writeln!(out, "\nwrote {}", path.display())?;
        }
    }
    let broken = rows
        .iter()
        .any(|row| matches!(row.status.as_str(), "differs" | "failed"));
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `bench --scenario FILE`: peak memory per style on one scenario (see `rosetta::memory`).
fn run_memory(name: &str, args: &BenchArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if args.format != BenchFormat::Table {
        bail!("--scenario prints a table (--format table)");
    }
    let exe = std::env::current_exe().context("cannot find the rosetta executable")?;
    let input = rosetta::memory::input_bytes(name).map_or_else(
        || "size unknown".to_string(),
        |bytes| format!("{:.1} MiB", bytes as f64 / 1048576.0),
    );
    writeln!(
        out,
        "Peak memory on `{name}` ({input}), time scale {}; each run in a process of its own. \
         × input = peak resident memory / scenario size.\n",
        args.time_scale
    )?;
    writeln!(out, "{}", rosetta::memory::render_header())?;
    out.flush()?;
    let mut written: io::Result<()> = Ok(());
    let chosen = chosen(&args.styles);
    let rows = rosetta::memory::run(Some(&exe), name, &chosen, args.time_scale, |row| {
        if written.is_ok() {
            written =
                writeln!(out, "{}", rosetta::memory::render_row(row)).and_then(|()| out.flush());
        }
    })?;
    written?;
    let broken = rows
        .iter()
        .any(|row| matches!(row.row.status.as_str(), "differs" | "failed"));
    Ok(if broken {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn run_sleepers(
    sizes: &[usize],
    format: BenchFormat,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the rosetta executable")?;
    let table = format == BenchFormat::Table;
    if table {
        writeln!(
            out,
            "Bare sleepers: each waits {} ms and does nothing else; each count in a process of \
             its own.\n",
            rosetta::sleepers::WAIT.as_millis()
        )?;
        writeln!(out, "{}", rosetta::sleepers::render_header())?;
    }
    let mut written: io::Result<()> = Ok(());
    let rows = rosetta::sleepers::run(&exe, sizes, |row| {
        if table && written.is_ok() {
            written =
                writeln!(out, "{}", rosetta::sleepers::render_row(row)).and_then(|()| out.flush());
        }
    });
    written?;
    match format {
        BenchFormat::Table => {}
        BenchFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        BenchFormat::Csv => bail!("--sleepers prints a table or JSON (--format table|json)"),
    }
    let failed = rows.iter().any(|row| row.status == "failed");
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn run_sleepers_one(kind: &str, count: usize, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let row = rosetta::sleepers::measure(kind, count)?;
    writeln!(out, "{}", serde_json::to_string(&row)?)?;
    Ok(ExitCode::SUCCESS)
}

fn run_bench_one(args: &BenchOneArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if let (true, Some(name)) = (args.load_only, &args.scenario) {
        let row = rosetta::memory::measure_loading(name)?;
        let child = bench::ChildOutput { row, report: None };
        writeln!(out, "{}", serde_json::to_string(&child)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let name = args
        .style
        .as_deref()
        .context("clap requires a style here")?;
    let style = styles::find(name).context("the style name was checked by the parser")?;
    let scenario = match (&args.scenario, args.sources) {
        (Some(name), _) => select::scenario(Some(name), None, 0)?,
        (None, Some(sources)) => bench::scenario(sources, args.seed, args.concurrency),
        (None, None) => bail!("clap requires --sources or --scenario"),
    };
    let origin = select::origin(args.scenario.as_deref(), args.sources, args.seed);
    scenario.check_time_scale(args.time_scale, &origin)?;
    let (row, report) = bench::measure(
        style,
        &scenario,
        &RunOptions::with_time_scale(args.time_scale),
    );
    writeln!(
        out,
        "{}",
        serde_json::to_string(&bench::ChildOutput { row, report })?
    )?;
    Ok(ExitCode::SUCCESS)
}

/// The machine a figure was made on: cores and CPU model (Linux), for captions.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{cores} cores, {model}")
}

fn run_trace(args: &TraceArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let (scenario, opts) = args.scenario.prepare(1.0)?;
    let style = styles::find(&args.style).context("the style name was checked by the parser")?;
    let outcome = style.run_traced(&scenario, &opts);
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
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
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

fn run_scenario(command: &ScenarioCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
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
        ScenarioCommand::Show { name } => match Scenario::builtin_text(name) {
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
