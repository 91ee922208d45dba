//! What the runner prints: verdicts, exercise introductions, the list and hints, in the
//! learner's terms (what to do, where, what was expected, what happened, what to read).
//!
//! Every function returns a `String`, so that the tests can read exactly what a learner sees.
//! Colours are `anstyle` styles, switched on or off by a [`Paint`] (see there why a flag).

use std::fmt::Write as _;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

use crate::check::{Clippy, Verdict, Warnings};
use crate::course::{Course, Exercise, Start, outline};
use crate::progress::Progress;

/// Green, for success.
const SUCCESS: Style = AnsiColor::Green.on_default();
/// Red, for failure.
const FAILURE: Style = AnsiColor::Red.on_default();
/// Bold, for headings.
const HEADING: Style = Style::new().bold();
/// Dim, for asides.
const ASIDE: Style = Style::new().dimmed();

/// Colour, or none: whether the strings made here carry `anstyle` styles.
///
/// The decision is made once, up front, and kept in this flag, rather than always styling and
/// letting an `anstream` stream strip the styles on the way out. Two reasons: the tests read
/// the very string a learner's terminal receives (with [`Paint::PLAIN`], exactly what a pipe
/// receives), not one that a stream would rewrite later; and the same decision must be known
/// *before* anything is printed, to ask cargo for coloured or plain compiler errors
/// (`CheckOptions::color`). The decision itself is the ecosystem's, `anstream`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    /// Whether to colour at all.
    pub enabled: bool,
}

impl Paint {
    /// No colour: plain text.
    pub const PLAIN: Paint = Paint { enabled: false };

    /// Colours when standard output should get them, as `anstream` (and so clap, cargo's
    /// own crates, ...) decides: it is a terminal, `NO_COLOR` is not set, `CLICOLOR=0` does not
    /// turn colour off and `TERM` is not `dumb`; `CLICOLOR_FORCE` turns it on anyway.
    pub fn for_stdout() -> Paint {
        let choice = anstream::AutoStream::choice(&std::io::stdout());
        Paint {
            enabled: choice != ColorChoice::Never,
        }
    }

    /// `text` in `style` (`{style}` starts it, `{style:#}` resets), or plain.
    fn paint(self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    /// Green, for success.
    pub fn green(self, text: &str) -> String {
        self.paint(SUCCESS, text)
    }

    /// Red, for failure.
    pub fn red(self, text: &str) -> String {
        self.paint(FAILURE, text)
    }

    /// Bold, for headings.
    pub fn bold(self, text: &str) -> String {
        self.paint(HEADING, text)
    }

    /// Dim, for asides.
    pub fn dim(self, text: &str) -> String {
        self.paint(ASIDE, text)
    }
}

/// How a learner runs a `learn` command from the repository.
pub fn command(args: &str) -> String {
    format!("`cargo run -- learn {args}`")
}

/// `NN name`, as every message names an exercise.
pub fn label(exercise: &Exercise) -> String {
    format!("{:02} {}", exercise.number, exercise.name)
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|line| {
            if line.is_empty() {
                String::new()
            } else {
                format!("{by}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The outcome of a check, in full: what happened, the warnings, and where to read.
pub fn verdict(exercise: &Exercise, verdict: &Verdict, paint: Paint) -> String {
    let name = label(exercise);
    let hint = command(&format!("hint {}", exercise.number));
    let read = exercise.chapter_title();
    // What happened, then the warnings, then where to read: a warning is often why a test
    // failed, so it comes before the way out, not after it.
    let mut out = String::new();
    let mut footer = format!("  Read: {read}. Stuck? {hint}.\n");
    match verdict {
        Verdict::Passed { tests, .. } => {
            let _ = writeln!(
                out,
                "{} {name}: all {tests} tests pass.\n",
                paint.green("✓")
            );
            footer.clear();
        }
        Verdict::TestsFail { first, .. } if first.reached_todo() => {
            let location = first.location.as_deref().unwrap_or("your code");
            let location = location
                .rsplit_once(':')
                .map_or(location, |(at, _column)| at);
            let what = first
                .message
                .strip_prefix("not yet implemented")
                .unwrap_or_default()
                .trim_start_matches(':')
                .trim();
            let _ = writeln!(
                out,
                "{} {name}: not done yet. Your code reaches a `todo!()`:\n",
                paint.red("✗")
            );
            let _ = writeln!(
                out,
                "    {location}{}\n",
                if what.is_empty() {
                    String::new()
                } else {
                    format!(": {what}")
                }
            );
            out.push_str(&printed(&first.output, "before it got there"));
            let _ = writeln!(
                out,
                "  That is where your code goes: the comment at the top of the file says what \
                 to write.\n"
            );
        }
        Verdict::TestsFail {
            failed,
            total,
            first,
            ..
        } => {
            let tests = if *failed == 1 {
                format!("1 of {total} tests fails")
            } else {
                format!("{failed} of {total} tests fail")
            };
            let _ = writeln!(out, "{} {name}: {tests}. The first:\n", paint.red("✗"));
            let at = first
                .location
                .as_deref()
                .map(|location| format!(" ({location})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  test {}{at}\n", paint.bold(&first.test));
            let _ = writeln!(out, "{}\n", indent(&wrap_prose(&first.message, 92), "    "));
            out.push_str(&printed(&first.output, "before it failed"));
            // The exercises' tests say what to reread themselves.
            footer = if first.message.contains("reread:") {
                format!("  Stuck? {hint}.\n")
            } else {
                format!("  Read: {read}.\n  Stuck? {hint}.\n")
            };
        }
        Verdict::DoesNotCompile { errors, shown, .. } => {
            let count = if *errors == 1 {
                "1 error".to_string()
            } else {
                format!("{errors} errors")
            };
            let which = if shown.len() < *errors {
                ". The first:"
            } else {
                ":"
            };
            let _ = writeln!(
                out,
                "{} {name}: does not compile ({count}){which}\n",
                paint.red("✗")
            );
            for error in shown {
                let _ = writeln!(out, "{}\n", indent(error, "  "));
            }
            if let Start::Broken { .. } = exercise.start {
                let _ = writeln!(
                    out,
                    "  This exercise starts this way: reading these errors is the exercise. \
                     The comment at the top of the file says what the code must do once it \
                     compiles.\n"
                );
            }
            if shown.len() < *errors {
                let _ = writeln!(
                    out,
                    "  {} shows all {errors}.\n",
                    command(&format!("check {} --all", exercise.number))
                );
            }
        }
        Verdict::TimedOut {
            binary,
            after,
            hung,
            ..
        } => {
            let seconds = after.as_secs();
            match hung {
                Some(hung) => {
                    let _ = writeln!(
                        out,
                        "{} {name}: test {} hangs: it was still running after {seconds} s, and \
                         was stopped.\n",
                        paint.red("✗"),
                        paint.bold(&hung.test)
                    );
                    out.push_str(&printed(&hung.output, "before it hung"));
                }
                None => {
                    let _ = writeln!(
                        out,
                        "{} {name}: the `{binary}` tests were still running after {seconds} s, \
                         and were stopped.\n",
                        paint.red("✗"),
                    );
                }
            }
            let why = "Something waits for ever, or loops: a future that returns `Pending` \
                       without arranging a wake-up, a callback that is never called, a lock \
                       that is never released, a channel that is never closed...";
            let _ = writeln!(out, "{}\n", wrap(why, 92, "  "));
        }
        Verdict::BuildError { message } => {
            let _ = writeln!(
                out,
                "{} {name}: cargo could not build it:\n\n{}",
                paint.red("✗"),
                indent(message, "    ")
            );
            footer.clear();
        }
    }
    let section = verdict
        .warnings()
        .map(|warnings| warnings_section(exercise, warnings, paint))
        .unwrap_or_default();
    out.push_str(&section);
    if !footer.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(&footer);
    if footer.is_empty() && section.is_empty() {
        // A passed check with nothing more to say is one line, as it always was.
        while out.ends_with("\n\n") {
            out.pop();
        }
    }
    out
}

/// At most this many lines of what a test printed are shown: the last ones, nearest the
/// failure.
const PRINTED_LINES: usize = 40;

/// What a test printed `when` (before it failed, before it hung), indented, or nothing if it
/// printed nothing.
fn printed(output: &str, when: &str) -> String {
    if output.trim().is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = output.lines().collect();
    let cut = lines.len().saturating_sub(PRINTED_LINES);
    let mut out = format!("  What it printed {when}:\n\n");
    if cut > 0 {
        let _ = writeln!(out, "    ({cut} earlier lines not shown)");
    }
    for line in &lines[cut..] {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
    out.push('\n');
    out
}

/// The warnings of a check, as cargo rendered them, under a line that counts them and says
/// whether clippy looked; nothing if there are none and clippy did not run.
fn warnings_section(exercise: &Exercise, warnings: &Warnings, paint: Paint) -> String {
    let clippy = match &warnings.clippy {
        Clippy::NotRun => None,
        Clippy::Ran { lints } | Clippy::Unavailable { lints, .. } => Some(lints.join(", ")),
    };
    let mut out = String::new();
    if warnings.count == 0 {
        if let (Clippy::Ran { .. }, Some(lints)) = (&warnings.clippy, &clippy) {
            let _ = writeln!(
                out,
                "{}\n",
                paint.dim(&format!(
                    "  No warnings, from the compiler or from clippy ({lints})."
                ))
            );
        }
    } else {
        let count = if warnings.count == 1 {
            "1 warning".to_string()
        } else {
            format!("{} warnings", warnings.count)
        };
        let from = match (&warnings.clippy, &clippy) {
            (Clippy::Ran { .. }, Some(lints)) => {
                format!("from the compiler and from clippy ({lints})")
            }
            _ => "from the compiler".to_string(),
        };
        let _ = writeln!(out, "  {}\n", paint.bold(&format!("{count}, {from}:")));
        for warning in &warnings.shown {
            let _ = writeln!(out, "{}\n", indent(warning, "  "));
        }
        let hidden = warnings.count - warnings.shown.len().min(warnings.count);
        if hidden > 0 {
            let which = if warnings.shown.is_empty() {
                "them".to_string()
            } else if hidden == 1 {
                "the other one".to_string()
            } else {
                format!("the other {hidden}")
            };
            let _ = writeln!(
                out,
                "  {} shows {which}.\n",
                command(&format!("check {} --all", exercise.number))
            );
        }
    }
    if let (Clippy::Unavailable { why, .. }, Some(lints)) = (&warnings.clippy, &clippy) {
        let why = why.lines().last().unwrap_or_default().trim();
        let _ = writeln!(
            out,
            "{}\n",
            paint.dim(&format!(
                "  Clippy could not run ({why}), so its lints for this exercise ({lints}) were \
                 not checked: `rustup component add clippy` installs it."
            ))
        );
    }
    out
}

/// What to do and where: shown when an exercise becomes the current one.
pub fn introduction(course: &Course, exercise: &Exercise, paint: Paint) -> String {
    let outline = outline(course, exercise);
    let title = outline
        .title
        .clone()
        .unwrap_or_else(|| format!("Exercise {:02}: {}", exercise.number, exercise.name));
    let mut out = format!(
        "{} (of {}, about {} minutes)\n",
        paint.bold(&title),
        course.exercises.len(),
        exercise.minutes
    );
    let _ = writeln!(out, "  Read:  {}", exercise.chapter_title());
    let lines: Vec<String> = outline.todo_lines.iter().map(usize::to_string).collect();
    let at = match lines.len() {
        0 => String::new(),
        1 => format!(", at the `// TODO` on line {}", lines[0]),
        _ => format!(", at the `// TODO`s on lines {}", lines.join(", ")),
    };
    let _ = writeln!(out, "  Edit:  {}{at}", outline.file);
    let _ = writeln!(
        out,
        "         (the comment at the top of that file says what to do)"
    );
    out
}

/// Every exercise, done or not, and the progress.
pub fn list(course: &Course, progress: &Progress, paint: Paint) -> String {
    let done = progress.done_count(course);
    let total = course.exercises.len();
    let width = 30;
    let filled = done * width / total.max(1);
    let bar = format!("{}{}", "█".repeat(filled), "░".repeat(width - filled));
    let mut out = format!(
        "{} of {total} exercises done ({}%)  {bar}\n\n",
        done,
        done * 100 / total.max(1)
    );
    let current = progress.current(course).map(|exercise| exercise.number);
    let name_width = course
        .exercises
        .iter()
        .map(|exercise| exercise.name.len())
        .max()
        .unwrap_or(0);
    for exercise in &course.exercises {
        let status = if progress.is_done(exercise) {
            paint.green("done    ")
        } else if Some(exercise.number) == current {
            paint.bold("next    ")
        } else {
            "not done".to_string()
        };
        let _ = writeln!(
            out,
            "  {status}  {:02} {:name_width$}  {:>2} min  {}",
            exercise.number, exercise.name, exercise.minutes, exercise.chapter
        );
    }
    match progress.current(course) {
        Some(next) => {
            let _ = write!(
                out,
                "\nNext: {}. {} checks it each time you save.\n",
                label(next),
                command("watch")
            );
        }
        None => out.push_str("\nEvery exercise is done.\n"),
    }
    out
}

/// `text` wrapped at `width` columns (paragraphs kept), each line starting with `by`.
pub fn wrap(text: &str, width: usize, by: &str) -> String {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && by.len() + line.len() + 1 + word.chars().count() > width {
                lines.push(format!("{by}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(if line.is_empty() {
            String::new()
        } else {
            format!("{by}{line}")
        });
    }
    lines.join("\n")
}

/// `text` with its long unindented lines (sentences) wrapped at `width` columns; indented lines
/// (`  expected: ...`, code) are kept as they are.
fn wrap_prose(text: &str, width: usize) -> String {
    text.lines()
        .map(|line| {
            if line.starts_with(' ') || line.chars().count() <= width {
                line.to_string()
            } else {
                wrap(line, width, "")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first hint of an exercise, with where to read more and how to see the next (`watch`'s
/// `h`; `learn hint` goes through [`crate::hints`], which also counts what was shown).
pub fn hint(exercise: &Exercise, paint: Paint) -> String {
    crate::hints::render(exercise, &crate::hints::Reveal::first(exercise, 0), paint)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::check::{Failure, Hung};
    use crate::course::parse_info;

    fn exercise() -> Exercise {
        parse_info(
            "format_version = 2\n[[exercise]]\nname = \"countdown-callbacks\"\n\
             dir = \"01-countdown-callbacks\"\nchapter = \"callbacks.md\"\nminutes = 10\n\
             hints = [\"Count down.\", \"See the solution.\"]\n",
        )
        .unwrap()
        .remove(0)
    }

    const PLAIN: Paint = Paint::PLAIN;

    /// Every test passed, with no warning.
    fn passed(tests: usize) -> Verdict {
        Verdict::Passed {
            tests,
            warnings: Warnings::default(),
        }
    }

    #[test]
    fn a_todo_says_where_the_code_goes() {
        let verdict = Verdict::TestsFail {
            failed: 4,
            total: 4,
            first: Failure {
                test: "t".into(),
                location: Some("exercises/01-countdown-callbacks/src/lib.rs:90:5".into()),
                message: "not yet implemented: start every feed".into(),
                output: String::new(),
            },
            warnings: Warnings::default(),
        };
        let text = super::verdict(&exercise(), &verdict, PLAIN);
        assert!(
            text.contains("✗ 01 countdown-callbacks: not done yet. Your code reaches a `todo!()`"),
            "{text}"
        );
        assert!(
            text.contains("    exercises/01-countdown-callbacks/src/lib.rs:90: start every feed"),
            "{text}"
        );
        assert!(
            text.contains("chapter 4, Callbacks (book/src/callbacks.md)"),
            "{text}"
        );
        assert!(text.contains("`cargo run -- learn hint 1`"), "{text}");
    }

    #[test]
    fn a_failed_test_shows_its_message_and_where_to_read() {
        let verdict = Verdict::TestsFail {
            failed: 1,
            total: 4,
            first: Failure {
                test: "done_is_called_once".into(),
                location: Some("exercises/01-countdown-callbacks/tests/countdown.rs:20:9".into()),
                message: "`done` should be called once\n  expected: 1\n       got: 0".into(),
                output: String::new(),
            },
            warnings: Warnings::default(),
        };
        let text = super::verdict(&exercise(), &verdict, PLAIN);
        assert!(text.starts_with("✗ 01 countdown-callbacks: 1 of 4 tests fails. The first:"));
        assert!(text.contains(
            "  test done_is_called_once (exercises/01-countdown-callbacks/tests/countdown.rs:20:9)"
        ));
        assert!(text.contains("\n    `done` should be called once\n      expected: 1\n"));
        assert!(text.contains("Read: chapter 4, Callbacks (book/src/callbacks.md)."));
    }

    #[test]
    fn other_verdicts_read_well() {
        let exercise = exercise();
        let passed = super::verdict(&exercise, &passed(4), PLAIN);
        assert_eq!(passed, "✓ 01 countdown-callbacks: all 4 tests pass.\n");
        let timed_out = Verdict::TimedOut {
            binary: "countdown".into(),
            after: Duration::from_secs(60),
            hung: None,
            warnings: Warnings::default(),
        };
        let text = super::verdict(&exercise, &timed_out, PLAIN);
        assert!(text.contains("still running after 60 s"), "{text}");
        let error = Verdict::DoesNotCompile {
            errors: 2,
            shown: vec!["error[E0277]: `MutexGuard` cannot be sent".into()],
            warnings: Warnings::default(),
        };
        let text = super::verdict(&exercise, &error, PLAIN);
        assert!(text.contains("does not compile (2 errors)"), "{text}");
        assert!(text.contains("\n  error[E0277]"), "{text}");
        assert!(
            text.contains("`cargo run -- learn check 1 --all` shows all 2."),
            "{text}"
        );
        assert!(!text.contains("starts this way"), "{text}");
        // An exercise that starts broken says that the errors are the exercise.
        let broken = Exercise {
            start: Start::Broken {
                compile_errors: vec!["cannot be sent".into()],
            },
            ..exercise.clone()
        };
        let text = super::verdict(&broken, &error, PLAIN);
        assert!(
            text.contains("This exercise starts this way: reading these errors is the exercise."),
            "{text}"
        );
    }

    #[test]
    fn the_list_shows_every_exercise_and_the_progress() {
        let course = Course {
            dir: PathBuf::from("/nowhere/exercises"),
            exercises: vec![exercise()],
        };
        let text = list(&course, &Progress::default(), PLAIN);
        assert!(text.starts_with("0 of 1 exercises done (0%)"), "{text}");
        assert!(
            text.contains("  next      01 countdown-callbacks  10 min  callbacks.md"),
            "{text}"
        );
        assert!(text.contains("Next: 01 countdown-callbacks."), "{text}");
        let text = hint(&course.exercises[0], PLAIN);
        assert!(
            text.starts_with(
                "Hints for 01 countdown-callbacks:\n\n  hint 1 of 2\n    Count down.\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn colour_changes_nothing_but_the_colour() {
        let exercise = exercise();
        let course = Course {
            dir: PathBuf::from("/nowhere/exercises"),
            exercises: vec![exercise.clone()],
        };
        let colour = Paint { enabled: true };
        let failed = Verdict::TestsFail {
            failed: 1,
            total: 4,
            first: Failure {
                test: "done_is_called_once".into(),
                location: None,
                message: "`done` should be called once".into(),
                output: "started 3 feeds".into(),
            },
            warnings: Warnings::default(),
        };
        for (plain, coloured) in [
            (
                super::verdict(&exercise, &passed(4), PLAIN),
                super::verdict(&exercise, &passed(4), colour),
            ),
            (
                super::verdict(&exercise, &failed, PLAIN),
                super::verdict(&exercise, &failed, colour),
            ),
            (
                list(&course, &Progress::default(), PLAIN),
                list(&course, &Progress::default(), colour),
            ),
            (hint(&exercise, PLAIN), hint(&exercise, colour)),
        ] {
            assert_ne!(coloured, plain, "styled when enabled");
            assert_eq!(
                anstream::adapter::strip_str(&coloured).to_string(),
                plain,
                "the same words, in a terminal or through a pipe"
            );
        }
    }

    /// A warning as cargo renders it (rustc 1.95), paths already relative to the repository.
    const MUST_USE: &str = "warning: unused implementer of `Future` that must be used\n  \
        --> exercises/01-countdown-callbacks/src/lib.rs:9:5\n   |\n9  |     ping();\n   |     \
        ^^^^^^\n   |\n   = note: futures do nothing unless you `.await` or poll them";

    fn warnings(count: usize, shown: usize, clippy: Clippy) -> Warnings {
        Warnings {
            count,
            shown: (0..shown)
                .map(|n| format!("{MUST_USE}\n   = note: number {n}"))
                .collect(),
            clippy,
        }
    }

    fn clippy_ran() -> Clippy {
        Clippy::Ran {
            lints: vec!["clippy::await_holding_lock".into()],
        }
    }

    #[test]
    fn warnings_are_shown_whether_the_tests_pass_or_fail() {
        let exercise = exercise();
        let passed = Verdict::Passed {
            tests: 4,
            warnings: warnings(1, 1, Clippy::NotRun),
        };
        let text = super::verdict(&exercise, &passed, PLAIN);
        assert!(
            text.starts_with(
                "✓ 01 countdown-callbacks: all 4 tests pass.\n\n  1 warning, from the compiler:\n\n  \
                 warning: unused implementer of `Future` that must be used\n    --> exercises/"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n     = note: futures do nothing unless you `.await` or poll them\n"),
            "rendered as cargo renders it, indented: {text}"
        );
        assert!(text.ends_with("number 0\n\n"), "{text:?}");

        let failed = Verdict::TestsFail {
            failed: 1,
            total: 4,
            first: Failure {
                test: "done_is_called_once".into(),
                location: None,
                message: "`done` should be called once".into(),
                output: String::new(),
            },
            warnings: warnings(5, 3, clippy_ran()),
        };
        let text = super::verdict(&exercise, &failed, PLAIN);
        let warned = text
            .find("5 warnings, from the compiler and from clippy (clippy::await_holding_lock):")
            .expect(&text);
        assert!(
            text.find("`done` should be called once").unwrap() < warned,
            "the failure first: {text}"
        );
        assert_eq!(
            text.matches("warning: unused implementer").count(),
            3,
            "{text}"
        );
        assert!(
            text.contains("`cargo run -- learn check 1 --all` shows the other 2."),
            "{text}"
        );
        assert!(
            text.find("Stuck?").unwrap() > warned,
            "where to read comes last: {text}"
        );
    }

    #[test]
    fn clippy_says_when_it_found_nothing_and_when_it_could_not_run() {
        let exercise = exercise();
        let clean = Verdict::Passed {
            tests: 4,
            warnings: warnings(0, 0, clippy_ran()),
        };
        let text = super::verdict(&exercise, &clean, PLAIN);
        assert_eq!(
            text,
            "✓ 01 countdown-callbacks: all 4 tests pass.\n\n  No warnings, from the compiler or \
             from clippy (clippy::await_holding_lock).\n\n"
        );
        let missing = Verdict::Passed {
            tests: 4,
            warnings: warnings(
                0,
                0,
                Clippy::Unavailable {
                    lints: vec!["clippy::await_holding_lock".into()],
                    why: "error: no such command: `clippy`".into(),
                },
            ),
        };
        let text = super::verdict(&exercise, &missing, PLAIN);
        assert!(
            text.contains("Clippy could not run (error: no such command: `clippy`)"),
            "{text}"
        );
        assert!(text.contains("`rustup component add clippy`"), "{text}");
    }

    #[test]
    fn a_failed_test_shows_what_it_printed_before_it_failed() {
        let verdict = Verdict::TestsFail {
            failed: 1,
            total: 2,
            first: Failure {
                test: "prints_then_fails".into(),
                location: None,
                message: "assertion `left == right` failed".into(),
                output: "the answer so far: 41\n[tests/probe.rs:12:19] answer() * 2 = 82".into(),
            },
            warnings: Warnings::default(),
        };
        let text = super::verdict(&exercise(), &verdict, PLAIN);
        assert!(
            text.contains(
                "    assertion `left == right` failed\n\n  What it printed before it failed:\n\n    \
                 the answer so far: 41\n    [tests/probe.rs:12:19] answer() * 2 = 82\n\n  Read:"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_hung_test_is_named_with_what_it_printed() {
        let verdict = Verdict::TimedOut {
            binary: "hang".into(),
            after: Duration::from_secs(60),
            hung: Some(Hung {
                test: "hangs_after_printing".into(),
                output: "waiting for a message that never comes".into(),
            }),
            warnings: Warnings::default(),
        };
        let text = super::verdict(&exercise(), &verdict, PLAIN);
        assert!(
            text.starts_with(
                "✗ 01 countdown-callbacks: test hangs_after_printing hangs: it was still running \
                 after 60 s, and was stopped.\n\n  What it printed before it hung:\n\n    \
                 waiting for a message that never comes\n\n  Something waits for ever"
            ),
            "{text}"
        );
    }

    #[test]
    fn every_compile_error_is_shown_when_asked_for() {
        let every = Verdict::DoesNotCompile {
            errors: 2,
            shown: vec!["error[E0308]: one".into(), "error[E0308]: two".into()],
            warnings: warnings(1, 1, Clippy::NotRun),
        };
        let text = super::verdict(&exercise(), &every, PLAIN);
        assert!(
            text.starts_with(
                "✗ 01 countdown-callbacks: does not compile (2 errors):\n\n  error[E0308]: one\n\n  \
                 error[E0308]: two\n\n  1 warning, from the compiler:"
            ),
            "{text}"
        );
        assert!(!text.contains("--all"), "{text}");
        let first_only = Verdict::DoesNotCompile {
            errors: 2,
            shown: vec!["error[E0308]: one".into()],
            warnings: warnings(1, 0, Clippy::NotRun),
        };
        let text = super::verdict(&exercise(), &first_only, PLAIN);
        assert!(
            text.contains("`cargo run -- learn check 1 --all` shows all 2.\n\n  1 warning"),
            "{text}"
        );
        assert!(
            text.contains("`cargo run -- learn check 1 --all` shows them."),
            "{text}"
        );
    }
}
