//! The `rosetta` binary as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

fn rosetta(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rosetta"))
        .args(args)
        .output()
        .expect("rosetta runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 output")
}

/// A scenario file in a fresh temporary folder (removed when the test ends).
struct TempScenario {
    dir: PathBuf,
    path: PathBuf,
}

impl TempScenario {
    fn new(test: &str, text: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rosetta-cli-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scenario.toml");
        std::fs::write(&path, text).unwrap();
        TempScenario { dir, path }
    }

    fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempScenario {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn compare_shows_every_style_agreeing() {
    let output = rosetta(&["--time-scale", "0.25"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    for style in rosetta::styles::ALL {
        assert!(
            text.contains(&format!("✓ {}", style.name)),
            "no check mark for {}:\n{text}",
            style.name
        );
    }
    assert!(!text.contains('✗'), "{text}");
    assert!(
        text.contains("scenario    classroom"),
        "the report is printed once:\n{text}"
    );
    assert!(text.contains("Next steps"), "{text}");
}

#[test]
fn live_mode_falls_back_to_the_plain_table_when_not_on_a_terminal() {
    // The test's stdout is a pipe, not a terminal: no escape sequences, the same table.
    let output = rosetta(&[
        "compare",
        "--live",
        "--time-scale",
        "0.25",
        "--style",
        "callbacks",
    ]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert!(!text.contains('\x1b'), "{text}");
    assert!(text.contains("✓ callbacks"), "{text}");
}

#[test]
fn run_prints_json_with_the_specified_keys_for_every_style() {
    let keys = [
        "scenario",
        "sources_ok",
        "sources_failed",
        "attempts",
        "accepted",
        "rejected",
        "lookups",
        "cache_hits",
        "partitions",
        "stations",
    ];
    for style in rosetta::styles::ALL {
        let output = rosetta(&[
            "run",
            style.name,
            "--scenario",
            "faults",
            "--format",
            "json",
            "--time-scale",
            "0.5",
        ]);
        assert!(
            output.status.success(),
            "{}: {}",
            style.name,
            stderr(&output)
        );
        let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
        let object = json.as_object().unwrap();
        assert_eq!(object.keys().collect::<Vec<_>>(), keys, "{}", style.name);
        assert_eq!(json["sources_failed"][0]["reason"], "error");
        let station = &json["stations"][0];
        let station_keys: Vec<&String> = station.as_object().unwrap().keys().collect();
        assert_eq!(
            station_keys,
            ["station", "region", "count", "min", "mean", "max"]
        );
        assert_eq!(station["min"].as_f64(), Some(-4.0));
    }
}

#[test]
fn run_accepts_a_scenario_file_and_a_generated_scenario() {
    let file = TempScenario::new(
        "file",
        "name = \"mine\"\n[registry]\nOslo = \"north\"\n[[sources]]\nname = \"a\"\nlatency_ms = 5\nbody = \"Oslo;1.5\"\n",
    );
    let output = rosetta(&[
        "run",
        "reference",
        "--scenario",
        file.path(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["scenario"], "mine");
    assert_eq!(json["stations"][0]["mean"].as_f64(), Some(1.5));

    let output = rosetta(&[
        "run",
        "reference",
        "--sources",
        "5",
        "--seed",
        "3",
        "--time-scale",
        "0.01",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("scenario    generated-5-3\n"));
}

/// Runs `rosetta scenario check` on a bad file: exit code 2, one line on stderr naming the file
/// and the key, no panic and no backtrace.
fn assert_refused(test: &str, text: &str, expected: &[&str]) {
    let file = TempScenario::new(test, text);
    let output = rosetta(&["scenario", "check", file.path()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{test}: {err}");
    assert_eq!(err.lines().count(), 1, "{test}: one line expected:\n{err}");
    assert!(
        err.starts_with(&format!("rosetta: {}", file.path())),
        "{test}: names the file: {err}"
    );
    for needle in expected {
        assert!(
            err.contains(needle),
            "{test}: `{needle}` missing from: {err}"
        );
    }
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    // The same through `run`: nothing is run.
    let output = rosetta(&["run", "threads", "--scenario", file.path()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).is_empty());
}

#[test]
fn bad_scenarios_are_refused_with_file_key_and_reason() {
    let source = "[[sources]]\nname = \"a\"\nlatency_ms = 10\n";
    assert_refused(
        "unknown-key",
        &format!("name = \"x\"\ncolour = \"red\"\n{source}"),
        &[":2: ", "unknown field `colour`"],
    );
    assert_refused(
        "duplicate",
        &format!("name = \"x\"\n{source}{source}"),
        &["`sources[1].name`", "used by an earlier source"],
    );
    assert_refused(
        "workers",
        &format!("name = \"x\"\n[settings]\nworkers = 0\n{source}"),
        &["`settings.workers`", "at least 1"],
    );
    assert_refused(
        "latency",
        "name = \"x\"\n[[sources]]\nname = \"a\"\nlatency_ms = 300\n",
        &[
            "`sources[0].latency_ms`",
            "between half and twice timeout_ms",
        ],
    );
    assert_refused("toml", "name = \"x\"\n[[sources]\n", &[":2: "]);
    assert_refused(
        "fault",
        &format!("name = \"x\"\n{source}fault = \"often\"\n"),
        &[":5: ", "unknown variant `often`"],
    );
}

#[test]
fn a_good_scenario_file_is_summarised() {
    let file = TempScenario::new(
        "good",
        "name = \"ok\"\n[[sources]]\nname = \"a\"\nlatency_ms = 10\n",
    );
    let output = rosetta(&["scenario", "check", file.path()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("ok: `ok`, 1 sources"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn bad_arguments_exit_with_code_2_and_one_reason() {
    for args in [
        &["run", "no-such-style"][..],
        &["run", "reference", "--scenario", "no-such-scenario"],
        &["run", "reference", "--time-scale", "-1"],
        &["run", "reference", "--scenario", "faults", "--sources", "3"],
        &["scenario", "check", "/no/such/file.toml"],
    ] {
        let output = rosetta(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"), "{args:?}");
    }
    let output = rosetta(&["run", "no-such-style"]);
    assert!(
        stderr(&output).contains("styles: reference"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn scenario_list_and_show() {
    let list = stdout(&rosetta(&["scenario", "list"]));
    assert!(list.starts_with("classroom"), "{list}");
    assert!(list.contains("faults"), "{list}");
    let shown = stdout(&rosetta(&["scenario", "show", "classroom"]));
    let parsed = rosetta_pipeline::Scenario::from_toml(&shown, "shown").unwrap();
    assert_eq!(
        parsed,
        rosetta_pipeline::Scenario::builtin("classroom").unwrap()
    );
}

#[test]
fn bench_prints_json_rows_for_every_style() {
    let output = rosetta(&[
        "bench",
        "--sizes",
        "20",
        "--time-scale",
        "0.05",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), rosetta::styles::ALL.len());
    for row in rows {
        assert_eq!(row["status"], "ok", "{row}");
        assert_eq!(row["sources"], 20);
        assert!(row["ideal_ms"].as_f64().unwrap() > 0.0);
        assert!(row["peak_in_flight"].as_u64().unwrap() <= 100);
        // Measured in a process of its own, which reports its peak memory (Linux).
        if cfg!(target_os = "linux") {
            assert!(row["peak_rss_mib"].as_f64().unwrap() > 0.0, "{row}");
        }
    }
}

#[test]
fn bench_writes_csv_and_an_svg_chart() {
    let svg = TempScenario::new("bench-svg", "");
    let chart = svg.dir.join("chart.svg");
    let output = rosetta(&[
        "bench",
        "--sizes",
        "10,30",
        "--time-scale",
        "0.05",
        "--style",
        "callbacks",
        "--style",
        "smol",
        "--format",
        "csv",
        "--svg",
        chart.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let csv = stdout(&output);
    assert_eq!(csv.lines().count(), 1 + 2 * 2, "{csv}");
    assert!(
        csv.starts_with("sources,concurrency,style,status,"),
        "{csv}"
    );
    let chart = std::fs::read_to_string(chart).unwrap();
    assert_eq!(chart.matches("<polyline").count(), 2, "one line per style");
}

#[test]
fn bench_sleepers_measures_every_kind_in_its_own_process() {
    let output = rosetta(&["bench", "--sleepers", "--sizes", "100", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let kinds: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, rosetta::sleepers::KINDS);
    for row in rows.as_array().unwrap() {
        assert_eq!(row["status"], "ok", "{row}");
        assert_eq!(row["count"], 100);
        if cfg!(target_os = "linux") {
            assert!(row["bytes_per_sleeper"].as_f64().is_some(), "{row}");
        }
    }
}

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["compare", "--help"],
        &["run", "--help"],
        &["bench", "--help"],
        &["scenario", "--help"],
        &["scenario", "check", "--help"],
    ] {
        let output = rosetta(args);
        assert!(output.status.success(), "{args:?}");
        assert!(stdout(&output).contains("Usage: rosetta"), "{args:?}");
    }
}
