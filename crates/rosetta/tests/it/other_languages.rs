//! The JavaScript and Python styles as a user meets them on the command line: in the table
//! beside the Rust styles, "not installed" on a machine without their interpreter (the Rust
//! styles still run), refused on `sim`, and drawn with a Rust style on one time axis.

use std::process::Command;

use crate::cli::{rosetta, stderr, stdout};

#[test]
fn a_missing_interpreter_is_a_row_saying_so_and_the_other_styles_still_run() {
    let output = Command::new(env!("CARGO_BIN_EXE_rosetta"))
        .args(["compare", "--time-scale", "1"])
        .env("ROSETTA_NODE", "/nonexistent/node-for-this-test")
        .output()
        .expect("rosetta runs");
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    for name in ["node-callbacks", "node-promises", "node-async"] {
        assert!(text.contains(&format!("- {name}")), "{name}:\n{text}");
        assert!(
            text.contains(&format!("- {name} needs Node.js 18 or later")),
            "{name} says what it needs:\n{text}"
        );
    }
    assert!(text.contains("not installed"), "{text}");
    assert!(
        text.contains("install"),
        "the command that installs it:\n{text}"
    );
    for style in rosetta::styles::ALL {
        assert!(text.contains(&format!("✓ {}", style.name)), "{text}");
    }
    assert!(text.contains("✓ python-asyncio"), "{text}");
    assert!(!text.contains('✗'), "{text}");
}

#[test]
fn the_other_languages_run_on_tcp_only() {
    let output = rosetta(&["run", "node-async", "--transport", "sim"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(said.contains("runs on the tcp transport only"), "{said}");
    assert_eq!(said.lines().count(), 1, "one line: {said}");

    let output = rosetta(&["compare", "--transport", "sim", "--time-scale", "0.25"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert_eq!(
        text.lines().filter(|line| line.starts_with("✓ ")).count(),
        rosetta::styles::ALL.len(),
        "{text}"
    );
    assert!(!text.contains("✓ node-async"), "{text}");
    assert!(
        text.contains("The JavaScript and Python styles run on tcp only"),
        "{text}"
    );
}

#[test]
fn trace_draws_a_program_and_a_rust_style_on_one_time_axis() {
    let path = std::env::temp_dir().join(format!("rosetta-both-{}.svg", std::process::id()));
    let output = rosetta(&[
        "trace",
        "callbacks",
        "node-callbacks",
        "--svg",
        path.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let svg = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    // Both runs, the Rust one first as asked, each with its own title and lanes; the program's
    // events on one thread, its event loop's.
    let rust = svg.find(">callbacks: ").expect("the callbacks run");
    let node = svg
        .find(">node-callbacks: ")
        .expect("the node-callbacks run");
    assert!(rust < node, "in the order given");
    assert_eq!(svg.matches(">oslo-feed<").count(), 2, "a lane per run");
    assert!(svg.contains("node-callbacks (child process)"), "its thread");

    let output = rosetta(&["trace", "callbacks", "smol", "--chrome", "x.json"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}
