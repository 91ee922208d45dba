//! Scale run: the three runtimes on large generated scenarios, against the
//! ideal time.
//!
//! ```text
//! cargo run --release -p rosetta-async-await --example scale -- [TIME_SCALE [SOURCES...]]
//! ```
//!
//! Defaults: time scale 0.1, 1,000 and 10,000 sources (seed 1). For each
//! runtime it prints the wall time, the model's ideal time at that scale
//! (`model::ideal(..).total_ms * scale`), their ratio, the peak of attempts in
//! flight and the threads used. `rosetta bench` does the same for every style;
//! this example exists to tune this crate without the CLI.

use std::time::Instant;

use rosetta_async_await::{async_std_style, smol_style, tokio_style};
use rosetta_pipeline::trace::EventKind;
use rosetta_pipeline::{
    Report, RunError, RunOptions, Scenario, Trace, model, reference,
};

/// A style's entry point.
type RunFn = fn(&Scenario, &RunOptions, &Trace) -> Result<Report, RunError>;

fn main() {
    let mut args = std::env::args().skip(1);
    let time_scale: f64 = args
        .next()
        .map_or(0.1, |arg| arg.parse().expect("a time scale"));
    let mut sizes: Vec<usize> = args
        .map(|arg| arg.parse().expect("a source count"))
        .collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000];
    }
    let styles: [(&str, RunFn); 3] = [
        (tokio_style::NAME, tokio_style::run),
        (async_std_style::NAME, async_std_style::run),
        (smol_style::NAME, smol_style::run),
    ];
    let opts = RunOptions::with_time_scale(time_scale);
    for sources in sizes {
        let scenario = Scenario::generate(sources, 1);
        let ideal_ms = model::ideal(&scenario).total_ms as f64 * time_scale;
        let instant = RunOptions::with_time_scale(0.0);
        let expected = reference::run(&scenario, &instant, &Trace::new())
            .expect("reference");
        println!(
            "{} at time scale {time_scale}: ideal {ideal_ms:.1} ms",
            scenario.name
        );
        for (name, run) in styles {
            let trace = Trace::new();
            let started = Instant::now();
            trace.record(EventKind::RunStarted);
            let report = run(&scenario, &opts, &trace).expect("the run");
            trace.record(EventKind::RunFinished);
            let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
            let summary = trace.summary();
            println!(
                "  {name:<10} wall {wall_ms:8.1} ms  ratio {:5.3}  peak {:3}  threads {}  {}",
                wall_ms / ideal_ms,
                summary.peak_attempts,
                summary.threads,
                if report == expected {
                    "= reference"
                } else {
                    "DIFFERS from the reference"
                },
            );
        }
    }
}
