//! Build script of the exercise runner: rebuild it when the shipped exercises change.
//!
//! `src/reset.rs` embeds `originals/` (every exercise's files as shipped) with `include_dir!`,
//! which expands to one `include_bytes!` per file: rustc then notices when one of those files
//! changes, but not when a file is added to the folder or removed from it (a proc macro can
//! tell the compiler about a folder only on nightly). Naming the folder here makes cargo rerun
//! this script, and so recompile the crate, on any change under it, added and removed files
//! included.
//!
//! Only `originals/`, never `../../exercises/`: that is the learner's working copy, and a build
//! that watched it would embed their edits as the originals (see `src/reset.rs`).

fn main() {
    println!("cargo:rerun-if-changed=originals");
}
