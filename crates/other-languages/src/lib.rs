//! The pipeline in JavaScript and Python: four more styles, each a program of its own, run as a
//! child process against the feed server and held to the reference's report.
//!
//! Most learners arrive knowing callbacks, Promises and async/await from JavaScript, or
//! `asyncio` from Python. These programs are the same pipeline in those languages, written as a
//! good JavaScript or Python engineer would write them, with nothing but the standard library:
//!
//! - `node-callbacks` (`node/callbacks.mjs`): error-first callbacks, no Promise anywhere;
//! - `node-promises` (`node/promises.mjs`): Promise chains, no `async`/`await`;
//! - `node-async` (`node/async.mjs`): `async`/`await`;
//! - `python-asyncio` (`python/asyncio_pipeline.py`): coroutines, tasks and streams.
//!
//! What they compute comes from one module per language (`node/spec.mjs`, `python/spec.py`), as
//! the Rust styles' comes from `rosetta-pipeline`. The contract between `rosetta` and a program
//! (its command line, the plan it fetches, the report it prints, the trace lines it writes) is
//! in this crate's `README.md`.
//!
//! Each style is a [`StyleFn`](rosetta_pipeline::run::StyleFn) like any other ([`node_callbacks`],
//! [`node_promises`], [`node_async`], [`python_asyncio`]), so the conformance suite and
//! `rosetta compare` run them as they run the Rust styles. They run on the `tcp` transport only:
//! a program in another process cannot share the `sim` transport's timers.
//!
//! # Layout
//!
//! - `lib.rs`: the four [`Program`]s and their entry points;
//! - `interpreter.rs`: finding `node` and `python3`, and what to say when one is missing;
//! - `child.rs`: running a program: where its files are, the child process, the time limit,
//!   reading its report back;
//! - `protocol.rs`: the trace lines a program writes, read into the run's
//!   [`Trace`](rosetta_pipeline::Trace).

mod child;
mod interpreter;
mod protocol;

pub use interpreter::{Found, Interpreter};

use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

/// One program: a style written in another language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Program {
    /// The style's name: `node-callbacks`, `node-promises`, `node-async`, `python-asyncio`.
    pub name: &'static str,
    /// The model of concurrency, in a few words.
    pub model: &'static str,
    /// What drives it, as the comparison table's runtime column says it.
    pub runtime: &'static str,
    /// Who runs it.
    pub interpreter: Interpreter,
    /// The file to run, relative to this crate's folder.
    pub file: &'static str,
    /// Whether it reports its sockets' phases (`connected`, `request sent`, `first byte`).
    /// Node's `http` module and asyncio's streams show a program its socket; `fetch` does not.
    pub socket_phases: bool,
    /// About how much of its one thread's time an attempt costs, in milliseconds: connecting,
    /// writing, parsing the response, the Promises or tasks around it. Measured on the
    /// project's two-core machine with the helpers' load tests (Node's `fetch` about 1.5 ms,
    /// its `http` module and CPython's streams about 0.5 ms, against microseconds for a Rust
    /// style). The bench uses it to skip a size at which the attempts started together would
    /// keep the thread busy past their timeout ([`Program::cannot_keep_up`]).
    pub attempt_cpu_ms: f64,
}

/// `node-callbacks`: error-first callbacks on Node's `http` module.
pub const NODE_CALLBACKS: Program = Program {
    name: "node-callbacks",
    model: "error-first callbacks on Node's event loop",
    runtime: "Node.js",
    interpreter: Interpreter::Node,
    file: "node/callbacks.mjs",
    socket_phases: true,
    attempt_cpu_ms: 0.5,
};

/// `node-promises`: Promise chains on `fetch`.
pub const NODE_PROMISES: Program = Program {
    name: "node-promises",
    model: "Promise chains (then, catch, finally)",
    runtime: "Node.js",
    interpreter: Interpreter::Node,
    file: "node/promises.mjs",
    socket_phases: false,
    attempt_cpu_ms: 1.5,
};

/// `node-async`: `async`/`await` on `fetch`.
pub const NODE_ASYNC: Program = Program {
    name: "node-async",
    model: "async/await on Promises",
    runtime: "Node.js",
    interpreter: Interpreter::Node,
    file: "node/async.mjs",
    socket_phases: false,
    attempt_cpu_ms: 1.5,
};

/// `python-asyncio`: coroutines and tasks on asyncio's streams.
pub const PYTHON_ASYNCIO: Program = Program {
    name: "python-asyncio",
    model: "coroutines and tasks on an event loop",
    runtime: "Python asyncio",
    interpreter: Interpreter::Python,
    file: "python/asyncio_pipeline.py",
    socket_phases: true,
    attempt_cpu_ms: 0.7,
};

/// Every program, in the order the book teaches them.
pub const ALL: [&Program; 4] = [
    &NODE_CALLBACKS,
    &NODE_PROMISES,
    &NODE_ASYNC,
    &PYTHON_ASYNCIO,
];

impl Program {
    /// Runs the program on `scenario` against the feed server of `opts` (which must be `tcp`,
    /// with the scenario hosted there), recording its trace into `trace`, and reads its report.
    ///
    /// The program's own `run_started` and `run_finished` are the trace's `RunStarted` and
    /// `RunFinished`: the wall time is the pipeline's, not the interpreter's start-up (which
    /// takes tens of milliseconds, and no Rust style pays).
    pub fn run(
        &self,
        scenario: &Scenario,
        opts: &RunOptions,
        trace: &Trace,
    ) -> Result<Report, RunError> {
        child::run(self, scenario, opts, trace).report
    }

    /// Why this program cannot keep up with `in_flight` attempts started together under a
    /// timeout of `timeout_ms` real milliseconds, if it cannot: the attempts would keep its one
    /// thread busy for more than half the timeout ([`Program::attempt_cpu_ms`] each), and it
    /// would time out feeds that answered in time. A limit of the interpreter on one thread,
    /// not of the style: Rust styles pay microseconds per attempt.
    pub fn cannot_keep_up(&self, in_flight: usize, timeout_ms: f64) -> Option<String> {
        let busy_ms = in_flight as f64 * self.attempt_cpu_ms;
        (busy_ms > timeout_ms / 2.0).then(|| {
            format!(
                "{} spends about {} ms of its one thread per attempt: {in_flight} attempts \
                 started together would keep it busy for about {busy_ms:.0} ms, against a \
                 {timeout_ms:.0} ms timeout (raise --time-scale, or lower --concurrency)",
                self.interpreter.name(),
                self.attempt_cpu_ms
            )
        })
    }

    /// [`Program::run`], and the interpreter's peak memory.
    pub fn run_measured(&self, scenario: &Scenario, opts: &RunOptions, trace: &Trace) -> ChildRun {
        child::run(self, scenario, opts, trace)
    }
}

/// What a program's run produced: its report, and what the bench measures of the process.
#[derive(Debug)]
pub struct ChildRun {
    /// The report, or why there is none.
    pub report: Result<Report, RunError>,
    /// The interpreter's peak resident memory, in KiB, read from `/proc/PID/status` (`VmHWM`)
    /// when the program said `run_finished` (Linux only): the whole interpreter, its start-up
    /// included, so not a figure to divide by the number of sources.
    pub peak_kib: Option<u64>,
}

/// The `node-callbacks` style's entry point.
pub fn node_callbacks(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    NODE_CALLBACKS.run(scenario, opts, trace)
}

/// The `node-promises` style's entry point.
pub fn node_promises(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    NODE_PROMISES.run(scenario, opts, trace)
}

/// The `node-async` style's entry point.
pub fn node_async(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    NODE_ASYNC.run(scenario, opts, trace)
}

/// The `python-asyncio` style's entry point.
pub fn python_asyncio(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    PYTHON_ASYNCIO.run(scenario, opts, trace)
}
