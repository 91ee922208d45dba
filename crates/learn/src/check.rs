//! Checking one exercise: build it (linting it on the way), run its tests, and say what
//! happened in the learner's terms.
//!
//! Two steps, so that each can be reported well:
//!
//! 1. **Build**: `cargo test --no-run --message-format json` in the exercises workspace. Cargo
//!    prints one JSON message a line; `cargo_metadata`, the crate cargo's own ecosystem uses
//!    for them, reads each into a type ([`Message`]), so the code says `message.level` and
//!    `artifact.executable` rather than indexing untyped JSON by strings. Compiler errors and
//!    warnings are [`CompilerMessage`]s, each with its text rendered exactly as `cargo` would
//!    print it: the first error is shown (every one with `--all`), and the warnings about the
//!    exercise's own code, whatever happens next. A warning is often the bug itself: "unused
//!    implementer of `Future` that must be used ... futures do nothing unless you `.await` or
//!    poll them" is the whole explanation of a test that waits for something never started.
//!    For an exercise whose `Cargo.toml` declares clippy lints (`[lints.clippy]`, the lints
//!    that teach what it is about, such as `await_holding_lock`), clippy's compiler builds the
//!    exercise, as `cargo clippy` runs it (see `clippy_for`), and clippy's warnings come with
//!    the compiler's. The artifact messages name the test binaries built.
//! 2. **Test**: each test binary is run directly (not through `cargo test`), so that a test that
//!    waits for ever can be stopped after a time limit: killing the binary stops it, where
//!    killing `cargo` would leave the binary running. The wait is `wait-timeout`'s
//!    (`child.wait_timeout(limit)`), and the binary's output is read on two threads meanwhile,
//!    so that a test that prints a lot cannot block on a full pipe. Its output is libtest's:
//!    the first failed test's panic message, and what the test printed before it (libtest
//!    captures `println!` and `dbg!` output, and shows it for a failed test), are picked out of
//!    it. The exercises' tests write their messages for this: what was expected, what
//!    happened, which chapter to reread. A binary stopped at the limit is run once more, one
//!    test at a time and without capture, skipping the tests that had finished: the test still
//!    running when that run is stopped is the one that hangs, and what it printed is there.
//!
//! Nothing here writes to an exercise's files; cargo writes only to the target directory.

use std::ffi::OsString;
use std::io::{BufRead, Read};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;
use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::{CompilerMessage, Message};
use wait_timeout::ChildExt;

use crate::course::{Course, Exercise};

/// How many warnings a check shows, unless asked for every one (`--all`): enough to see what
/// the compiler is saying, few enough that the test failure above them stays in view.
pub const WARNINGS_SHOWN: usize = 3;

/// How long the second run of a binary that hung may take (at most the check's own limit).
/// That run only has to reach the hung test again: the tests that had finished are skipped, so
/// it gets there at once, and what a test prints before it waits, it prints at its start.
const HANG_RERUN_LIMIT: Duration = Duration::from_secs(10);

/// How a check runs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Where cargo builds (`None`: the exercises workspace's `target/`, unless the environment
    /// says otherwise with `CARGO_TARGET_DIR`).
    pub target_dir: Option<PathBuf>,
    /// Show cargo's progress lines ("Compiling tokio ...") on stderr while it builds: the first
    /// build compiles every dependency, which takes a while.
    pub show_build_progress: bool,
    /// Render compiler errors and warnings in colour.
    pub color: bool,
    /// Build with `--locked`: refuse to update `Cargo.lock` (for CI).
    pub locked: bool,
    /// Build with `--offline`: never touch the network (for tests of the runner itself).
    pub offline: bool,
    /// Keep every compile error and every warning (`--all`), not only the first error and the
    /// first [`WARNINGS_SHOWN`] warnings.
    pub all: bool,
    /// How long one test binary may run before it is stopped.
    pub test_timeout: Duration,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            target_dir: None,
            show_build_progress: false,
            color: false,
            locked: false,
            offline: false,
            all: false,
            test_timeout: Duration::from_secs(60),
        }
    }
}

/// The first failed test of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The test's name.
    pub test: String,
    /// Where it panicked (`path:line:column`, relative to the repository when it is in it).
    pub location: Option<String>,
    /// The panic message (or, if the test did not panic, what it printed).
    pub message: String,
    /// What the test printed before it panicked (`println!`, `eprintln!`, `dbg!`), as libtest
    /// captured it; empty if nothing.
    pub output: String,
}

impl Failure {
    /// Whether the test stopped at a `todo!()`: the exercise is not started (or not finished).
    pub fn reached_todo(&self) -> bool {
        self.message.starts_with("not yet implemented")
    }
}

/// The test that hung, found by running the unfinished tests again, one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hung {
    /// The test's name.
    pub test: String,
    /// What it printed before it was stopped; empty if nothing.
    pub output: String,
}

/// Whether clippy looked at the exercise, and with which lints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Clippy {
    /// Not run: the exercise declares no clippy lint, or it does not compile.
    #[default]
    NotRun,
    /// Ran with these lints (`clippy::await_holding_lock`, ...); its warnings are among the
    /// check's.
    Ran {
        /// The lints the exercise declares.
        lints: Vec<String>,
    },
    /// Could not run (not installed, most likely).
    Unavailable {
        /// The lints the exercise declares.
        lints: Vec<String>,
        /// What cargo said.
        why: String,
    },
}

/// The warnings about the exercise's own code (never its dependencies'), the compiler's and
/// clippy's, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    /// How many distinct warnings there are.
    pub count: usize,
    /// The ones to show, rendered as cargo prints them (paths relative to the repository): the
    /// first [`WARNINGS_SHOWN`], or every one with `--all`.
    pub shown: Vec<String>,
    /// What became of clippy.
    pub clippy: Clippy,
}

impl Warnings {
    /// The warnings `rendered`, of which the first `limit` are shown.
    fn keep(rendered: Vec<String>, clippy: Clippy, limit: usize) -> Warnings {
        Warnings {
            count: rendered.len(),
            shown: rendered.into_iter().take(limit).collect(),
            clippy,
        }
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every test passed.
    Passed {
        /// How many tests ran.
        tests: usize,
        /// The compiler's and clippy's warnings.
        warnings: Warnings,
    },
    /// The exercise (or its tests) did not compile.
    DoesNotCompile {
        /// How many distinct errors the compiler reported.
        errors: usize,
        /// The errors to show, as the compiler rendered them: the first, or every one with
        /// `--all`.
        shown: Vec<String>,
        /// The compiler's warnings (shown with `--all` only: the errors come first).
        warnings: Warnings,
    },
    /// It compiled, and some tests failed.
    TestsFail {
        /// How many failed.
        failed: usize,
        /// How many ran.
        total: usize,
        /// The first failure.
        first: Failure,
        /// The compiler's and clippy's warnings.
        warnings: Warnings,
    },
    /// A test binary was still running after the time limit, and was stopped.
    TimedOut {
        /// The test binary (the test file's name).
        binary: String,
        /// The time limit.
        after: Duration,
        /// The test that hung and what it printed, if running the binary again found it.
        hung: Option<Hung>,
        /// The compiler's and clippy's warnings.
        warnings: Warnings,
    },
    /// Cargo failed without a compiler error (a broken `Cargo.toml`, no network, ...).
    BuildError {
        /// What cargo said.
        message: String,
    },
}

impl Verdict {
    /// Whether the exercise passed.
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed { .. })
    }

    /// The warnings found (`None` if cargo could not build at all).
    pub fn warnings(&self) -> Option<&Warnings> {
        match self {
            Verdict::Passed { warnings, .. }
            | Verdict::DoesNotCompile { warnings, .. }
            | Verdict::TestsFail { warnings, .. }
            | Verdict::TimedOut { warnings, .. } => Some(warnings),
            Verdict::BuildError { .. } => None,
        }
    }

    /// One line, for tables: `passes (4 tests)`, `fails 3 of 4 tests`, ...
    pub fn summary(&self) -> String {
        let outcome = match self {
            Verdict::Passed { tests, .. } => format!("passes ({tests} tests)"),
            Verdict::DoesNotCompile { errors, .. } => {
                format!("does not compile ({errors} error{})", plural(*errors))
            }
            Verdict::TestsFail {
                failed,
                total,
                first,
                ..
            } if first.reached_todo() => {
                format!("fails {failed} of {total} tests (reaches a `todo!()`)")
            }
            Verdict::TestsFail { failed, total, .. } => format!("fails {failed} of {total} tests"),
            Verdict::TimedOut {
                hung: Some(hung),
                after,
                ..
            } => format!(
                "test `{}` hangs (stopped after {} s)",
                hung.test,
                after.as_secs()
            ),
            Verdict::TimedOut { binary, after, .. } => {
                format!("test `{binary}` still running after {} s", after.as_secs())
            }
            Verdict::BuildError { message } => {
                format!(
                    "cannot build: {}",
                    message.lines().next().unwrap_or_default()
                )
            }
        };
        match self.warnings() {
            Some(warnings) if warnings.count > 0 => format!(
                "{outcome}, {} warning{}",
                warnings.count,
                plural(warnings.count)
            ),
            _ => outcome,
        }
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The `cargo` to run: the one running us, if any (so that `cargo +nightly run` stays on
/// nightly), or the one on the `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Builds, lints and tests `exercise`.
pub fn check(
    course: &Course,
    exercise: &Exercise,
    options: &CheckOptions,
) -> anyhow::Result<Verdict> {
    let (binaries, rendered, clippy) = match build(course, exercise, options)? {
        Built::Binaries {
            binaries,
            warnings,
            clippy,
        } => (binaries, warnings, clippy),
        Built::Failed(verdict) => return Ok(verdict),
    };
    let limit = if options.all {
        usize::MAX
    } else {
        WARNINGS_SHOWN
    };
    let rendered = rendered
        .iter()
        .map(|message| relative_paths(&message.text, course))
        .collect();
    let warnings = Warnings::keep(rendered, clippy, limit);
    let mut total = 0;
    let mut failed = 0;
    let mut first = None;
    for (name, executable) in &binaries {
        let dir = course.path(exercise);
        let run = run_binary(executable, &dir, options.test_timeout)?;
        if run.timed_out {
            let rerun_limit = options.test_timeout.min(HANG_RERUN_LIMIT);
            let hung = find_the_hang(executable, &dir, &finished_tests(&run.stdout), rerun_limit)?;
            return Ok(Verdict::TimedOut {
                binary: name.clone(),
                after: options.test_timeout,
                hung,
                warnings,
            });
        }
        let (passed, failed_here) = test_counts(&run.stdout);
        total += passed + failed_here;
        failed += failed_here;
        if first.is_none() && !run.status.is_some_and(|status| status.success()) {
            let failure = first_failure(&run.stdout).unwrap_or_else(|| Failure {
                test: format!("(the `{name}` tests)"),
                location: None,
                message: format!(
                    "the test binary stopped abnormally ({}):\n{}",
                    run.status.map_or("killed".to_string(), |s| s.to_string()),
                    tail(&format!("{}{}", run.stdout, run.stderr), 20)
                ),
                output: String::new(),
            });
            failed = failed.max(1);
            first = Some(failure);
        }
    }
    Ok(match first {
        None => Verdict::Passed {
            tests: total,
            warnings,
        },
        Some(first) => Verdict::TestsFail {
            failed,
            total: total.max(failed),
            first: relative_location(first, course),
            warnings,
        },
    })
}

/// What the build step gives: the test binaries (name, path), the warnings about the
/// exercise's code and what became of clippy, or a verdict already.
enum Built {
    Binaries {
        binaries: Vec<(String, PathBuf)>,
        warnings: Vec<Rendered>,
        clippy: Clippy,
    },
    Failed(Verdict),
}

/// A `cargo` command run in the exercises workspace, as `options` say (target directory,
/// `--locked`, `--offline`), its JSON messages on stdout.
fn cargo_in(course: &Course, subcommand: &str, options: &CheckOptions) -> Command {
    let mut command = cargo();
    command
        .current_dir(&course.dir)
        .arg(subcommand)
        .arg("--manifest-path")
        .arg(course.dir.join("Cargo.toml"))
        .arg("--message-format")
        .arg(if options.color {
            "json-diagnostic-rendered-ansi"
        } else {
            "json"
        });
    if options.locked {
        command.arg("--locked");
    }
    if options.offline {
        command.arg("--offline");
    }
    if let Some(target_dir) = &options.target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    command
}

/// What running one cargo command gave.
struct CargoRun {
    /// Its JSON messages, read.
    messages: Messages,
    /// Everything it printed on stderr.
    stderr: String,
    /// Whether it succeeded.
    success: bool,
}

/// Runs `command` (a [`cargo_in`]), reading its messages as they come, and passing on the
/// progress lines if `show_progress`.
fn run_cargo(
    mut command: Command,
    exercise_dir: &Path,
    show_progress: bool,
) -> anyhow::Result<CargoRun> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `cargo` (is Rust installed, and `cargo` on your PATH?)")?;
    // Cargo's stderr carries its progress; pass on the lines that say what it is doing during
    // a long build (the first one compiles every dependency), and keep them all in case of an
    // error. Stdout carries the JSON messages.
    let progress = child.stderr.take().map(|stderr| {
        std::thread::spawn(move || {
            let mut kept = String::new();
            for line in
                std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok)
            {
                let trimmed = line.trim_start();
                let busy = [
                    "Compiling",
                    "Downloading",
                    "Downloaded",
                    "Updating",
                    "Blocking",
                ];
                if show_progress && busy.iter().any(|word| trimmed.starts_with(word)) {
                    eprintln!("{line}");
                }
                kept.push_str(&line);
                kept.push('\n');
            }
            kept
        })
    });
    let messages = match child.stdout.take() {
        Some(pipe) => read_messages(std::io::BufReader::new(pipe), exercise_dir)
            .context("cannot read cargo's messages")?,
        None => Messages::default(),
    };
    let status = child.wait().context("cargo did not finish")?;
    let stderr = progress
        .map(|thread| thread.join().unwrap_or_default())
        .unwrap_or_default();
    Ok(CargoRun {
        messages,
        stderr,
        success: status.success(),
    })
}

fn build(course: &Course, exercise: &Exercise, options: &CheckOptions) -> anyhow::Result<Built> {
    let dir = course.path(exercise);
    let (clippy, driver) = clippy_for(&dir);
    let mut command = cargo_in(course, "test", options);
    command.args(["--no-run", "--package", &exercise.package()]);
    if let Some(driver) = driver {
        // What `cargo clippy` does, in the build that makes the test binaries: clippy's
        // compiler (rustc with clippy's lints) compiles the exercise's own crates, and cargo
        // passes on its warnings with the compiler's. Its dependencies are built by rustc as
        // always (the wrapper is for the workspace's members only): one build, where
        // `cargo clippy` beside it would check every dependency a second time.
        command.env("RUSTC_WORKSPACE_WRAPPER", driver);
    }
    let run = run_cargo(command, &dir, options.show_build_progress)?;
    let Messages {
        errors,
        warnings,
        mut binaries,
    } = run.messages;
    let relative = |rendered: Vec<Rendered>| -> Vec<String> {
        rendered
            .iter()
            .map(|message| relative_paths(&message.text, course))
            .collect()
    };
    if !errors.is_empty() {
        let count = errors.len();
        let limit = if options.all { usize::MAX } else { 1 };
        // The errors come first: a learner fixes them before reading warnings, which are only
        // counted, unless every message was asked for.
        let warnings_limit = if options.all { usize::MAX } else { 0 };
        return Ok(Built::Failed(Verdict::DoesNotCompile {
            errors: count,
            shown: relative(errors.into_iter().take(limit).collect()),
            warnings: Warnings::keep(relative(warnings), clippy, warnings_limit),
        }));
    }
    if !run.success {
        let message = tail(&run.stderr, 15);
        return Ok(Built::Failed(Verdict::BuildError { message }));
    }
    binaries.sort();
    binaries.dedup();
    Ok(Built::Binaries {
        binaries,
        warnings,
        clippy,
    })
}

/// The clippy lints an exercise's `Cargo.toml` turns on (`[lints.clippy]`, at `warn`, `deny`
/// or `forbid`), as `clippy::NAME`, sorted; empty if none (or no readable manifest).
pub fn declared_clippy_lints(manifest: &str) -> Vec<String> {
    let Ok(manifest) = manifest.parse::<toml::Table>() else {
        return Vec::new();
    };
    let table = manifest
        .get("lints")
        .and_then(|lints| lints.get("clippy"))
        .and_then(toml::Value::as_table);
    let mut lints: Vec<String> = table
        .into_iter()
        .flatten()
        .filter(|(_, level)| {
            // `name = "warn"`, or `name = { level = "warn", priority = 1 }`.
            let level = level
                .as_str()
                .or_else(|| level.get("level").and_then(toml::Value::as_str));
            matches!(level, Some("warn" | "deny" | "forbid"))
        })
        .map(|(name, _)| format!("clippy::{name}"))
        .collect();
    lints.sort();
    lints
}

/// Clippy, for an exercise whose `Cargo.toml` declares clippy lints: what becomes of it, and
/// its compiler (`clippy-driver`) if it can run.
///
/// The manifest decides which lints clippy checks: the exercises that declare some allow the
/// rest of clippy (`all = { level = "allow", priority = -1 }`), so that the check shows what
/// the exercise is about, and a learner who runs `cargo clippy` by hand sees the same.
fn clippy_for(exercise_dir: &Path) -> (Clippy, Option<OsString>) {
    let manifest = std::fs::read_to_string(exercise_dir.join("Cargo.toml")).unwrap_or_default();
    let lints = declared_clippy_lints(&manifest);
    if lints.is_empty() {
        return (Clippy::NotRun, None);
    }
    let driver = clippy_driver();
    // Asked first, because a wrapper that cannot run fails the whole build: without clippy
    // (`rustup component add clippy` was never run), the check goes on, and says so.
    let version = Command::new(&driver)
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    match version {
        Ok(output) if output.status.success() => (Clippy::Ran { lints }, Some(driver)),
        Ok(output) => {
            let why = tail(&String::from_utf8_lossy(&output.stderr), 1);
            (Clippy::Unavailable { lints, why }, None)
        }
        Err(error) => {
            let why = format!("cannot run {}: {error}", driver.to_string_lossy());
            (Clippy::Unavailable { lints, why }, None)
        }
    }
}

/// Clippy's compiler: `clippy-driver` beside the `cargo` that runs us (the same toolchain's,
/// as `cargo clippy` finds it), or else the one on the `PATH` (rustup's proxy).
fn clippy_driver() -> OsString {
    if let Some(cargo) = std::env::var_os("CARGO") {
        let beside = Path::new(&cargo)
            .with_file_name(format!("clippy-driver{}", std::env::consts::EXE_SUFFIX));
        if beside.is_file() {
            return beside.into_os_string();
        }
    }
    OsString::from("clippy-driver")
}

/// What cargo's JSON messages say: the compiler's errors and warnings, and the test binaries
/// built.
#[derive(Debug, Default, PartialEq, Eq)]
struct Messages {
    /// Every distinct error.
    errors: Vec<Rendered>,
    /// Every distinct warning about the exercise's own code.
    warnings: Vec<Rendered>,
    /// Every test binary built: target name and executable.
    binaries: Vec<(String, PathBuf)>,
}

/// One error or warning: what it is about, and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rendered {
    /// Its lint or error code and where it points (`unused_must_use 01-x/src/lib.rs:9:5`): the
    /// same for one message however often, and by whichever compiler, it is reported. (Not
    /// the text: clippy's compiler spells a type's path in full where rustc's does not.)
    key: String,
    /// The text exactly as cargo would print it (in colour when it was asked for
    /// `json-diagnostic-rendered-ansi`), without trailing blank lines.
    text: String,
}

impl Rendered {
    fn of(message: &cargo_metadata::diagnostic::Diagnostic) -> Rendered {
        let code = message.code.as_ref().map_or("", |code| code.code.as_str());
        let key = match message.spans.iter().find(|span| span.is_primary) {
            Some(span) => format!(
                "{code} {}:{}:{}",
                span.file_name, span.line_start, span.column_start
            ),
            None => format!("{code} {}", message.message),
        };
        let text = message.rendered.as_deref().unwrap_or(&message.message);
        Rendered {
            key,
            text: text.trim_end().to_string(),
        }
    }
}

/// Adds `item` to `list` unless a message with its key is there already.
fn add_once(list: &mut Vec<Rendered>, item: Rendered) {
    if !list.iter().any(|kept| kept.key == item.key) {
        list.push(item);
    }
}

/// Reads cargo's messages as they arrive, one JSON object a line, as `cargo_metadata`'s types
/// (a line that is not a message it knows, such as a future kind of message, is a `TextLine`,
/// and is passed over).
///
/// The same error or warning comes more than once: a library's code is compiled once for the
/// library and once for its unit tests, and cargo replays the warnings of a unit it did not
/// need to rebuild. Each is kept once, in the order first seen. Warnings are kept for the
/// targets of the package in `exercise_dir` only: cargo also reports them for path dependencies
/// (the repository's crates), which are not the learner's to fix. Errors are kept wherever they
/// are: a dependency that does not compile stops the check too.
fn read_messages(stdout: impl BufRead, exercise_dir: &Path) -> std::io::Result<Messages> {
    let mut messages = Messages::default();
    let exercise_dir = normalized(exercise_dir);
    for message in Message::parse_stream(stdout) {
        match message? {
            Message::CompilerMessage(CompilerMessage {
                message, target, ..
            }) => {
                let list = match message.level {
                    // The count at the end (`aborting due to 2 previous errors`) is not an
                    // error of its own.
                    DiagnosticLevel::Error if !message.message.starts_with("aborting due to") => {
                        &mut messages.errors
                    }
                    // Nor is `2 warnings emitted`: a real warning points at code.
                    DiagnosticLevel::Warning
                        if !message.spans.is_empty()
                            && normalized(target.src_path.as_std_path())
                                .starts_with(&exercise_dir) =>
                    {
                        &mut messages.warnings
                    }
                    _ => continue,
                };
                add_once(list, Rendered::of(&message));
            }
            Message::CompilerArtifact(artifact) if artifact.profile.test => {
                // A test target (an integration test file, or the library's unit tests), built
                // as an executable to run.
                if let Some(executable) = artifact.executable {
                    messages
                        .binaries
                        .push((artifact.target.name, executable.into_std_path_buf()));
                }
            }
            _ => {}
        }
    }
    Ok(messages)
}

/// `path` with its `.` and `..` parts resolved by reading it, not the file system: cargo names
/// sources by their path with those resolved (`crates/learn/../../exercises` is
/// `exercises`), and two spellings of one folder must compare equal.
fn normalized(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(part);
                }
            }
            _ => out.push(part),
        }
    }
    out
}

/// What running one test binary gave.
struct BinaryRun {
    /// Its exit status (`None` if it was killed).
    status: Option<ExitStatus>,
    /// Everything it printed to stdout (libtest's report).
    stdout: String,
    /// Everything it printed to stderr.
    stderr: String,
    /// Whether it was stopped at the time limit.
    timed_out: bool,
}

/// A test binary's command: in `dir`, without colour or backtraces (the tests' messages are the
/// report; a backtrace under each would bury them).
fn test_command(executable: &Path, dir: &Path) -> Command {
    let mut command = Command::new(executable);
    command
        .args(["--color", "never"])
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
    command
}

fn run_binary(executable: &Path, dir: &Path, timeout: Duration) -> anyhow::Result<BinaryRun> {
    // libtest's usual ("pretty") output: a `test NAME ... ok` line for each test that ends,
    // which says, if the binary has to be stopped, which tests had finished.
    let command = test_command(executable, dir);
    run_with_limit(command, timeout).with_context(|| format!("cannot run {}", executable.display()))
}

/// Reads `pipe` to its end on a thread of its own; the thread gives what was read.
fn read_on_thread(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut text);
        }
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// Waits for `child` to exit, for at most `timeout`; stops it if it is still running then.
/// `None`: it was stopped.
fn wait_or_stop(child: &mut Child, timeout: Duration) -> std::io::Result<Option<ExitStatus>> {
    // `wait_timeout` is woken by the child's exit, through a `SIGCHLD` handler on Unix, rather
    // than polling `try_wait` every few milliseconds.
    let status = child.wait_timeout(timeout)?;
    if status.is_none() {
        // Still running: a test waits for ever. Stop it, then wait for it, so that it is
        // reaped rather than left a zombie; its pipes close, so the reading threads end.
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(status)
}

fn run_with_limit(mut command: Command, timeout: Duration) -> std::io::Result<BinaryRun> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read both pipes while the tests run, so that a test that prints a lot cannot block.
    let stdout = read_on_thread(child.stdout.take());
    let stderr = read_on_thread(child.stderr.take());
    let status = wait_or_stop(&mut child, timeout)?;
    Ok(BinaryRun {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        timed_out: status.is_none(),
    })
}

/// Runs `command` with its stdout and stderr in one pipe, so that what it prints on each comes
/// in the order it was printed; gives that, and whether it was stopped at `timeout`.
fn run_merged_with_limit(
    mut command: Command,
    timeout: Duration,
) -> std::io::Result<(String, bool)> {
    let (reader, writer) = std::io::pipe()?;
    command
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let mut child = command.spawn()?;
    // The command keeps our copies of the pipe's writing end: dropped, the pipe ends when the
    // child's copies close, and the reading thread with it.
    drop(command);
    let output = read_on_thread(Some(reader));
    let status = wait_or_stop(&mut child, timeout)?;
    Ok((output.join().unwrap_or_default(), status.is_none()))
}

/// The tests that finished in libtest's pretty output: its `test NAME ... ok` (or `FAILED`, or
/// `ignored`) lines.
fn finished_tests(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|line| {
            let (name, result) = line.strip_prefix("test ")?.split_once(" ... ")?;
            let finished = ["ok", "FAILED", "ignored"]
                .iter()
                .any(|word| result.starts_with(word));
            finished.then(|| name.to_string())
        })
        .collect()
}

/// Runs a binary that was stopped at its limit again, one test at a time and without capture,
/// skipping the tests that had `finished`: the test still running when this run is stopped is
/// the one that hangs. `None` if this run ends (the hang came from tests running together).
fn find_the_hang(
    executable: &Path,
    dir: &Path,
    finished: &[String],
    limit: Duration,
) -> anyhow::Result<Option<Hung>> {
    let mut command = test_command(executable, dir);
    // One thread: libtest then prints `test NAME ... ` as each test *starts*, and what the test
    // prints follows it (`--nocapture`) on the same pipe.
    command.args(["--test-threads", "1", "--nocapture", "--exact"]);
    for name in finished {
        command.args(["--skip", name]);
    }
    let (output, stopped) = run_merged_with_limit(command, limit)
        .with_context(|| format!("cannot run {}", executable.display()))?;
    Ok(if stopped { running_test(&output) } else { None })
}

/// In the output of a one-test-at-a-time run with `--nocapture` that was stopped, the test that
/// was running (the last `test NAME ... ` line), and what it printed after that line.
fn running_test(output: &str) -> Option<Hung> {
    let lines: Vec<&str> = output.lines().collect();
    let (at, test, first) = lines.iter().enumerate().rev().find_map(|(at, line)| {
        let (name, rest) = line.strip_prefix("test ")?.split_once(" ... ")?;
        Some((at, name.to_string(), rest))
    })?;
    let printed: Vec<&str> = std::iter::once(first)
        .chain(lines[at + 1..].iter().copied())
        // libtest's own note, not the test's output.
        .filter(|line| !(line.starts_with("test ") && line.contains(" has been running for ")))
        .collect();
    Some(Hung {
        test,
        output: printed.join("\n").trim().to_string(),
    })
}

/// The passed and failed counts of libtest's `test result:` line(s).
fn test_counts(stdout: &str) -> (usize, usize) {
    let mut passed = 0;
    let mut failed = 0;
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(['.', ';']) {
            let mut words = part.split_whitespace();
            if let (Some(count), Some(what)) = (words.next(), words.next()) {
                let count: usize = count.parse().unwrap_or(0);
                match what {
                    "passed" => passed += count,
                    "failed" => failed += count,
                    _ => {}
                }
            }
        }
    }
    (passed, failed)
}

/// The first failed test in libtest's output: its `---- NAME stdout ----` block, which holds
/// what the test printed (libtest captures it), then the panic.
fn first_failure(stdout: &str) -> Option<Failure> {
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.starts_with("---- ") && line.ends_with(" stdout ----"))?;
    let test = lines[start]
        .trim_start_matches("---- ")
        .trim_end_matches(" stdout ----")
        .to_string();
    let block: Vec<&str> = lines[start + 1..]
        .iter()
        .take_while(|line| {
            !(line.starts_with("---- ") && line.ends_with(" stdout ----")) && **line != "failures:"
        })
        .copied()
        .collect();
    // `thread 'NAME' (ID) panicked at PATH:LINE:COLUMN:`, then the message.
    let panic_line = block
        .iter()
        .position(|line| line.starts_with("thread '") && line.contains("panicked at "));
    let (location, message_lines, printed) = match panic_line {
        Some(at) => {
            let location = block[at]
                .split_once("panicked at ")
                .map(|(_, location)| location.trim_end_matches(':').to_string());
            let message = block[at + 1..]
                .iter()
                .take_while(|line| {
                    !line.starts_with("note: run with `RUST_BACKTRACE")
                        && !line.starts_with("stack backtrace:")
                })
                .copied()
                .collect::<Vec<_>>();
            (location, message, &block[..at])
        }
        None => (None, block.clone(), &[][..]),
    };
    Some(Failure {
        test,
        location,
        message: message_lines.join("\n").trim().to_string(),
        output: printed.join("\n").trim().to_string(),
    })
}

/// Rewrites a location relative to the exercises workspace (`01-x/src/lib.rs:3:5`) as one
/// relative to the repository (`exercises/01-x/src/lib.rs:3:5`), which is where the learner
/// runs the command from.
fn relative_location(mut failure: Failure, course: &Course) -> Failure {
    if let Some(location) = &failure.location {
        let first = location.split(['/', '\\']).next().unwrap_or_default();
        if course
            .exercises
            .iter()
            .any(|exercise| exercise.dir == first)
        {
            failure.location = Some(format!("exercises/{location}"));
        }
    }
    failure
}

/// Rewrites the paths of a compiler message, relative to the exercises workspace
/// (`30-lock-across-await/src/lib.rs`), as paths relative to the repository
/// (`exercises/30-lock-across-await/src/lib.rs`), where the learner runs the command from.
fn relative_paths(rendered: &str, course: &Course) -> String {
    let mut text = rendered.to_string();
    for exercise in &course.exercises {
        for folder in ["src", "tests"] {
            let path = format!("{}/{folder}/", exercise.dir);
            let marker = "\u{0}";
            text = text
                .replace(&format!("exercises/{path}"), marker)
                .replace(&path, &format!("exercises/{path}"))
                .replace(marker, &format!("exercises/{path}"));
        }
    }
    text
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libtest's output for a run with two failures (Rust 1.95, `--quiet`).
    const OUTPUT: &str = "
running 3 tests
first --- FAILED
second --- FAILED
.
failures:

---- first stdout ----
some output of the test

thread 'first' (13239) panicked at 01-countdown-callbacks/src/lib.rs:90:5:
not yet implemented: start every feed
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- second stdout ----

thread 'second' (13240) panicked at 01-countdown-callbacks/tests/countdown.rs:20:9:
`done` should be called once
  expected: 1
       got: 0
    reread: chapter 4

failures:
    first
    second

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.07s
";

    #[test]
    fn cargo_messages_give_the_errors_and_the_test_binaries() {
        // Real `cargo test --no-run --message-format json` output (cargo 1.95), of a build
        // that failed and then of one that succeeded, with a warning, rustc's closing count and
        // a line that is not JSON added.
        let stdout = include_str!("../tests/fixtures/cargo-messages.jsonl");
        let messages = read_messages(stdout.as_bytes(), Path::new("/course/exercises/01-probe"))
            .expect("a slice reads");
        let error = [
            "error[E0308]: mismatched types",
            " --> src/lib.rs:1:37",
            "  |",
            "1 | pub fn f() -> u32 { let unused = 1; \"x\" }",
            "  |               ---                   ^^^ expected `u32`, found `&str`",
            "  |               |",
            "  |               expected `u32` because of return type",
        ]
        .join("\n");
        // The lib and its unit tests each report it: one error, not two.
        assert_eq!(
            texts(&messages.errors),
            [error],
            "rendered as cargo prints it, without the blank line, once"
        );
        assert_eq!(
            texts(&messages.warnings),
            ["warning: unused variable: `unused`"]
        );
        let deps = "/course/exercises/01-probe/target/debug/deps";
        assert_eq!(
            messages.binaries,
            [
                (
                    "probe".into(),
                    format!("{deps}/probe-cd20229ba815675c").into()
                ),
                ("t".into(), format!("{deps}/t-5dccf5658bf49b11").into()),
            ],
            "the test binaries, not the library"
        );
    }

    /// `sh -c SCRIPT`: a child process that behaves as a test binary might.
    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn a_binary_still_running_at_the_limit_is_stopped() {
        // `exec`, so that the process stopped is `sleep` itself; 30 s, so that a failure to
        // stop it ends the test anyway.
        let run = run_with_limit(
            shell("echo started; exec sleep 30"),
            Duration::from_millis(300),
        )
        .expect("sh runs");
        assert!(run.timed_out, "stopped at the limit");
        assert_eq!(run.status, None, "killed, so no exit status of its own");
    }

    #[test]
    fn a_chatty_binary_cannot_fill_a_pipe_and_block() {
        // A megabyte on stdout, far more than a pipe holds (64 KiB on Linux): unless the
        // pipes are read while it runs, the child blocks writing, and is stopped at the
        // (generous) limit instead of finishing.
        let run = run_with_limit(
            shell("head -c 1000000 /dev/zero | tr '\\0' x; echo done >&2"),
            Duration::from_secs(120),
        )
        .expect("sh runs");
        assert!(!run.timed_out, "it finished");
        assert!(run.status.is_some_and(|status| status.success()));
        assert_eq!(run.stdout.len(), 1_000_000);
        assert!(run.stdout.bytes().all(|byte| byte == b'x'));
        assert_eq!(run.stderr, "done\n");
    }

    #[test]
    fn counts_come_from_the_test_result_line() {
        assert_eq!(test_counts(OUTPUT), (1, 2));
        assert_eq!(
            test_counts("test result: ok. 4 passed; 0 failed; 0 ignored; 0 measured;"),
            (4, 0)
        );
    }

    #[test]
    fn the_first_failure_is_its_panic_message() {
        let failure = first_failure(OUTPUT).unwrap();
        assert_eq!(failure.test, "first");
        assert_eq!(
            failure.location.as_deref(),
            Some("01-countdown-callbacks/src/lib.rs:90:5")
        );
        assert_eq!(failure.message, "not yet implemented: start every feed");
        assert_eq!(failure.output, "some output of the test", "what it printed");
        assert!(failure.reached_todo());

        let second = &OUTPUT[OUTPUT.find("---- second").unwrap()..];
        let failure = first_failure(second).unwrap();
        assert_eq!(
            failure.message,
            "`done` should be called once\n  expected: 1\n       got: 0\n    reread: chapter 4"
        );
        assert!(!failure.reached_todo());
        assert_eq!(failure.output, "", "it printed nothing");
        assert_eq!(first_failure("running 1 test\n.\ntest result: ok."), None);
    }

    #[test]
    fn locations_inside_an_exercise_are_made_relative_to_the_repository() {
        let course = Course {
            dir: PathBuf::from("/repo/exercises"),
            exercises: crate::course::parse_info(
                "format_version = 2\n[[exercise]]\nname = \"countdown-callbacks\"\n\
                 dir = \"01-countdown-callbacks\"\nchapter = \"callbacks.md\"\nminutes = 10\n\
                 hints = [\"h\", \"solutions/01-countdown-callbacks/src/lib.rs\"]\n",
            )
            .unwrap(),
        };
        let failure = relative_location(first_failure(OUTPUT).unwrap(), &course);
        assert_eq!(
            failure.location.as_deref(),
            Some("exercises/01-countdown-callbacks/src/lib.rs:90:5")
        );
        let elsewhere = Failure {
            location: Some("/home/me/.cargo/registry/x.rs:1:1".into()),
            ..failure
        };
        assert_eq!(relative_location(elsewhere.clone(), &course), elsewhere);
    }

    #[test]
    fn compiler_paths_are_made_relative_to_the_repository() {
        let course = Course {
            dir: PathBuf::from("/repo/exercises"),
            exercises: crate::course::parse_info(
                "format_version = 2\n[[exercise]]\nname = \"x\"\ndir = \"01-x\"\n\
                 chapter = \"pitfalls.md\"\nminutes = 10\nhints = [\"h\", \"solutions/01-x\"]\n",
            )
            .unwrap(),
        };
        let rendered = "error[E0277]: ...\n  --> 01-x/tests/locks.rs:35:17\n  ::: 01-x/src/lib.rs:4:1\n\
                        see exercises/01-x/src/lib.rs";
        assert_eq!(
            relative_paths(rendered, &course),
            "error[E0277]: ...\n  --> exercises/01-x/tests/locks.rs:35:17\n  \
             ::: exercises/01-x/src/lib.rs:4:1\nsee exercises/01-x/src/lib.rs"
        );
    }

    #[test]
    fn summaries_are_one_line() {
        let todo = Verdict::TestsFail {
            failed: 2,
            total: 3,
            first: first_failure(OUTPUT).unwrap(),
            warnings: Warnings::default(),
        };
        assert_eq!(todo.summary(), "fails 2 of 3 tests (reaches a `todo!()`)");
        let passed = Verdict::Passed {
            tests: 4,
            warnings: Warnings::default(),
        };
        assert_eq!(passed.summary(), "passes (4 tests)");
        let warned = Verdict::Passed {
            tests: 4,
            warnings: Warnings::keep(vec!["warning: x".into()], Clippy::NotRun, 3),
        };
        assert_eq!(warned.summary(), "passes (4 tests), 1 warning");
        let error = Verdict::DoesNotCompile {
            errors: 1,
            shown: vec!["error[E0277]: ...".into()],
            warnings: Warnings::default(),
        };
        assert_eq!(error.summary(), "does not compile (1 error)");
        let hung = Verdict::TimedOut {
            binary: "hang".into(),
            after: Duration::from_secs(60),
            hung: Some(Hung {
                test: "waits".into(),
                output: String::new(),
            }),
            warnings: Warnings::default(),
        };
        assert_eq!(hung.summary(), "test `waits` hangs (stopped after 60 s)");
    }

    /// The texts of some messages.
    fn texts(messages: &[Rendered]) -> Vec<&str> {
        messages
            .iter()
            .map(|message| message.text.as_str())
            .collect()
    }

    #[test]
    fn warnings_are_the_exercises_own_and_each_comes_once() {
        // Real `cargo test --no-run --message-format json` output (cargo 1.95) of the runner's
        // test course (`tests/fixtures/course`), built as a check builds an exercise that
        // declares a clippy lint (clippy 0.1.95's `clippy-driver` as the workspace's compiler),
        // its paths moved to `/course/exercises`: `01-probe` forgets an `.await` (the
        // compiler's warning) and drops a future with `let _` (clippy's), and its dependency
        // `support` has an unused variable. The build ran twice: the second run replays the
        // warnings.
        let stdout = include_str!("../tests/fixtures/cargo-warnings.jsonl");
        let probe = Path::new("/course/exercises/01-probe");
        let messages = read_messages(stdout.as_bytes(), probe).expect("a slice reads");
        assert_eq!(messages.errors, []);
        let warnings = texts(&messages.warnings);
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(
            warnings[0].starts_with("warning: non-binding `let` on a future\n"),
            "clippy's: {warnings:#?}"
        );
        assert!(
            warnings[0].contains("#let_underscore_future"),
            "{warnings:#?}"
        );
        assert!(
            warnings[1].starts_with("warning: unused implementer of `std::future::Future`"),
            "the compiler's: {warnings:#?}"
        );
        assert!(
            warnings[1].contains("futures do nothing unless you `.await` or poll them"),
            "{warnings:#?}"
        );
        assert!(
            warnings
                .iter()
                .all(|warning| warning.contains("01-probe/src/lib.rs")),
            "not the dependency's: {warnings:#?}"
        );
        // The same folder, spelled through `..`, is the same folder.
        let again = read_messages(
            stdout.as_bytes(),
            Path::new("/course/elsewhere/../exercises/./01-probe"),
        )
        .expect("a slice reads");
        assert_eq!(again.warnings, messages.warnings);
    }

    #[test]
    fn clippy_lints_are_the_ones_the_manifest_turns_on() {
        let manifest = "[package]\nname = \"x\"\n\n[lints.rust]\nunsafe_code = \"forbid\"\n\n\
                        [lints.clippy]\nall = { level = \"allow\", priority = -1 }\n\
                        await_holding_lock = \"warn\"\nlarge_futures = { level = \"deny\" }\n";
        assert_eq!(
            declared_clippy_lints(manifest),
            ["clippy::await_holding_lock", "clippy::large_futures"]
        );
        assert_eq!(
            declared_clippy_lints("[lints]\nworkspace = true\n"),
            Vec::<String>::new()
        );
        assert_eq!(declared_clippy_lints("not toml ["), Vec::<String>::new());
    }

    /// libtest's output (Rust 1.95) for a binary stopped while its second test hung: first run
    /// as a check runs it, then one test at a time with `--nocapture`, skipping the first.
    const STOPPED: &str = "\nrunning 2 tests\ntest finishes ... ok\n";
    const RERUN: &str = "\nrunning 1 test\ntest hangs_after_printing ... waiting for a message \
                         that never comes\nstill waiting\n";

    #[test]
    fn the_hung_test_is_the_one_still_running_when_run_alone() {
        assert_eq!(finished_tests(STOPPED), ["finishes"]);
        assert_eq!(
            finished_tests(
                "test a ... ok\ntest b ... FAILED\ntest c ... ignored, slow\ntest result: ok. 1 \
                 passed; 0 failed"
            ),
            ["a", "b", "c"]
        );
        assert_eq!(
            running_test(RERUN),
            Some(Hung {
                test: "hangs_after_printing".into(),
                output: "waiting for a message that never comes\nstill waiting".into(),
            })
        );
        assert_eq!(
            running_test("\nrunning 1 test\ntest quiet ... \n"),
            Some(Hung {
                test: "quiet".into(),
                output: String::new(),
            }),
            "a test that printed nothing"
        );
        assert_eq!(running_test("\nrunning 0 tests\n"), None);
    }

    #[test]
    fn paths_are_compared_without_their_dots() {
        assert_eq!(
            normalized(Path::new("/repo/crates/learn/../../exercises/./01-x")),
            Path::new("/repo/exercises/01-x")
        );
        assert_eq!(normalized(Path::new("../x")), Path::new("../x"));
    }

    /// The runner's test course (`tests/fixtures/course`: three tiny exercises, no dependency),
    /// and options that build it offline, in a target directory of its own beside this test
    /// binary's (`target/learn-fixture`), so that it never waits for the workspace's build.
    fn fixture_course() -> (Course, CheckOptions) {
        let course =
            Course::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/course"))
                .expect("the test course's info.toml is valid");
        let exe = std::env::current_exe().expect("the test binary has a path");
        // `target/debug/deps/rosetta_learn-HASH`: three levels below the target directory.
        let target = exe
            .ancestors()
            .nth(3)
            .expect("the test binary is in target/");
        let options = CheckOptions {
            target_dir: Some(target.join("learn-fixture")),
            locked: true,
            offline: true,
            ..CheckOptions::default()
        };
        (course, options)
    }

    #[test]
    fn a_real_check_shows_warnings_clippys_lints_and_what_a_failed_test_printed() {
        let (course, options) = fixture_course();
        let verdict = check(&course, &course.exercises[0], &options).expect("cargo runs");
        let Verdict::TestsFail {
            failed,
            total,
            first,
            warnings,
        } = &verdict
        else {
            panic!("01-probe has one failing test: {verdict:#?}");
        };
        assert_eq!((*failed, *total), (1, 2));
        assert_eq!(first.test, "prints_then_fails");
        assert!(first.message.contains("the answer, doubled"), "{first:#?}");
        assert!(
            first.output.contains("the answer so far: 41"),
            "println! before the panic: {first:#?}"
        );
        assert!(
            first.output.contains("probe::answer() * 2 = 82"),
            "dbg! before the panic: {first:#?}"
        );
        assert_eq!(
            warnings.clippy,
            Clippy::Ran {
                lints: vec!["clippy::let_underscore_future".into()]
            },
            "01-probe declares one clippy lint: {warnings:#?}"
        );
        let text = warnings.shown.join("\n\n");
        assert_eq!(warnings.count, 2, "{text}");
        assert!(
            text.contains("futures do nothing unless you `.await` or poll them"),
            "the compiler's unused_must_use: {text}"
        );
        assert!(
            text.contains("let_underscore_future"),
            "clippy's declared lint: {text}"
        );
        assert!(
            text.contains("exercises/01-probe/src/lib.rs"),
            "paths from the repository: {text}"
        );
        assert!(
            !text.contains("needless_return"),
            "clippy's other lints are allowed by the manifest: {text}"
        );
        assert!(
            !text.contains("support"),
            "not the dependency's warnings: {text}"
        );
    }

    #[test]
    fn a_real_check_names_the_test_that_hangs_and_shows_what_it_printed() {
        let (course, options) = fixture_course();
        let options = CheckOptions {
            // The limit is what stops the hung test: the shorter, the quicker this test. The
            // other test of the binary finishes at once.
            test_timeout: Duration::from_secs(3),
            ..options
        };
        let verdict = check(&course, &course.exercises[1], &options).expect("cargo runs");
        let Verdict::TimedOut { binary, hung, .. } = &verdict else {
            panic!("02-hang hangs: {verdict:#?}");
        };
        assert_eq!(binary, "hang");
        assert_eq!(
            hung.as_ref(),
            Some(&Hung {
                test: "hangs_after_printing".into(),
                output: "waiting for a message that never comes".into(),
            })
        );
    }

    #[test]
    fn a_real_check_shows_every_compile_error_when_asked_for() {
        let (course, options) = fixture_course();
        let verdict = check(&course, &course.exercises[2], &options).expect("cargo runs");
        let Verdict::DoesNotCompile { errors, shown, .. } = &verdict else {
            panic!("03-broken does not compile: {verdict:#?}");
        };
        assert_eq!(*errors, 2, "{shown:#?}");
        assert_eq!(shown.len(), 1, "the first only, by default");
        let all = CheckOptions {
            all: true,
            ..options
        };
        let verdict = check(&course, &course.exercises[2], &all).expect("cargo runs");
        let Verdict::DoesNotCompile { errors, shown, .. } = &verdict else {
            panic!("03-broken does not compile: {verdict:#?}");
        };
        assert_eq!(*errors, 2);
        assert_eq!(shown.len(), 2, "every one with --all: {shown:#?}");
        assert!(shown[0].contains("\"one\""), "in order: {shown:#?}");
        assert!(shown[1].contains("\"two\""), "in order: {shown:#?}");
        assert!(
            shown[1].contains("exercises/03-broken/src/lib.rs"),
            "{shown:#?}"
        );
    }
}
