//! `cargo xtask verify-exercises`: for maintainers, the proof that the exercises are honest.
//!
//! The task lives in `xtask` (a learner never needs it), but its code lives here, beside
//! [`check`] and [`copy_dir`], so that the cargo set-up of a check and the copy of a folder
//! each exist once.
//!
//! Like rustlings' own checks, it makes sure of two kinds of things:
//!
//! - **The course is complete** ([`course_problems`], quick, no build): every exercise of
//!   `info.toml` has its folder, a `//!` header naming its chapter, a `// TODO` and a `todo!()`,
//!   tests that name the chapter to reread, hints (the last naming the solution's folder), and
//!   a solution whose manifest runs the same test files with the same dependencies; an
//!   exercise with lints of its own (to declare clippy's) keeps the workspace's rustc lints; the
//!   workspace lists exactly these exercises;
//!   ([`missing_chapters`]) every chapter exists in the book; and
//!   ([`originals_problems`](crate::reset::originals_problems)) the copy of the exercises that
//!   `learn reset` restores from (`crates/learn/originals/`) is the exercises as they are.
//! - **The checks are honest** ([`build_rounds`], slow: it builds the exercises workspace
//!   twice): in a scratch copy of `exercises/`, every exercise, unsolved, fails
//!   `rosetta learn check` (its tests fail, or it does not compile); then, with each exercise's
//!   `src/` replaced by its solution's, every exercise passes it, without a warning (the
//!   compiler's, or clippy's for the lints its `Cargo.toml` declares: a solution is an
//!   example). The copy shares one target directory across both rounds, so the dependencies
//!   are built once.
//!
//! The solutions themselves are members of the main workspace: `cargo test`, `cargo clippy`
//! and `cargo fmt --check` there already run their tests and lints.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::check::{CheckOptions, Clippy, Verdict, cargo, check};
use crate::course::{Course, Exercise, Start};
use crate::reset::copy_dir;

/// Everything wrong with the course that can be seen without building it.
pub fn course_problems(course: &Course) -> Vec<String> {
    let mut problems = Vec::new();
    let repo = course.repo();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();

    let workspace = manifest(&course.dir.join("Cargo.toml"));
    let members = workspace_members(&workspace);
    let workspace_rust_lints = workspace
        .get("workspace")
        .and_then(|workspace| workspace.get("lints"))
        .and_then(|lints| lints.get("rust"));
    let dirs: Vec<String> = course.exercises.iter().map(|e| e.dir.clone()).collect();
    if members != dirs {
        problems.push(format!(
            "exercises/Cargo.toml: `members` should list the exercises of info.toml, in order:\n  \
             members: {members:?}\n  info.toml: {dirs:?}"
        ));
    }
    for exercise in &course.exercises {
        let mut problem = |text: String| problems.push(format!("{}: {text}", exercise.dir));
        let dir = course.path(exercise);
        let solution = repo.join("solutions").join(&exercise.dir);
        let exercise_manifest = manifest(&dir.join("Cargo.toml"));
        let solution_manifest = manifest(&solution.join("Cargo.toml"));
        // An exercise that declares clippy lints has a `[lints]` table of its own (cargo takes a
        // package's lints from the workspace whole or not at all): it must keep the workspace's.
        let own_lints = exercise_manifest
            .get("lints")
            .filter(|lints| lints.get("workspace").is_none());
        if let Some(lints) = own_lints
            && lints.get("rust") != workspace_rust_lints
        {
            problem(
                "Cargo.toml: `[lints.rust]` should repeat the workspace's \
                 `[workspace.lints.rust]`"
                    .into(),
            );
        }
        let lib = read(&dir.join("src/lib.rs"));
        let solution_lib = read(&solution.join("src/lib.rs"));
        let chapter = format!("book/src/{}", exercise.chapter);

        if exercise_manifest.is_empty() {
            problem("no Cargo.toml, or one that is not valid TOML".into());
            continue;
        }
        if package_name(&exercise_manifest) != Some(exercise.package().as_str()) {
            problem(format!(
                "Cargo.toml: the package should be `{}`",
                exercise.package()
            ));
        }
        if !lib.starts_with("//!") || !lib.contains(&chapter) {
            problem(format!(
                "src/lib.rs should start with a `//!` header that names {chapter}"
            ));
        }
        // A `todo!()` in the code, not one a comment mentions.
        let has_todo = lib
            .lines()
            .any(|line| !line.trim_start().starts_with("//") && line.contains("todo!("));
        match exercise.start {
            Start::Todo => {
                if !lib.contains("// TODO") {
                    problem("src/lib.rs has no `// TODO` marking where the learner writes".into());
                }
                if !has_todo {
                    problem("src/lib.rs has no `todo!()` where the learner's code goes".into());
                }
            }
            // The compiler's errors say where to work (a broken exercise may have gaps to fill
            // as well, once it compiles).
            Start::Broken { .. } => {}
            // The failing tests say where to look: a gap to fill would give the bug away.
            Start::Buggy => {
                if has_todo {
                    problem(
                        "src/lib.rs has a `todo!()`, but info.toml says the exercise starts \
                         with a bug to find, not a gap to fill"
                            .into(),
                    );
                }
            }
        }
        for (tier, hint) in exercise.hints.iter().enumerate() {
            if hint.trim().len() < 40 {
                problem(format!("info.toml: hint {} is too short to help", tier + 1));
            }
        }
        let solution = format!("solutions/{}/", exercise.dir);
        if !exercise
            .hints
            .last()
            .is_some_and(|last| last.contains(&solution))
        {
            problem(format!(
                "info.toml: the last hint should say where the solution is (`{solution}...`)"
            ));
        }
        if !(5..=30).contains(&exercise.minutes) {
            problem(format!(
                "info.toml: {} minutes; an exercise should take 5 to 30",
                exercise.minutes
            ));
        }
        let tests = test_files(&dir);
        if tests.is_empty() {
            problem("no test files in tests/".into());
        }
        for test in &tests {
            let text = read(&dir.join("tests").join(test));
            if !text.starts_with("//!") {
                problem(format!("tests/{test} should start with a `//!` line"));
            }
            if !text.contains(&chapter) {
                problem(format!(
                    "tests/{test} should name {chapter} for the learner to reread"
                ));
            }
            let path = format!("../../exercises/{}/tests/{test}", exercise.dir);
            if !test_paths(&solution_manifest).contains(&path.as_str()) {
                problem(format!(
                    "solutions/{}/Cargo.toml should run this test file: `path = \"{path}\"`",
                    exercise.dir
                ));
            }
        }
        if solution_manifest.is_empty() {
            problem(format!(
                "no solution: solutions/{}/Cargo.toml is missing or not valid TOML",
                exercise.dir
            ));
            continue;
        }
        let package = format!("rosetta-solution-{}", exercise.dir);
        if package_name(&solution_manifest) != Some(package.as_str()) {
            problem(format!("the solution's package should be `{package}`"));
        }
        let lib = lib_name(&exercise_manifest);
        if lib.is_none() || lib != lib_name(&solution_manifest) {
            problem(format!(
                "the exercise's and the solution's `[lib] name` differ ({:?}, {:?}): one test \
                 file must `use` both",
                lib,
                lib_name(&solution_manifest)
            ));
        }
        if ["dependencies", "dev-dependencies"]
            .iter()
            .any(|key| exercise_manifest.get(*key) != solution_manifest.get(*key))
        {
            problem(
                "the exercise's and the solution's dependencies differ: the solution's src/ \
                 must build in the exercise's place"
                    .into(),
            );
        }
        if solution_lib.contains("todo!(") || solution_lib.contains("// TODO") {
            problem("the solution still has a `todo!()` or a `// TODO`".into());
        }
    }
    if let Ok(entries) = std::fs::read_dir(repo.join("solutions")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !dirs.contains(&name) {
                problems.push(format!(
                    "solutions/{name}: no exercise of that name in info.toml"
                ));
            }
        }
    }
    problems
}

/// The chapters that exercises name but the book does not have (yet).
pub fn missing_chapters(course: &Course) -> Vec<String> {
    let book = course.repo().join("book/src");
    let mut missing: Vec<String> = course
        .exercises
        .iter()
        .filter(|exercise| !book.join(&exercise.chapter).is_file())
        .map(|exercise| {
            format!(
                "{}: book/src/{} does not exist",
                exercise.dir, exercise.chapter
            )
        })
        .collect();
    missing.dedup();
    missing
}

/// Whether the exercises are formatted as `cargo fmt` would (a learner reads them line by
/// line). `None` if `cargo fmt` cannot run here (rustfmt is not installed).
pub fn format_problems(course: &Course) -> Option<Vec<String>> {
    let mut command = cargo();
    command
        .current_dir(&course.dir)
        .arg("fmt")
        .arg("--manifest-path")
        .arg(course.dir.join("Cargo.toml"))
        .arg("--check");
    for exercise in &course.exercises {
        command.args(["--package", &exercise.package()]);
    }
    let output = command.output().ok()?;
    if output.status.success() {
        return Some(Vec::new());
    }
    let diff = String::from_utf8_lossy(&output.stdout);
    if diff.trim().is_empty() {
        return None; // rustfmt did not run (not installed): nothing to say about the files.
    }
    let files: Vec<String> = diff
        .lines()
        .filter_map(|line| line.strip_prefix("Diff in "))
        .map(|file| file.split(':').next().unwrap_or(file).to_string())
        .collect();
    Some(vec![format!(
        "exercises are not formatted (`cargo fmt --manifest-path exercises/Cargo.toml`): {}",
        files.join(", ")
    )])
}

/// A Cargo manifest, parsed; empty if it is missing or not valid TOML (the checks then say so).
fn manifest(path: &Path) -> toml::Table {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .unwrap_or_default()
}

/// The string at `keys` (a path of table keys) in a manifest.
fn string_at<'m>(manifest: &'m toml::Table, keys: &[&str]) -> Option<&'m str> {
    let (last, tables) = keys.split_last()?;
    let mut table = manifest;
    for key in tables {
        table = table.get(*key)?.as_table()?;
    }
    table.get(*last)?.as_str()
}

/// `[workspace] members`.
fn workspace_members(manifest: &toml::Table) -> Vec<String> {
    let members = manifest
        .get("workspace")
        .and_then(|workspace| workspace.get("members"))
        .and_then(toml::Value::as_array);
    members
        .into_iter()
        .flatten()
        .filter_map(|member| member.as_str().map(str::to_string))
        .collect()
}

/// `[package] name`.
fn package_name(manifest: &toml::Table) -> Option<&str> {
    string_at(manifest, &["package", "name"])
}

/// `[lib] name`.
fn lib_name(manifest: &toml::Table) -> Option<&str> {
    string_at(manifest, &["lib", "name"])
}

/// The `path`s of the `[[test]]` targets.
fn test_paths(manifest: &toml::Table) -> Vec<&str> {
    let tests = manifest.get("test").and_then(toml::Value::as_array);
    tests
        .into_iter()
        .flatten()
        .filter_map(|test| test.get("path")?.as_str())
        .collect()
}

/// The `.rs` files of `dir/tests/`, by name.
fn test_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join("tests"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    files.sort();
    files
}

/// One exercise's results in the two rounds.
#[derive(Debug, Clone)]
pub struct Row {
    /// The exercise.
    pub exercise: Exercise,
    /// What `check` found on the exercise as shipped.
    pub unsolved: Verdict,
    /// What `check` found with the solution's `src/` in its place.
    pub solved: Verdict,
}

impl Row {
    /// What is wrong with this row, if anything.
    pub fn problem(&self) -> Option<String> {
        let name = &self.exercise.dir;
        match (&self.exercise.start, &self.unsolved) {
            (Start::Broken { compile_errors }, Verdict::DoesNotCompile { shown, .. }) => {
                let said = shown.join("\n");
                if let Some(missing) = compile_errors.iter().find(|e| !said.contains(e.as_str())) {
                    return Some(format!(
                        "{name}: unsolved, it does not compile, as it should, but the compiler \
                         never says `{missing}` (info.toml's `compile_errors`)"
                    ));
                }
            }
            (Start::Broken { .. }, unsolved) => {
                return Some(format!(
                    "{name}: info.toml says it starts broken, but unsolved, `check` says: {}",
                    unsolved.summary()
                ));
            }
            (Start::Todo | Start::Buggy, Verdict::DoesNotCompile { shown, .. }) => {
                return Some(format!(
                    "{name}: unsolved, it does not compile (only `starts = \"broken\"` \
                     exercises may): {}",
                    shown
                        .first()
                        .and_then(|e| e.lines().next())
                        .unwrap_or_default()
                ));
            }
            _ => {}
        }
        match (&self.unsolved, &self.solved) {
            (Verdict::Passed { .. }, _) => Some(format!(
                "{name}: passes its tests unsolved: they check nothing the learner writes"
            )),
            (Verdict::TimedOut { .. }, _) => Some(format!(
                "{name}: unsolved, its tests hang until the time limit instead of failing"
            )),
            (Verdict::BuildError { message }, _) => Some(format!(
                "{name}: unsolved, cargo cannot build it: {message}"
            )),
            (_, Verdict::Passed { warnings, .. }) => match &warnings.clippy {
                // A solution is an example: clean under the compiler's warnings and under the
                // clippy lints its exercise teaches.
                _ if warnings.count > 0 => Some(format!(
                    "{name}: with the solution's src/ in its place, `check` says: {}; the first: {}",
                    self.solved.summary(),
                    warnings
                        .shown
                        .first()
                        .and_then(|warning| warning.lines().next())
                        .unwrap_or_default()
                )),
                Clippy::Unavailable { lints, why } => Some(format!(
                    "{name}: clippy could not run, so the solution is not checked against {}: {}",
                    lints.join(", "),
                    why.lines().last().unwrap_or_default()
                )),
                Clippy::NotRun | Clippy::Ran { .. } => None,
            },
            (_, solved) => Some(format!(
                "{name}: with the solution's src/ in its place, `check` says: {}",
                solved.summary()
            )),
        }
    }
}

/// Copies the course to `scratch`, checks every exercise unsolved, swaps in the solutions'
/// `src/` folders, and checks every exercise again. `progress` is told what happens (and may
/// fail: a closed stdout ends the rounds).
pub fn build_rounds(
    course: &Course,
    scratch: &Path,
    progress: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> anyhow::Result<Vec<Row>> {
    let repo = course.repo();
    let copy = scratch.join("exercises");
    if copy.exists() {
        std::fs::remove_dir_all(&copy)
            .with_context(|| format!("cannot clear {}", copy.display()))?;
    }
    for file in crate::reset::files(&course.dir) {
        let relative = file.strip_prefix(&course.dir)?;
        let hidden = relative
            .components()
            .any(|part| part.as_os_str().to_string_lossy().starts_with(".rosetta-"));
        if hidden {
            continue; // The maintainer's own progress and backups.
        }
        let target = copy.join(relative);
        std::fs::create_dir_all(target.parent().context("a file has a folder")?)?;
        std::fs::copy(&file, &target)?;
    }
    // The copy's path dependencies must still reach the repository's crates.
    let manifest = copy.join("Cargo.toml");
    let crates = repo.join("crates").display().to_string().replace('\\', "/");
    let text = std::fs::read_to_string(&manifest)?
        .replace("path = \"../crates/", &format!("path = \"{crates}/"));
    std::fs::write(&manifest, text)?;
    let copied = Course::load(&copy)?;

    let options = CheckOptions {
        target_dir: Some(scratch.join("target")),
        locked: true,
        test_timeout: Duration::from_secs(60),
        // Every error, so that a broken exercise's `compile_errors` can all be found.
        all: true,
        ..CheckOptions::default()
    };
    progress("round 1: every exercise as shipped must fail")?;
    prebuild(&copied, &options);
    let mut unsolved = Vec::new();
    for exercise in &copied.exercises {
        let verdict = check(&copied, exercise, &options)?;
        progress(&format!("  {:<32} {}", exercise.dir, verdict.summary()))?;
        unsolved.push(verdict);
    }

    progress("round 2: every exercise with its solution's src/ must pass")?;
    for exercise in &copied.exercises {
        let src = copied.path(exercise).join("src");
        std::fs::remove_dir_all(&src)?;
        copy_dir(
            &repo.join("solutions").join(&exercise.dir).join("src"),
            &src,
        )?;
    }
    prebuild(&copied, &options);
    let mut rows = Vec::new();
    for (exercise, unsolved) in copied.exercises.iter().zip(unsolved) {
        let solved = check(&copied, exercise, &options)?;
        progress(&format!("  {:<32} {}", exercise.dir, solved.summary()))?;
        rows.push(Row {
            exercise: exercise.clone(),
            unsolved,
            solved,
        });
    }
    Ok(rows)
}

/// Builds every exercise's tests at once, in parallel, before the checks run one by one (each
/// check then finds its build done). Errors are left for the checks to report.
fn prebuild(course: &Course, options: &CheckOptions) {
    let mut command = cargo();
    command
        .current_dir(&course.dir)
        .arg("build")
        .arg("--manifest-path")
        .arg(course.dir.join("Cargo.toml"))
        .args(["--workspace", "--tests", "--keep-going", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if options.locked {
        command.arg("--locked");
    }
    if let Some(target_dir) = &options.target_dir {
        command.env("CARGO_TARGET_DIR", target_dir);
    }
    let _ = command.status();
}

/// Runs every check, printing to `out` as it goes, and returns every problem found, with how
/// long the slow part took.
pub fn verify(
    course: &Course,
    scratch: &Path,
    with_builds: bool,
    out: &mut impl Write,
) -> anyhow::Result<Vec<String>> {
    let mut problems = course_problems(course);
    problems.extend(missing_chapters(course));
    problems.extend(crate::reset::originals_problems(course));
    match format_problems(course) {
        Some(found) => problems.extend(found),
        None => writeln!(
            out,
            "(cargo fmt is not installed: the exercises' formatting is not checked)"
        )?,
    }
    writeln!(
        out,
        "course: {} exercises; {} problem(s) found without building",
        course.exercises.len(),
        problems.len()
    )?;
    if with_builds {
        let started = Instant::now();
        let rows = build_rounds(course, scratch, &mut |line| writeln!(out, "{line}"))?;
        problems.extend(rows.iter().filter_map(Row::problem));
        writeln!(out, "builds and checks: {} s", started.elapsed().as_secs())?;
    }
    Ok(problems)
}

/// Where `verify` builds, by default: `target/learn-verify` of the repository.
pub fn default_scratch(course: &Course) -> PathBuf {
    course.repo().join("target/learn-verify")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Warnings;

    /// The repository's own course.
    fn course() -> Course {
        Course::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../exercises"))
            .expect("exercises/info.toml is valid")
    }

    #[test]
    fn manifests_are_read_the_way_the_checks_need() {
        let manifest: toml::Table = "[package]\nname = \"x\"\n\n[lib]\nname = \"countdown\"\n\
                        [[test]]\nname = \"t\"\npath = \"../../exercises/01-a/tests/t.rs\"\n\
                        [dependencies]\nfutures.workspace = true\n"
            .parse()
            .unwrap();
        assert_eq!(package_name(&manifest), Some("x"));
        assert_eq!(lib_name(&manifest), Some("countdown"));
        assert_eq!(test_paths(&manifest), ["../../exercises/01-a/tests/t.rs"]);
        let workspace: toml::Table = "[workspace]\nmembers = [\n    \"01-a\",\n    \"02-b\",\n]\n"
            .parse()
            .unwrap();
        assert_eq!(workspace_members(&workspace), ["01-a", "02-b"]);
    }

    #[test]
    fn an_exercise_with_lints_of_its_own_keeps_the_workspaces() {
        // A course of one exercise, under this build's target directory, whose `[lints]` table
        // declares a clippy lint and forgets one of the workspace's rustc lints.
        let exe = std::env::current_exe().expect("the test binary has a path");
        let dir = exe
            .ancestors()
            .nth(3)
            .unwrap()
            .join("learn-lints/exercises");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("01-x/src")).unwrap();
        std::fs::write(
            dir.join("info.toml"),
            "format_version = 2\n[[exercise]]\nname = \"x\"\ndir = \"01-x\"\n\
             chapter = \"pitfalls.md\"\nminutes = 10\nhints = [\"h\", \"solutions/01-x\"]\n",
        )
        .unwrap();
        let workspace = "[workspace]\nmembers = [\"01-x\"]\n\n[workspace.lints.rust]\n\
                         unsafe_code = \"forbid\"\ndead_code = \"allow\"\n";
        std::fs::write(dir.join("Cargo.toml"), workspace).unwrap();
        let lints = "[package]\nname = \"rosetta-exercise-01-x\"\n\n[lints.rust]\n\
                     unsafe_code = \"forbid\"\n\n[lints.clippy]\nawait_holding_lock = \"warn\"\n";
        std::fs::write(dir.join("01-x/Cargo.toml"), lints).unwrap();
        let course = Course::load(&dir).unwrap();
        let expected = "01-x: Cargo.toml: `[lints.rust]` should repeat the workspace's \
                        `[workspace.lints.rust]`";
        assert!(
            course_problems(&course)
                .iter()
                .any(|problem| problem == expected),
            "{:#?}",
            course_problems(&course)
        );
        // Once it repeats them, that problem is gone.
        let fixed = lints.replace(
            "unsafe_code = \"forbid\"\n",
            "unsafe_code = \"forbid\"\ndead_code = \"allow\"\n",
        );
        std::fs::write(dir.join("01-x/Cargo.toml"), fixed).unwrap();
        assert!(
            !course_problems(&course)
                .iter()
                .any(|problem| problem == expected),
            "{:#?}",
            course_problems(&course)
        );
    }

    #[test]
    fn a_solution_must_pass_without_a_warning() {
        let mut exercise = course().exercises[0].clone();
        exercise.start = Start::Broken {
            compile_errors: vec!["error: x".into()],
        };
        let unsolved = Verdict::DoesNotCompile {
            errors: 1,
            shown: vec!["error: x".into()],
            warnings: Warnings::default(),
        };
        let solved = |warnings: Warnings| Row {
            exercise: exercise.clone(),
            unsolved: unsolved.clone(),
            solved: Verdict::Passed { tests: 4, warnings },
        };
        assert_eq!(solved(Warnings::default()).problem(), None);
        let lints = vec!["clippy::await_holding_lock".to_string()];
        let clean = Warnings {
            clippy: Clippy::Ran {
                lints: lints.clone(),
            },
            ..Warnings::default()
        };
        assert_eq!(solved(clean).problem(), None);
        let warned = Warnings {
            count: 1,
            shown: vec!["warning: this `MutexGuard` is held across an await point\n --> x".into()],
            clippy: Clippy::Ran {
                lints: lints.clone(),
            },
        };
        let problem = solved(warned).problem().expect("a warning is a problem");
        assert!(
            problem.ends_with(
                "`check` says: passes (4 tests), 1 warning; the first: warning: this `MutexGuard` \
                 is held across an await point"
            ),
            "{problem}"
        );
        let unchecked = Warnings {
            clippy: Clippy::Unavailable {
                lints,
                why: "error: no such command: `clippy`".into(),
            },
            ..Warnings::default()
        };
        let problem = solved(unchecked).problem().expect("unchecked is a problem");
        assert!(problem.contains("clippy could not run"), "{problem}");
    }

    #[test]
    fn only_a_broken_exercise_may_fail_to_compile_and_it_must_say_why() {
        let passed = Verdict::Passed {
            tests: 1,
            warnings: Warnings::default(),
        };
        let does_not_compile = |message: &str| Verdict::DoesNotCompile {
            errors: 2,
            shown: vec![
                "error[E0597]: `names` does not live long enough".into(),
                message.into(),
            ],
            warnings: Warnings::default(),
        };
        let row = |start: Start, unsolved: Verdict| Row {
            exercise: Exercise {
                start,
                ..course().exercises[0].clone()
            },
            unsolved,
            solved: passed.clone(),
        };
        let broken = || Start::Broken {
            compile_errors: vec![
                "does not live long enough".into(),
                "future cannot be sent between threads safely".into(),
            ],
        };
        let sent = "error: future cannot be sent between threads safely";
        // Every expected message, in any of the errors: as designed.
        assert_eq!(row(broken(), does_not_compile(sent)).problem(), None);
        // One expected message missing: the exercise no longer teaches what it says.
        let problem = row(
            broken(),
            does_not_compile("error[E0382]: use of moved value"),
        )
        .problem()
        .expect("a missing message is a problem");
        assert!(
            problem.contains("never says `future cannot be sent between threads safely`"),
            "{problem}"
        );
        // A broken exercise that builds.
        let problem = row(broken(), passed.clone())
            .problem()
            .expect("it should not build");
        assert!(problem.contains("says it starts broken"), "{problem}");
        // Any other exercise must build as shipped.
        for start in [Start::Todo, Start::Buggy] {
            let problem = row(start, does_not_compile(sent))
                .problem()
                .expect("only a broken exercise may fail to build");
            assert!(problem.contains("it does not compile"), "{problem}");
        }
    }

    #[test]
    fn every_exercise_has_its_parts_a_hint_and_a_solution() {
        let problems = course_problems(&course());
        assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));
    }

    #[test]
    fn the_exercises_are_formatted() {
        match format_problems(&course()) {
            Some(problems) => assert!(problems.is_empty(), "{}", problems.join("\n")),
            None => eprintln!("cargo fmt is not installed: not checked"),
        }
    }

    #[test]
    fn every_chapter_named_by_an_exercise_exists_in_the_book() {
        let missing = missing_chapters(&course());
        assert!(
            missing.is_empty(),
            "missing chapters:\n{}",
            missing.join("\n")
        );
    }

    /// The acceptance test of the exercises, and of `check` and `watch` on real exercises.
    ///
    /// In a scratch copy under this build's target directory (`target/learn-verify`): every
    /// exercise, unsolved, fails `check`; with its solution's `src/` in place of its own, every
    /// exercise passes it. Then `watch`'s step, on a copy where only exercise 01 is solved,
    /// passes 01, moves on to 02, and stays there. Builds the exercises workspace once (about a
    /// minute and a half on two cores from cold; incremental afterwards).
    #[test]
    fn every_exercise_fails_unsolved_and_passes_with_its_solution() {
        let course = course();
        let exe = std::env::current_exe().expect("the test binary has a path");
        // `target/debug/deps/rosetta_learn-HASH`: three levels below the target directory.
        let target = exe
            .ancestors()
            .nth(3)
            .expect("the test binary is in target/");
        let scratch = target.join("learn-verify");
        let rows = build_rounds(&course, &scratch, &mut |line| {
            eprintln!("{line}");
            Ok(())
        })
        .expect("the rounds run");
        assert_eq!(rows.len(), course.exercises.len());
        let problems: Vec<String> = rows.iter().filter_map(Row::problem).collect();
        assert!(problems.is_empty(), "problems:\n{}", problems.join("\n"));

        // `watch`: with only 01 solved, it passes 01, moves on to 02, and stays there.
        let copy = Course::load(&scratch.join("exercises")).expect("the copy loads");
        let second = &copy.exercises[1];
        let src = copy.path(second).join("src");
        std::fs::remove_dir_all(&src).unwrap();
        copy_dir(&course.path(&course.exercises[1]).join("src"), &src).unwrap();
        let _ = std::fs::remove_file(copy.dir.join(crate::progress::FILE));
        let mut progress = crate::progress::Progress::load(&copy.dir).unwrap();
        let options = CheckOptions {
            target_dir: Some(scratch.join("target")),
            locked: true,
            ..CheckOptions::default()
        };
        let first = crate::watch::step(&copy, &mut progress, &options).unwrap();
        assert_eq!(first.checked.as_ref().map(|e| e.number), Some(1));
        assert!(
            first.verdict.as_ref().is_some_and(Verdict::passed),
            "{first:?}"
        );
        assert_eq!(
            first.next.as_ref().map(|e| e.number),
            Some(2),
            "moves on to 02"
        );
        let second_step = crate::watch::step(&copy, &mut progress, &options).unwrap();
        assert_eq!(second_step.checked.as_ref().map(|e| e.number), Some(2));
        let Some(Verdict::TestsFail { first: failure, .. }) = &second_step.verdict else {
            panic!("02, unsolved, fails: {second_step:?}");
        };
        assert!(failure.reached_todo(), "{failure:?}");
        assert_eq!(
            failure
                .location
                .as_deref()
                .map(|at| at.starts_with("exercises/02-error-first/src/lib.rs:")),
            Some(true),
            "{failure:?}"
        );
        assert_eq!(
            second_step.next.as_ref().map(|e| e.number),
            Some(2),
            "stays on 02"
        );
        let saved = crate::progress::Progress::load(&copy.dir).unwrap();
        assert_eq!(
            saved.done_count(&copy),
            1,
            "the progress file says 01 is done"
        );
    }

    #[test]
    fn every_stated_time_agrees_with_info_toml() {
        // The README, the exercise index, chapter 1 and the instructor guide each say how long
        // the exercises take, in words: the range of all but the longest, and the longest. Those
        // words are built here from info.toml and must appear, so that retuning an estimate
        // fails this test until the prose says it too.
        let course = course();
        let longest = course.exercises.iter().map(|e| e.minutes).max().unwrap();
        let long: Vec<&Exercise> = course
            .exercises
            .iter()
            .filter(|e| e.minutes == longest)
            .collect();
        assert_eq!(long.len(), 1, "the prose names one longest exercise");
        let rest = course.exercises.iter().filter(|e| e.minutes < longest);
        let low = rest.clone().map(|e| e.minutes).min().unwrap();
        let high = rest.map(|e| e.minutes).max().unwrap();
        let number = format!("{:02}", long[0].number);
        let read = |path: &str| {
            let text = std::fs::read_to_string(course.repo().join(path)).unwrap();
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        };
        for (path, said) in [
            (
                "README.md",
                format!("most of {low} to {high} minutes and one ({number}) {longest}"),
            ),
            (
                "book/src/exercises.md",
                format!("Each exercise takes {low} to {high} minutes, except {number},"),
            ),
            (
                "book/src/why-async.md",
                format!(
                    "{} small crates under `exercises/`, in the chapters' order, most of {low} \
                     to {high} minutes (one, {number},",
                    course.exercises.len()
                ),
            ),
            (
                "book/src/instructor-guide.md",
                format!(
                    "Exercises are planned at {low} to {high} minutes each, and one, \
                     {number}, at {longest}"
                ),
            ),
        ] {
            assert!(read(path).contains(&said), "{path} should say: {said}");
        }
    }

    /// The minutes of a schedule's table rows (`| minutes | segment | exercises |`, or with a
    /// `time` column first), without lunch and breaks, and the exercises the rows name.
    fn schedule(table: &str) -> (u32, Vec<u32>) {
        let mut minutes = 0;
        let mut exercises = Vec::new();
        for line in table.lines().filter(|line| line.starts_with("| ")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // The minutes are the first cell that is a number (a `time` cell has a colon).
            let Some(at) = cells.iter().position(|cell| cell.parse::<u32>().is_ok()) else {
                continue; // The header and its rule.
            };
            if !matches!(cells[at + 1], "Break" | "Lunch") {
                minutes += cells[at].parse::<u32>().unwrap();
            }
            let named = cells[cells.len() - 2].split(|c: char| !c.is_ascii_digit());
            exercises.extend(named.filter_map(|number| number.parse::<u32>().ok()));
        }
        (minutes, exercises)
    }

    #[test]
    fn the_schedules_add_up_and_the_long_one_has_every_exercise() {
        let course = course();
        let guide =
            std::fs::read_to_string(course.repo().join("book/src/instructor-guide.md")).unwrap();
        let flat = guide.split_whitespace().collect::<Vec<_>>().join(" ");
        let section = |from: &str, to: &str| {
            let start = guide.find(from).unwrap_or_else(|| panic!("no {from:?}"));
            let end = guide[start..].find(to).map_or(guide.len(), |at| start + at);
            &guide[start..end]
        };

        let (one_day, _) = schedule(section("## One-day schedule", "\n## "));
        let said = format!("the segments below add up to {one_day} minutes");
        assert!(
            flat.contains(&said),
            "the one-day schedule should say: {said}"
        );

        let days: Vec<(u32, Vec<u32>)> = section("## Four-day schedule", "\n## Discussion")
            .split("\n### Day ")
            .skip(1)
            .map(schedule)
            .collect();
        assert_eq!(days.len(), 4, "four days");
        let sums: Vec<String> = days
            .iter()
            .map(|(minutes, _)| minutes.to_string())
            .collect();
        let said = format!(
            "the segments add up to {} and {} minutes",
            sums[..sums.len() - 1].join(", "),
            sums[sums.len() - 1]
        );
        assert!(
            flat.contains(&said),
            "the four-day schedule should say: {said}"
        );
        for (day, (minutes, _)) in days.iter().enumerate() {
            assert!(
                *minutes <= 375,
                "day {}: {minutes} minutes of teaching, more than six hours and a quarter",
                day + 1
            );
        }
        let mut named: Vec<u32> = days.iter().flat_map(|(_, e)| e.iter().copied()).collect();
        named.sort_unstable();
        let every: Vec<u32> = course.exercises.iter().map(|e| e.number).collect();
        assert_eq!(
            named, every,
            "every exercise once in the four days, none twice"
        );
    }

    #[test]
    fn the_books_exercise_index_agrees_with_info_toml() {
        // Appendix B's table: `| NN | name | [N](chapter.md)... | minutes | ... |`.
        let course = course();
        let index = std::fs::read_to_string(course.repo().join("book/src/exercises.md")).unwrap();
        let rows: Vec<Vec<&str>> = index
            .lines()
            .filter(|line| {
                line.starts_with("| ") && line.as_bytes().get(2).is_some_and(u8::is_ascii_digit)
            })
            .map(|line| line.split('|').map(str::trim).collect())
            .collect();
        assert_eq!(rows.len(), course.exercises.len(), "one row per exercise");
        for (row, exercise) in rows.iter().zip(&course.exercises) {
            let at = format!("book/src/exercises.md, exercise {}", exercise.dir);
            assert_eq!(row[1], format!("{:02}", exercise.number), "{at}: number");
            assert_eq!(row[2], exercise.name, "{at}: name");
            assert!(
                row[3].contains(&format!("({})", exercise.chapter)),
                "{at}: chapter {}",
                exercise.chapter
            );
            assert_eq!(row[4], exercise.minutes.to_string(), "{at}: minutes");
        }
    }
}
