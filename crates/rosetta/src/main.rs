//! The `rosetta` command-line tool.
fn main() {}
