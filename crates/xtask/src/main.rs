//! Developer automation for async-rosetta, run as `cargo xtask <task>` (the alias lives in
//! `.cargo/config.toml`). This is the xtask pattern: automation written in Rust, so it needs
//! nothing installed beyond cargo.
//!
//! Tasks:
//!
//! - `cargo xtask tidy`: the repository rules that the compiler cannot check (see [`tidy`]).
//!   They also run as ordinary tests, so `cargo test --workspace` enforces them.
//! - `cargo xtask book`: builds the mdBook in `book/` into `target/book` with `mdbook-driver`
//!   (no `mdbook` install needed), checking its includes, links, chapters and listings on the
//!   way (see [`book`]). A test builds it the same way, so `cargo test --workspace` fails on a
//!   broken book.
//! - `cargo xtask book --browser`: the same, then the built book opened in a headless Chromium
//!   and checked page by page as a reader sees it (see [`browser`]). A test runs it too, when a
//!   Chromium is installed (and always in CI, where it fails without one).
//! - `cargo xtask figures`: reruns the commands whose output and pictures the book shows, and
//!   writes them to `book/src/figures/` (see [`figures`]). Commit the result.
//! - `cargo xtask diff STYLE_A STYLE_B [FILE]`: one file of the skeleton (`fetch.rs` unless
//!   named) of two styles, side by side, aligned line for line (see [`diff`]).
//! - `cargo xtask verify-exercises [--quick] [--scratch DIR]`: for maintainers, every exercise
//!   is complete, fails unsolved and passes with its solution (see [`exercises`]; `--quick`
//!   skips the builds). Its slow part also runs as a test of `rosetta-learn`.

mod book;
mod browser;
mod diff;
mod exercises;
mod figures;
mod listing_width;
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  tidy      check the repository rules
  book [--browser]
            build the book into target/book, checking includes, links and listings;
            --browser: then check it in a headless Chromium (console, figures, links,
            search, code blocks at 1280 px, chapter 1 on a phone)
  figures   regenerate book/src/figures/ (timelines, comparison, benchmarks)
  diff A B [FILE]
            two styles' FILE (fetch.rs, cache.rs, workers.rs or lib.rs) side by side
  verify-exercises [--quick] [--scratch DIR]
            every exercise fails unsolved and passes with its solution";

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let root = tidy::workspace_root();
    match task.as_deref() {
        Some("tidy") => match tidy::check(&root) {
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
        Some("book") => {
            let dest = root.join("target/book");
            let in_browser = std::env::args().skip(2).any(|arg| arg == "--browser");
            match book::build_and_check(&root.join("book"), &root, &dest) {
                Ok(index) if in_browser => browser_check(&root.join("book"), &dest, &index),
                Ok(index) => {
                    println!("book: ok; open {}", index.display());
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    for problem in problems {
                        eprintln!("book: {problem}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Some("figures") => match figures::generate(&root) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("figures: {error:#}");
                ExitCode::FAILURE
            }
        },
        Some("diff") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            match diff::run(&root, &args) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("diff: {error:#}");
                    ExitCode::from(2)
                }
            }
        }
        Some("verify-exercises") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            match exercises::run(&root, &args, &mut std::io::stdout().lock()) {
                Ok(code) => code,
                Err(error) => {
                    eprintln!("verify-exercises: {error:#}");
                    ExitCode::from(2)
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `cargo xtask book --browser`, after the build and the static checks passed: the book in a
/// headless Chromium. Exit 1 with one line per problem, 2 if the check cannot run.
fn browser_check(
    book_dir: &std::path::Path,
    dest: &std::path::Path,
    index: &std::path::Path,
) -> ExitCode {
    let Some(chromium) = browser::find_chromium() else {
        eprintln!(
            "book --browser: no Chromium found; install it (`{}`) or set ROSETTA_CHROMIUM",
            browser::INSTALL
        );
        return ExitCode::from(2);
    };
    let report = browser::chapter_pages(book_dir)
        .and_then(|pages| browser::check(&chromium, dest, &pages, browser::PHONE_PAGE));
    match report {
        Ok(report) if report.problems.is_empty() => {
            println!("browser: {}", report.summary());
            println!("book: ok; open {}", index.display());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            for problem in &report.problems {
                eprintln!("browser: {problem}");
            }
            eprintln!("browser: {}", report.summary());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("book --browser: the check could not run: {error:#}");
            ExitCode::from(2)
        }
    }
}
