//! `rosetta learn reset NN`: put an exercise back as it was shipped, keeping the learner's
//! version.
//!
//! **Where the originals come from.** The runner carries them: `crates/learn/originals/` holds
//! every exercise's files as the course ships them (its `Cargo.toml`, `src/` and `tests/`,
//! exactly what git tracks in `exercises/NN-name/`), and [`ORIGINALS`] embeds that folder in
//! the binary when it is compiled, as rustlings embeds its exercises. So a reset needs no git
//! (a course downloaded as an archive resets too), and a learner who committed their work gets
//! the original back, not their own commit, which is what git's `HEAD` would give.
//!
//! Why a copy, and not `exercises/` itself embedded at build time: the runner is compiled in
//! the learner's own checkout (`cargo run -- learn ...`), from the very files they edit. A build
//! that read `exercises/` (and rebuilt when it changed, as it would have to for the
//! maintainers' edits to reach it) would embed the learner's work as "the original" at their
//! next `cargo run`, and reset would then find nothing to restore. The copy is the maintainers'
//! alone; [`originals_problems`] (a test here, and `cargo xtask verify-exercises`) fails when
//! it and `exercises/` differ, so it cannot go stale unnoticed.
//!
//! **Nothing is lost.** Before anything is touched, the exercise's folder (its `target/`
//! aside) is copied to `exercises/.rosetta-backup/NN-name-YYYYMMDD-HHMMSS/` (ignored by git),
//! and the learner is told where: a reset can always be undone by hand. This is the only
//! command that writes to an exercise's files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use include_dir::{Dir, include_dir};

use crate::course::{Course, Exercise};

/// The folder of backups, inside `exercises/`.
pub const BACKUP_DIR: &str = ".rosetta-backup";

/// The exercises as shipped: `crates/learn/originals/`, one folder per exercise, compiled into
/// the runner.
///
/// `include_dir!` expands to one `include_bytes!` per file, so rustc rebuilds the runner when
/// a shipped file's content changes; a file *added to* or *removed from* the folder is not
/// something a macro can make stable cargo watch, so `build.rs` asks cargo to rerun on any
/// change under the folder.
pub static ORIGINALS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/originals");

/// The shipped files of the exercise in folder `dir` (`01-countdown-callbacks`), by path
/// relative to that folder; `None` if the runner ships no such exercise.
pub fn original_files(dir: &str) -> Option<BTreeMap<PathBuf, &'static [u8]>> {
    fn collect(dir: &Dir<'static>, root: &Path, into: &mut BTreeMap<PathBuf, &'static [u8]>) {
        for file in dir.files() {
            // Paths in `ORIGINALS` start at `originals/`: `01-x/src/lib.rs`.
            let relative = file.path().strip_prefix(root).unwrap_or(file.path());
            into.insert(relative.to_path_buf(), file.contents());
        }
        for sub in dir.dirs() {
            collect(sub, root, into);
        }
    }
    let exercise = ORIGINALS.get_dir(dir)?;
    let mut files = BTreeMap::new();
    collect(exercise, Path::new(dir), &mut files);
    Some(files)
}

/// What a reset did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reset {
    /// The exercise was already as shipped: nothing to do, no backup made.
    Unchanged,
    /// The exercise was restored.
    Restored {
        /// The copy of the learner's version (`None`: their folder had no file to copy).
        backup: Option<PathBuf>,
    },
}

/// Resets `exercise` to its shipped original ([`ORIGINALS`]), after backing up the current
/// version.
///
/// The exercise is unchanged when its folder (`target/` aside) holds exactly the shipped files
/// with exactly their bytes; then nothing is written, and no backup made. Otherwise the backup
/// is made first (if it fails, nothing else happens), then every shipped file is written back
/// and every other file removed (it is in the backup).
pub fn reset(course: &Course, exercise: &Exercise) -> anyhow::Result<Reset> {
    let dir = exercise.dir.as_str();
    let Some(originals) = original_files(dir) else {
        bail!(
            "this runner ships no exercise `{dir}`, so there is no original to restore (your \
             files are unchanged): is `{}` the course it was built with?",
            course.dir.display()
        );
    };
    let folder = course.path(exercise);
    let current: BTreeMap<PathBuf, PathBuf> = files(&folder)
        .into_iter()
        .map(|file| {
            (
                file.strip_prefix(&folder).unwrap_or(&file).to_path_buf(),
                file,
            )
        })
        .collect();
    let unchanged = current.len() == originals.len()
        && current.iter().all(|(relative, file)| {
            originals
                .get(relative)
                .is_some_and(|original| std::fs::read(file).is_ok_and(|bytes| bytes == *original))
        });
    if unchanged {
        return Ok(Reset::Unchanged);
    }

    let backup = if current.is_empty() {
        None // A deleted exercise: nothing of the learner's to keep.
    } else {
        let backup = backup_path(&course.dir, dir);
        copy_dir(&folder, &backup)
            .with_context(|| format!("cannot back up {dir} (nothing was changed)"))?;
        Some(backup)
    };

    for (relative, contents) in &originals {
        let path = folder.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot restore {}", path.display()))?;
    }
    // Files the course does not ship are the learner's: remove them (they are in the backup).
    for (relative, file) in &current {
        if !originals.contains_key(relative) {
            std::fs::remove_file(file)
                .with_context(|| format!("cannot remove {}", file.display()))?;
        }
    }
    remove_empty_dirs(&folder);
    Ok(Reset::Restored { backup })
}

/// Every difference between the shipped originals ([`ORIGINALS`]) and the exercises of
/// `course` as they are on disk, for the maintainers: after changing an exercise, its copy in
/// `crates/learn/originals/` must change too (or `reset` would restore the old version).
///
/// In a learner's checkout, their work is such a difference: like the check that every
/// exercise fails unsolved, this one speaks of the course as the maintainers ship it.
pub fn originals_problems(course: &Course) -> Vec<String> {
    let fix = |dir: &str| {
        format!(
            "copy exercises/{dir}/ (without target/) to crates/learn/originals/{dir}/, which \
             `learn reset` restores from"
        )
    };
    let mut problems = Vec::new();
    for exercise in &course.exercises {
        let dir = exercise.dir.as_str();
        let Some(originals) = original_files(dir) else {
            problems.push(format!("{dir}: the runner ships no original: {}", fix(dir)));
            continue;
        };
        let folder = course.path(exercise);
        let on_disk: BTreeMap<PathBuf, Vec<u8>> = files(&folder)
            .into_iter()
            .map(|file| {
                let bytes = std::fs::read(&file).unwrap_or_default();
                (
                    file.strip_prefix(&folder).unwrap_or(&file).to_path_buf(),
                    bytes,
                )
            })
            .collect();
        let mut differ = Vec::new();
        for (relative, original) in &originals {
            match on_disk.get(relative) {
                None => differ.push(format!(
                    "{} is shipped but not in exercises/",
                    relative.display()
                )),
                Some(bytes) if bytes != original => {
                    differ.push(format!("{} differs", relative.display()))
                }
                Some(_) => {}
            }
        }
        for relative in on_disk
            .keys()
            .filter(|relative| !originals.contains_key(*relative))
        {
            differ.push(format!("{} is not shipped", relative.display()));
        }
        if !differ.is_empty() {
            problems.push(format!("{dir}: {}: {}", differ.join(", "), fix(dir)));
        }
    }
    for shipped in ORIGINALS.dirs() {
        let name = shipped.path().to_string_lossy();
        if !course.exercises.iter().any(|exercise| exercise.dir == name) {
            problems.push(format!(
                "crates/learn/originals/{name}/ is no exercise of info.toml: remove it"
            ));
        }
    }
    problems
}

/// A new folder name for a backup of `dir`, stamped with the time (UTC).
fn backup_path(exercises: &Path, dir: &str) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let base = exercises
        .join(BACKUP_DIR)
        .join(format!("{dir}-{}", utc_stamp(secs)));
    let mut path = base.clone();
    let mut n = 2;
    while path.exists() {
        path = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    path
}

/// `YYYYMMDD-HHMMSS` for a number of seconds since 1970 (UTC).
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hour, minute, second) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    // Howard Hinnant's `civil_from_days`.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}-{hour:02}{minute:02}{second:02}")
}

/// Every file under `dir`, sorted, skipping `target` folders.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || entry.file_name() != "target")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .collect();
    found.sort();
    found
}

/// Copies the files under `from` (but not `target` folders) to `to`.
pub fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    for file in files(from) {
        let relative = file.strip_prefix(from).context("a file under the folder")?;
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::copy(&file, &target)
            .with_context(|| format!("cannot copy {} to {}", file.display(), target.display()))?;
    }
    Ok(())
}

/// Removes the empty folders under `dir` (not `dir` itself).
fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && entry.file_name() != "target" {
            remove_empty_dirs(&path);
            let _ = std::fs::remove_dir(&path); // Fails, harmlessly, if not empty.
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(utc_stamp(1_767_225_599), "20251231-235959");
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}: {status:?}");
    }

    /// The repository's own exercises, as the maintainers ship them.
    fn shipped_exercises() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../exercises")
    }

    /// A learner's copy of the course in a new folder of the system's temp folder (outside any
    /// git checkout): every file of the repository's `exercises/` but its `target/` and the
    /// runner's own `.rosetta-*` files.
    fn copy_of_the_course(name: &str) -> Course {
        let from = shipped_exercises();
        let to = std::env::temp_dir().join(format!("rosetta-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&to);
        for file in files(&from) {
            let relative = file.strip_prefix(&from).unwrap();
            if relative.to_string_lossy().starts_with(".rosetta-") {
                continue;
            }
            let target = to.join("exercises").join(relative);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&file, &target).unwrap();
        }
        Course::load(&to.join("exercises")).unwrap()
    }

    /// Every file under `dir` (but `target/`), by path relative to `dir`, with its text.
    fn contents(dir: &Path) -> BTreeMap<PathBuf, String> {
        files(dir)
            .into_iter()
            .map(|file| {
                let text = std::fs::read_to_string(&file).unwrap();
                (file.strip_prefix(dir).unwrap().to_path_buf(), text)
            })
            .collect()
    }

    #[test]
    fn reset_works_outside_a_git_checkout() {
        let course = copy_of_the_course("reset-no-git");
        let repo = course.repo();
        assert!(
            repo.ancestors().all(|dir| !dir.join(".git").exists()),
            "the copy must not be inside a git checkout: {}",
            repo.display()
        );
        let exercise = &course.exercises[0];
        let dir = course.path(exercise);
        let original = contents(&shipped_exercises().join(&exercise.dir));

        assert_eq!(reset(&course, exercise).unwrap(), Reset::Unchanged);
        assert!(
            !course.dir.join(BACKUP_DIR).exists(),
            "no backup of an unchanged exercise"
        );

        // The learner edits a file, adds one, deletes one, and builds.
        std::fs::write(dir.join("src/lib.rs"), "my work\n").unwrap();
        std::fs::write(dir.join("src/extra.rs"), "my module\n").unwrap();
        std::fs::remove_file(dir.join("Cargo.toml")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("target/big"), "built").unwrap();

        let Reset::Restored {
            backup: Some(backup),
        } = reset(&course, exercise).unwrap()
        else {
            panic!("a changed exercise is restored, with a backup");
        };
        assert_eq!(contents(&dir), original, "every file as shipped, no other");
        let read = |path: PathBuf| std::fs::read_to_string(path).unwrap();
        assert_eq!(read(backup.join("src/lib.rs")), "my work\n");
        assert_eq!(read(backup.join("src/extra.rs")), "my module\n");
        assert!(
            !backup.join("target").exists(),
            "build output is not backed up"
        );
        assert!(backup.starts_with(course.dir.join(BACKUP_DIR)));
        assert_eq!(reset(&course, exercise).unwrap(), Reset::Unchanged);
        std::fs::remove_dir_all(&repo).unwrap();
    }

    #[test]
    fn reset_restores_the_shipped_original_not_the_learners_commit() {
        // Git is only the learner's here: the test commits their work, as a learner may.
        let course = copy_of_the_course("reset-committed");
        let repo = course.repo();
        let exercise = &course.exercises[0];
        let lib = course.path(exercise).join("src/lib.rs");
        let original =
            std::fs::read_to_string(shipped_exercises().join(&exercise.dir).join("src/lib.rs"))
                .unwrap();
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "the course"]);
        std::fs::write(&lib, "my committed work\n").unwrap();
        git(&repo, &["commit", "-q", "-a", "-m", "my work"]);

        let reset = reset(&course, exercise).unwrap();
        let Reset::Restored {
            backup: Some(backup),
        } = reset
        else {
            panic!("committed work is still the learner's, not the original: {reset:?}");
        };
        assert_eq!(std::fs::read_to_string(&lib).unwrap(), original);
        assert_eq!(
            std::fs::read_to_string(backup.join("src/lib.rs")).unwrap(),
            "my committed work\n",
            "the backup holds the learner's version"
        );
        std::fs::remove_dir_all(&repo).unwrap();
    }

    #[test]
    fn the_shipped_originals_are_the_exercises() {
        let course = Course::load(&shipped_exercises()).unwrap();
        let problems = originals_problems(&course);
        assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
    }

    #[test]
    fn a_changed_exercise_is_a_difference_from_the_originals() {
        let course = copy_of_the_course("originals-drift");
        let dir = course.path(&course.exercises[1]);
        std::fs::write(dir.join("src/lib.rs"), "changed\n").unwrap();
        std::fs::write(dir.join("src/new.rs"), "new\n").unwrap();
        let problems = originals_problems(&course);
        std::fs::remove_dir_all(course.repo()).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        let problem = &problems[0];
        assert!(
            problem.starts_with("02-error-first: ")
                && problem.contains("src/lib.rs differs")
                && problem.contains("src/new.rs is not shipped")
                && problem.contains("crates/learn/originals/02-error-first/"),
            "{problem}"
        );
    }

    #[test]
    fn an_exercise_the_runner_does_not_ship_is_left_alone() {
        let repo = std::env::temp_dir().join(format!("rosetta-unknown-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&repo);
        let dir = repo.join("exercises/01-first/src");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rs"), "mine\n").unwrap();
        let course = Course {
            dir: repo.join("exercises"),
            exercises: crate::course::parse_info(
                "format_version = 2\n[[exercise]]\nname = \"first\"\ndir = \"01-first\"\n\
                 chapter = \"x.md\"\nminutes = 10\nhints = [\"h\", \"i\"]\n",
            )
            .unwrap(),
        };
        let error = reset(&course, &course.exercises[0])
            .unwrap_err()
            .to_string();
        let kept = std::fs::read_to_string(dir.join("lib.rs")).unwrap();
        let backups = course.dir.join(BACKUP_DIR).exists();
        std::fs::remove_dir_all(&repo).unwrap();
        assert!(error.contains("ships no exercise `01-first`"), "{error}");
        assert_eq!(kept, "mine\n", "the learner's files are untouched");
        assert!(!backups, "nothing to back up when nothing is done");
    }
}
