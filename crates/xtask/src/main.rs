//! Developer automation for async-rosetta, run as `cargo xtask <task>` (the alias lives in
//! `.cargo/config.toml`). This is the xtask pattern: automation written in Rust, so it needs
//! nothing installed beyond cargo.
//!
//! Tasks:
//!
//! - `cargo xtask tidy`: the repository rules that the compiler cannot check (see [`tidy`]).
//!   They also run as ordinary tests, so `cargo test --workspace` enforces them.

mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    match task.as_deref() {
        Some("tidy") => match tidy::check(&tidy::workspace_root()) {
            Ok(()) => {
                println!("tidy: ok");
                ExitCode::SUCCESS
            }
            Err(problems) => {
                for problem in problems {
                    eprintln!("tidy: {problem}");
                }
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask <task>\n\ntasks:\n  tidy    check the repository rules");
            ExitCode::from(2)
        }
    }
}
