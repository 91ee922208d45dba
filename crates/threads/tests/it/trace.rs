//! What the trace shows about the threads style in particular: threads named
//! after their job, and attempts only on the fetch threads, never more of them
//! than there are slots.

use std::collections::HashSet;

use rosetta_conformance::{check_against_reference, time_scale_for};
use rosetta_pipeline::Scenario;
use rosetta_pipeline::trace::EventKind;

#[test]
fn threads_are_named_after_their_job() {
    let scenario = Scenario::builtin("classroom").unwrap();
    let (_, trace) = check_against_reference(
        rosetta_threads::NAME,
        rosetta_threads::run,
        &scenario,
        time_scale_for("classroom"),
    );
    let names = trace.thread_names();
    let has =
        |prefix: &str| names.values().any(|name| name.starts_with(prefix));
    assert!(has("fetch-"), "{names:?}");
    assert!(has("enrich-"), "{names:?}");
    assert!(has("lookup-"), "{names:?}");
    let fetch_threads: HashSet<u64> = trace
        .events()
        .iter()
        .filter(|event| matches!(event.kind, EventKind::AttemptStarted { .. }))
        .map(|event| event.thread)
        .collect();
    assert!(fetch_threads.len() <= scenario.settings.concurrency);
    assert!(
        fetch_threads
            .iter()
            .all(|thread| names[thread].starts_with("fetch-")),
        "{names:?}"
    );
}
