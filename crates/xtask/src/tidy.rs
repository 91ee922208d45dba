//! Tidy checks: rules of the repository that the compiler cannot enforce.
//!
//! - **The names say the style.** `combinators` and `state-machines` contain no `async` keyword
//!   and no `.await` (they show what async/await is made of, so they must not use it), and
//!   `callbacks` contains no future at all.
//! - **Every file says what it is.** Every `.rs` file under `crates/` starts with a `//!` line.
//!
//! The checks read code with comments removed, so a comment may *talk* about `.await`.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `crates/xtask`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/xtask is two levels below the root")
        .to_path_buf()
}

/// Every file below `dir` whose name ends in `.EXTENSION`, sorted, skipping `target` folders.
pub fn files_with_extension(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || entry.file_name() != "target")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|path| path.extension().is_some_and(|ext| ext == extension))
        .collect();
    files.sort();
    files
}

/// Every `.rs` file below `dir`, sorted, skipping `target` folders.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_with_extension(dir, "rs")
}

/// The code of a Rust file with `//` comments (doc comments included) removed, line by line.
///
/// Deliberately simple: a `//` inside a string literal also ends the line's code, which can only
/// hide a violation in the rest of that line, never invent one.
pub fn code_without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.split_once("//").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// True if `word` occurs in `code` as a whole identifier.
fn has_word(code: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Words that must not appear in a crate's code, and why.
struct Rule {
    crate_dir: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        crate_dir: "crates/combinators",
        forbidden: &["async", "await"],
        why: "the Promise style is written with combinators only",
    },
    Rule {
        crate_dir: "crates/state-machines",
        forbidden: &["async", "await"],
        why: "the state machines are what async/await generates, written by hand",
    },
    Rule {
        crate_dir: "crates/callbacks",
        forbidden: &[
            "async", "await", "Future", "futures", "Poll", "Waker", "Context",
        ],
        why: "the callback style uses no futures at all",
    },
];

/// Runs every tidy check on the repository at `root`; returns every problem found.
pub fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for rule in RULES {
        for file in rust_files(&root.join(rule.crate_dir)) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let code = code_without_comments(&text);
            for word in rule.forbidden {
                if has_word(&code, word) {
                    problems.push(format!(
                        "{}: uses `{word}`, but {}",
                        relative(root, &file),
                        rule.why
                    ));
                }
            }
        }
    }
    for file in rust_files(&root.join("crates")) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.starts_with("//!") {
            problems.push(format!(
                "{}: does not start with a `//!` line saying what the file is",
                relative(root, &file)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_tidy() {
        if let Err(problems) = check(&workspace_root()) {
            panic!("tidy problems:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn words_are_found_only_as_whole_identifiers_in_code() {
        let code =
            code_without_comments("let x = f().await; // async here is fine\nfn asynchronous() {}");
        assert!(has_word(&code, "await"));
        assert!(!has_word(&code, "async"));
        assert!(has_word("async fn f() {}", "async"));
        assert!(!has_word("use futures_lite;", "futures"));
        assert!(has_word("impl Future for X", "Future"));
    }

    #[test]
    fn a_violation_is_reported_with_its_file() {
        let root = std::env::temp_dir().join(format!("rosetta-tidy-{}", std::process::id()));
        let dir = root.join("crates/combinators/src");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rs"), "//! x\nasync fn f() {}\n").unwrap();
        std::fs::write(dir.join("no_header.rs"), "fn g() {}\n").unwrap();
        let problems = check(&root).unwrap_err();
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            problems,
            [
                "crates/combinators/src/lib.rs: uses `async`, but the Promise style is written with combinators only",
                "crates/combinators/src/no_header.rs: does not start with a `//!` line saying what the file is",
            ]
        );
    }
}
