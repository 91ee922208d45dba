//! The transports as a user meets them: `--transport tcp|sim`, `--feeds URL` against a server
//! that is already running, and `rosetta feeds serve` itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;

use rosetta_feeds::{Config, FeedServer};
use rosetta_pipeline::Scenario;

use crate::cli::{assert_one_line_exit_2, rosetta, stderr, stdout};

#[test]
fn compare_names_its_transport_and_agrees_on_both() {
    for (args, says) in [
        (&["--style", "threads"][..], "transport tcp"),
        (
            &["--style", "threads", "--transport", "sim"],
            "transport sim",
        ),
    ] {
        let mut all = vec!["compare", "--time-scale", "0.25"];
        all.extend_from_slice(args);
        let output = rosetta(&all);
        let text = stdout(&output);
        assert!(
            output.status.success(),
            "{all:?}: {text}{}",
            stderr(&output)
        );
        assert!(text.contains(says), "{all:?}: {text}");
        assert!(text.contains("✓ threads"), "{all:?}: {text}");
    }
}

#[test]
fn compare_uses_the_scenario_and_time_scale_of_a_running_server() {
    let faults = Scenario::builtin("faults").unwrap();
    let server = FeedServer::start(Config::default().serving(Arc::new(faults), 1.0)).unwrap();
    let output = rosetta(&["compare", "--feeds", server.url(), "--style", "threads"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}{}", stderr(&output));
    assert!(text.contains("on `faults`"), "{text}");
    assert!(
        text.contains(&format!("the feed server at {}", server.url())),
        "{text}"
    );
    assert!(text.contains("✓ threads"), "{text}");
    assert!(
        server.stats().requests > 0,
        "the styles fetched from this server"
    );
}

#[test]
fn feed_servers_elsewhere_are_refused_in_one_line() {
    assert_one_line_exit_2(
        &["compare", "--feeds", "http://10.0.0.1:7878"],
        &["loopback only"],
    );
    assert_one_line_exit_2(
        &["feeds", "serve", "--addr", "10.0.0.1:7878"],
        &["loopback only"],
    );
    assert_one_line_exit_2(
        &[
            "compare",
            "--feeds",
            "http://127.0.0.1:1",
            "--scenario",
            "faults",
        ],
        &["--feeds", "--scenario"],
    );
}

/// One GET on its own connection: the status line and the body.
fn get(addr: SocketAddr, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

#[test]
fn feeds_serve_answers_as_the_specification_says() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rosetta"))
        .args([
            "feeds",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--time-scale",
            "0.05",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first line names the URL. The pipe stays open until the end: a server whose stdout
    // is closed stops, as every command does when its reader goes away.
    let mut first = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    lines.read_line(&mut first).unwrap();
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"));
    let addr = rosetta_feeds::address_of(url).unwrap();
    let (status, listing) = get(addr, "/");
    assert!(status.contains("200"), "{status}");
    assert!(listing.contains("flaky-feed"), "{listing}");
    let (first_try, _) = get(addr, "/runs/t/feeds/flaky-feed");
    let (second_try, body) = get(addr, "/runs/t/feeds/flaky-feed");
    assert!(first_try.contains("503"), "{first_try}");
    assert!(second_try.contains("200"), "{second_try}");
    assert!(!body.is_empty());
    let _ = child.kill();
    let _ = child.wait();
    drop(lines);
}

#[test]
fn the_next_steps_are_said_the_way_the_command_was_started() {
    let next_step = |cargo: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rosetta"));
        command.args([
            "--transport",
            "sim",
            "--time-scale",
            "0.05",
            "--style",
            "callbacks",
        ]);
        // `cargo run` tells the programs it starts where their package is; an installed
        // `rosetta` run from a shell has no such variable.
        if cargo {
            command.env("CARGO_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
        } else {
            command.env_remove("CARGO_MANIFEST_DIR");
        }
        let output = command.output().unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success(), "{text}");
        text.lines()
            .find(|line| line.contains("trace callbacks"))
            .map(str::trim)
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no next step in {text}"))
    };
    assert!(next_step(true).starts_with("cargo run --release -- trace callbacks"));
    assert!(next_step(false).starts_with("rosetta trace callbacks"));
}
