//! `rosetta`: one data pipeline, every async style Rust can express, side by side.
//!
//! This file parses the command line and prints; the work is in the library (`src/lib.rs`), so
//! that the tests call exactly what the command runs. Run `rosetta --help` for the commands.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use rosetta::{bench, compare, live, select, styles, view};
use rosetta_pipeline::{RunOptions, Scenario};

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
    /// Generate a scenario with this many sources instead.
    #[arg(long, value_name = "N")]
    sources: Option<usize>,
    /// Seed of the generated scenario.
    #[arg(long, value_name = "S", default_value_t = 1, requires = "sources")]
    seed: u64,
    /// Multiply every latency, timeout and lookup time by this (0.1 runs ten times faster)
    /// [default: 1, or 3 with --live].
    #[arg(long, value_name = "X", value_parser = positive_scale)]
    time_scale: Option<f64>,
}

impl ScenarioArgs {
    fn scenario(&self) -> anyhow::Result<Scenario> {
        select::scenario(self.scenario.as_deref(), self.sources, self.seed)
    }

    fn options(&self) -> RunOptions {
        RunOptions::with_time_scale(self.time_scale.unwrap_or(1.0))
    }
}

#[derive(Debug, Args)]
struct CompareArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Run only these styles (the reference always runs, to compare against).
    #[arg(long = "style", value_name = "STYLE", value_parser = style_name)]
    styles: Vec<String>,
    /// Classroom mode: draw each style's lanes while it runs, three times slower (unless
    /// --time-scale says otherwise). Falls back to the plain table when not on a terminal.
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
    /// Width of the terminal timeline (default: $COLUMNS, or 100).
    #[arg(long, value_name = "COLUMNS")]
    width: Option<usize>,
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
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Seed of the generated scenarios.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fetch attempts in flight at most.
    #[arg(long, default_value_t = 100, conflicts_with = "tasks")]
    concurrency: usize,
    /// Task-scale run: every source in flight at once (concurrency = number of sources), to see
    /// how many sleeping fetches each style holds and what each costs in memory.
    #[arg(long)]
    tasks: bool,
    /// Bare sleeping tasks instead of the pipeline: N tasks (callbacks, threads) that each
    /// sleep 500 ms and do nothing else, per runtime, with the memory each costs.
    #[arg(long, conflicts_with_all = ["tasks", "svg", "styles"])]
    sleepers: bool,
    /// Multiply every latency by this.
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = positive_scale)]
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
}

/// One measurement in a fresh process, for `bench` (hidden: not for people).
#[derive(Debug, Args)]
struct BenchOneArgs {
    #[arg(value_parser = style_name)]
    style: String,
    #[arg(long)]
    sources: usize,
    #[arg(long)]
    seed: u64,
    #[arg(long)]
    concurrency: Option<usize>,
    #[arg(long, value_parser = positive_scale)]
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
}

fn positive_scale(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(scale) if scale.is_finite() && scale > 0.0 => Ok(scale),
        _ => Err(format!("`{text}` is not a positive number")),
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
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Compare(cli.compare));
    let result = match command {
        Command::Compare(args) => run_compare(&args),
        Command::Run(args) => run_one(&args),
        Command::Bench(args) => run_bench(&args),
        Command::BenchOne(args) => run_bench_one(&args),
        Command::BenchSleepersOne { kind, count } => run_sleepers_one(&kind, count),
        Command::Trace(args) => run_trace(&args),
        Command::Learn(args) => rosetta::learn::run(&args),
        Command::Scenario(command) => run_scenario(&command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line, no backtrace: the chain of causes joined, most general first.
            eprintln!("rosetta: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run_compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.scenario.scenario()?;
    let live = args.live && std::io::stdout().is_terminal();
    let opts = match args.scenario.time_scale {
        None if live => RunOptions::with_time_scale(3.0),
        _ => args.scenario.options(),
    };
    let chosen = chosen(&args.styles);
    println!(
        "Running {} style(s) on `{}` ({} sources, concurrency {}, time scale {}):\n",
        chosen.len(),
        scenario.name,
        scenario.sources.len(),
        scenario.settings.concurrency,
        opts.time_scale
    );
    let comparison = if live {
        let options = live::LiveOptions {
            size: live::terminal_size(),
            colour: std::env::var_os("NO_COLOR").is_none(),
            frame: Duration::from_millis(100),
        };
        live::compare_live(
            &scenario,
            &opts,
            &chosen,
            options,
            &mut std::io::stdout().lock(),
        )
    } else {
        compare::compare(&scenario, &opts, &chosen)
    };
    let width = std::io::stdout()
        .is_terminal()
        .then(|| live::terminal_size().0);
    print!("{}", compare::render_table(&comparison, width));
    println!(
        "\nideal ms: the model's limit with zero overhead; ratio = wall / ideal.\n\
         The reference is sequential: its ratio is about the concurrency ({}).",
        scenario.settings.concurrency
    );
    let disagreements = compare::render_disagreements(&comparison);
    if !disagreements.is_empty() {
        println!("\n{disagreements}");
    }
    if let Some(report) = &comparison.reference_text {
        println!("\nThe report (identical for every style marked ✓):\n\n{report}");
    }
    if comparison.all_agree() {
        println!(
            "Next steps:\n\
             \x20 rosetta trace callbacks            what one style did, as a timeline\n\
             \x20 rosetta compare --live             the same, drawn while it runs (class)\n\
             \x20 rosetta compare --scenario faults  every fault and rejection reason\n\
             \x20 rosetta run STYLE --format json    one style's report as JSON\n\
             \x20 rosetta scenario show classroom    this scenario's file, to copy and edit\n\
             \x20 rosetta bench                      scale runs against the ideal time\n\
             Styles: {}.",
            styles::names().join(", ")
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("Some styles disagree with the reference: see above.");
        Ok(ExitCode::FAILURE)
    }
}

fn run_one(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.scenario.scenario()?;
    let style = styles::find(&args.style).context("the style name was checked by the parser")?;
    let outcome = style.run_traced(&scenario, &args.scenario.options());
    let report = outcome
        .report
        .with_context(|| format!("the {} style could not finish", style.name))?;
    match args.format {
        Format::Text => print!("{report}"),
        Format::Json => println!("{}", report.to_json()),
    }
    Ok(ExitCode::SUCCESS)
}

fn run_bench(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let sizes = match (&args.sizes[..], args.tasks || args.sleepers) {
        ([], false) => vec![10, 100, 1_000, 10_000],
        ([], true) => vec![10_000, 100_000],
        (sizes, _) => sizes.to_vec(),
    };
    if sizes.contains(&0) {
        bail!("--sizes needs positive numbers of sources");
    }
    if args.sleepers {
        return run_sleepers(&sizes, args.format);
    }
    let spec = bench::BenchSpec {
        sizes,
        seed: args.seed,
        concurrency: (!args.tasks).then_some(args.concurrency),
        time_scale: args.time_scale,
        budget: Duration::from_secs(args.budget),
        child: Some(std::env::current_exe().context("cannot find the rosetta executable")?),
    };
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
        println!(
            "Bench: {description}. Each run in a process of its own; ideal = the model's limit \
             (the sequential time for the reference).\n"
        );
        println!("{}", bench::render_header());
        let _ = std::io::stdout().flush();
    }
    // The table is printed row by row as runs finish; JSON and CSV in one piece at the end.
    let rows = bench::run(&spec, &chosen, |row| {
        if table {
            println!("{}", bench::render_row(row));
            let _ = std::io::stdout().flush();
        }
    });
    match args.format {
        BenchFormat::Table => {}
        BenchFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        BenchFormat::Csv => print!("{}", bench::render_csv(&rows)),
    }
    if let Some(path) = &args.svg {
        let caption = format!("rosetta bench ({description}) on {}", machine());
        std::fs::write(path, bench::render_svg(&rows, &caption))
            .with_context(|| format!("cannot write {}", path.display()))?;
        if table {
            println!("\nwrote {}", path.display());
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

fn run_sleepers(sizes: &[usize], format: BenchFormat) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the rosetta executable")?;
    let table = format == BenchFormat::Table;
    if table {
        println!(
            "Bare sleepers: each waits {} ms and does nothing else; each count in a process of \
             its own.\n",
            rosetta::sleepers::WAIT.as_millis()
        );
        println!("{}", rosetta::sleepers::render_header());
    }
    let rows = rosetta::sleepers::run(&exe, sizes, |row| {
        if table {
            println!("{}", rosetta::sleepers::render_row(row));
            let _ = std::io::stdout().flush();
        }
    });
    match format {
        BenchFormat::Table => {}
        BenchFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        BenchFormat::Csv => bail!("--sleepers prints a table or JSON (--format table|json)"),
    }
    let failed = rows.iter().any(|row| row.status == "failed");
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn run_sleepers_one(kind: &str, count: usize) -> anyhow::Result<ExitCode> {
    let row = rosetta::sleepers::measure(kind, count)?;
    println!("{}", serde_json::to_string(&row)?);
    Ok(ExitCode::SUCCESS)
}

fn run_bench_one(args: &BenchOneArgs) -> anyhow::Result<ExitCode> {
    let style = styles::find(&args.style).context("the style name was checked by the parser")?;
    let scenario = bench::scenario(args.sources, args.seed, args.concurrency);
    let (row, report) = bench::measure(
        style,
        &scenario,
        &RunOptions::with_time_scale(args.time_scale),
    );
    println!(
        "{}",
        serde_json::to_string(&bench::ChildOutput { row, report })?
    );
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

fn run_trace(args: &TraceArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.scenario.scenario()?;
    let style = styles::find(&args.style).context("the style name was checked by the parser")?;
    let outcome = style.run_traced(&scenario, &args.scenario.options());
    if let Err(error) = &outcome.report {
        eprintln!(
            "rosetta: the {} style failed ({error}); drawing what it did",
            style.name
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
        println!(
            "wrote {} (open it in ui.perfetto.dev or chrome://tracing)",
            path.display()
        );
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, view::svg(style.name, &spans))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if args.timeline || (args.chrome.is_none() && args.svg.is_none()) {
        let width = args
            .width
            .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
            .unwrap_or(100)
            .max(40);
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        print!(
            "{}",
            view::timeline(
                style.name,
                &spans,
                view::TimelineOptions::full(width, colour)
            )
        );
    }
    Ok(if outcome.report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_scenario(command: &ScenarioCommand) -> anyhow::Result<ExitCode> {
    match command {
        ScenarioCommand::List => {
            for name in Scenario::builtin_names() {
                let scenario = Scenario::builtin(name).context("built-in scenarios exist")?;
                println!(
                    "{name:10}  {:3} sources  {}",
                    scenario.sources.len(),
                    scenario.about
                );
            }
            println!("\nGenerated: --sources N --seed S (any command that takes --scenario).");
        }
        ScenarioCommand::Show { name } => match Scenario::builtin_text(name) {
            Some(text) => print!("{text}"),
            None => bail!("no built-in scenario `{name}` (try `rosetta scenario list`)"),
        },
        ScenarioCommand::Check { file } => {
            let scenario = Scenario::load(file)?;
            let ideal = rosetta_pipeline::model::ideal(&scenario);
            println!(
                "{}: ok: `{}`, {} sources, {} stations in the registry; ideal wall time {} ms \
                 (sequential {} ms)",
                file.display(),
                scenario.name,
                scenario.sources.len(),
                scenario.registry.len(),
                ideal.total_ms,
                ideal.sequential_ms
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
