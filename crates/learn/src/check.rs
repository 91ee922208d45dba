//! Checking one exercise: build it, run its tests, and say what happened in the learner's terms.
//!
//! Two steps, so that each can be reported well:
//!
//! 1. **Build**: `cargo test --no-run --message-format json` in the exercises workspace. Cargo
//!    prints one JSON message a line; `cargo_metadata`, the crate cargo's own ecosystem uses
//!    for them, reads each into a type ([`Message`]), so the code says `message.level` and
//!    `artifact.executable` rather than indexing untyped JSON by strings. Compiler errors are
//!    [`CompilerMessage`]s, each with its text rendered exactly as `cargo` would print it; the
//!    first one is shown. The artifact messages name the test binaries built.
//! 2. **Test**: each test binary is run directly (not through `cargo test`), so that a test that
//!    waits for ever can be stopped after a time limit: killing the binary stops it, where
//!    killing `cargo` would leave the binary running. The wait is `wait-timeout`'s
//!    (`child.wait_timeout(limit)`), and the binary's output is read on two threads meanwhile,
//!    so that a test that prints a lot cannot block on a full pipe. Its output is libtest's:
//!    the first failed test's panic message is picked out of it. The exercises' tests write
//!    their messages for this: what was expected, what happened, which chapter to reread.
//!
//! Nothing here writes to an exercise's files; cargo writes only to the target directory.

use std::ffi::OsString;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context;
use cargo_metadata::diagnostic::DiagnosticLevel;
use cargo_metadata::{CompilerMessage, Message};
use wait_timeout::ChildExt;

use crate::course::{Course, Exercise};

/// How a check runs.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Where cargo builds (`None`: the exercises workspace's `target/`, unless the environment
    /// says otherwise with `CARGO_TARGET_DIR`).
    pub target_dir: Option<PathBuf>,
    /// Show cargo's progress lines ("Compiling tokio ...") on stderr while it builds: the first
    /// build compiles every dependency, which takes a while.
    pub show_build_progress: bool,
    /// Render compiler errors in colour.
    pub color: bool,
    /// Build with `--locked`: refuse to update `Cargo.lock` (for CI).
    pub locked: bool,
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
}

impl Failure {
    /// Whether the test stopped at a `todo!()`: the exercise is not started (or not finished).
    pub fn reached_todo(&self) -> bool {
        self.message.starts_with("not yet implemented")
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every test passed.
    Passed {
        /// How many tests ran.
        tests: usize,
    },
    /// The exercise (or its tests) did not compile.
    DoesNotCompile {
        /// How many errors the compiler reported.
        errors: usize,
        /// The first error, as the compiler rendered it.
        first: String,
    },
    /// It compiled, and some tests failed.
    TestsFail {
        /// How many failed.
        failed: usize,
        /// How many ran.
        total: usize,
        /// The first failure.
        first: Failure,
    },
    /// A test binary was still running after the time limit, and was stopped.
    TimedOut {
        /// The test binary (the test file's name).
        binary: String,
        /// The time limit.
        after: Duration,
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

    /// One line, for tables: `passes (4 tests)`, `fails 3 of 4 tests`, ...
    pub fn summary(&self) -> String {
        match self {
            Verdict::Passed { tests } => format!("passes ({tests} tests)"),
            Verdict::DoesNotCompile { errors, .. } => {
                format!("does not compile ({errors} error{})", plural(*errors))
            }
            Verdict::TestsFail {
                failed,
                total,
                first,
            } if first.reached_todo() => {
                format!("fails {failed} of {total} tests (reaches a `todo!()`)")
            }
            Verdict::TestsFail { failed, total, .. } => format!("fails {failed} of {total} tests"),
            Verdict::TimedOut { binary, after } => {
                format!("test `{binary}` still running after {} s", after.as_secs())
            }
            Verdict::BuildError { message } => {
                format!(
                    "cannot build: {}",
                    message.lines().next().unwrap_or_default()
                )
            }
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

/// Builds and tests `exercise`.
pub fn check(
    course: &Course,
    exercise: &Exercise,
    options: &CheckOptions,
) -> anyhow::Result<Verdict> {
    let built = build(course, exercise, options)?;
    let binaries = match built {
        Built::Binaries(binaries) => binaries,
        Built::Failed(verdict) => return Ok(verdict),
    };
    let mut total = 0;
    let mut failed = 0;
    let mut first = None;
    for (name, executable) in &binaries {
        let run = run_binary(executable, &course.path(exercise), options.test_timeout)?;
        if run.timed_out {
            return Ok(Verdict::TimedOut {
                binary: name.clone(),
                after: options.test_timeout,
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
            });
            failed = failed.max(1);
            first = Some(failure);
        }
    }
    Ok(match first {
        None => Verdict::Passed { tests: total },
        Some(first) => Verdict::TestsFail {
            failed,
            total: total.max(failed),
            first: relative_location(first, course),
        },
    })
}

/// What the build step gives: the test binaries (name, path), or a verdict already.
enum Built {
    Binaries(Vec<(String, PathBuf)>),
    Failed(Verdict),
}

fn build(course: &Course, exercise: &Exercise, options: &CheckOptions) -> anyhow::Result<Built> {
    let format = if options.color {
        "json-diagnostic-rendered-ansi"
    } else {
        "json"
    };
    let mut command = cargo();
    command
        .current_dir(&course.dir)
        .arg("test")
        .arg("--manifest-path")
        .arg(course.dir.join("Cargo.toml"))
        .args(["--no-run", "--package", &exercise.package()])
        .args(["--message-format", format])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if options.locked {
        command.arg("--locked");
    }
    if let Some(target_dir) = &options.target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    let mut child = command
        .spawn()
        .context("cannot run `cargo` (is Rust installed, and `cargo` on your PATH?)")?;
    // Cargo's stderr carries its progress; pass on the lines that say what it is doing during
    // a long build (the first one compiles every dependency), and keep them all in case of an
    // error. Stdout carries the JSON messages.
    let show = options.show_build_progress;
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
                if show && busy.iter().any(|word| trimmed.starts_with(word)) {
                    eprintln!("{line}");
                }
                kept.push_str(&line);
                kept.push('\n');
            }
            kept
        })
    });
    let messages = match child.stdout.take() {
        Some(pipe) => {
            read_messages(std::io::BufReader::new(pipe)).context("cannot read cargo's messages")?
        }
        None => Messages::default(),
    };
    let status = child.wait().context("cargo did not finish")?;
    let stderr = progress
        .map(|thread| thread.join().unwrap_or_default())
        .unwrap_or_default();
    let Messages {
        errors,
        mut binaries,
    } = messages;
    if let Some(first) = errors.first() {
        return Ok(Built::Failed(Verdict::DoesNotCompile {
            errors: errors.len(),
            first: relative_paths(first, course),
        }));
    }
    if !status.success() {
        let message = tail(&stderr, 15);
        return Ok(Built::Failed(Verdict::BuildError { message }));
    }
    binaries.sort();
    binaries.dedup();
    Ok(Built::Binaries(binaries))
}

/// What cargo's JSON messages say: the compiler's errors, and the test binaries built.
#[derive(Debug, Default, PartialEq, Eq)]
struct Messages {
    /// Every error, as the compiler rendered it (without trailing blank lines).
    errors: Vec<String>,
    /// Every test binary built: target name and executable.
    binaries: Vec<(String, PathBuf)>,
}

/// Reads cargo's messages as they arrive, one JSON object a line, as `cargo_metadata`'s types
/// (a line that is not a message it knows, such as a future kind of message, is a `TextLine`,
/// and is passed over).
fn read_messages(stdout: impl BufRead) -> std::io::Result<Messages> {
    let mut messages = Messages::default();
    for message in Message::parse_stream(stdout) {
        match message? {
            Message::CompilerMessage(CompilerMessage { message, .. })
                if message.level == DiagnosticLevel::Error =>
            {
                if message.message.starts_with("aborting due to") {
                    continue; // The count at the end, not an error of its own.
                }
                // `rendered` is the text exactly as cargo would print it (in colour when it
                // was asked for `json-diagnostic-rendered-ansi`).
                let rendered = message.rendered.as_deref().unwrap_or(&message.message);
                messages.errors.push(rendered.trim_end().to_string());
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

fn run_binary(executable: &Path, dir: &Path, timeout: Duration) -> anyhow::Result<BinaryRun> {
    let mut command = Command::new(executable);
    command
        .args(["--quiet", "--color", "never"])
        .current_dir(dir)
        // The tests' messages are the report; a backtrace under each would bury them.
        .env("RUST_BACKTRACE", "0")
        .env("RUST_LIB_BACKTRACE", "0");
    run_with_limit(command, timeout).with_context(|| format!("cannot run {}", executable.display()))
}

fn run_with_limit(mut command: Command, timeout: Duration) -> std::io::Result<BinaryRun> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Read both pipes while the tests run, so that a test that prints a lot cannot block.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // Wait for the child to exit, for at most `timeout`. (`wait_timeout` is woken by the
    // child's exit, through a `SIGCHLD` handler on Unix, rather than polling `try_wait` every
    // few milliseconds.)
    let status = child.wait_timeout(timeout)?;
    let timed_out = status.is_none();
    if timed_out {
        // Still running: a test waits for ever. Stop it, then wait for it, so that it is
        // reaped rather than left a zombie; its pipes close, so the reading threads end.
        let _ = child.kill();
        let _ = child.wait();
    }
    Ok(BinaryRun {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        timed_out,
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

/// The first failed test in libtest's output: its `---- NAME stdout ----` block.
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
    let (location, message_lines) = match panic_line {
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
            (location, message)
        }
        None => (None, block),
    };
    let message = message_lines.join("\n").trim().to_string();
    Some(Failure {
        test,
        location,
        message,
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
/// (`21-lock-across-await/src/lib.rs`), as paths relative to the repository
/// (`exercises/21-lock-across-await/src/lib.rs`), where the learner runs the command from.
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
        let messages = read_messages(stdout.as_bytes()).expect("a slice reads");
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
        assert_eq!(
            messages.errors.len(),
            2,
            "the lib and its unit tests each report it: {:?}",
            messages.errors
        );
        for rendered in &messages.errors {
            assert_eq!(
                *rendered, error,
                "rendered as cargo prints it, without the blank line"
            );
        }
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
        assert!(failure.reached_todo());

        let second = &OUTPUT[OUTPUT.find("---- second").unwrap()..];
        let failure = first_failure(second).unwrap();
        assert_eq!(
            failure.message,
            "`done` should be called once\n  expected: 1\n       got: 0\n    reread: chapter 4"
        );
        assert!(!failure.reached_todo());
        assert_eq!(first_failure("running 1 test\n.\ntest result: ok."), None);
    }

    #[test]
    fn locations_inside_an_exercise_are_made_relative_to_the_repository() {
        let course = Course {
            dir: PathBuf::from("/repo/exercises"),
            exercises: crate::course::parse_info(
                "format_version = 1\n[[exercise]]\nname = \"countdown-callbacks\"\n\
                 dir = \"01-countdown-callbacks\"\nchapter = \"callbacks.md\"\nminutes = 10\n\
                 hint = \"h\"\n",
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
                "format_version = 1\n[[exercise]]\nname = \"x\"\ndir = \"01-x\"\n\
                 chapter = \"pitfalls.md\"\nminutes = 10\nhint = \"h\"\n",
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
        };
        assert_eq!(todo.summary(), "fails 2 of 3 tests (reaches a `todo!()`)");
        assert_eq!(Verdict::Passed { tests: 4 }.summary(), "passes (4 tests)");
        let error = Verdict::DoesNotCompile {
            errors: 1,
            first: "error[E0277]: ...".into(),
        };
        assert_eq!(error.summary(), "does not compile (1 error)");
    }
}
