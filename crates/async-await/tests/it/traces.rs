//! What each runtime's trace shows in particular (the invariants every style's
//! trace keeps are checked by `rosetta-conformance`). Figures only, never
//! wall-clock times: the tests share a two-core machine with everything else.

use rosetta_pipeline::Scenario;

use rosetta_async_await::smol_style;
use rosetta_conformance::run;

use crate::STYLES;

#[test]
fn every_runtime_runs_tasks_on_several_threads() {
    // 200 sources, 100 in flight: plenty of tasks for every thread of every
    // runtime. Each runs one executor thread per core (smol: at least two), so
    // on a single-core machine tokio and async-std have one thread, and there
    // is nothing to check for them.
    let scenario = Scenario::generate(200, 11);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (name, style) in STYLES {
        let (_, trace) = run(name, style, &scenario, 0.2);
        let threads = trace.summary().threads;
        if cores > 1 || name == smol_style::NAME {
            assert!(
                threads > 1,
                "{name} recorded events on {threads} thread(s)"
            );
        }
    }
}
