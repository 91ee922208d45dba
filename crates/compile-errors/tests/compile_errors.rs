//! The compiler's messages that the book shows, pinned word for word with
//! `trybuild`.
//!
//! Each `tests/ui/NAME.rs` must fail to compile with exactly the message in
//! `NAME.stderr`, which the book includes (chapters 7.1, 8.2 and 13), so the book cannot drift
//! from what rustc says. trybuild replaces what differs between machines (the
//! crate's directory, `$CARGO`, tokio's version and the line numbers inside
//! tokio), so the files are the same everywhere. They were written by rustc
//! 1.95.0, and messages change between compiler versions: after an upgrade this
//! test may fail. Regenerate them with `TRYBUILD=overwrite cargo test -p
//! rosetta-compile-errors`, read the diff, and reread the chapter.

#[test]
fn compile_errors_match_the_book() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
