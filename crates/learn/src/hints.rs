//! Hints in tiers: `learn hint` shows an exercise's first hint, and each `learn hint --more`
//! one more, up to the last, which points at the solution.
//!
//! Why tiers: an exercise's comments say *what* to write (the goal, the contract the tests
//! check), never *how*, so that solving it takes thought rather than transcription. A learner
//! who is stuck needs a little more, and rarely everything at once: the first tier is a nudge
//! (what to think about), the next the approach (the steps, without the code), the last says
//! where the solution is and what to look for in it. Each `--more` gives away one tier more,
//! and the progress file remembers how far the learner went, so that `--more` goes on from
//! there the next day (rustlings shows one hint; Exercism's mentors give them one at a time).
//!
//! [`reveal`] decides what to show and records it; [`render`] writes it, in the same terms and
//! colours as `show.rs` (every function returns a `String`, so that tests read exactly what a
//! learner sees).

use std::fmt::Write as _;

use crate::course::Exercise;
use crate::progress::Progress;
use crate::show::{Paint, command, label, wrap};

/// What the learner asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `learn hint NN`: the first hint.
    First,
    /// `learn hint NN --more`: one hint more than was last shown, and every one before it.
    More,
}

/// What to show of an exercise's hints: tiers `1..=shown`, of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reveal {
    /// How many tiers to show, from the first.
    pub shown: usize,
    /// How many tiers the exercise has.
    pub total: usize,
    /// How many tiers the learner has seen, this time included (never less than `shown`).
    pub seen: usize,
    /// Whether this call showed a tier the learner had not seen before.
    pub new: bool,
}

impl Reveal {
    /// The first hint only, as `learn hint` and `watch`'s `h` show it, for a learner who has
    /// seen `seen` tiers before.
    pub fn first(exercise: &Exercise, seen: usize) -> Reveal {
        let total = exercise.hints.len();
        Reveal {
            shown: 1.min(total),
            total,
            seen: seen.max(1).min(total),
            new: seen == 0,
        }
    }
}

/// Decides what `ask` shows of `exercise`'s hints, and records in `progress` how many tiers
/// the learner has now seen (the caller saves it).
///
/// `First` shows tier 1. `More` shows one tier more than the learner has seen (tier 1 if
/// none), and every tier before it; once every tier has been seen, it shows them all again.
pub fn reveal(progress: &mut Progress, exercise: &Exercise, ask: Ask) -> Reveal {
    let before = progress.hints_shown(exercise);
    let reveal = match ask {
        Ask::First => Reveal::first(exercise, before),
        Ask::More => {
            let total = exercise.hints.len();
            let shown = (before + 1).min(total);
            Reveal {
                shown,
                total,
                seen: shown,
                new: shown > before,
            }
        }
    };
    progress.set_hints_shown(exercise, reveal.seen.max(before));
    reveal
}

/// The hints that `reveal` says to show, each numbered ("hint 2 of 3"), then where to read
/// more and what `--more` would show next.
pub fn render(exercise: &Exercise, reveal: &Reveal, paint: Paint) -> String {
    let Reveal {
        shown,
        total,
        seen,
        new,
    } = *reveal;
    let mut out = format!(
        "{}\n",
        paint.bold(&format!("Hints for {}:", label(exercise)))
    );
    for (index, hint) in exercise.hints.iter().take(shown).enumerate() {
        let _ = write!(
            out,
            "\n  {}\n{}\n",
            paint.bold(&format!("hint {} of {total}", index + 1)),
            wrap(hint.trim(), 92, "    ")
        );
    }
    let _ = writeln!(out, "\n  Read: {}.", exercise.chapter_title());
    let more = command(&format!("hint {} --more", exercise.number));
    let next = if seen < total {
        format!("More: {more} shows hint {} of {total}.", seen + 1)
    } else if shown < total {
        format!("You have seen all {total} hints: {more} shows them again.")
    } else if new {
        format!("That was the last hint (all {total} are shown).")
    } else {
        format!("Every hint is shown ({total} of {total}): there are no more.")
    };
    let _ = writeln!(out, "  {}", paint.dim(&next));
    out
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::course::{Course, parse_info};

    const PLAIN: Paint = Paint::PLAIN;

    /// A course of two exercises, the first with three tiers, in `dir`.
    fn course(dir: &Path) -> Course {
        let info = "format_version = 2\n\
            [[exercise]]\nname = \"a\"\ndir = \"01-a\"\nchapter = \"callbacks.md\"\nminutes = 10\n\
            hints = [\"Think.\", \"Count down.\", \"See solutions/01-a/src/lib.rs.\"]\n\
            [[exercise]]\nname = \"b\"\ndir = \"02-b\"\nchapter = \"callbacks.md\"\nminutes = 10\n\
            hints = [\"Chain.\", \"See solutions/02-b/src/lib.rs.\"]\n";
        Course {
            dir: dir.to_path_buf(),
            exercises: parse_info(info).unwrap(),
        }
    }

    /// A scratch folder of this test's own (tests run in parallel, in one process).
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rosetta-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// What `what` shows a learner whose progress is `progress` (which it updates).
    fn ask(progress: &mut Progress, exercise: &Exercise, what: Ask) -> String {
        render(exercise, &reveal(progress, exercise, what), PLAIN)
    }

    /// The numbered headings in `text`: which tiers it shows.
    fn tiers(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("hint "))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn more_reveals_one_tier_at_a_time_then_says_there_are_no_more() {
        let course = course(Path::new("/nowhere/exercises"));
        let exercise = &course.exercises[0];
        let mut progress = Progress::default();

        let text = ask(&mut progress, exercise, Ask::First);
        assert_eq!(tiers(&text), ["1 of 3"], "{text}");
        assert!(text.contains("\n    Think.\n"), "{text}");
        assert!(
            text.contains("More: `cargo run -- learn hint 1 --more` shows hint 2 of 3."),
            "{text}"
        );

        let text = ask(&mut progress, exercise, Ask::More);
        assert_eq!(
            tiers(&text),
            ["1 of 3", "2 of 3"],
            "every tier so far: {text}"
        );
        assert!(text.contains("\n    Count down.\n"), "{text}");
        assert!(text.contains("shows hint 3 of 3."), "{text}");

        let text = ask(&mut progress, exercise, Ask::More);
        assert_eq!(tiers(&text), ["1 of 3", "2 of 3", "3 of 3"], "{text}");
        assert!(text.contains("solutions/01-a/src/lib.rs"), "{text}");
        assert!(
            text.contains("That was the last hint (all 3 are shown)."),
            "{text}"
        );

        let text = ask(&mut progress, exercise, Ask::More);
        assert_eq!(tiers(&text), ["1 of 3", "2 of 3", "3 of 3"], "{text}");
        assert!(
            text.contains("Every hint is shown (3 of 3): there are no more."),
            "{text}"
        );
    }

    #[test]
    fn the_first_hint_again_forgets_nothing() {
        let course = course(Path::new("/nowhere/exercises"));
        let exercise = &course.exercises[0];
        let mut progress = Progress::default();
        reveal(&mut progress, exercise, Ask::More);
        reveal(&mut progress, exercise, Ask::More);

        let text = ask(&mut progress, exercise, Ask::First);
        assert_eq!(tiers(&text), ["1 of 3"], "`hint` shows the first: {text}");
        assert!(text.contains("shows hint 3 of 3."), "{text}");
        assert_eq!(progress.hints_shown(exercise), 2, "still two seen");

        reveal(&mut progress, exercise, Ask::More);
        let text = ask(&mut progress, exercise, Ask::First);
        assert!(
            text.contains(
                "You have seen all 3 hints: `cargo run -- learn hint 1 --more` shows \
                           them again."
            ),
            "{text}"
        );
    }

    #[test]
    fn more_with_nothing_seen_starts_at_the_first_and_each_exercise_counts_alone() {
        let course = course(Path::new("/nowhere/exercises"));
        let (first, second) = (&course.exercises[0], &course.exercises[1]);
        let mut progress = Progress::default();
        let text = ask(&mut progress, first, Ask::More);
        assert_eq!(tiers(&text), ["1 of 3"], "{text}");

        let text = ask(&mut progress, second, Ask::More);
        assert_eq!(tiers(&text), ["1 of 2"], "02 has its own count: {text}");
        let text = ask(&mut progress, second, Ask::More);
        assert_eq!(tiers(&text), ["1 of 2", "2 of 2"], "{text}");
        assert_eq!(progress.hints_shown(first), 1, "01 is where it was");
    }

    #[test]
    fn how_far_a_learner_went_is_kept_in_the_progress_file() {
        let dir = scratch("hint-tiers");
        let course = course(&dir);
        let exercise = &course.exercises[0];

        let mut progress = Progress::load(&dir).unwrap();
        reveal(&mut progress, exercise, Ask::More);
        reveal(&mut progress, exercise, Ask::More);
        progress.save().unwrap();

        // Another day, another run of the runner.
        let mut progress = Progress::load(&dir).unwrap();
        let text = ask(&mut progress, exercise, Ask::More);
        assert_eq!(
            tiers(&text),
            ["1 of 3", "2 of 3", "3 of 3"],
            "goes on from hint 2: {text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_learn_command_reveals_and_remembers() {
        // The whole command, as a learner types it: arguments, progress file and output.
        // `rosetta learn ...`, the way the `rosetta` binary declares it.
        #[derive(Debug, clap::Parser)]
        enum Rosetta {
            Learn(crate::LearnArgs),
        }
        let dir = scratch("hint-command");
        std::fs::write(
            dir.join("info.toml"),
            "format_version = 2\n[[exercise]]\nname = \"a\"\ndir = \"01-a\"\n\
             chapter = \"callbacks.md\"\nminutes = 10\n\
             hints = [\"Think.\", \"Count down.\", \"See solutions/01-a/src/lib.rs.\"]\n",
        )
        .unwrap();
        let run = |args: &[&str]| {
            use clap::Parser as _;
            let mut argv = vec!["rosetta", "learn", "--exercises", dir.to_str().unwrap()];
            argv.extend_from_slice(args);
            let Rosetta::Learn(learn) = Rosetta::try_parse_from(argv).unwrap();
            let mut out = Vec::new();
            crate::run(&learn, &mut out).unwrap();
            anstream::adapter::strip_str(&String::from_utf8(out).unwrap()).to_string()
        };
        assert_eq!(tiers(&run(&["hint", "1"])), ["1 of 3"]);
        assert_eq!(tiers(&run(&["hint", "--more"])), ["1 of 3", "2 of 3"]);
        assert_eq!(
            tiers(&run(&["hint", "a", "--more"])),
            ["1 of 3", "2 of 3", "3 of 3"]
        );
        let course = Course::load(&dir).unwrap();
        let saved = Progress::load(&dir).unwrap();
        assert_eq!(
            saved.hints_shown(&course.exercises[0]),
            3,
            "kept in the progress file"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
