//! What the runner prints: verdicts, exercise introductions, the list and hints, in the
//! learner's terms (what to do, where, what was expected, what happened, what to read).
//!
//! Every function returns a `String`, so that the tests can read exactly what a learner sees.
//! Colours are `anstyle` styles, switched on or off by a [`Paint`] (see there why a flag).

use std::fmt::Write as _;

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};

use crate::check::Verdict;
use crate::course::{Course, Exercise, outline};
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

/// The outcome of a check, in full.
pub fn verdict(exercise: &Exercise, verdict: &Verdict, paint: Paint) -> String {
    let name = label(exercise);
    let hint = command(&format!("hint {}", exercise.number));
    let read = exercise.chapter_title();
    let mut out = String::new();
    match verdict {
        Verdict::Passed { tests } => {
            let _ = writeln!(out, "{} {name}: all {tests} tests pass.", paint.green("✓"));
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
                "    {location}{}",
                if what.is_empty() {
                    String::new()
                } else {
                    format!(": {what}")
                }
            );
            let _ = writeln!(
                out,
                "\n  That is where your code goes: the comment at the top of the file says what \
                 to write.\n  Read: {read}. Stuck? {hint}."
            );
        }
        Verdict::TestsFail {
            failed,
            total,
            first,
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
            if !first.message.contains("reread:") {
                let _ = writeln!(out, "  Read: {read}.");
            }
            let _ = writeln!(out, "  Stuck? {hint}.");
        }
        Verdict::DoesNotCompile { errors, first } => {
            let count = if *errors == 1 {
                "1 error".to_string()
            } else {
                format!("{errors} errors")
            };
            let _ = writeln!(
                out,
                "{} {name}: does not compile ({count}). The first:\n",
                paint.red("✗")
            );
            let _ = writeln!(out, "{}\n", indent(first, "  "));
            let _ = writeln!(out, "  Read: {read}. Stuck? {hint}.");
        }
        Verdict::TimedOut { binary, after } => {
            let _ = writeln!(
                out,
                "{} {name}: the `{binary}` tests were still running after {} s, and were \
                 stopped.\n",
                paint.red("✗"),
                after.as_secs()
            );
            let why = "Something waits for ever, or loops: a future that returns `Pending` \
                       without arranging a wake-up, a callback that is never called, a lock \
                       that is never released, a channel that is never closed...";
            let _ = writeln!(out, "{}", wrap(why, 92, "  "));
            let _ = writeln!(out, "  Read: {read}. Stuck? {hint}.");
        }
        Verdict::BuildError { message } => {
            let _ = writeln!(
                out,
                "{} {name}: cargo could not build it:\n\n{}",
                paint.red("✗"),
                indent(message, "    ")
            );
        }
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

/// The hint of an exercise, with where to read more.
pub fn hint(exercise: &Exercise, paint: Paint) -> String {
    format!(
        "{}\n\n{}\n\n  Read: {}.\n  {}\n",
        paint.bold(&format!("Hint for {}:", label(exercise))),
        wrap(exercise.hint.trim(), 92, "  "),
        exercise.chapter_title(),
        paint.dim(&format!(
            "Still stuck? One way to solve it is in solutions/{}/src/lib.rs (try a while first).",
            exercise.dir
        ))
    )
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::check::Failure;
    use crate::course::parse_info;

    fn exercise() -> Exercise {
        parse_info(
            "format_version = 1\n[[exercise]]\nname = \"countdown-callbacks\"\n\
             dir = \"01-countdown-callbacks\"\nchapter = \"callbacks.md\"\nminutes = 10\n\
             hint = \"Count down.\"\n",
        )
        .unwrap()
        .remove(0)
    }

    const PLAIN: Paint = Paint::PLAIN;

    #[test]
    fn a_todo_says_where_the_code_goes() {
        let verdict = Verdict::TestsFail {
            failed: 4,
            total: 4,
            first: Failure {
                test: "t".into(),
                location: Some("exercises/01-countdown-callbacks/src/lib.rs:90:5".into()),
                message: "not yet implemented: start every feed".into(),
            },
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
            },
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
        let passed = super::verdict(&exercise, &Verdict::Passed { tests: 4 }, PLAIN);
        assert_eq!(passed, "✓ 01 countdown-callbacks: all 4 tests pass.\n");
        let timed_out = Verdict::TimedOut {
            binary: "countdown".into(),
            after: Duration::from_secs(60),
        };
        let text = super::verdict(&exercise, &timed_out, PLAIN);
        assert!(text.contains("still running after 60 s"), "{text}");
        let error = Verdict::DoesNotCompile {
            errors: 2,
            first: "error[E0277]: `MutexGuard` cannot be sent".into(),
        };
        let text = super::verdict(&exercise, &error, PLAIN);
        assert!(text.contains("does not compile (2 errors)"), "{text}");
        assert!(text.contains("\n  error[E0277]"), "{text}");
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
            text.starts_with("Hint for 01 countdown-callbacks:\n\n  Count down.\n"),
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
            },
        };
        for (plain, coloured) in [
            (
                super::verdict(&exercise, &Verdict::Passed { tests: 4 }, PLAIN),
                super::verdict(&exercise, &Verdict::Passed { tests: 4 }, colour),
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
}
