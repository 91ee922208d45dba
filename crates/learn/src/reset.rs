//! `rosetta learn reset NN`: put an exercise back as it was, keeping the learner's version.
//!
//! The original is the one in git's `HEAD` (every clone has it). Before anything is touched, the
//! exercise's folder is copied to `exercises/.rosetta-backup/NN-name-YYYYMMDD-HHMMSS/` (ignored
//! by git), so a reset can always be undone by hand. This is the only command that writes to
//! an exercise's files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use crate::course::{Course, Exercise};

/// The folder of backups, inside `exercises/`.
pub const BACKUP_DIR: &str = ".rosetta-backup";

/// What a reset did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reset {
    /// The exercise was already as in git: nothing to do, no backup made.
    Unchanged,
    /// The exercise was restored; the learner's version is in `backup`.
    Restored {
        /// The copy of the learner's version.
        backup: PathBuf,
    },
}

/// Resets `exercise` to its version in git's `HEAD`, after backing up the current one.
pub fn reset(course: &Course, exercise: &Exercise) -> anyhow::Result<Reset> {
    let git = |args: &[&str]| -> anyhow::Result<String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(&course.dir)
            .args(args)
            .output()
            .context("cannot run `git`: reset restores exercises from git (is it installed?)")?;
        if !output.status.success() {
            bail!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let dir = exercise.dir.as_str();
    // Paths are relative to `exercises/`, where git runs.
    let tracked: BTreeSet<PathBuf> = git(&["ls-tree", "-r", "--name-only", "HEAD", "--", dir])
        .with_context(|| {
            format!("cannot find the original of {dir} in git (your files are unchanged)")
        })?
        .lines()
        .map(PathBuf::from)
        .collect();
    if tracked.is_empty() {
        bail!(
            "git's HEAD has no {dir}: there is no original to restore (your files are unchanged)"
        );
    }
    let status = git(&["status", "--porcelain", "--untracked-files=all", "--", dir])?;
    if status.trim().is_empty() {
        return Ok(Reset::Unchanged);
    }

    let backup = backup_path(&course.dir, dir);
    copy_dir(&course.path(exercise), &backup)
        .with_context(|| format!("cannot back up {dir} (nothing was changed)"))?;

    git(&["checkout", "HEAD", "--", dir])?;
    // Files the learner added are not git's: remove them (they are in the backup).
    for file in files(&course.path(exercise)) {
        let relative = file
            .strip_prefix(&course.dir)
            .unwrap_or(&file)
            .to_path_buf();
        if !tracked.contains(&relative) {
            std::fs::remove_file(&file)
                .with_context(|| format!("cannot remove {}", file.display()))?;
        }
    }
    remove_empty_dirs(&course.path(exercise));
    Ok(Reset::Restored { backup })
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
    use super::*;
    use crate::course::parse_info;

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(951_782_400), "20000229-000000");
        assert_eq!(utc_stamp(1_767_225_599), "20251231-235959");
    }

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}: {status:?}");
    }

    #[test]
    fn reset_backs_up_then_restores_the_original() {
        // No skipping: `learn reset` itself needs git, so a machine without it must fail here.
        assert!(
            Command::new("git").arg("--version").output().is_ok(),
            "this test needs git, as `learn reset` does"
        );
        let repo = std::env::temp_dir().join(format!("rosetta-reset-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&repo);
        let exercise_dir = repo.join("exercises/01-first");
        std::fs::create_dir_all(exercise_dir.join("src")).unwrap();
        std::fs::write(exercise_dir.join("src/lib.rs"), "original\n").unwrap();
        std::fs::write(exercise_dir.join("Cargo.toml"), "[package]\n").unwrap();
        git(&repo, &["init", "-q"]);
        git(&repo, &["add", "."]);
        git(&repo, &["commit", "-q", "-m", "exercises"]);
        let course = Course {
            dir: repo.join("exercises"),
            exercises: parse_info(
                "format_version = 1\n[[exercise]]\nname = \"first\"\ndir = \"01-first\"\n\
                 chapter = \"x.md\"\nminutes = 10\nhint = \"h\"\n",
            )
            .unwrap(),
        };
        let exercise = &course.exercises[0];

        assert_eq!(reset(&course, exercise).unwrap(), Reset::Unchanged);
        assert!(
            !course.dir.join(BACKUP_DIR).exists(),
            "no backup of an unchanged exercise"
        );

        std::fs::write(exercise_dir.join("src/lib.rs"), "my work\n").unwrap();
        std::fs::write(exercise_dir.join("src/extra.rs"), "my module\n").unwrap();
        std::fs::remove_file(exercise_dir.join("Cargo.toml")).unwrap();
        std::fs::create_dir_all(exercise_dir.join("target")).unwrap();
        std::fs::write(exercise_dir.join("target/big"), "built").unwrap();

        let Reset::Restored { backup } = reset(&course, exercise).unwrap() else {
            panic!("a changed exercise is restored");
        };
        let read = |path: PathBuf| std::fs::read_to_string(path).unwrap();
        assert_eq!(read(exercise_dir.join("src/lib.rs")), "original\n");
        assert_eq!(read(exercise_dir.join("Cargo.toml")), "[package]\n");
        assert!(
            !exercise_dir.join("src/extra.rs").exists(),
            "added files go"
        );
        assert_eq!(read(backup.join("src/lib.rs")), "my work\n");
        assert_eq!(read(backup.join("src/extra.rs")), "my module\n");
        assert!(
            !backup.join("target").exists(),
            "build output is not backed up"
        );
        assert!(backup.starts_with(course.dir.join(BACKUP_DIR)));
        std::fs::remove_dir_all(&repo).unwrap();
    }
}
