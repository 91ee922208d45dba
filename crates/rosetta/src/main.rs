//! `rosetta`: one data pipeline, every async style Rust can express, side by side.
//!
//! This file parses the command line and prints; the work is in the library (`src/lib.rs`), so
//! that the tests call exactly what the command runs. Run `rosetta --help` for the commands.
//!
//! Bad input of any kind (an argument, a scenario file, a time scale) ends with one line on
//! stderr, `rosetta: ...`, and exit code 2; a closed stdout (`rosetta compare | head -1`) ends
//! the command quietly. See [`main`] for both.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};
use rosetta_pipeline::scenario::one_line;

mod cli;
mod commands;

use cli::{
    BenchArgs, BenchOneArgs, CompareArgs, FeedsCommand, RunArgs, ScenarioCommand, TraceArgs,
};
use commands::{bench, compare, feeds, run, scenario, trace};

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
    Learn(rosetta_learn::LearnArgs),
    /// List, show or check scenario files.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// The feed server of the tcp transport, on its own.
    #[command(subcommand)]
    Feeds(FeedsCommand),
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
        Command::Compare(args) => compare::run_compare(&args, &mut out),
        Command::Run(args) => run::run_one(&args, &mut out),
        Command::Bench(args) => bench::run_bench(&args, &mut out),
        Command::BenchOne(args) => bench::run_bench_one(&args, &mut out),
        Command::BenchSleepersOne { kind, count } => {
            bench::run_sleepers_one(&kind, count, &mut out)
        }
        Command::Trace(args) => trace::run_trace(&args, &mut out),
        Command::Learn(args) => rosetta_learn::run(&args, &mut out),
        Command::Scenario(command) => scenario::run_scenario(&command, &mut out),
        Command::Feeds(command) => feeds::run_feeds(&command, &mut out),
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
