//! The seed article's bug, executed: its Python example
//! (`book/src/listings/seed_bug.py`), an `async def` called without `await`,
//! and the same mistake in Rust (`fixtures/seed_bug.rs`), compiled. One test
//! pins both messages, side by side: Python's at run time, Rust's before
//! anything runs.
//!
//! This test *requires* `python3` and `rustc` (CI has both): a missing one
//! fails it, saying which, rather than skipping it silently. The whole pipeline
//! in JavaScript and Python is tested in `crates/other-languages`.

use std::path::Path;
use std::process::Command;

#[test]
fn the_seed_bug_is_a_warning_in_python_at_run_time_and_in_rust_at_compile_time()
{
    // Python: the program runs, processes nothing, and warns as the coroutine
    // is collected.
    let listings =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../book/src/listings");
    let output = Command::new("python3")
        .arg("seed_bug.py")
        .current_dir(&listings)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run `python3 seed_bug.py` ({error}): install python3"
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout, "processed: []\n");
    assert!(
        stderr.contains(
            "RuntimeWarning: coroutine 'process_data' was never awaited"
        ),
        "{stderr}"
    );

    // Rust: the same mistake does not get as far as running. The compiler warns
    // (the default level of `unused_must_use`; this workspace denies it), in
    // the words the book quotes.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = std::env::temp_dir()
        .join(format!("seed-bug-{}.rmeta", std::process::id()));
    let output = Command::new(&rustc)
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "-o",
        ])
        .arg(&out)
        // A relative path, so that the message names the file as the book shows
        // it.
        .arg("fixtures/seed_bug.rs")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap_or_else(|error| panic!("cannot run `{rustc}`: {error}"));
    let _ = std::fs::remove_file(&out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "a warning, not an error: {stderr}");
    // Word for word what chapter 13 (`book/src/pitfalls.md`) shows.
    let expected = "\
warning: unused implementer of `Future` that must be used
  --> fixtures/seed_bug.rs:16:9
   |
16 |         process_data(result); // the bug: no `.await`, so nothing is processed
   |         ^^^^^^^^^^^^^^^^^^^^
   |
   = note: futures do nothing unless you `.await` or poll them
   = note: `#[warn(unused_must_use)]` (part of `#[warn(unused)]`) on by default
";
    assert!(
        stderr.contains(expected),
        "not as the book shows it:\n{stderr}"
    );
    let book = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../book/src/pitfalls.md"),
    )
    .expect("the pitfalls chapter");
    assert!(book.contains(expected), "chapter 13 shows another message");
}
