//! A report reads back from its JSON, strictly: how the programs in other
//! languages, whose reports arrive as JSON from another process, are compared
//! with the reference.

use rosetta_pipeline::{Report, RunOptions, Scenario, Trace, reference};

#[test]
fn a_report_reads_back_from_its_json_strictly() {
    let scenario = Scenario::builtin("faults").unwrap();
    let report = reference::run(
        &scenario,
        &RunOptions::with_time_scale(0.0),
        &Trace::new(),
    )
    .unwrap();
    let read: Report = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(read, report);
    // Another program's spelling of the same numbers (JavaScript writes -1.0 as
    // -1) is the same report.
    let respelled = report.to_json().replace(".0,", ",").replace(".0\n", "\n");
    assert_ne!(
        respelled,
        report.to_json(),
        "the faults report has whole temperatures"
    );
    assert_eq!(serde_json::from_str::<Report>(&respelled).unwrap(), report);
    // A key more, or a key less, is a different report format, not the same
    // report.
    let extra = report.to_json().replacen('{', "{\"extra\": 1,", 1);
    let error = serde_json::from_str::<Report>(&extra)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unknown field `extra`"), "{error}");
    let misnamed = report.to_json().replace("\"lookups\"", "\"lookup\"");
    assert!(serde_json::from_str::<Report>(&misnamed).is_err());
}
