//! `cargo xtask verify-exercises [--quick] [--scratch DIR]`: the maintainers' proof that the
//! exercises are honest.
//!
//! A learner never needs it, so it is not a `rosetta learn` command; but its code is the
//! runner's own ([`rosetta_learn::verify`]): the same cargo set-up as `rosetta learn check`, the
//! same folder copy as `rosetta learn reset`, one copy of each. This file only reads the
//! arguments and prints, and checks (in its test) that the runner's list of chapters is the
//! book's, reading `SUMMARY.md` with mdBook's own parser, as `cargo xtask book` does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use rosetta_learn::course::Course;
use rosetta_learn::verify;

/// The usage line of the task.
pub const USAGE: &str = "usage: cargo xtask verify-exercises [--quick] [--scratch DIR]";

/// Runs the task with its arguments (after `verify-exercises`), printing to `out`: success if
/// the course has no problem.
pub fn run(root: &Path, args: &[String], out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let mut quick = false;
    let mut scratch: Option<PathBuf> = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // Only the checks of the course's files, without building anything.
            "--quick" => quick = true,
            "--scratch" => match args.next() {
                Some(dir) => scratch = Some(PathBuf::from(dir)),
                None => bail!("--scratch needs a folder\n{USAGE}"),
            },
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    let course = Course::load(&root.join("exercises"))?;
    let scratch = scratch.unwrap_or_else(|| verify::default_scratch(&course));
    let problems = verify::verify(&course, &scratch, !quick, out)?;
    if problems.is_empty() {
        writeln!(out, "verify-exercises: ok")?;
        Ok(ExitCode::SUCCESS)
    } else {
        for problem in &problems {
            writeln!(out, "verify-exercises: {problem}")?;
        }
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use mdbook_driver::MDBook;
    use rosetta_learn::course::{CHAPTERS, Course};

    use crate::tidy::workspace_root;

    #[test]
    fn the_runners_chapter_numbers_and_titles_are_the_books() {
        // mdBook numbers the chapters of `SUMMARY.md` itself: the runner's list must match, in
        // the book's reading order.
        let book = MDBook::load(workspace_root().join("book")).expect("the book loads");
        let mut in_book = Vec::new();
        for (file, number, title) in CHAPTERS {
            let found = book
                .book
                .chapters()
                .enumerate()
                .find(|(_, chapter)| chapter.path.as_deref() == Some(Path::new(file)));
            let Some((position, chapter)) = found else {
                panic!("{file}: not in SUMMARY.md");
            };
            let numbers: Option<Vec<String>> = chapter
                .number
                .as_ref()
                .map(|n| n.iter().map(u32::to_string).collect());
            assert_eq!(
                numbers.map(|n| n.join(".")).as_deref(),
                Some(*number),
                "{file}: chapter number"
            );
            assert_eq!(chapter.name, *title, "{file}: chapter title");
            in_book.push(position);
        }
        assert!(
            in_book.is_sorted(),
            "CHAPTERS lists the chapters in the book's order"
        );
    }

    #[test]
    fn the_exercises_follow_the_chapters_in_reading_order() {
        // An exercise's number is its place in the course, and the course follows the book: no
        // exercise comes before one of an earlier chapter.
        let course = Course::load(&workspace_root().join("exercises")).expect("info.toml loads");
        let place = |file: &str| CHAPTERS.iter().position(|(name, ..)| *name == file);
        let mut previous: Option<(usize, &str)> = None;
        for exercise in &course.exercises {
            let Some(here) = place(&exercise.chapter) else {
                panic!(
                    "{}: chapter {} is not in the runner's CHAPTERS",
                    exercise.dir, exercise.chapter
                );
            };
            if let Some((before, dir)) = previous {
                assert!(
                    here >= before,
                    "{} ({}) comes after {dir} ({}), an exercise of a later chapter",
                    exercise.dir,
                    exercise.chapter,
                    CHAPTERS[before].0
                );
            }
            previous = Some((here, &exercise.dir));
        }
    }
}
