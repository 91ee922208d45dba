//! The course: `exercises/info.toml`, read and checked, and how to find it.
//!
//! `info.toml` lists the exercises in teaching order. Each entry names the exercise, its folder
//! (`NN-name`, the number being its place in the order), the book chapter to read with it (a
//! file of `book/src/`), the minutes it takes, and its hints, in tiers:
//!
//! ```toml
//! format_version = 2
//!
//! [[exercise]]
//! name = "countdown-callbacks"
//! dir = "01-countdown-callbacks"
//! chapter = "callbacks.md"
//! minutes = 10
//! hints = [
//!     """A nudge: what to think about.""",
//!     """The approach: the steps, without the code.""",
//!     """Where the solution is (`solutions/01-countdown-callbacks/src/lib.rs`), and what to
//!     look for there.""",
//! ]
//! ```
//!
//! Most exercises build as shipped, with a `todo!()` where the learner's code goes. Two other
//! starts are declared with `starts`: `"broken"`, an exercise that does not compile (reading
//! the compiler's errors is the lesson), with `compile_errors`, what the compiler must say about
//! it; and `"buggy"`, a program that builds and fails its tests (finding the bug is the lesson):
//!
//! ```toml
//! starts = "broken"
//! compile_errors = ["future cannot be sent between threads safely"]
//! ```
//!
//! The tiers go from least to most given away; `learn hint` shows the first, and each
//! `learn hint --more` one more (see `crate::hints`), so that a learner takes only as much help
//! as they need. Version 1 of the format had a single `hint`.
//!
//! Reading it checks everything the runner relies on, so that a mistake in the file is one
//! clear message rather than a confusing failure later.

use rosetta_pipeline::scenario::line_of;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use serde::Deserialize;
use toml::Spanned;

/// The version of `info.toml`'s format that this runner reads (2: `hints`, in tiers, replaced
/// version 1's single `hint`).
pub const FORMAT_VERSION: i64 = 2;

/// How many tiers of hints an exercise has: at least a nudge and a pointer at the solution,
/// at most four (beyond that, a hint is a walkthrough).
pub const HINT_TIERS: std::ops::RangeInclusive<usize> = 2..=4;

/// The book's chapters that exercises refer to, in reading order: file name, number and title,
/// as `book/src/SUMMARY.md` has them (a test in `xtask`'s `exercises.rs` checks that they agree,
/// reading the summary with mdBook's own parser, and that the exercises follow this order).
pub const CHAPTERS: &[(&str, &str, &str)] = &[
    ("callbacks.md", "4", "Callbacks"),
    ("promises.md", "5", "Promises in Rust"),
    ("futures-by-hand.md", "6", "Under the hood: futures by hand"),
    ("async-await.md", "7", "async/await"),
    ("spawning.md", "7.1", "The first spawn: Send and 'static"),
    ("runtimes.md", "8", "Three runtimes"),
    ("tasks.md", "8.1", "Who owns a task: structured concurrency"),
    (
        "async-traits.md",
        "8.2",
        "Async functions in traits, and async closures",
    ),
    (
        "real-io.md",
        "9",
        "Real I/O: sockets, readiness and the reactor",
    ),
    ("communication.md", "10", "Async communication"),
    ("streams.md", "10.1", "Streams"),
    ("shutdown.md", "10.2", "Cancellation and graceful shutdown"),
    ("data-management.md", "11", "Async data management"),
    ("pitfalls.md", "13", "Pitfalls"),
    ("testing.md", "13.1", "Testing and debugging async code"),
];

/// How an exercise starts, before the learner touches it (`starts` in `info.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Start {
    /// It builds, and a `todo!()` marks each place where the learner's code goes (the default).
    #[default]
    Todo,
    /// It does not build: reading the compiler's errors is the lesson. The verification checks
    /// that the compiler says each of these (a fragment of an error's message).
    Broken {
        /// What the compiler must say about the exercise as shipped.
        compile_errors: Vec<String>,
    },
    /// It builds and its tests fail: a bug to find (there is no `todo!()`).
    Buggy,
}

/// One exercise, as `info.toml` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    /// Its place in the course, from 1 (the `NN` of its folder).
    pub number: u32,
    /// Its name (`countdown-callbacks`).
    pub name: String,
    /// Its folder, inside `exercises/` (`01-countdown-callbacks`).
    pub dir: String,
    /// The book chapter to read with it: a file of `book/src/`.
    pub chapter: String,
    /// About how long it takes, in minutes.
    pub minutes: u32,
    /// The hints, from the gentlest to the last, which points at the solution: between
    /// [`HINT_TIERS`] of them, none empty.
    pub hints: Vec<String>,
    /// How it starts: with `todo!()`s, not building, or with a bug.
    pub start: Start,
}

impl Exercise {
    /// The Cargo package name of the exercise.
    pub fn package(&self) -> String {
        format!("rosetta-exercise-{}", self.dir)
    }

    /// The chapter as people say it: "chapter 4, Callbacks (book/src/callbacks.md)".
    pub fn chapter_title(&self) -> String {
        match CHAPTERS.iter().find(|(file, ..)| *file == self.chapter) {
            Some((file, number, title)) => {
                format!("chapter {number}, {title} (book/src/{file})")
            }
            None => format!("book/src/{}", self.chapter),
        }
    }
}

/// The whole course: where the exercises are, and the exercises in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    /// The `exercises/` folder (its own Cargo workspace).
    pub dir: PathBuf,
    /// The exercises, in teaching order: `exercises[n - 1].number == n`.
    pub exercises: Vec<Exercise>,
}

impl Course {
    /// Reads `DIR/info.toml`.
    pub fn load(dir: &Path) -> anyhow::Result<Course> {
        let file = dir.join("info.toml");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let exercises = parse_info(&text).with_context(|| format!("{}", file.display()))?;
        Ok(Course {
            dir: dir.to_path_buf(),
            exercises,
        })
    }

    /// Finds the exercises: `explicit` if given; otherwise the `exercises/` folder of the
    /// repository the current directory is in; otherwise the one this program was built from.
    pub fn find(explicit: Option<&Path>) -> anyhow::Result<Course> {
        if let Some(dir) = explicit {
            // Absolute, because a check runs cargo inside the folder *and* names the manifest
            // by this path: relative, it would name nothing from there.
            let dir = std::path::absolute(dir)
                .with_context(|| format!("cannot make {} an absolute path", dir.display()))?;
            return Course::load(&dir);
        }
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        for dir in cwd.ancestors() {
            if dir.join("exercises/info.toml").is_file() {
                return Course::load(&dir.join("exercises"));
            }
            if dir.join("info.toml").is_file() && dir.file_name() == Some("exercises".as_ref()) {
                return Course::load(dir);
            }
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../exercises");
        if built_from.join("info.toml").is_file() {
            return Course::load(&built_from);
        }
        bail!(
            "cannot find the exercises (`exercises/info.toml`): run this from the async-rosetta \
             repository, or pass `--exercises DIR`"
        )
    }

    /// The repository the exercises belong to (the parent of `exercises/`).
    pub fn repo(&self) -> PathBuf {
        self.dir
            .parent()
            .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
    }

    /// The folder of `exercise`.
    pub fn path(&self, exercise: &Exercise) -> PathBuf {
        self.dir.join(&exercise.dir)
    }

    /// The exercise that `text` names: its number (`7`, `07`), its folder (`07-join-all-...`)
    /// or its name (`join-all-...`).
    pub fn resolve(&self, text: &str) -> anyhow::Result<&Exercise> {
        let text = text.trim().trim_end_matches('/');
        let text = text.strip_prefix("exercises/").unwrap_or(text);
        let found = match text.parse::<u32>() {
            Ok(number) => self.exercises.iter().find(|e| e.number == number),
            Err(_) => self
                .exercises
                .iter()
                .find(|e| e.dir == text || e.name == text),
        };
        match found {
            Some(exercise) => Ok(exercise),
            None => bail!(
                "no exercise `{text}`: give its number (1 to {}), its folder or its name \
                 (`cargo run -- learn list` shows them)",
                self.exercises.len()
            ),
        }
    }
}

/// Just the version of `info.toml`, read before anything else, so that a file in another
/// version gets a message about the version rather than about the fields that changed.
#[derive(Debug, Deserialize)]
struct VersionOnly {
    format_version: Option<i64>,
}

/// `info.toml` as written; [`parse_info`] checks what types alone cannot.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoFile {
    format_version: i64,
    #[serde(rename = "exercise", default)]
    exercises: Vec<Spanned<ExerciseEntry>>,
}

/// One `[[exercise]]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExerciseEntry {
    name: String,
    dir: String,
    chapter: String,
    minutes: u32,
    /// Each tier with where it is, so that an empty one is reported at its own line.
    hints: Vec<Spanned<String>>,
    /// `"todo"` (the default), `"broken"` or `"buggy"`: see [`Start`].
    #[serde(default)]
    starts: Option<String>,
    /// With `starts = "broken"`: what the compiler must say.
    #[serde(default)]
    compile_errors: Vec<String>,
}

/// Parses the text of `info.toml` into the exercises, checking every rule. Errors name the
/// line.
pub fn parse_info(text: &str) -> anyhow::Result<Vec<Exercise>> {
    // A syntax error is left to the full parse below, which names its line.
    if let Ok(VersionOnly {
        format_version: Some(version),
    }) = toml::from_str(text)
    {
        check_version(version)?;
    }
    let file: InfoFile = toml::from_str(text).map_err(|error| {
        let at = error
            .span()
            .map(|span| format!("line {}: ", line_of(text, span.start)));
        anyhow::anyhow!("{}{}", at.unwrap_or_default(), error.message().trim())
    })?;
    check_version(file.format_version)?;
    let mut exercises = Vec::new();
    for entry in file.exercises {
        let line = line_of(text, entry.span().start);
        let exercise = check_exercise(text, line, entry.into_inner())?;
        let expected = exercises.len() as u32 + 1;
        if exercise.number != expected {
            bail!(
                "line {line}: exercise `{}` is number {} in its folder name, but number \
                 {expected} in the list: the exercises must be listed in order, numbered from 01",
                exercise.dir,
                exercise.number
            );
        }
        exercises.push(exercise);
    }
    if exercises.is_empty() {
        bail!("no `[[exercise]]` at all");
    }
    Ok(exercises)
}

/// Refuses a version of the format other than this runner's, saying which side is older.
fn check_version(version: i64) -> anyhow::Result<()> {
    match version {
        FORMAT_VERSION => Ok(()),
        1 => bail!(
            "format_version 1 is not supported: this runner reads version {FORMAT_VERSION}, in \
             which each exercise's single `hint` became `hints`, a list of {} to {} tiers",
            HINT_TIERS.start(),
            HINT_TIERS.end()
        ),
        _ => bail!(
            "format_version {version} is not supported: this runner reads version \
             {FORMAT_VERSION} (update async-rosetta?)"
        ),
    }
}

/// Checks one entry (which starts at `line` of `text`) and numbers it from its folder.
fn check_exercise(text: &str, line: usize, entry: ExerciseEntry) -> anyhow::Result<Exercise> {
    let ExerciseEntry {
        name,
        dir,
        chapter,
        minutes,
        hints,
        starts,
        compile_errors,
    } = entry;
    for (key, value) in [("name", &name), ("dir", &dir), ("chapter", &chapter)] {
        if value.trim().is_empty() {
            bail!("line {line}: `{key}` is empty");
        }
    }
    if !HINT_TIERS.contains(&hints.len()) {
        bail!(
            "line {line}: `hints` has {} tier{}; give {} to {}: a nudge first, the approach \
             next, and last, where the solution is",
            hints.len(),
            if hints.len() == 1 { "" } else { "s" },
            HINT_TIERS.start(),
            HINT_TIERS.end()
        );
    }
    for (index, hint) in hints.iter().enumerate() {
        if hint.get_ref().trim().is_empty() {
            bail!(
                "line {}: hint {} of `hints` is empty",
                line_of(text, hint.span().start),
                index + 1
            );
        }
    }
    if !(1..=120).contains(&minutes) {
        bail!("line {line}: `minutes` must be a number of minutes, from 1 to 120");
    }
    let number = dir
        .split_once('-')
        .filter(|(number, rest)| number.len() == 2 && *rest == name)
        .and_then(|(number, _)| number.parse::<u32>().ok())
        .with_context(|| {
            format!("line {line}: `dir` must be `NN-{name}` (two digits, then the name)")
        })?;
    if !chapter.ends_with(".md") || chapter.contains('/') {
        bail!("line {line}: `chapter` must be a file name of `book/src/`, like `callbacks.md`");
    }
    let start = match (starts.as_deref(), compile_errors.is_empty()) {
        (None | Some("todo"), true) => Start::Todo,
        (Some("buggy"), true) => Start::Buggy,
        (Some("broken"), false) if compile_errors.iter().all(|e| !e.trim().is_empty()) => {
            Start::Broken { compile_errors }
        }
        (Some("broken"), _) => bail!(
            "line {line}: `starts = \"broken\"` needs `compile_errors`: what the compiler \
             must say about the exercise as shipped (fragments of its messages, none empty)"
        ),
        (None | Some("todo" | "buggy"), false) => bail!(
            "line {line}: `compile_errors` is only for `starts = \"broken\"`: an exercise \
             that does not build as shipped"
        ),
        (Some(other), _) => bail!(
            "line {line}: `starts = \"{other}\"`: give \"todo\" (the default), \"broken\" \
             (it does not build) or \"buggy\" (it builds, and its tests fail)"
        ),
    };
    Ok(Exercise {
        number,
        name,
        dir,
        chapter,
        minutes,
        hints: hints.into_iter().map(Spanned::into_inner).collect(),
        start,
    })
}

/// What to show a learner about where to work: the title line of the exercise's `src/lib.rs`
/// header, and the lines marked `// TODO`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outline {
    /// The header's `# ...` title, without the `//! # `.
    pub title: Option<String>,
    /// The file the learner edits, relative to the repository.
    pub file: String,
    /// Line numbers (from 1) of the `// TODO` markers still in it.
    pub todo_lines: Vec<usize>,
}

/// Reads the outline of `exercise` (an exercise whose `lib.rs` cannot be read has an empty one).
pub fn outline(course: &Course, exercise: &Exercise) -> Outline {
    let text =
        std::fs::read_to_string(course.path(exercise).join("src/lib.rs")).unwrap_or_default();
    let title = text
        .lines()
        .take_while(|line| line.starts_with("//!"))
        .find_map(|line| line.strip_prefix("//! # "))
        .map(str::to_string);
    let todo_lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with("// TODO"))
        .map(|(index, _)| index + 1)
        .collect();
    Outline {
        title,
        file: format!("exercises/{}/src/lib.rs", exercise.dir),
        todo_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = r#"
format_version = 2

[[exercise]]
name = "first"
dir = "01-first"
chapter = "callbacks.md"
minutes = 10
hints = ["Count.", "Count down to zero."]

[[exercise]]
name = "second-one"
dir = "02-second-one"
chapter = "promises.md"
minutes = 15
hints = [
    "Chain them.",
    """
Chain them with `then`.""",
    "See solutions/02-second-one/src/lib.rs.",
]
"#;

    fn course() -> Course {
        Course {
            dir: PathBuf::from("/repo/exercises"),
            exercises: parse_info(INFO).unwrap(),
        }
    }

    #[test]
    fn reads_the_exercises_in_order() {
        let course = course();
        assert_eq!(course.exercises.len(), 2);
        let second = &course.exercises[1];
        assert_eq!(second.number, 2);
        assert_eq!(second.package(), "rosetta-exercise-02-second-one");
        assert_eq!(
            second.hints,
            [
                "Chain them.",
                "Chain them with `then`.",
                "See solutions/02-second-one/src/lib.rs."
            ]
        );
        assert_eq!(
            second.chapter_title(),
            "chapter 5, Promises in Rust (book/src/promises.md)"
        );
        assert_eq!(course.repo(), PathBuf::from("/repo"));
    }

    #[test]
    fn an_exercise_may_start_broken_or_buggy() {
        assert_eq!(course().exercises[0].start, Start::Todo);
        let first_hints = "hints = [\"Count.\", \"Count down to zero.\"]";
        let broken = INFO.replace(
            first_hints,
            &format!(
                "{first_hints}\nstarts = \"broken\"\n\
                 compile_errors = [\"cannot be sent between threads safely\"]"
            ),
        );
        assert_eq!(
            parse_info(&broken).unwrap()[0].start,
            Start::Broken {
                compile_errors: vec!["cannot be sent between threads safely".into()]
            }
        );
        let buggy = INFO.replace(first_hints, &format!("{first_hints}\nstarts = \"buggy\""));
        assert_eq!(parse_info(&buggy).unwrap()[0].start, Start::Buggy);
    }

    #[test]
    fn an_exercises_folder_given_as_a_relative_path_is_made_absolute() {
        // `check` runs cargo *in* the exercises folder and names the manifest by this path: a
        // relative one would then point nowhere ("manifest path `exercises/Cargo.toml` does
        // not exist"). Tests run in the crate's folder, two levels below the repository.
        let course = Course::find(Some(Path::new("../../exercises"))).unwrap();
        assert!(course.dir.is_absolute(), "{}", course.dir.display());
        assert!(course.dir.join("Cargo.toml").is_file());
    }

    #[test]
    fn resolves_numbers_folders_and_names() {
        let course = course();
        for text in [
            "2",
            "02",
            "02-second-one",
            "second-one",
            "exercises/02-second-one/",
        ] {
            assert_eq!(course.resolve(text).unwrap().number, 2, "{text}");
        }
        let error = course.resolve("7").unwrap_err().to_string();
        assert!(
            error.contains("no exercise `7`") && error.contains("1 to 2"),
            "{error}"
        );
    }

    #[test]
    fn refuses_mistakes_with_the_line() {
        let first_hints = "hints = [\"Count.\", \"Count down to zero.\"]";
        let cases = [
            (INFO.replace("format_version = 2", ""), "format_version"),
            (
                INFO.replace("format_version = 2", "format_version = 3"),
                "format_version 3 is not supported: this runner reads version 2",
            ),
            (
                // A file of the old format is told what changed, not "unknown field `hint`".
                INFO.replace("format_version = 2", "format_version = 1")
                    .replace(first_hints, "hint = \"Count.\""),
                "each exercise's single `hint` became `hints`",
            ),
            (
                INFO.replace(first_hints, "hint = \"Count.\""),
                "line 9: unknown field `hint`",
            ),
            (
                INFO.replace(first_hints, "hints = [\"Count.\"]"),
                "line 4: `hints` has 1 tier; give 2 to 4",
            ),
            (
                INFO.replace(first_hints, "hints = []"),
                "line 4: `hints` has 0 tiers; give 2 to 4",
            ),
            (
                INFO.replace(first_hints, "hints = [\"a\", \"b\", \"c\", \"d\", \"e\"]"),
                "line 4: `hints` has 5 tiers; give 2 to 4",
            ),
            (
                // The empty tier is reported at its own line, not at the entry's.
                INFO.replace("    \"Chain them.\",", "    \"Chain them.\",\n    \" \","),
                "line 18: hint 2 of `hints` is empty",
            ),
            (
                INFO.replace(first_hints, "hints = \"Count.\""),
                "line 9: invalid type: string \"Count.\", expected a sequence",
            ),
            (
                INFO.replace(first_hints, "hints = [\"Count.\", 2]"),
                "line 9: invalid type: integer `2`, expected a string",
            ),
            (
                INFO.replace("name = \"first\"", "name = \" \""),
                "line 4: `name` is empty",
            ),
            (
                INFO.replace("minutes = 10", "minutes = \"ten\""),
                "line 8: invalid type: string \"ten\", expected u32",
            ),
            (
                INFO.replace("dir = \"01-first\"", "dir = \"1-first\""),
                "`dir` must be",
            ),
            (
                INFO.replace("dir = \"02-second-one\"", "dir = \"03-second-one\""),
                "in order",
            ),
            (
                INFO.replace(first_hints, &format!("{first_hints}\nhnit = \"x\"")),
                "unknown field `hnit`",
            ),
            (
                INFO.replace("callbacks.md", "callbacks"),
                "`chapter` must be",
            ),
            (
                INFO.replace(first_hints, &format!("{first_hints}\nstarts = \"broken\"")),
                "line 4: `starts = \"broken\"` needs `compile_errors`",
            ),
            (
                INFO.replace(
                    first_hints,
                    &format!("{first_hints}\nstarts = \"broken\"\ncompile_errors = [\" \"]"),
                ),
                "none empty",
            ),
            (
                INFO.replace(
                    first_hints,
                    &format!("{first_hints}\ncompile_errors = [\"E0597\"]"),
                ),
                "line 4: `compile_errors` is only for `starts = \"broken\"`",
            ),
            (
                INFO.replace(first_hints, &format!("{first_hints}\nstarts = \"done\"")),
                "line 4: `starts = \"done\"`: give \"todo\" (the default)",
            ),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", parse_info(&text).unwrap_err());
            assert!(
                error.contains(expected),
                "expected {expected:?} in {error:?}"
            );
        }
    }
}
