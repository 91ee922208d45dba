//! `rosetta bench` in its three forms (scale runs, `--scenario` peak memory, `--sleepers`), and
//! the hidden one-measurement commands each of them runs in a child process.

use std::io;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use rosetta::measure::Status;
use rosetta::table::Table;
use rosetta::{bench, memory, select, sleepers, styles};
use rosetta_pipeline::scenario::MAX_CONCURRENCY;
use rosetta_pipeline::transport::{Feeds, Transport};
use rosetta_pipeline::{RunOptions, model};
use serde::Serialize;

use crate::cli::{BenchArgs, BenchFormat, BenchOneArgs, TransportArg, chosen};

pub(crate) fn run_bench(args: &BenchArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
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
        tcp: args.transport == TransportArg::Tcp,
    };
    // Every size's scenario must suit the time scale before anything runs (a bench can take
    // minutes; a refusal after the first rows would waste them).
    for &size in &spec.sizes {
        bench::scenario(size, spec.seed, spec.concurrency).check_time_scale(
            spec.time_scale,
            &select::origin(None, Some(size), spec.seed),
        )?;
    }
    let table = args.format == BenchFormat::Table;
    let concurrency = match spec.concurrency {
        Some(concurrency) => format!("concurrency {concurrency}"),
        None => "every source in flight at once".to_string(),
    };
    let transport = if spec.tcp {
        "tcp (a feed server in this process; each style in a process of its own, holding only \
         the clients' sockets; the raw hyper baseline fetches only)"
    } else {
        "sim (timers)"
    };
    let description = format!(
        "generated scenario, seed {}, {concurrency}, time scale {}, transport {transport}",
        spec.seed, spec.time_scale
    );
    if table {
        writeln!(
            out,
            "Bench: {description}. Each run in a process of its own; ideal = the model's limit \
             (the sequential time for the reference)."
        )?;
        if spec.tcp {
            writeln!(out, "{}", rosetta::measure::tcp_limits())?;
        }
        writeln!(out)?;
    }
    let chosen = chosen(&args.styles, spec.tcp)?;
    let rows = print_rows(out, table, |progress| bench::run(&spec, &chosen, progress))?;
    match args.format {
        BenchFormat::Table => {}
        BenchFormat::Json => print_json(out, &rows)?,
        BenchFormat::Csv => write!(out, "{}", bench::render_csv(&rows))?,
    }
    if let Some(path) = &args.svg {
        let caption = format!("rosetta bench ({description}) on {}", model::machine());
        std::fs::write(path, bench::render_svg(&rows, &caption))
            .with_context(|| format!("cannot write {}", path.display()))?;
        if table {
            writeln!(out, "\nwrote {}", path.display())?;
        }
    }
    Ok(exit_code(rows.iter().map(|row| row.status)))
}

/// `bench --scenario FILE`: peak memory per style on one scenario (see `rosetta::memory`).
fn run_memory(name: &str, args: &BenchArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    if args.format != BenchFormat::Table {
        bail!("--scenario prints a table (--format table)");
    }
    let exe = std::env::current_exe().context("cannot find the rosetta executable")?;
    let input = memory::input_bytes(name).map_or_else(
        || "size unknown".to_string(),
        |bytes| format!("{:.1} MiB", bytes as f64 / 1048576.0),
    );
    writeln!(
        out,
        "Peak memory on `{name}` ({input}), time scale {}; each run in a process of its own. \
         × input = peak resident memory / scenario size.\n",
        args.time_scale
    )?;
    // Memory on one scenario runs on `sim`: it measures holding the scenario, not sockets.
    let chosen = chosen(&args.styles, false)?;
    let rows = print_rows(out, true, |progress| {
        memory::run(&exe, name, &chosen, args.time_scale, progress)
    })?;
    Ok(exit_code(rows.iter().map(|row| row.row.status)))
}

/// `bench --sleepers`: N bare sleeping tasks per runtime (see `rosetta::sleepers`).
fn run_sleepers(
    sizes: &[usize],
    format: BenchFormat,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    if format == BenchFormat::Csv {
        bail!("--sleepers prints a table or JSON (--format table|json)");
    }
    let exe = std::env::current_exe().context("cannot find the rosetta executable")?;
    let table = format == BenchFormat::Table;
    if table {
        writeln!(
            out,
            "Bare sleepers: each waits {} ms and does nothing else; each count in a process of \
             its own.\n",
            sleepers::WAIT.as_millis()
        )?;
    }
    let rows = print_rows(out, table, |progress| {
        Ok(sleepers::run(&exe, sizes, progress))
    })?;
    if format == BenchFormat::Json {
        print_json(out, &rows)?;
    }
    Ok(exit_code(rows.iter().map(|row| row.status)))
}

/// Runs `measure`, printing its table (when `table` is true) a row at a time as each
/// measurement ends: a bench can take minutes, and each row is worth seeing as soon as it is
/// known. Returns the rows, for JSON, CSV or the exit code.
///
/// A row that cannot be written (stdout closed) is kept as the error to end with once the
/// measurements are done: the progress callback cannot stop them.
fn print_rows<R: Table>(
    out: &mut impl Write,
    table: bool,
    measure: impl FnOnce(&mut dyn FnMut(&R)) -> anyhow::Result<Vec<R>>,
) -> anyhow::Result<Vec<R>> {
    if table {
        writeln!(out, "{}", R::header())?;
        out.flush()?;
    }
    let mut written: io::Result<()> = Ok(());
    let rows = measure(&mut |row| {
        if table && written.is_ok() {
            written = writeln!(out, "{}", row.line()).and_then(|()| out.flush());
        }
    })?;
    written?;
    Ok(rows)
}

/// The rows as indented JSON, the form scripts read.
fn print_json(out: &mut impl Write, rows: &impl Serialize) -> anyhow::Result<()> {
    writeln!(out, "{}", serde_json::to_string_pretty(rows)?)?;
    Ok(())
}

/// Failure if any measurement broke (a report that differs, a run that failed); a skipped run
/// was a decision, not a failure.
fn exit_code(statuses: impl IntoIterator<Item = Status>) -> ExitCode {
    if statuses.into_iter().any(Status::is_broken) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn run_sleepers_one(
    kind: &str,
    count: usize,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let row = sleepers::measure(kind, count)?;
    writeln!(out, "{}", serde_json::to_string(&row)?)?;
    Ok(ExitCode::SUCCESS)
}

/// The feeds a measuring process fetches from, when the bench gave it a server and a run.
fn feeds_of(args: &BenchOneArgs) -> Option<Feeds> {
    Some(Feeds {
        addr: args.feeds_addr?,
        run: args.feeds_run?,
    })
}

pub(crate) fn run_bench_one(args: &BenchOneArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let child = match (&args.style, &args.scenario) {
        (None, Some(name)) if args.load_only => bench::ChildOutput {
            row: memory::measure_loading(name)?,
            report: None,
            sources_ok: None,
        },
        (None, None) if args.raw => {
            let sources = args.sources.context("clap requires --sources")?;
            let scenario = bench::scenario(sources, args.seed, args.concurrency);
            let feeds =
                feeds_of(args).context("the raw baseline fetches over tcp: --feeds-addr")?;
            bench::measure_raw(&scenario, feeds, args.time_scale)
        }
        (Some(name), _) => {
            let style = styles::find(name).context("the style name was checked by the parser")?;
            let scenario = match (&args.scenario, args.sources) {
                (Some(name), _) => select::scenario(Some(name), None, 0)?,
                (None, Some(sources)) => bench::scenario(sources, args.seed, args.concurrency),
                (None, None) => bail!("clap requires --sources or --scenario"),
            };
            let origin = select::origin(args.scenario.as_deref(), args.sources, args.seed);
            scenario.check_time_scale(args.time_scale, &origin)?;
            let opts = RunOptions::with_time_scale(args.time_scale);
            let opts = feeds_of(args).map_or(opts, |feeds| opts.on(Transport::Tcp(feeds)));
            bench::measure(style, &scenario, &opts)
        }
        (None, _) => bail!("clap requires a style here"),
    };
    writeln!(out, "{}", serde_json::to_string(&child)?)?;
    Ok(ExitCode::SUCCESS)
}
