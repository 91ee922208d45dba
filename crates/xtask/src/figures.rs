//! `cargo xtask figures`: regenerate every figure and every recorded output the book shows.
//!
//! The book never shows a number without the command that produced it, so the numbers and the
//! pictures are produced here, by running those very commands, and committed under
//! `book/src/figures/`:
//!
//! - `timeline-STYLE.svg`, one per style: `rosetta trace STYLE --svg book/src/figures/timeline-STYLE.svg`
//!   on the `classroom` scenario;
//! - `compare.txt`: the output of `rosetta compare` (the tool's default command);
//! - `bench.txt` and `bench.svg`: the output and the chart of the `rosetta bench` run
//!   [`BENCH_ARGS`];
//! - `tasks.txt`: the output of the task-scale run [`TASKS_ARGS`];
//! - `sleepers.txt`: bare sleeping tasks per runtime [`SLEEPERS_ARGS`];
//! - `uniform.txt`: `rosetta compare` on `book/src/listings/uniform.toml` ([`UNIFORM_ARGS`]);
//! - `future-sizes.txt`: the `future_sizes` example of `rosetta-book-examples`;
//! - `machine.md`: one line saying which machine all of that ran on (cores from `nproc`, the CPU
//!   model from `/proc/cpuinfo`, the compiler), which the captions include.
//!
//! Every command runs through `cargo run --release -p rosetta`, from the workspace root, so the
//! relative paths in the captions are exactly what ran.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// Every style, in the order and with the names of `shared/DESIGN.md` (and of the tool's style
/// registry). A style the tool does not know makes the task fail, naming it.
pub const STYLES: &[&str] = &[
    "reference",
    "threads",
    "callbacks",
    "combinators",
    "state-machines",
    "tokio",
    "async-std",
    "smol",
];

/// The benchmark the performance chapter shows: sizes the reference can still finish at a tenth
/// of real time, and one it cannot (it is skipped, and says so).
pub const BENCH_ARGS: &[&str] = &[
    "bench",
    "--sizes",
    "10,100,1000,10000",
    "--time-scale",
    "0.1",
    "--svg",
    "book/src/figures/bench.svg",
];

/// The task-scale run chapter 3 shows: every source in flight at once.
pub const TASKS_ARGS: &[&str] = &["bench", "--tasks", "--sizes", "1000,10000"];

/// Bare sleeping tasks, chapter 3: what one waiting thing costs on each runtime, up to a million
/// (the size of the figure people quote for tokio).
pub const SLEEPERS_ARGS: &[&str] = &["bench", "--sleepers", "--sizes", "10000,100000,1000000"];

/// The uniform-latency check of chapter 11: measured against `ceil(N / P) * L`.
pub const UNIFORM_ARGS: &[&str] = &["compare", "--scenario", "book/src/listings/uniform.toml"];

/// Runs the `future_sizes` example of `rosetta-book-examples` (chapters 6 and 7).
fn future_sizes(root: &Path) -> anyhow::Result<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("figures: cargo run --release -p rosetta-book-examples --example future_sizes");
    let output = Command::new(cargo)
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "rosetta-book-examples",
        ])
        .args(["--example", "future_sizes"])
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!("the future_sizes example failed ({})", output.status);
    }
    String::from_utf8(output.stdout).context("the example printed something that is not UTF-8")
}

/// Runs `rosetta ARGS` from `root` and returns what it printed. Fails if it exits non-zero.
fn rosetta(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    rosetta_with(root, args, false)
}

/// Runs `rosetta bench ARGS`: like [`rosetta`], but a non-zero exit (a style that failed or
/// whose report differs at some size) is a finding to show, not an error: the output is kept,
/// with a warning here.
fn bench(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    rosetta_with(root, args, true)
}

fn rosetta_with(root: &Path, args: &[&str], keep_failure: bool) -> anyhow::Result<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("figures: rosetta {}", args.join(" "));
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--release", "--package", "rosetta", "--"])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() && keep_failure {
        eprintln!(
            "figures: warning: `rosetta {}` exited with {}: a style failed or differs; the \
             output is kept as it is (read its status column)",
            args.join(" "),
            output.status
        );
    } else if !output.status.success() {
        bail!(
            "`rosetta {}` failed ({}):\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stdout)
        );
    }
    String::from_utf8(output.stdout).context("rosetta printed something that is not UTF-8")
}

/// One line describing this machine, for the figures' captions.
pub fn machine() -> String {
    let cores = Command::new("nproc")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or("?".into(), |n| n.get().to_string())
        });
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!(
        "a {cores}-core {cpu} (cores from `nproc`, model from `/proc/cpuinfo`), {} {}, \
         rustc {rustc}, release build",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Regenerates everything in `book/src/figures/` of the workspace at `root`.
pub fn generate(root: &Path) -> anyhow::Result<()> {
    let figures = root.join("book/src/figures");
    std::fs::create_dir_all(&figures)
        .with_context(|| format!("cannot create {}", figures.display()))?;
    let write = |name: &str, text: &str| {
        let path = figures.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    // No trailing newline: the captions include this in the middle of a sentence.
    write("machine.md", &machine())?;
    for style in STYLES {
        let svg = format!("book/src/figures/timeline-{style}.svg");
        rosetta(root, &["trace", style, "--svg", &svg])?;
    }
    write("compare.txt", &rosetta(root, &["compare"])?)?;
    write("uniform.txt", &rosetta(root, UNIFORM_ARGS)?)?;
    write("bench.txt", &bench(root, BENCH_ARGS)?)?;
    write("tasks.txt", &bench(root, TASKS_ARGS)?)?;
    write("sleepers.txt", &rosetta(root, SLEEPERS_ARGS)?)?;
    write("future-sizes.txt", &future_sizes(root)?)?;
    println!("figures: wrote {}", figures.display());
    Ok(())
}
