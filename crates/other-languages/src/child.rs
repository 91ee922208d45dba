//! Running a program: where its files are, the child process, its time limit, and its report.
//!
//! The child's standard error carries the trace (read on a thread of its own, named after the
//! program, so that a timeline shows the program's events on one row, as they happened on its
//! one event loop), its standard output the report. Both are read while the child runs: a pipe
//! holds only 64 KiB, and a child blocked on a full pipe would never finish.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use rosetta_pipeline::transport::Transport;
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace, model};
use wait_timeout::ChildExt;

use crate::protocol::TraceReader;
use crate::{ChildRun, Program};

/// The programs' files, compiled in, for a `rosetta` run away from its source folder.
const FILES: &[(&str, &str)] = &[
    ("node/spec.mjs", include_str!("../node/spec.mjs")),
    ("node/channel.mjs", include_str!("../node/channel.mjs")),
    ("node/callbacks.mjs", include_str!("../node/callbacks.mjs")),
    ("node/promises.mjs", include_str!("../node/promises.mjs")),
    ("node/async.mjs", include_str!("../node/async.mjs")),
    ("python/spec.py", include_str!("../python/spec.py")),
    (
        "python/asyncio_pipeline.py",
        include_str!("../python/asyncio_pipeline.py"),
    ),
];

/// The longest a program may take beyond the scenario's sequential time (the slowest any
/// correct run can be) before it is called hung and stopped: an interpreter's start-up, a busy
/// machine.
const GRACE: Duration = Duration::from_secs(30);

pub(crate) fn run(
    program: &Program,
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> ChildRun {
    let mut peak_kib = None;
    let report = run_child(program, scenario, opts, trace, &mut peak_kib);
    ChildRun { report, peak_kib }
}

fn run_child(
    program: &Program,
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
    peak_kib: &mut Option<u64>,
) -> Result<Report, RunError> {
    let style = program.name;
    let failed = |message: String| RunError::Internal { style, message };
    let Transport::Tcp(feeds) = opts.transport else {
        return Err(failed(
            "runs on the tcp transport only: it is a program of its own, fetching from a \
             feed server (--transport tcp)"
                .into(),
        ));
    };
    let found = program
        .interpreter
        .find()
        .map_err(|found| RunError::NotInstalled {
            style,
            needs: format!("{} (here: {found})", program.interpreter.needs()),
            install: program.interpreter.install(),
        })?;
    let folder = folder().map_err(|error| failed(format!("cannot write its files: {error}")))?;
    let mut child = Command::new(&found.command)
        .arg(folder.join(program.file))
        .arg(format!("http://{}", feeds.addr))
        .args(["--run", &feeds.run.to_string(), "--trace"])
        // The programs are read once per run; a `__pycache__` beside them would be litter.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| failed(format!("cannot start `{}`: {error}", found.command)))?;

    let stderr = child.stderr.take().expect("stderr is piped");
    let mut reader = TraceReader::new(
        trace.clone(),
        scenario.sources.len(),
        scenario.settings.workers,
        child.id(),
    );
    let trace_thread = thread::Builder::new()
        .name(format!("{style} (child process)"))
        .spawn(move || {
            for line in BufReader::new(stderr).lines() {
                match line {
                    Ok(line) => reader.line(&line),
                    // Not UTF-8, or the pipe broke: the rest is unreadable, not a trace.
                    Err(_) => break,
                }
            }
            reader
        })
        .map_err(|error| failed(format!("cannot start a thread to read its trace: {error}")))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let report_thread = thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });

    let limit = opts
        .scaled(model::ideal(scenario).sequential_ms)
        .saturating_add(GRACE);
    let finished = wait_at_most(&mut child, limit);
    let reader = trace_thread
        .join()
        .expect("the trace reader does not panic");
    *peak_kib = reader.peak_kib();
    let stdout = report_thread
        .join()
        .expect("the report reader does not panic");
    let status = finished.map_err(failed)?;
    if !status.success() {
        let said = reader.messages();
        return Err(failed(format!(
            "it exited with {status}{}{said}",
            if said.is_empty() { "" } else { ": " }
        )));
    }
    if let Some(line) = reader.malformed() {
        return Err(failed(format!(
            "it wrote a trace line that does not read: {line}"
        )));
    }
    let stdout = stdout.map_err(|error| failed(format!("cannot read its report: {error}")))?;
    // Strict: every key of the specification's report, no other, each of its type. Numbers are
    // read by value, so `-1` and `-1.0` are the same temperature.
    serde_json::from_slice::<Report>(&stdout)
        .map_err(|error| failed(format!("its report does not read as a report: {error}")))
}

/// Waits for `child` for at most `limit`; past it, kills it and says so.
fn wait_at_most(child: &mut Child, limit: Duration) -> Result<std::process::ExitStatus, String> {
    match child.wait_timeout(limit) {
        Ok(Some(status)) => Ok(status),
        Ok(None) => {
            // Killing closes its pipes, which ends both reading threads.
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "it did not finish within {:.1} s (the scenario's sequential time and {} s \
                 more), so it was stopped",
                limit.as_secs_f64(),
                GRACE.as_secs()
            ))
        }
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("cannot wait for it: {error}"))
        }
    }
}

/// The folder the programs run from.
///
/// In a checkout (the usual case: `cargo run`), this crate's own folder, so that a learner who
/// edits `node/async.mjs` runs the edited file at once. Away from it (an installed `rosetta`),
/// the copies compiled in, written once under the user's cache folder and checked against the
/// compiled-in text at every start.
fn folder() -> Result<&'static Path, String> {
    static FOLDER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let source = Path::new(env!("CARGO_MANIFEST_DIR"));
            if FILES.iter().all(|(file, _)| source.join(file).is_file()) {
                return Ok(source.to_path_buf());
            }
            let cache = cache_folder();
            write_copies(&cache).map_err(|error| format!("{}: {error}", cache.display()))?;
            Ok(cache)
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// `$XDG_CACHE_HOME/async-rosetta/programs-VERSION`, or under `~/.cache`, or the temporary
/// folder when there is no home.
fn cache_folder() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("async-rosetta")
        .join(format!("programs-{}", env!("CARGO_PKG_VERSION")))
}

/// Writes every file whose copy in `folder` is missing or differs from the compiled-in text.
fn write_copies(folder: &Path) -> std::io::Result<()> {
    for (file, text) in FILES {
        let path = folder.join(file);
        if std::fs::read_to_string(&path).is_ok_and(|current| current == *text) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_written_once_and_mended_when_changed() {
        let folder = std::env::temp_dir().join(format!("rosetta-copies-{}", std::process::id()));
        write_copies(&folder).unwrap();
        let first = folder.join(FILES[0].0);
        assert_eq!(std::fs::read_to_string(&first).unwrap(), FILES[0].1);
        std::fs::write(&first, "// edited").unwrap();
        write_copies(&folder).unwrap();
        assert_eq!(std::fs::read_to_string(&first).unwrap(), FILES[0].1);
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
