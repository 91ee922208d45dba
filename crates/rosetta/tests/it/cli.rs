//! The `rosetta` binary as a user runs it.

use std::path::PathBuf;
use std::process::{Command, Output};

pub(crate) fn rosetta(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rosetta"))
        .args(args)
        .output()
        .expect("rosetta runs")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

pub(crate) fn stderr(output: &Output) -> String {
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
    // The README's command as it is, at time scale 1: the programs in other languages spend a
    // millisecond or more of CPU per attempt, and this test shares two cores with the others,
    // so they get the scenario's own margins (answers at least 220 ms from the timeout).
    let output = rosetta(&[]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    // Twelve: the Rust styles and the JavaScript and Python programs (on tcp, the default).
    assert_eq!(rosetta::styles::every().count(), 12);
    for style in rosetta::styles::every() {
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
    for style in rosetta::styles::every() {
        // `faults` at 0.5 leaves 30 ms between an answer and the timeout: room enough for a
        // Rust style, not for an interpreter sharing two cores with the other tests.
        let scale = if style.program.is_some() { "2" } else { "0.5" };
        let output = rosetta(&[
            "run",
            style.name,
            "--scenario",
            "faults",
            "--format",
            "json",
            "--time-scale",
            scale,
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
        // Generated latencies reach 120 ms against a 400 ms timeout: 280 ms apart, 5.6 ms at
        // this scale (at 0.01, 2.8 ms, under the 5 ms margin: refused).
        "0.02",
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
        &[
            "`sources[\"a\"].name`",
            "sources number 1 and 2 have the same name",
        ],
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
            "`sources[\"a\"].latency_ms`",
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
        &["run", "reference", "--fromat", "json"],
        &["run"],
        &["no-such-command"],
    ] {
        assert_one_line_exit_2(args, &[]);
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
    // A copy to edit: the built-in scenario under a name of its own, without the book's marks.
    let shown = stdout(&rosetta(&["scenario", "show", "classroom"]));
    assert!(!shown.contains("ANCHOR"), "{shown}");
    let parsed = rosetta_pipeline::Scenario::from_toml(&shown, "shown").unwrap();
    assert_eq!(parsed.name, "my-classroom");
    assert_eq!(
        rosetta_pipeline::Scenario {
            name: "classroom".into(),
            ..parsed
        },
        rosetta_pipeline::Scenario::builtin("classroom").unwrap()
    );
}

#[test]
fn bench_prints_json_rows_for_every_style() {
    // Time scale 1: a 400 ms timeout, ample for the programs in other languages too, whose
    // interpreters spend a millisecond or more of CPU per attempt, on two cores shared with the
    // other tests. Twenty sources in one round: about 150 ms per style.
    let output = rosetta(&[
        "bench",
        "--sizes",
        "20",
        "--time-scale",
        "1",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let rows = rows.as_array().unwrap();
    // Every style, the other languages' included, then (on tcp, the default) the raw baseline.
    assert_eq!(rows.len(), rosetta::styles::every().count() + 1);
    assert_eq!(rows.last().unwrap()["style"], rosetta::bench::RAW);
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
        "0.25",
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
    // Two sizes, each with two styles and the raw baseline (tcp is the default).
    assert_eq!(csv.lines().count(), 1 + 2 * 3, "{csv}");
    assert!(
        csv.starts_with("sources,concurrency,style,status,"),
        "{csv}"
    );
    let chart = std::fs::read_to_string(chart).unwrap();
    assert_eq!(
        chart.matches("<polyline").count(),
        3,
        "one line per style and one for the baseline"
    );
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

/// Bad input of any kind: exit code 2, exactly one line on stderr, `rosetta: ...`, containing
/// every `expected` piece, nothing on stdout, no panic. The run is bounded by a watchdog, so
/// that input which would hang (a FIFO) fails the test instead of hanging it.
pub(crate) fn assert_one_line_exit_2(args: &[&str], expected: &[&str]) -> String {
    let output = rosetta_with_watchdog(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: one line expected:\n{err}"
    );
    assert!(err.starts_with("rosetta: "), "{args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{args:?}: {err}"
    );
    for needle in expected {
        assert!(
            err.contains(needle),
            "{args:?}: `{needle}` missing from: {err}"
        );
    }
    assert!(stdout(&output).is_empty(), "{args:?}: {}", stdout(&output));
    err
}

/// Runs `rosetta` and kills it if it has not finished after a generous while (a hang is a
/// failure, never a stuck test run). Not a timing assertion: a working command ends at once.
fn rosetta_with_watchdog(args: &[&str]) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rosetta"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rosetta starts");
    // Read both pipes on threads, so that a chatty child cannot block on a full pipe.
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut out_pipe, &mut bytes).map(|_| bytes)
    });
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut err_pipe, &mut bytes).map(|_| bytes)
    });
    let mut status = None;
    for _ in 0..1_200 {
        if let Some(done) = child.try_wait().unwrap() {
            status = Some(done);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{args:?}: still running after a minute: it hangs");
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

/// A scenario file with a valid head and `tail` after it.
fn scenario_with(tail: &str) -> String {
    format!("name = \"x\"\n{tail}")
}

#[test]
fn settings_above_their_bounds_are_refused_before_anything_is_allocated() {
    let source = "[[sources]]\nname = \"a\"\nlatency_ms = 10\n";
    for (test, setting, limit) in [
        (
            "concurrency",
            "concurrency = 1000000000",
            "at most 100000 attempts in flight",
        ),
        (
            "concurrency-max",
            "concurrency = 9223372036854775807",
            "at most 100000",
        ),
        ("workers", "workers = 1000000", "at most 1024 workers"),
        (
            "workers-max",
            "workers = 9223372036854775807",
            "at most 1024",
        ),
        (
            "capacity",
            "channel_capacity = 1000000000",
            "at most 65536 records per queue",
        ),
        (
            "capacity-max",
            "channel_capacity = 9223372036854775807",
            "at most 65536",
        ),
        ("retries", "retries = 101", "at most 100 retries"),
        (
            "timeout",
            "timeout_ms = 9223372036854775808",
            "at most 3600000 ms (an hour)",
        ),
        ("lookup", "lookup_ms = 60001", "at most 60000 ms (a minute)"),
    ] {
        let key = setting.split(' ').next().unwrap();
        assert_refused(
            test,
            &scenario_with(&format!("[settings]\n{setting}\n{source}")),
            &[&format!("`settings.{key}`"), limit],
        );
    }
    assert_refused(
        "latency-bound",
        &scenario_with("[[sources]]\nname = \"far\"\nlatency_ms = 3600001\n"),
        &[
            "`sources[\"far\"].latency_ms`",
            "at most 3600000 ms (an hour)",
        ],
    );
}

#[test]
fn unclear_messages_now_say_what_is_wrong() {
    // A fault of the wrong type lists the allowed values.
    assert_refused(
        "fault-type",
        &scenario_with("[[sources]]\nname = \"a\"\nlatency_ms = 1\nfault = 1\n"),
        &[
            ":5: ",
            "`sources[\"a\"].fault`",
            "`none`, `first`, `always`, `hang`",
        ],
    );
    // A dotted key past the parser's recursion limit gets a line and a sentence.
    assert_refused(
        "deep-key",
        &scenario_with(&format!("\n{} = 1\n", ["a"; 200].join("."))),
        &[":3: ", "nested too deeply"],
    );
    // A duplicate key is named.
    assert_refused(
        "duplicate-key",
        &scenario_with("[settings]\nworkers = 2\nworkers = 3\n"),
        &[":4: ", "duplicate key `workers`"],
    );
    // A newline inside a source name is escaped: still one line.
    assert_refused(
        "newline-name",
        &scenario_with("[[sources]]\nname = \"a\\nb\"\nlatency_ms = 300\n"),
        &["`sources[\"a\\nb\"].latency_ms`"],
    );
}

#[test]
fn a_newline_in_a_path_is_escaped() {
    let dir = std::env::temp_dir().join(format!("rosetta-cli-newline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("two\nlines.toml");
    std::fs::write(&path, "name = \"\"\n").unwrap();
    let err = assert_one_line_exit_2(&["scenario", "check", path.to_str().unwrap()], &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        err.contains("two\\nlines.toml: `name`: must not be empty"),
        "{err}"
    );
}

#[test]
fn files_that_are_not_small_regular_files_are_refused_without_reading_them() {
    // `/dev/zero` never ends: reading it grew past 5 GB.
    assert_one_line_exit_2(
        &["run", "reference", "--scenario", "/dev/zero"],
        &["/dev/zero: not a regular file"],
    );
    // A folder.
    let dir = TempScenario::new("folder", "");
    assert_one_line_exit_2(
        &["scenario", "check", dir.dir.to_str().unwrap()],
        &["not a regular file"],
    );
    // A FIFO with no writer: opening it would block forever.
    let fifo = dir.dir.join("fifo.toml");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    assert_one_line_exit_2(
        &["run", "reference", "--scenario", fifo.to_str().unwrap()],
        &["fifo.toml: not a regular file"],
    );
    // More than 64 MiB (a sparse file: no disk space used).
    let big = dir.dir.join("big.toml");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(64 * 1024 * 1024 + 1)
        .unwrap();
    assert_one_line_exit_2(
        &["scenario", "check", big.to_str().unwrap()],
        &["larger than 64 MiB"],
    );
}

#[test]
fn a_time_scale_that_lets_timer_noise_decide_is_refused() {
    // classroom's tightest feed: 180 ms against a 400 ms timeout, 220 ms apart; 0.023 is the
    // smallest scale that keeps them 5 ms apart. (At 1e-9, tokio counted a too-slow feed as
    // answered.)
    for command in [&["run", "tokio"][..], &["compare"], &["trace", "reference"]] {
        for scale in ["1e-9", "0.02"] {
            let args = [command, &["--time-scale", scale]].concat();
            assert_one_line_exit_2(
                &args,
                &[
                    "built-in scenario `classroom`",
                    "`sources[\"baltic-feed\"].latency_ms`",
                    "the smallest time scale that works is 0.023",
                ],
            );
        }
    }
    assert_one_line_exit_2(
        &[
            "run",
            "reference",
            "--scenario",
            "faults",
            "--time-scale",
            "0.05",
        ],
        &["the smallest time scale that works is 0.084"],
    );
    assert_one_line_exit_2(
        &["bench", "--sizes", "20", "--time-scale", "0.001"],
        &[
            "generated scenario (--sources 20 --seed 1)",
            "the smallest time scale that works",
        ],
    );
    // The smallest scale that works, works.
    let output = rosetta(&[
        "run",
        "reference",
        "--scenario",
        "faults",
        "--time-scale",
        "0.084",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    // A file's own message names the file.
    let file = TempScenario::new(
        "tight",
        "name = \"t\"\n[settings]\ntimeout_ms = 2\n[[sources]]\nname = \"near\"\nlatency_ms = 5\n",
    );
    assert_one_line_exit_2(
        &[
            "run",
            "threads",
            "--scenario",
            file.path(),
            "--time-scale",
            "0.05",
        ],
        &[
            file.path(),
            "`sources[\"near\"].latency_ms`",
            "works is 1.7",
        ],
    );
}

#[test]
fn time_scales_out_of_range_are_refused_in_one_line() {
    for scale in [
        "-1", "-0.5", "0", "NaN", "inf", "-inf", "1e308", "5e19", "1000.5", "fast",
    ] {
        for args in [
            vec!["run", "reference", "--time-scale", scale],
            vec!["compare", &format!("--time-scale={scale}")],
            vec!["bench", "--sizes", "10", "--time-scale", scale],
        ] {
            let args: Vec<&str> = args.iter().map(|arg| arg.as_ref()).collect();
            let err = assert_one_line_exit_2(&args, &["--time-scale"]);
            assert!(!err.contains("-- -1"), "no tip that does not work: {err}");
        }
    }
}

#[test]
fn widths_and_counts_out_of_range_are_refused_in_one_line() {
    for width in ["65600", "18446744073709551615", "39", "-1"] {
        assert_one_line_exit_2(&["trace", "reference", "--width", width], &["--width"]);
    }
    assert_one_line_exit_2(
        &["run", "reference", "--sources", "100000000000"],
        &["--sources"],
    );
    assert_one_line_exit_2(&["bench", "--sizes", "10,100000000000"], &["--sizes"]);
    assert_one_line_exit_2(
        &["bench", "--concurrency", "1000000000"],
        &["--concurrency"],
    );
}

#[test]
fn an_ideal_time_over_an_hour_is_said_in_words() {
    let mut text =
        "name = \"long\"\n[settings]\nconcurrency = 1\ntimeout_ms = 3600000\n".to_string();
    for index in 0..4 {
        text.push_str(&format!(
            "[[sources]]\nname = \"s{index}\"\nlatency_ms = 1000000\n"
        ));
    }
    let file = TempScenario::new("hours", &text);
    let output = rosetta(&["scenario", "check", file.path()]);
    let out = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        out.contains("ideal wall time more than an hour (sequential more than an hour)"),
        "{out}"
    );
    assert!(!out.contains("18446744073709551"), "{out}");
}

/// Runs `rosetta` with a stdout whose reading end is already closed, as after `| head -1` has
/// read its line: the first write fails with a broken pipe.
fn rosetta_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let child = Command::new(env!("CARGO_BIN_EXE_rosetta"))
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rosetta starts");
    child.wait_with_output().expect("rosetta ends")
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    for args in [
        &["scenario", "list"][..],
        &["scenario", "show", "classroom"],
        &["compare", "--time-scale", "0.05", "--style", "callbacks"],
        &[
            "run",
            "reference",
            "--scenario",
            "faults",
            "--time-scale",
            "0.1",
        ],
    ] {
        let output = rosetta_into_closed_pipe(args);
        // 141 = 128 + SIGPIPE: what a shell reports for `yes | head -1`. It used to be 101, a
        // panic ("failed printing to stdout: Broken pipe").
        assert_eq!(
            output.status.code(),
            Some(141),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).is_empty(), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn learn_list_into_a_closed_pipe_ends_quietly() {
    // `rosetta learn list | head -1`: the exercise runner writes through the same locked stdout
    // as every other command. It used to `println!`, and panicked (exit 101).
    let exercises = concat!(env!("CARGO_MANIFEST_DIR"), "/../../exercises");
    let output = rosetta_into_closed_pipe(&["learn", "--exercises", exercises, "list"]);
    assert_eq!(output.status.code(), Some(141), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}
