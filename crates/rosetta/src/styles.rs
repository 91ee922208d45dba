//! The registry of styles: one list, iterated by the CLI, the tests and the benchmarks.
//!
//! Each style crate exposes the same entry point,
//! `run(&Scenario, &RunOptions, &Trace) -> Result<Report, RunError>`; this module pairs each one
//! with its name (as the command line, the snapshots and the book write it) and a short
//! description of how it waits.

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
}

/// Every style, in teaching order. The first is the reference the others are compared with.
pub const ALL: &[Style] = &[
    Style {
        name: "reference",
        model: "sequential, one thing at a time",
        runtime: "none (blocking calls)",
        run: rosetta_pipeline::reference::run,
    },
    Style {
        name: rosetta_threads::NAME,
        model: rosetta_threads::MODEL,
        runtime: "OS threads",
        run: rosetta_threads::run,
    },
    Style {
        name: rosetta_callbacks::NAME,
        model: rosetta_callbacks::MODEL,
        runtime: "own event loop",
        run: rosetta_callbacks::run,
    },
    Style {
        name: rosetta_combinators::NAME,
        model: rosetta_combinators::MODEL,
        runtime: "futures::executor",
        run: rosetta_combinators::run,
    },
    Style {
        name: rosetta_state_machines::NAME,
        model: rosetta_state_machines::MODEL,
        runtime: "own executor + reactor",
        run: rosetta_state_machines::run,
    },
    Style {
        name: rosetta_async_await::tokio_style::NAME,
        model: rosetta_async_await::tokio_style::MODEL,
        runtime: "tokio",
        run: rosetta_async_await::tokio_style::run,
    },
    Style {
        name: rosetta_async_await::async_std_style::NAME,
        model: rosetta_async_await::async_std_style::MODEL,
        runtime: "async-std (discontinued)",
        run: rosetta_async_await::async_std_style::run,
    },
    Style {
        name: rosetta_async_await::smol_style::NAME,
        model: rosetta_async_await::smol_style::MODEL,
        runtime: "smol",
        run: rosetta_async_await::smol_style::run,
    },
];

/// The reference style, whose report every other style must match.
pub fn reference() -> &'static Style {
    &ALL[0]
}

/// A style by name.
pub fn find(name: &str) -> Option<&'static Style> {
    ALL.iter().find(|style| style.name == name)
}

/// All style names, for error messages and `--help`.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|style| style.name).collect()
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
}

impl Style {
    /// Runs the style on `scenario`, recording a fresh trace around it.
    pub fn run_traced(&self, scenario: &Scenario, opts: &RunOptions) -> Outcome {
        self.run_into(scenario, opts, Trace::new())
    }

    /// Runs the style on `scenario`, recording into `trace` (which others may read meanwhile,
    /// as the live view does), between a `RunStarted` and a `RunFinished` event.
    pub fn run_into(&self, scenario: &Scenario, opts: &RunOptions, trace: Trace) -> Outcome {
        trace.record(EventKind::RunStarted);
        let report = (self.run)(scenario, opts, &trace);
        trace.record(EventKind::RunFinished);
        let summary = trace.summary();
        Outcome {
            report,
            trace,
            summary,
        }
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
