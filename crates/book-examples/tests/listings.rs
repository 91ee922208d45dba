//! Runs the book's JavaScript and Python listings (`book/src/listings/`) and checks what they
//! print against what the pipeline's specification says about the same five feeds.
//!
//! These tests *require* `node` and `python3` (CI has both): a missing interpreter fails them,
//! with a message saying which one, rather than skipping them silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use rosetta_pipeline::Scenario;
use rosetta_pipeline::model;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};

/// The five feeds of the listings, as a scenario: the same names, latencies and faults. Every
/// answer is at least 60 ms from its timeout, so a busy machine cannot change an outcome.
const STAGE: &str = r#"
name = "listings"
settings.timeout_ms = 100
settings.retries = 1
[[sources]]
name = "oslo-feed"
latency_ms = 30
[[sources]]
name = "flaky-feed"
latency_ms = 40
fault = "first"
[[sources]]
name = "down-feed"
latency_ms = 10
fault = "always"
[[sources]]
name = "hanging-feed"
latency_ms = 12
fault = "hang"
[[sources]]
name = "too-slow-feed"
latency_ms = 225
"#;

fn listings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/listings")
}

/// What the specification says each feed's fetch comes to, one line per feed, in the words
/// the listings print.
fn expected() -> String {
    let scenario = Scenario::from_toml(STAGE, "listings").unwrap();
    let settings = &scenario.settings;
    let mut out = String::new();
    for source in &scenario.sources {
        let mut attempt = 1;
        let summary = loop {
            let (_, outcome) = model::attempt(source, attempt, settings);
            if outcome == AttemptOutcome::Answered || attempt == settings.max_attempts() {
                break FetchSummary::after(attempt, outcome);
            }
            attempt += 1;
        };
        let outcome = summary.failure.map_or("answered", |reason| reason.as_str());
        let plural = if summary.attempts == 1 { "" } else { "s" };
        out.push_str(&format!(
            "{}: {outcome} after {} attempt{plural}\n",
            source.name, summary.attempts
        ));
    }
    out
}

/// Runs `program file` in the listings folder; returns (stdout, stderr).
fn run(program: &str, file: &str) -> (String, String) {
    let output = Command::new(program)
        .arg(file)
        .current_dir(listings())
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run `{program} {file}` ({error}): install {program}")
        });
    assert!(
        output.status.success(),
        "`{program} {file}` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn the_expected_lines_are_what_the_book_shows() {
    assert_eq!(
        expected(),
        "oslo-feed: answered after 1 attempt\n\
         flaky-feed: answered after 2 attempts\n\
         down-feed: error after 2 attempts\n\
         hanging-feed: timeout after 2 attempts\n\
         too-slow-feed: timeout after 2 attempts\n"
    );
}

#[test]
fn javascript_callbacks_follow_the_specification() {
    assert_eq!(run("node", "callbacks.js").0, expected());
}

#[test]
fn javascript_promises_follow_the_specification() {
    assert_eq!(run("node", "promises.js").0, expected());
}

#[test]
fn javascript_async_await_follows_the_specification() {
    assert_eq!(run("node", "async_await.js").0, expected());
}

#[test]
fn python_asyncio_follows_the_specification() {
    assert_eq!(run("python3", "asyncio_pipeline.py").0, expected());
}

#[test]
fn the_seed_bug_processes_nothing_and_python_says_why() {
    let (stdout, stderr) = run("python3", "seed_bug.py");
    assert_eq!(stdout, "processed: []\n");
    assert!(
        stderr.contains("RuntimeWarning: coroutine 'process_data' was never awaited"),
        "{stderr}"
    );
}

/// The same mistake in Rust (`fixtures/seed_bug.rs`), compiled: the compiler says it before
/// anything runs, in the words the book quotes.
#[test]
fn the_seed_bug_in_rust_is_a_compiler_warning() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed_bug.rs");
    let out = std::env::temp_dir().join(format!("seed-bug-{}.rmeta", std::process::id()));
    let output = Command::new(&rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "-o",
        ])
        .arg(&out)
        .arg(&fixture)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap_or_else(|error| panic!("cannot run `{rustc}`: {error}"));
    let _ = std::fs::remove_file(&out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "a warning, not an error: {stderr}");
    for said in [
        "warning: unused implementer of `Future` that must be used",
        "process_data(result); // the bug",
        "= note: futures do nothing unless you `.await` or poll them",
        "`#[warn(unused_must_use)]`",
    ] {
        assert!(stderr.contains(said), "{said:?} not in:\n{stderr}");
    }
}
