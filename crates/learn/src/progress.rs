//! Progress: which exercises are done, and how many of each one's hints have been shown, kept
//! in `exercises/.rosetta-progress.toml`.
//!
//! The file is small, written by the runner only, and ignored by git (`.gitignore` lists it),
//! so a learner's progress never ends up in a commit. Deleting it starts the course over; the
//! exercises themselves are untouched. An exercise counts as done when its last check passed:
//! a check that fails marks it not done again. The hints shown are remembered so that
//! `learn hint --more` goes on where the learner left off, even days later.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::course::{Course, Exercise};
use serde::{Deserialize, Serialize};

/// The file's name, inside `exercises/`.
pub const FILE: &str = ".rosetta-progress.toml";

/// The version of the file's format (2 added `hints_shown`; a version 1 file reads as one
/// where no hint has been shown).
const FORMAT_VERSION: i64 = 2;

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressFile {
    format_version: i64,
    done: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    hints_shown: BTreeMap<String, usize>,
}

/// The exercises done, and the hints shown, by folder name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Where the progress is kept.
    path: PathBuf,
    /// Folders of the exercises whose last check passed.
    done: BTreeSet<String>,
    /// For each folder, how many of its hints have been shown (the first that many tiers).
    hints_shown: BTreeMap<String, usize>,
}

impl Progress {
    /// Reads the progress of the course in `exercises_dir` (none yet if there is no file).
    pub fn load(exercises_dir: &Path) -> anyhow::Result<Progress> {
        let path = exercises_dir.join(FILE);
        let mut progress = Progress {
            path: path.clone(),
            ..Progress::default()
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(progress),
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()));
            }
        };
        let file: ProgressFile = toml::from_str(&text).with_context(|| {
            format!(
                "{} is damaged; delete it to start over (your exercises are not in it)",
                path.display()
            )
        })?;
        if file.format_version > FORMAT_VERSION {
            bail!(
                "{} was written by a newer runner (format {}; this one reads up to {FORMAT_VERSION}): \
                 update async-rosetta, or delete the file to start over",
                path.display(),
                file.format_version
            );
        }
        progress.done = file.done;
        progress.hints_shown = file.hints_shown;
        Ok(progress)
    }

    /// Writes the progress back to its file.
    pub fn save(&self) -> anyhow::Result<()> {
        let file = ProgressFile {
            format_version: FORMAT_VERSION,
            done: self.done.clone(),
            hints_shown: self.hints_shown.clone(),
        };
        let text = format!(
            "# Your progress through the exercises, written by `rosetta learn`.\n\
             # Delete this file to start over: your exercises are not in it.\n{}",
            toml::to_string(&file).context("the progress serializes")?
        );
        std::fs::write(&self.path, text)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// Whether `exercise`'s last check passed.
    pub fn is_done(&self, exercise: &Exercise) -> bool {
        self.done.contains(&exercise.dir)
    }

    /// Records the outcome of a check of `exercise`.
    pub fn set_done(&mut self, exercise: &Exercise, done: bool) {
        if done {
            self.done.insert(exercise.dir.clone());
        } else {
            self.done.remove(&exercise.dir);
        }
    }

    /// How many of `exercise`'s hints have been shown so far (the first that many tiers).
    pub fn hints_shown(&self, exercise: &Exercise) -> usize {
        self.hints_shown.get(&exercise.dir).copied().unwrap_or(0)
    }

    /// Records that the first `count` hints of `exercise` have been shown.
    pub fn set_hints_shown(&mut self, exercise: &Exercise, count: usize) {
        self.hints_shown.insert(exercise.dir.clone(), count);
    }

    /// The exercise to work on: the first one not done, in course order.
    pub fn current<'c>(&self, course: &'c Course) -> Option<&'c Exercise> {
        course
            .exercises
            .iter()
            .find(|exercise| !self.is_done(exercise))
    }

    /// How many of the course's exercises are done.
    pub fn done_count(&self, course: &Course) -> usize {
        course
            .exercises
            .iter()
            .filter(|exercise| self.is_done(exercise))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::parse_info;

    fn course(dir: &Path) -> Course {
        let mut info = String::from("format_version = 2\n");
        for (number, name) in ["a", "b", "c"].iter().enumerate() {
            info += &format!(
                "[[exercise]]\nname = \"{name}\"\ndir = \"0{}-{name}\"\nchapter = \"x.md\"\n\
                 minutes = 10\nhints = [\"h\", \"i\"]\n",
                number + 1
            );
        }
        Course {
            dir: dir.to_path_buf(),
            exercises: parse_info(&info).unwrap(),
        }
    }

    #[test]
    fn progress_is_saved_and_read_back() {
        let dir = std::env::temp_dir().join(format!("rosetta-progress-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let course = course(&dir);
        let mut progress = Progress::load(&dir).unwrap();
        assert_eq!(
            progress.current(&course).unwrap().name,
            "a",
            "nothing done yet"
        );
        progress.set_done(&course.exercises[0], true);
        progress.set_done(&course.exercises[2], true);
        progress.save().unwrap();

        let mut read = Progress::load(&dir).unwrap();
        assert_eq!(read, progress);
        assert_eq!(read.done_count(&course), 2);
        assert_eq!(
            read.current(&course).unwrap().name,
            "b",
            "the first not done"
        );
        read.set_done(&course.exercises[1], true);
        assert_eq!(read.current(&course), None, "all done");
        read.set_done(&course.exercises[0], false);
        assert_eq!(
            read.current(&course).unwrap().name,
            "a",
            "a failed check undoes it"
        );

        std::fs::write(dir.join(FILE), "done = [1]\n").unwrap();
        let error = format!("{:#}", Progress::load(&dir).unwrap_err());
        assert!(error.contains("delete it to start over"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_hints_shown_are_saved_and_read_back() {
        let dir = std::env::temp_dir().join(format!("rosetta-hints-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let course = course(&dir);
        let mut progress = Progress::load(&dir).unwrap();
        assert_eq!(progress.hints_shown(&course.exercises[1]), 0, "none yet");
        progress.set_hints_shown(&course.exercises[1], 2);
        progress.save().unwrap();
        let read = Progress::load(&dir).unwrap();
        assert_eq!(read.hints_shown(&course.exercises[1]), 2);
        assert_eq!(
            read.hints_shown(&course.exercises[0]),
            0,
            "only that exercise's"
        );

        // A file written before hints were counted reads as "no hint shown yet".
        std::fs::write(dir.join(FILE), "format_version = 1\ndone = [\"01-a\"]\n").unwrap();
        let old = Progress::load(&dir).unwrap();
        assert!(old.is_done(&course.exercises[0]));
        assert_eq!(old.hints_shown(&course.exercises[1]), 0);

        // One from a newer runner is refused rather than misread.
        std::fs::write(dir.join(FILE), "format_version = 3\ndone = []\n").unwrap();
        let error = format!("{:#}", Progress::load(&dir).unwrap_err());
        assert!(error.contains("written by a newer runner"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
