//! Memory that grows with the feed, not with its records: every style on one long body.
//!
//! A style that keeps something per record (a parsed `Vec<Record>`, a task, a future or a
//! callback per record, a trace event per hand-off) needs memory in proportion to the number of
//! lines: on a 50 MB feed that was 2 to 5 GB, about a hundred times the file. The styles now
//! enrich in two passes (`rosetta_pipeline::enrich`) and group hand-off events
//! (`Trace::hand_off`), so what they hold is bounded by stations, workers and queues.
//!
//! This test runs `rosetta bench --scenario FILE` on a generated 4 MB feed (about 450,000
//! lines) and requires every style's peak resident memory, measured in a process of its own,
//! to stay under ten times the file. The bound is about memory, which does not depend on the
//! machine's speed or load; a per-record design fails it by an order of magnitude.

use std::process::Command;

use rosetta_pipeline::Scenario;

/// `Scenario::long_feed_toml(lines)` in a fresh temporary folder: its path and size.
fn long_feed(lines: usize) -> (std::path::PathBuf, u64) {
    let text = Scenario::long_feed_toml(lines);
    let dir = std::env::temp_dir().join(format!("rosetta-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("long-feed.toml");
    std::fs::write(&path, &text).unwrap();
    (path, text.len() as u64)
}

#[test]
fn no_style_holds_memory_in_proportion_to_the_records() {
    let (path, bytes) = long_feed(450_000);
    let output = Command::new(env!("CARGO_BIN_EXE_rosetta"))
        .args(["bench", "--scenario", path.to_str().unwrap()])
        .args(["--time-scale", "0.2"])
        .output()
        .expect("rosetta runs");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Rows: style, wall ms, peak MiB, × input, status.
    let mut seen = 0;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(style) = rosetta::styles::ALL
            .iter()
            .find(|s| words.first() == Some(&s.name))
        else {
            continue;
        };
        seen += 1;
        let peak_mib: f64 = words[2].parse().unwrap_or_else(|_| panic!("{line}"));
        let times_input = peak_mib * 1024.0 * 1024.0 / bytes as f64;
        assert!(
            times_input < 10.0,
            "{} peaked at {peak_mib:.1} MiB on a {:.1} MiB feed: {times_input:.1} times the \
             input\n{text}",
            style.name,
            bytes as f64 / 1048576.0
        );
        assert_eq!(words[4], "ok", "{line}");
    }
    assert_eq!(seen, rosetta::styles::ALL.len(), "a row per style:\n{text}");
}
