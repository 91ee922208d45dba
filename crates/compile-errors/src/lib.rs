//! The compiler's messages that the book shows, pinned word for word.
//!
//! This crate has no code of its own. Each program in `tests/ui/` is a mistake
//! the book teaches (a lock or an `Rc` held across `.await`, a future never
//! awaited, a borrow handed to `tokio::spawn`, a trait whose futures are not
//! `Send`, ...): it must fail to compile with exactly the message in the
//! `.stderr` file beside it, which the chapters include.
//! `tests/compile_errors.rs` checks them with `trybuild`.
//!
//! They live in a crate of their own, with only the dependencies the programs
//! use (tokio and futures), because trybuild builds a project that depends on
//! everything the crate depends on: as tests of `rosetta-async-await`, every
//! check first compiled three runtimes, hyper and the pipeline.
