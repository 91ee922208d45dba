//! Progress: which exercises are done, kept in `exercises/.rosetta-progress.toml`.
//!
//! The file is small, written by the runner only, and ignored by git (`.gitignore` lists it),
//! so a learner's progress never ends up in a commit. Deleting it starts the course over; the
//! exercises themselves are untouched. An exercise counts as done when its last check passed:
//! a check that fails marks it not done again.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::course::{Course, Exercise};
use serde::{Deserialize, Serialize};

/// The file's name, inside `exercises/`.
pub const FILE: &str = ".rosetta-progress.toml";

/// The version of the file's format.
const FORMAT_VERSION: i64 = 1;

/// The file as written.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgressFile {
    format_version: i64,
    done: BTreeSet<String>,
}

/// The exercises done, by folder name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Where the progress is kept.
    path: PathBuf,
    /// Folders of the exercises whose last check passed.
    done: BTreeSet<String>,
}

impl Progress {
    /// Reads the progress of the course in `exercises_dir` (none yet if there is no file).
    pub fn load(exercises_dir: &Path) -> anyhow::Result<Progress> {
        let path = exercises_dir.join(FILE);
        let mut progress = Progress {
            path: path.clone(),
            done: BTreeSet::new(),
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
        progress.done = file.done;
        Ok(progress)
    }

    /// Writes the progress back to its file.
    pub fn save(&self) -> anyhow::Result<()> {
        let file = ProgressFile {
            format_version: FORMAT_VERSION,
            done: self.done.clone(),
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
        let mut info = String::from("format_version = 1\n");
        for (number, name) in ["a", "b", "c"].iter().enumerate() {
            info += &format!(
                "[[exercise]]\nname = \"{name}\"\ndir = \"0{}-{name}\"\nchapter = \"x.md\"\n\
                 minutes = 10\nhint = \"h\"\n",
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
}
