//! The four programs held to the specification like the Rust styles: the conformance suite's tcp
//! battery (the built-in scenarios, generated ones, the smallest settings, a 400 KB body), plus
//! a generated battery of this crate's own, each report compared with the reference's and each
//! trace checked for the invariants (at most `concurrency` attempts in flight, each lookup once,
//! every attempt ended, socket phases in order where the program can see its sockets).
//!
//! These tests need `node` and `python3`. A machine without them fails here, saying which is
//! missing and how to install it: they never skip (`.ci/run` installs both).

use rosetta_conformance::tcp::{
    Sockets, check_on_tcp_seeing, check_style_on_tcp_seeing, feed_server,
};
use rosetta_other_languages::{Interpreter, Program};
use rosetta_pipeline::run::StyleFn;
use rosetta_pipeline::transport::Transport;
use rosetta_pipeline::{RunError, RunOptions, Scenario, Trace};

/// Generated scenarios beyond the suite's own: (sources, seed, concurrency, workers, channel
/// capacity). Small queues and one worker make the back-pressure wait; more sources than slots
/// make the slots turn over. Six cases per program (the Rust styles' differential test runs 64
/// on sim and 16 on tcp): each costs an interpreter's start and a run in real time. At most 20
/// in flight: enough to show the slots kept, and few enough that an interpreter's CPU per
/// attempt (see [`SLOWDOWN`]) stays far from the timeout on a busy machine; the bench measures
/// them at 100.
const GENERATED: &[(usize, u64, usize, usize, usize)] = &[
    (5, 31, 2, 3, 16),
    (25, 32, 4, 1, 1),
    (60, 33, 10, 2, 2),
    (120, 34, 20, 3, 4),
    (200, 35, 20, 5, 1),
    (30, 36, 1, 4, 8),
];

/// How many times slower than on sim the programs run every scenario. An interpreter pays a
/// millisecond or more of CPU per attempt (Node's `fetch` about 1.5 ms, CPython's streams about
/// 0.5 ms), and the four programs' tests run at once on a two-core machine: at the Rust styles'
/// [`rosetta_conformance::tcp::TCP_SLOWDOWN`], fifty attempts started together would keep one
/// program's thread busy past their timeout. The outcomes the specification decides stay the
/// same at any scale; only the margins grow (a generated scenario's 400 ms timeout stays 400
/// ms, its answers at most 120 ms).
const SLOWDOWN: f64 = 5.0;

/// Names that three languages see differently: stations whose UTF-16 order (JavaScript's
/// string comparison) is not their UTF-8 byte order (the report's), a station that is a
/// property of every JavaScript object, accents, and feed names that need percent-encoding.
const AWKWARD_NAMES: &str = r#"
name = "awkward names"
[settings]
concurrency = 3
workers = 2
[registry]
"～wave" = "east"
"😀land" = "west"
"Zürich" = "alps"
"Zurich" = "alps"
"__proto__" = "nowhere"
"constructor" = "nowhere"
[[sources]]
name = "feed 0007/é"
latency_ms = 10
body = "～wave;1.0\n😀land;2.0\nZürich;3.0\n__proto__;4.0\n"
[[sources]]
name = "100% ☃"
latency_ms = 20
fault = "first"
body = "Zurich;-5.0\nconstructor;0.5\nhasOwnProperty;1.0\n😀land;-2.5\n"
[[sources]]
name = "?&#=+"
latency_ms = 5
body = "～wave;9.9\r\n\r\nZürich;-0.1\n"
"#;

fn sockets(program: &Program) -> Sockets {
    if program.socket_phases {
        Sockets::Seen
    } else {
        Sockets::Hidden
    }
}

/// The whole battery for one program; first, its interpreter, or a failure saying how to get it.
fn battery(program: &Program, style: StyleFn) {
    if let Err(missing) = program.interpreter.find() {
        panic!(
            "{}: {} is needed ({missing}); {}",
            program.name,
            program.interpreter.needs(),
            program.interpreter.install()
        );
    }
    check_style_on_tcp_seeing(program.name, style, sockets(program), SLOWDOWN);
    let awkward = Scenario::from_toml(AWKWARD_NAMES, "awkward.toml").expect("a valid scenario");
    let (report, _) = check_on_tcp_seeing(
        program.name,
        style,
        sockets(program),
        &awkward,
        1.0,
        feed_server(),
    );
    // The reference's order, which the comparison above already held the program to, spelled
    // out: by UTF-8 bytes, so `～wave` (EF BD 9E) before `😀land` (F0 9F 98 80).
    let stations: Vec<&str> = report
        .stations
        .iter()
        .map(|row| row.station.as_str())
        .collect();
    assert_eq!(
        stations,
        [
            "Zurich",
            "Zürich",
            "__proto__",
            "constructor",
            "～wave",
            "😀land"
        ]
    );
    for &(sources, seed, concurrency, workers, capacity) in GENERATED {
        let mut scenario = Scenario::generate(sources, seed);
        scenario.settings.concurrency = concurrency;
        scenario.settings.workers = workers;
        scenario.settings.channel_capacity = capacity;
        let time_scale = SLOWDOWN * 0.2;
        let (_, trace) = check_on_tcp_seeing(
            program.name,
            style,
            sockets(program),
            &scenario,
            time_scale,
            feed_server(),
        );
        assert_eq!(
            trace.summary().threads,
            1,
            "{}: one event loop, one thread of events",
            program.name
        );
    }
}

#[test]
fn node_callbacks_agrees_with_the_reference() {
    battery(
        &rosetta_other_languages::NODE_CALLBACKS,
        rosetta_other_languages::node_callbacks,
    );
}

#[test]
fn node_promises_agrees_with_the_reference() {
    battery(
        &rosetta_other_languages::NODE_PROMISES,
        rosetta_other_languages::node_promises,
    );
}

#[test]
fn node_async_agrees_with_the_reference() {
    battery(
        &rosetta_other_languages::NODE_ASYNC,
        rosetta_other_languages::node_async,
    );
}

#[test]
fn python_asyncio_agrees_with_the_reference() {
    battery(
        &rosetta_other_languages::PYTHON_ASYNCIO,
        rosetta_other_languages::python_asyncio,
    );
}

#[test]
fn the_programs_run_on_tcp_only() {
    let scenario = Scenario::builtin("classroom").unwrap();
    for program in rosetta_other_languages::ALL {
        let error = program
            .run(&scenario, &RunOptions::with_time_scale(1.0), &Trace::new())
            .unwrap_err();
        assert!(
            error.to_string().contains("tcp transport only"),
            "{}: {error}",
            program.name
        );
    }
}

/// A fixture program (`tests/fixtures/NAME.mjs`) run as a style on `classroom`: what the runner
/// makes of a program that misbehaves.
fn run_fixture(file: &'static str) -> RunError {
    let program = Program {
        name: "fixture",
        model: "a program that misbehaves",
        runtime: "Node.js",
        interpreter: Interpreter::Node,
        file,
        socket_phases: false,
        attempt_cpu_ms: 1.0,
    };
    let scenario = Scenario::builtin("classroom").unwrap();
    let feeds = feed_server().host(std::sync::Arc::new(scenario.clone()), 1.0);
    let opts = RunOptions::with_time_scale(1.0).on(Transport::Tcp(feeds));
    program
        .run(&scenario, &opts, &Trace::new())
        .expect_err("the fixture misbehaves")
}

#[test]
fn a_program_that_fails_shows_what_it_said() {
    let error = run_fixture("tests/fixtures/exits-with-a-message.mjs").to_string();
    assert!(error.contains("exited with exit status: 1"), "{error}");
    assert!(error.contains("cannot fetch the plan"), "{error}");
}

#[test]
fn a_trace_line_out_of_range_fails_the_run_instead_of_being_drawn() {
    let error = run_fixture("tests/fixtures/bad-trace-line.mjs").to_string();
    assert!(error.contains("no source 999 (the run has 12)"), "{error}");
}

#[test]
fn a_report_without_a_key_is_refused_by_name() {
    let error = run_fixture("tests/fixtures/report-missing-a-key.mjs").to_string();
    assert!(error.contains("missing field `cache_hits`"), "{error}");
}

/// `node/spec.test.mjs`: the JavaScript specification module's own unit tests (no sockets), on
/// Node's built-in test runner.
#[test]
fn the_javascript_specification_module_passes_its_unit_tests() {
    let node = Interpreter::Node
        .find()
        .unwrap_or_else(|missing| panic!("{missing}; {}", Interpreter::Node.install()));
    let output = std::process::Command::new(&node.command)
        .args(["--test", "spec.test.mjs"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/node"))
        .output()
        .expect("node runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("# fail 0"), "{said}");
}

/// `python/test_spec.py`: the Python specification module's own unit tests (no sockets), run
/// with every warning an error.
#[test]
fn the_python_specification_module_passes_its_unit_tests() {
    let python = Interpreter::Python
        .find()
        .unwrap_or_else(|missing| panic!("{missing}; {}", Interpreter::Python.install()));
    let output = std::process::Command::new(&python.command)
        .args(["-W", "error", "-m", "unittest", "test_spec"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/python"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python3 runs");
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("OK"), "{said}");
}
