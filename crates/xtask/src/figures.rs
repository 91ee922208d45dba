//! `cargo xtask figures`: regenerate every figure and every recorded output the book shows.
//!
//! The book never shows a number without the command that produced it, so the numbers and the
//! pictures are produced here, by running those very commands, and committed under
//! `book/src/figures/`:
//!
//! - `timeline-STYLE.svg`, one per style: `rosetta trace STYLE --transport sim --svg
//!   book/src/figures/timeline-STYLE.svg` on the `classroom` scenario;
//! - `compare.txt`: the output of `rosetta compare` (the tool's default command);
//! - `bench.txt` and `bench.svg`: the output and the chart of the `rosetta bench` run
//!   [`BENCH_ARGS`];
//! - `tasks.txt`: the output of the task-scale run [`TASKS_ARGS`];
//! - `bench-tcp.txt` and `bench-tcp-large.txt`: every style on real sockets with the raw hyper
//!   baseline, [`BENCH_TCP_ARGS`] and [`BENCH_TCP_LARGE_ARGS`];
//! - `timeline-tcp-callbacks.svg`: one run on real sockets drawn ([`TCP_TIMELINE_ARGS`]);
//! - `timeline-node-and-rust.svg`: `callbacks` and `node-callbacks` on one time axis
//!   ([`NODE_TIMELINE_ARGS`]);
//! - `sleepers.txt`: bare sleeping tasks per runtime [`SLEEPERS_ARGS`];
//! - `memory.txt`: each style's peak memory on one feed of 5.5 million lines (about 50 MB),
//!   written to `target/long-feed.toml` by `rosetta scenario long-feed` ([`LONG_FEED_LINES`],
//!   [`MEMORY_ARGS`]);
//! - `uniform.txt`: `rosetta compare` on `book/src/listings/uniform.toml` ([`UNIFORM_ARGS`]);
//! - `future-sizes.txt`: the `future_sizes` example of `rosetta-book-examples`;
//! - `machine.md`: one line saying which machine all of that ran on (cores from `nproc`, the CPU
//!   model from `/proc/cpuinfo`, the compiler), which the captions include.
//!
//! Every command runs through `cargo run --release -p rosetta`, from the workspace root, so the
//! relative paths in the captions are exactly what ran.
//!
//! A figure is never made from a run in which a style's report differs from the reference's:
//! the task then exits non-zero, names the style and the scenario, and leaves
//! `book/src/figures/` exactly as it was (see [`check_bench`]).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// Every style, in the order and with the names of the specification (and of the tool's style
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

/// The benchmark the performance chapter shows on timers: sizes the reference can still finish
/// at a tenth of real time, and one it cannot (it is skipped, and says so).
pub const BENCH_ARGS: &[&str] = &[
    "bench",
    "--transport",
    "sim",
    "--sizes",
    "10,100,1000,10000",
    "--time-scale",
    "0.1",
    "--svg",
    "book/src/figures/bench.svg",
];

/// The benchmarks the performance chapter shows on real sockets, each with the raw hyper
/// baseline in the same run: a thousand feeds, a hundred in flight...
pub const BENCH_TCP_ARGS: &[&str] = &[
    "bench",
    "--transport",
    "tcp",
    "--sizes",
    "1000",
    "--concurrency",
    "100",
];

/// ...and ten thousand feeds, a thousand in flight, at time scale 2 (an 800 ms timeout). At
/// time scale 1 the threads style, about 10,800 OS threads on two cores, starts some attempts
/// more than its 400 ms timeout late on the machine the figures ran on, and its report
/// differs; the other styles' ratios are to their own ideal either way.
pub const BENCH_TCP_LARGE_ARGS: &[&str] = &[
    "bench",
    "--transport",
    "tcp",
    "--sizes",
    "10000",
    "--concurrency",
    "1000",
    "--time-scale",
    "2",
];

/// The task-scale run chapter 3 shows: every source in flight at once, on timers.
pub const TASKS_ARGS: &[&str] = &[
    "bench",
    "--transport",
    "sim",
    "--tasks",
    "--sizes",
    "1000,10000",
];

/// The timeline of a run on real sockets, chapter 9: one thread, many connections.
pub const TCP_TIMELINE_ARGS: &[&str] = &[
    "trace",
    "callbacks",
    "--transport",
    "tcp",
    "--svg",
    "book/src/figures/timeline-tcp-callbacks.svg",
];

/// A Rust style and its Node.js twin on one time axis, chapter 14: the same scenario on the same
/// feed server.
pub const NODE_TIMELINE_ARGS: &[&str] = &[
    "trace",
    "callbacks",
    "node-callbacks",
    "--transport",
    "tcp",
    "--svg",
    "book/src/figures/timeline-node-and-rust.svg",
];

/// Bare sleeping tasks, chapter 3: what one waiting thing costs on each runtime, up to a million
/// (the size of the figure people quote for tokio).
pub const SLEEPERS_ARGS: &[&str] = &["bench", "--sleepers", "--sizes", "10000,100000,1000000"];

/// Lines of the long feed the memory figure measures: about 50 MB, the size of the feed that
/// once took 5 GB in the async/await styles.
pub const LONG_FEED_LINES: &str = "5555556";

/// The memory figure, chapter 12: peak resident memory per style on the long feed.
pub const MEMORY_ARGS: &[&str] = &["bench", "--scenario", "target/long-feed.toml"];

/// The uniform-latency check of chapter 12: measured against `ceil(N / P) * L`.
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
    let (text, success) = run_rosetta(root, args)?;
    if !success {
        bail!("`rosetta {}` failed:\n{text}", args.join(" "));
    }
    Ok(text)
}

/// Runs `rosetta bench ARGS` and returns its table, if the table may become a figure: see
/// [`check_bench`].
fn bench(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let (text, success) = run_rosetta(root, args)?;
    check_bench(args, &text, success)?;
    Ok(text)
}

/// Runs `rosetta ARGS` from `root`: what it printed, and whether it exited with success.
fn run_rosetta(root: &Path, args: &[&str]) -> anyhow::Result<(String, bool)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("figures: rosetta {}", args.join(" "));
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--release", "--package", "rosetta", "--"])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cargo")?;
    let text =
        String::from_utf8(output.stdout).context("rosetta printed something that is not UTF-8")?;
    Ok((text, output.status.success()))
}

/// One row of `rosetta bench`'s table, as far as the figures care: which run, and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BenchStatus {
    sources: String,
    concurrency: String,
    style: String,
    /// `ok`, `skipped`, `failed` or `differs`.
    status: String,
    /// Why, for a row that is not `ok` (the text after `status: `).
    note: String,
}

/// The rows of `rosetta bench`'s table: every line that starts with a number of sources. The
/// first ten columns are single words (a figure or `-`); the status, with its note, is the rest.
fn bench_statuses(table: &str) -> Vec<BenchStatus> {
    table
        .lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() < 11 || words[0].parse::<usize>().is_err() {
                return None;
            }
            // Skip the ten one-word columns; what is left is the status and its note.
            let mut rest = line;
            for _ in 0..10 {
                rest = rest.trim_start();
                rest = &rest[rest.find(char::is_whitespace)?..];
            }
            let status_text = rest.trim();
            let (status, note) = status_text.split_once(": ").unwrap_or((status_text, ""));
            Some(BenchStatus {
                sources: words[0].to_string(),
                concurrency: words[1].to_string(),
                style: words[2].to_string(),
                status: status.to_string(),
                note: note.to_string(),
            })
        })
        .collect()
}

/// Whether the output of `rosetta bench ARGS` (which exited with `success` or not) may become
/// a figure.
///
/// Never if any style's report differed from the reference's: its time is the time of a wrong
/// answer, and the book would print it as a measurement. The error names each such style and
/// scenario, and the command that shows the difference. A style that *failed* (the machine's
/// thread limit, a crash) is a finding the figure shows: that output is kept, with a warning.
/// A failure that left no table to read is an error.
fn check_bench(args: &[&str], table: &str, success: bool) -> anyhow::Result<()> {
    let command = format!("rosetta {}", args.join(" "));
    let rows = bench_statuses(table);
    let differing: Vec<String> = rows
        .iter()
        .filter(|row| row.status == "differs")
        .map(|row| {
            format!(
                "  {} differs on the generated scenario with {} sources (concurrency {}): {}",
                row.style, row.sources, row.concurrency, row.note
            )
        })
        .collect();
    if !differing.is_empty() {
        bail!(
            "`{command}`: a style's report differs from the reference, so its figures measure \
             a wrong answer; no figure is written. Fix the style, then run `cargo xtask figures` \
             again.\n{}",
            differing.join("\n")
        );
    }
    if !success {
        if !rows.iter().any(|row| row.status == "failed") {
            bail!("`{command}` failed:\n{table}");
        }
        eprintln!(
            "figures: warning: `{command}` exited with failure: a style failed at some size; the \
             output is kept as it is (read its status column)"
        );
    }
    Ok(())
}

/// The files of a directory as they were, to put back if the figures are refused: `rosetta`
/// writes the SVGs itself, before the run can be judged.
#[derive(Debug)]
struct Snapshot {
    files: std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
}

impl Snapshot {
    fn take(dir: &Path) -> anyhow::Result<Self> {
        let mut files = std::collections::BTreeMap::new();
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_file() {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                files.insert(path, bytes);
            }
        }
        Ok(Snapshot { files })
    }

    /// Puts `dir` back as it was: files written since are removed, changed files restored.
    fn restore(&self, dir: &Path) -> anyhow::Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_file() && !self.files.contains_key(&path) {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }
        for (path, bytes) in &self.files {
            if std::fs::read(path).ok().as_ref() != Some(bytes) {
                std::fs::write(path, bytes)
                    .with_context(|| format!("cannot restore {}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// One line describing this machine, for the figures' captions: the cores and CPU as
/// `rosetta bench` reads them (`rosetta_pipeline::model::machine`, one reading for both), plus
/// the compiler, which only the figures record.
pub fn machine() -> String {
    let machine = rosetta_pipeline::model::machine();
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "?".into());
    format!(
        "a {}-core {} (cores from `available_parallelism`, model from `/proc/cpuinfo`), {} {}, \
         rustc {rustc}, release build",
        machine.cores,
        machine.cpu,
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Regenerates everything in `book/src/figures/` of the workspace at `root`, or nothing.
///
/// Every command runs first; the text figures are written only when all of them may become
/// figures ([`check_bench`]). The SVGs, which `rosetta` writes itself while it runs, are put
/// back as they were if anything is refused, so a refused run leaves the folder untouched.
pub fn generate(root: &Path) -> anyhow::Result<()> {
    let figures = root.join("book/src/figures");
    std::fs::create_dir_all(&figures)
        .with_context(|| format!("cannot create {}", figures.display()))?;
    let before = Snapshot::take(&figures)?;
    let texts = match produce(root) {
        Ok(texts) => texts,
        Err(error) => {
            before.restore(&figures)?;
            return Err(error.context(format!("{} is left as it was", figures.display())));
        }
    };
    for (name, text) in texts {
        let path = figures.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("figures: wrote {}", figures.display());
    Ok(())
}

/// Runs every command the figures come from, and returns each text figure with its file name.
fn produce(root: &Path) -> anyhow::Result<Vec<(&'static str, String)>> {
    // No trailing newline: the captions include this in the middle of a sentence.
    let mut texts = vec![("machine.md", machine())];
    // The chapters on each style describe its timers: their timelines are on `sim`.
    for style in STYLES {
        let svg = format!("book/src/figures/timeline-{style}.svg");
        rosetta(root, &["trace", style, "--transport", "sim", "--svg", &svg])?;
    }
    rosetta(root, TCP_TIMELINE_ARGS)?;
    rosetta(root, NODE_TIMELINE_ARGS)?;
    texts.push(("compare.txt", rosetta(root, &["compare"])?));
    texts.push(("uniform.txt", rosetta(root, UNIFORM_ARGS)?));
    texts.push(("bench.txt", bench(root, BENCH_ARGS)?));
    texts.push(("tasks.txt", bench(root, TASKS_ARGS)?));
    texts.push(("bench-tcp.txt", bench(root, BENCH_TCP_ARGS)?));
    texts.push(("bench-tcp-large.txt", bench(root, BENCH_TCP_LARGE_ARGS)?));
    texts.push(("sleepers.txt", rosetta(root, SLEEPERS_ARGS)?));
    let long_feed = rosetta(root, &["scenario", "long-feed", "--lines", LONG_FEED_LINES])?;
    let long_feed_path = root.join("target/long-feed.toml");
    std::fs::write(&long_feed_path, long_feed)
        .with_context(|| format!("cannot write {}", long_feed_path.display()))?;
    // `rosetta` fails (and so does this) if any style's report differs: no figure then.
    texts.push(("memory.txt", rosetta(root, MEMORY_ARGS)?));
    texts.push(("future-sizes.txt", future_sizes(root)?));
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows as `rosetta bench` prints them (its header, then one row per style and size).
    const TABLE: &str = "\
Bench: generated scenario, seed 1, concurrency 100, time scale 0.1. Each run in a process of its own; ideal = the model's limit (the sequential time for the reference).

sources    conc.  style             wall ms   ideal ms   ratio  in flight  threads  peak MiB   KiB/src  status
   1000      100  callbacks           152.1      150.8   1.009        100        1       4.8       0.8  ok
   1000      100  tokio               166.5      150.8   1.104        100        3       6.2       2.3  ok
  10000      100  reference               -    76534.4       -          -        -         -         -  skipped: its ideal time alone is 76.5 s, over the 30 s budget (raise --budget)
";

    const DIFFERS: &str = "   1000      100  threads             234.8      150.8   1.557         96     1098       9.8       6.0  differs: report differs from the reference; see the diff: rosetta compare --sources 1000 --seed 1 --time-scale 0.1 --style threads\n";

    const FAILED: &str = "  10000      100  tokio                   -      818.0       -          -        -         -         -  failed: the measuring process failed: out of memory\n";

    #[test]
    fn a_bench_run_in_which_a_style_differs_is_refused_naming_it() {
        let args = ["bench", "--sizes", "1000"];
        let table = format!("{TABLE}{DIFFERS}");
        let error = check_bench(&args, &table, false)
            .expect_err("a figure must not show a style whose report differs")
            .to_string();
        assert!(error.contains("threads"), "{error}");
        assert!(error.contains("1000 sources"), "{error}");
        assert!(error.contains("concurrency 100"), "{error}");
        assert!(
            error.contains(
                "rosetta compare --sources 1000 --seed 1 --time-scale 0.1 --style threads"
            ),
            "the command that shows the difference: {error}"
        );
        assert!(error.contains("rosetta bench --sizes 1000"), "{error}");
        // Even if the run exited with success (it must not, but the table is what counts).
        assert!(check_bench(&args, &table, true).is_err());
    }

    #[test]
    fn a_bench_run_with_only_findings_to_show_is_kept() {
        let args = ["bench"];
        check_bench(&args, TABLE, true).expect("ok and skipped rows make a figure");
        // A style that failed (a crash, the machine's limit) is a finding the figure shows.
        check_bench(&args, &format!("{TABLE}{FAILED}"), false).expect("failed rows are shown");
        // A failure that left no row to read is not a finding, just a failure.
        assert!(check_bench(&args, "error: no such command\n", false).is_err());
    }

    #[test]
    fn bench_rows_are_read_from_the_table() {
        let rows = bench_statuses(&format!("{TABLE}{DIFFERS}"));
        let read: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|row| {
                (
                    row.sources.as_str(),
                    row.style.as_str(),
                    row.status.as_str(),
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                ("1000", "callbacks", "ok"),
                ("1000", "tokio", "ok"),
                ("10000", "reference", "skipped"),
                ("1000", "threads", "differs")
            ]
        );
        assert!(
            rows[2].note.starts_with("its ideal time alone"),
            "{:?}",
            rows[2]
        );
    }

    #[test]
    fn a_refused_run_leaves_the_folder_as_it_was() {
        let dir = std::env::temp_dir().join(format!("xtask-figures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bench.svg"), "old chart").unwrap();
        std::fs::write(dir.join("machine.md"), "old machine").unwrap();
        let snapshot = Snapshot::take(&dir).unwrap();
        // What a run writes before it is judged: a changed chart and a new timeline.
        std::fs::write(dir.join("bench.svg"), "new chart").unwrap();
        std::fs::write(dir.join("timeline-new.svg"), "new").unwrap();
        snapshot.restore(&dir).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["bench.svg", "machine.md"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("bench.svg")).unwrap(),
            "old chart"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
