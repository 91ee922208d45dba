//! `rosetta learn watch`: check the current exercise, wait for its files to change, check again;
//! when it passes, move on to the next.
//!
//! Changes are noticed by polling: every half second, the size and modification time of every
//! file in the exercise's folder (its `target/` aside) are compared with the last look. That is
//! cheap for a few files, needs no dependency, and works with every editor, including those
//! that save by writing a new file and renaming it over the old one.
//!
//! While it waits, it reads commands from the terminal: `h` (a hint), `l` (the list), `c`
//! (check now), `q` (quit), each followed by Enter.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, SystemTime};

use crate::check::{CheckOptions, Verdict, check};
use crate::course::{Course, Exercise};
use crate::progress::Progress;
use crate::show::{self, Paint};

/// What the files of a folder looked like: size and modification time of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<PathBuf, (u64, Option<SystemTime>)>);

impl Snapshot {
    /// Looks at every file under `dir`, except in `target/` and hidden folders.
    pub fn take(dir: &Path) -> Snapshot {
        let skipped = |entry: &walkdir::DirEntry| {
            let name = entry.file_name().to_string_lossy();
            entry.depth() > 0
                && entry.file_type().is_dir()
                && (name == "target" || name.starts_with('.'))
        };
        let files = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_entry(|entry| !skipped(entry))
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_file())
            .filter_map(|entry| {
                let metadata = entry.metadata().ok()?;
                Some((
                    entry.into_path(),
                    (metadata.len(), metadata.modified().ok()),
                ))
            })
            .collect();
        Snapshot(files)
    }
}

/// What one step of the watch loop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The exercise checked (`None`: every exercise was already done).
    pub checked: Option<Exercise>,
    /// What the check found.
    pub verdict: Option<Verdict>,
    /// The exercise that is current after the step (`None`: all done).
    pub next: Option<Exercise>,
}

/// One step: checks the current exercise, records the result, says what is current next.
pub fn step(
    course: &Course,
    progress: &mut Progress,
    options: &CheckOptions,
) -> anyhow::Result<Step> {
    let Some(current) = progress.current(course).cloned() else {
        return Ok(Step {
            checked: None,
            verdict: None,
            next: None,
        });
    };
    let verdict = check(course, &current, options)?;
    progress.set_done(&current, verdict.passed());
    progress.save()?;
    Ok(Step {
        next: progress.current(course).cloned(),
        checked: Some(current),
        verdict: Some(verdict),
    })
}

/// How the watch loop runs.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Check once (advancing if it passes) and return, instead of watching.
    pub once: bool,
    /// How often to look at the files.
    pub poll: Duration,
}

/// Runs `rosetta learn watch`.
///
/// Everything goes to `out` (the caller's locked stdout) with `writeln!` and `?`, so a closed
/// stdout ends the loop with an error instead of a panic.
pub fn watch(
    course: &Course,
    watch: &WatchOptions,
    options: &CheckOptions,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let paint = Paint::for_stdout();
    let mut progress = Progress::load(&course.dir)?;
    let commands = (!watch.once && std::io::stdin().is_terminal()).then(read_commands);
    let mut introduced = None;
    loop {
        let Some(current) = progress.current(course).cloned() else {
            writeln!(out, "{}", all_done(course, paint))?;
            return Ok(ExitCode::SUCCESS);
        };
        if introduced.as_ref() != Some(&current.dir) {
            writeln!(out, "{}", show::introduction(course, &current, paint))?;
            introduced = Some(current.dir.clone());
        }
        writeln!(
            out,
            "{}",
            paint.dim(&format!("Checking {}...", show::label(&current)))
        )?;
        // The files as the check is about to see them. Taken *before* the check, not after: a
        // save made while a slow check runs is a change the check did not see, and waiting
        // from a snapshot taken after it would miss that save until the next one.
        let checked = Snapshot::take(&course.path(&current));
        let step = step(course, &mut progress, options)?;
        if let Some(verdict) = &step.verdict {
            writeln!(out, "{}", show::verdict(&current, verdict, paint))?;
        }
        if step.next.as_ref() != Some(&current) {
            writeln!(
                out,
                "{} of {} done. On to the next one!\n",
                progress.done_count(course),
                course.exercises.len()
            )?;
            if watch.once {
                return Ok(ExitCode::SUCCESS);
            }
            continue;
        }
        if watch.once {
            return Ok(ExitCode::FAILURE);
        }
        writeln!(
            out,
            "{}",
            paint.dim(&format!(
                "Watching exercises/{}/ : save a file to check again.{}",
                current.dir,
                if commands.is_some() {
                    " Type h (hint), l (list), c (check now) or q (quit), then Enter."
                } else {
                    ""
                }
            ))
        )?;
        loop {
            match wait_for_change(
                &course.path(&current),
                &checked,
                commands.as_ref(),
                watch.poll,
            ) {
                Wake::Changed | Wake::CheckNow => break,
                Wake::Quit => return Ok(ExitCode::SUCCESS),
                Wake::Hint => writeln!(out, "{}", show::hint(&current, paint))?,
                Wake::List => writeln!(out, "{}", show::list(course, &progress, paint))?,
                Wake::Unknown => writeln!(out, "(h: hint, l: list, c: check now, q: quit)")?,
            }
        }
    }
}

/// Why waiting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wake {
    /// A file of the exercise changed.
    Changed,
    /// `c`: check now.
    CheckNow,
    /// `h`: show the hint.
    Hint,
    /// `l`: show the list.
    List,
    /// `q`: quit.
    Quit,
    /// Anything else: remind the learner of the commands.
    Unknown,
}

/// Waits until the files under `dir` differ from `before` (and have stopped changing for a
/// moment, so that a save in several writes is checked once), or a command arrives.
///
/// Polling, not file-system events: a poll every few hundred milliseconds of a dozen files
/// costs nothing, works the same on every platform and in every container, and cannot miss an
/// editor's save-by-rename. (The `notify` crate would wake sooner, with a polling fallback of
/// its own for where events are not delivered.)
fn wait_for_change(
    dir: &Path,
    before: &Snapshot,
    commands: Option<&Receiver<String>>,
    poll: Duration,
) -> Wake {
    loop {
        match commands.map(|commands| commands.recv_timeout(poll)) {
            Some(Ok(line)) => match line.trim() {
                "q" | "quit" => return Wake::Quit,
                "h" | "hint" => return Wake::Hint,
                "l" | "list" => return Wake::List,
                "c" | "check" | "" => return Wake::CheckNow,
                _ => return Wake::Unknown,
            },
            Some(Err(RecvTimeoutError::Timeout)) => {}
            Some(Err(RecvTimeoutError::Disconnected)) | None => std::thread::sleep(poll),
        }
        let now = Snapshot::take(dir);
        if now != *before {
            // Let the editor finish writing.
            let mut settled = now;
            loop {
                std::thread::sleep(poll / 2);
                let again = Snapshot::take(dir);
                if again == settled {
                    return Wake::Changed;
                }
                settled = again;
            }
        }
    }
}

/// Reads lines from the terminal on a thread of its own (reading blocks).
fn read_commands() -> Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { return };
            if send.send(line).is_err() {
                return;
            }
        }
    });
    receive
}

fn all_done(course: &Course, paint: Paint) -> String {
    format!(
        "{}\n\nEvery one of the {} exercises passes. Compare your code with `solutions/`, where \
         each exercise is solved once more with comments, and with the style crates in \
         `crates/`, which run the whole pipeline each way.",
        paint.green("All done!"),
        course.exercises.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_sees_changes_but_not_the_target_folder() {
        let dir = std::env::temp_dir().join(format!("rosetta-snapshot-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("target/debug")).unwrap();
        std::fs::write(dir.join("src/lib.rs"), "//! one\n").unwrap();
        let before = Snapshot::take(&dir);
        assert_eq!(before.0.len(), 1, "{before:?}");

        std::fs::write(dir.join("target/debug/artifact"), "built").unwrap();
        assert_eq!(
            Snapshot::take(&dir),
            before,
            "the target folder is not the learner's"
        );

        std::fs::write(dir.join("src/lib.rs"), "//! one, and more\n").unwrap();
        assert_ne!(Snapshot::take(&dir), before, "an edit (a new size) is seen");

        let edited = Snapshot::take(&dir);
        std::fs::write(dir.join("src/helper.rs"), "//! new\n").unwrap();
        assert_ne!(Snapshot::take(&dir), edited, "a new file is seen");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn waiting_ends_when_a_file_changes() {
        let dir = std::env::temp_dir().join(format!("rosetta-wait-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rs"), "a").unwrap();
        let writer = {
            let dir = dir.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                std::fs::write(dir.join("lib.rs"), "ab").unwrap();
            })
        };
        let (_send, commands) = mpsc::channel::<String>();
        let before = Snapshot::take(&dir);
        let wake = wait_for_change(&dir, &before, Some(&commands), Duration::from_millis(10));
        writer.join().unwrap();
        assert_eq!(wake, Wake::Changed);

        let (send, commands) = mpsc::channel();
        send.send("h".to_string()).unwrap();
        let before = Snapshot::take(&dir);
        let wake = wait_for_change(&dir, &before, Some(&commands), Duration::from_millis(10));
        assert_eq!(wake, Wake::Hint);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_save_made_during_the_check_is_not_missed() {
        let dir = std::env::temp_dir().join(format!("rosetta-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rs"), "a").unwrap();
        let checked = Snapshot::take(&dir); // as the check starts
        std::fs::write(dir.join("lib.rs"), "ab").unwrap(); // the learner saves meanwhile
        // Waiting starts after the check. If it compared with a snapshot taken now, it would
        // wait for another save; `q` after a while ends such a wait, so a failure cannot hang.
        let (send, commands) = mpsc::channel();
        let quitter = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            let _ = send.send("q".to_string());
        });
        let wake = wait_for_change(&dir, &checked, Some(&commands), Duration::from_millis(10));
        quitter.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            wake,
            Wake::Changed,
            "the save during the check starts a new check"
        );
    }
}
