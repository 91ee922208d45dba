//! The registry of styles: one list, iterated by the CLI, the tests and the benchmarks.
//!
//! Each style crate exposes the same entry point,
//! `run(&Scenario, &RunOptions, &Trace) -> Result<Report, RunError>`; this module pairs each one
//! with its name (as the command line, the snapshots and the book write it) and a short
//! description of how it waits.
//!
//! Two lists: [`ALL`], the Rust styles, which run in this process on either transport; and
//! [`OTHER_LANGUAGES`], the JavaScript and Python programs of `rosetta-other-languages`, which
//! run as child processes on `tcp` only. [`every`] is both, and names are looked up in it.

use rosetta_other_languages::Program;
use rosetta_pipeline::model::Ideal;
use rosetta_pipeline::trace::{EventKind, TraceSummary};
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

pub use rosetta_pipeline::run::StyleFn;

/// One registered style.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// The name used everywhere: `reference`, `threads`, `callbacks`, ...
    pub name: &'static str,
    /// The model of concurrency, in a few words.
    pub model: &'static str,
    /// What drives it: the runtime or executor.
    pub runtime: &'static str,
    /// The entry point.
    pub run: StyleFn,
    /// For a style in another language, its program (run in a child process, on `tcp` only);
    /// `None` for a Rust style, which runs in this process.
    pub program: Option<&'static Program>,
}

/// Every style, in teaching order. The first is the reference the others are compared with.
pub const ALL: &[Style] = &[
    Style {
        name: "reference",
        model: "sequential, one thing at a time",
        runtime: "none (blocking calls)",
        run: rosetta_pipeline::reference::run,
        program: None,
    },
    Style {
        name: rosetta_threads::NAME,
        model: rosetta_threads::MODEL,
        runtime: "OS threads",
        run: rosetta_threads::run,
        program: None,
    },
    Style {
        name: rosetta_callbacks::NAME,
        model: rosetta_callbacks::MODEL,
        runtime: "own event loop",
        run: rosetta_callbacks::run,
        program: None,
    },
    Style {
        name: rosetta_combinators::NAME,
        model: rosetta_combinators::MODEL,
        runtime: "futures::executor",
        run: rosetta_combinators::run,
        program: None,
    },
    Style {
        name: rosetta_state_machines::NAME,
        model: rosetta_state_machines::MODEL,
        runtime: "own executor + reactor",
        run: rosetta_state_machines::run,
        program: None,
    },
    Style {
        name: rosetta_async_await::tokio_style::NAME,
        model: rosetta_async_await::tokio_style::MODEL,
        runtime: "tokio",
        run: rosetta_async_await::tokio_style::run,
        program: None,
    },
    Style {
        name: rosetta_async_await::async_std_style::NAME,
        model: rosetta_async_await::async_std_style::MODEL,
        runtime: "async-std (discontinued)",
        run: rosetta_async_await::async_std_style::run,
        program: None,
    },
    Style {
        name: rosetta_async_await::smol_style::NAME,
        model: rosetta_async_await::smol_style::MODEL,
        runtime: "smol",
        run: rosetta_async_await::smol_style::run,
        program: None,
    },
];

/// The same pipeline in JavaScript and Python, each a program run in a child process against the
/// feed server (`tcp` only), in the order the book's comparison chapter shows them.
pub const OTHER_LANGUAGES: &[Style] = &[
    other(
        &rosetta_other_languages::NODE_CALLBACKS,
        rosetta_other_languages::node_callbacks,
    ),
    other(
        &rosetta_other_languages::NODE_PROMISES,
        rosetta_other_languages::node_promises,
    ),
    other(
        &rosetta_other_languages::NODE_ASYNC,
        rosetta_other_languages::node_async,
    ),
    other(
        &rosetta_other_languages::PYTHON_ASYNCIO,
        rosetta_other_languages::python_asyncio,
    ),
];

const fn other(program: &'static Program, run: StyleFn) -> Style {
    Style {
        name: program.name,
        model: program.model,
        runtime: program.runtime,
        run,
        program: Some(program),
    }
}

/// Every style: the Rust ones, then the other languages'.
pub fn every() -> impl Iterator<Item = &'static Style> {
    ALL.iter().chain(OTHER_LANGUAGES)
}

/// The reference style, whose report every other style must match.
pub fn reference() -> &'static Style {
    &ALL[0]
}

/// A style by name.
pub fn find(name: &str) -> Option<&'static Style> {
    every().find(|style| style.name == name)
}

/// All style names, for error messages and `--help`.
pub fn names() -> Vec<&'static str> {
    every().map(|style| style.name).collect()
}

/// What one run of one style produced.
#[derive(Debug)]
pub struct Outcome {
    /// The report, or why there is none.
    pub report: Result<Report, RunError>,
    /// Everything the style recorded, between `RunStarted` and `RunFinished`.
    pub trace: Trace,
    /// Figures derived from the trace.
    pub summary: TraceSummary,
    /// For a program in another language, its interpreter's peak resident memory in KiB (see
    /// [`rosetta_other_languages::ChildRun::peak_kib`]); `None` for a Rust style, which the
    /// bench measures as its own process.
    pub child_peak_kib: Option<u64>,
}

impl Style {
    /// Runs the style on `scenario`, recording a fresh trace around it.
    pub fn run_traced(&self, scenario: &Scenario, opts: &RunOptions) -> Outcome {
        self.run_into(scenario, opts, Trace::new())
    }

    /// Runs the style on `scenario`, recording into `trace` (which others may read meanwhile,
    /// as the live view does), between a `RunStarted` and a `RunFinished` event.
    ///
    /// A program in another language records those two itself, from its own `run_started` and
    /// `run_finished`: its wall time is its pipeline's, without the interpreter's start-up.
    pub fn run_into(&self, scenario: &Scenario, opts: &RunOptions, trace: Trace) -> Outcome {
        let (report, child_peak_kib) = match self.program {
            Some(program) => {
                let run = program.run_measured(scenario, opts, &trace);
                (run.report, run.peak_kib)
            }
            None => {
                trace.record(EventKind::RunStarted);
                let report = (self.run)(scenario, opts, &trace);
                trace.record(EventKind::RunFinished);
                (report, None)
            }
        };
        let summary = trace.summary();
        Outcome {
            report,
            trace,
            summary,
            child_peak_kib,
        }
    }

    /// Why this style cannot run on the `sim` transport, if it cannot: a program in another
    /// language fetches from a feed server, so it needs `tcp`.
    pub fn needs_tcp(&self) -> Option<String> {
        let program = self.program?;
        Some(format!(
            "{} is a {} program: it fetches from a feed server, so it runs on the tcp \
             transport only (leave out --transport sim)",
            self.name,
            program.interpreter.name()
        ))
    }

    /// The time this style should take on a scenario with ideal figures `ideal`, in scenario
    /// milliseconds: the sequential time for the reference (it waits for everything in turn),
    /// the model's ideal for every concurrent style.
    pub fn ideal_ms(&self, ideal: &Ideal) -> u64 {
        if self.name == reference().name {
            ideal.sequential_ms
        } else {
            ideal.total_ms
        }
    }
}
