//! `rosetta learn`: the exercise runner, a library the `rosetta` binary calls.
//!
//! The exercises (`exercises/`, a Cargo workspace of their own) are a graded path from
//! callbacks to async/await; `exercises/info.toml` lists them in order, with the book chapter,
//! the minutes and the hints of each. The runner checks them, one at a time, and keeps the
//! learner's progress:
//!
//! - `list`: every exercise, done or not, and the progress;
//! - `check [NN]`: build and test one exercise (the current one by default), and show the first
//!   failure in the learner's terms: what to do where, what was expected, what happened (and
//!   what the test printed), what to reread; with the compiler's warnings about the learner's
//!   code, and clippy's, for an exercise that declares the lints it teaches; `--all` shows
//!   every compile error and every warning;
//! - `hint [NN] [--more]`: the exercise's first hint; with `--more`, one more each time, up to
//!   the last, which points at the solution (how far the learner went is kept);
//! - `watch` (the default): check the current exercise each time its files change, and move on
//!   to the next when it passes;
//! - `reset NN`: restore an exercise as shipped (the runner carries the originals: no git
//!   needed), after backing up the learner's version and saying where.
//!
//! No command writes to an exercise's files, except `reset`, after its backup.
//!
//! The maintainers' check that every exercise fails unsolved and passes with its solution is
//! not a learner's command: it is `cargo xtask verify-exercises`, which calls [`verify`] here,
//! so that the cargo set-up of a check and the copy of a folder exist once, in this crate.
//!
//! Everything the runner prints goes to the `out` it is given (the binary's one locked stdout),
//! with `writeln!` and `?`, never `println!`: `rosetta learn list | head -1` then ends quietly,
//! as every other `rosetta` command does, instead of panicking on the closed pipe.
//!
//! # Layout
//!
//! - [`course`]: `info.toml`, read and checked, and where the exercises are;
//! - [`check`]: one check (cargo's JSON messages, the tests run with a time limit);
//! - [`show`]: everything printed, as strings;
//! - [`progress`]: the git-ignored progress file;
//! - [`hints`]: the hints, one tier at a time;
//! - [`watch`]: the watch loop and its change detection;
//! - [`reset`]: backup, then restore from the originals compiled into the runner;
//! - [`verify`]: the maintainers' checks, behind `cargo xtask verify-exercises`.

pub mod check;
pub mod course;
pub mod hints;
pub mod progress;
pub mod reset;
pub mod show;
pub mod verify;
pub mod watch;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use crate::check::CheckOptions;
use crate::course::Course;
use crate::progress::Progress;
use crate::show::Paint;

/// The arguments of `rosetta learn`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "With no command: `watch`. Exercises are named by number (`7`), folder \
                        (`07-join-all-vs-try-join-all`) or name (`join-all-vs-try-join-all`)."
)]
pub struct LearnArgs {
    /// The exercises folder (default: `exercises/` of the repository you are in).
    #[arg(long, value_name = "DIR", global = true)]
    exercises: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    command: Option<LearnCommand>,
}

#[derive(Debug, clap::Subcommand)]
enum LearnCommand {
    /// Every exercise, done or not, and your progress.
    List,
    /// Build and test an exercise (default: the current one) and show the first failure, and
    /// the compiler's and clippy's warnings.
    Check {
        /// The exercise: number, folder or name.
        exercise: Option<String>,
        /// Stop the tests after this many seconds (a test that waits for ever).
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        timeout: u64,
        /// Show every compile error and every warning, not only the first error and the first
        /// few warnings.
        #[arg(long)]
        all: bool,
    },
    /// A hint for an exercise (default: the current one): the first, or one more with
    /// `--more`.
    Hint {
        /// The exercise: number, folder or name.
        exercise: Option<String>,
        /// Show one hint more than last time (and every one before it); the last hint points
        /// at the solution.
        #[arg(long)]
        more: bool,
    },
    /// Check the current exercise whenever its files change; move on when it passes.
    Watch {
        /// Check the current exercise once (moving on if it passes), then stop.
        #[arg(long)]
        once: bool,
        /// Show every compile error and every warning, not only the first error and the first
        /// few warnings.
        #[arg(long)]
        all: bool,
    },
    /// Restore an exercise as shipped, keeping a copy of your version in
    /// `exercises/.rosetta-backup/`.
    Reset {
        /// The exercise: number, folder or name.
        exercise: String,
    },
}

/// Check options for a learner at a terminal (`all`: every error and warning, `--all`).
fn interactive_options(timeout: Duration, all: bool) -> CheckOptions {
    CheckOptions {
        show_build_progress: true,
        color: Paint::for_stdout().enabled,
        test_timeout: timeout,
        all,
        ..CheckOptions::default()
    }
}

/// Runs `rosetta learn`, printing to `out`.
pub fn run(args: &LearnArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let course = Course::find(args.exercises.as_deref())?;
    let paint = Paint::for_stdout();
    let command = args.command.as_ref().unwrap_or(&LearnCommand::Watch {
        once: false,
        all: false,
    });
    match command {
        LearnCommand::List => {
            let progress = Progress::load(&course.dir)?;
            write!(out, "{}", show::list(&course, &progress, paint))?;
            Ok(ExitCode::SUCCESS)
        }
        LearnCommand::Check {
            exercise,
            timeout,
            all,
        } => {
            let mut progress = Progress::load(&course.dir)?;
            let exercise = match exercise {
                Some(text) => course.resolve(text)?.clone(),
                None => match progress.current(&course) {
                    Some(current) => current.clone(),
                    None => bail!("every exercise is done: name one to check it again"),
                },
            };
            writeln!(
                out,
                "{}",
                paint.dim(&format!("Checking {}...", show::label(&exercise)))
            )?;
            let options = interactive_options(Duration::from_secs(*timeout), *all);
            let verdict = check::check(&course, &exercise, &options)?;
            progress.set_done(&exercise, verdict.passed());
            progress.save()?;
            write!(out, "{}", show::verdict(&exercise, &verdict, paint))?;
            if verdict.passed() {
                match progress.current(&course) {
                    Some(next) => writeln!(
                        out,
                        "{} of {} done. Next: {} ({}).",
                        progress.done_count(&course),
                        course.exercises.len(),
                        show::label(next),
                        show::command(&format!("check {}", next.number))
                    )?,
                    None => writeln!(out, "Every exercise is done.")?,
                }
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::FAILURE)
            }
        }
        LearnCommand::Hint { exercise, more } => {
            let mut progress = Progress::load(&course.dir)?;
            let exercise = match exercise {
                Some(text) => course.resolve(text)?,
                None => match progress.current(&course) {
                    Some(current) => current,
                    None => bail!("every exercise is done: name one to see its hints"),
                },
            };
            let ask = if *more {
                hints::Ask::More
            } else {
                hints::Ask::First
            };
            let reveal = hints::reveal(&mut progress, exercise, ask);
            progress.save()?;
            write!(out, "{}", hints::render(exercise, &reveal, paint))?;
            Ok(ExitCode::SUCCESS)
        }
        LearnCommand::Watch { once, all } => {
            let options = watch::WatchOptions {
                once: *once,
                poll: Duration::from_millis(500),
            };
            watch::watch(
                &course,
                &options,
                &interactive_options(Duration::from_secs(60), *all),
                out,
            )
        }
        LearnCommand::Reset { exercise } => {
            let exercise = course.resolve(exercise)?.clone();
            match reset::reset(&course, &exercise)? {
                reset::Reset::Unchanged => writeln!(
                    out,
                    "{} is as shipped: nothing to reset.",
                    show::label(&exercise)
                )?,
                reset::Reset::Restored { backup } => {
                    let mut progress = Progress::load(&course.dir)?;
                    progress.set_done(&exercise, false);
                    progress.save()?;
                    let kept = match backup {
                        Some(backup) => format!(
                            "Your version is in {}.",
                            backup
                                .strip_prefix(course.repo())
                                .unwrap_or(&backup)
                                .display()
                        ),
                        None => "Its folder had no files: there was nothing to back up.".into(),
                    };
                    writeln!(
                        out,
                        "{} is back to its original. {kept}",
                        show::label(&exercise)
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
