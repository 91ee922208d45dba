//! Tidy checks: rules of the repository that the compiler cannot enforce.
//!
//! - **The names say the style.** `combinators` and `state-machines` contain no `async` keyword
//!   and no `.await` (they show what async/await is made of, so they must not use it), and
//!   `callbacks` contains no future at all.
//! - **Every file says what it is.** Every `.rs` file under `crates/` starts with a `//!` line.
//! - **One skeleton for every style.** Every style crate has `lib.rs`, `fetch.rs`, `cache.rs`
//!   and `workers.rs`, each defining the same public steps ([`SKELETON`]), so that a reader who
//!   knows one style finds each step of another in the same place under the same name.
//! - **The specification reads in a straight line.** The modules of `crates/pipeline` import
//!   one another without a cycle ([`module_cycle`]).
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

/// The same rules for the JavaScript styles (`crates/other-languages/node`): each file with
/// the words it must not use. `spec.mjs` is imported by the callbacks style, so it is held to
/// the callbacks rule; `channel.mjs` is imported by the Promise-chains style.
const SCRIPT_RULES: &[(&str, &[&str], &str)] = &[
    (
        "crates/other-languages/node/callbacks.mjs",
        CALLBACKS_ONLY,
        "node-callbacks uses error-first callbacks only, no Promise",
    ),
    (
        "crates/other-languages/node/spec.mjs",
        CALLBACKS_ONLY,
        "spec.mjs is imported by node-callbacks, which uses no Promise",
    ),
    (
        "crates/other-languages/node/promises.mjs",
        &["async", "await"],
        "node-promises is written with Promise chains only",
    ),
    (
        "crates/other-languages/node/channel.mjs",
        &["async", "await"],
        "channel.mjs is imported by node-promises, which is written with Promise chains only",
    ),
];

/// What a callbacks-only JavaScript file must not use: Promises by any name (`fetch` returns
/// one; `promises` catches `timers/promises` and `fs/promises`; `promisify` makes them).
const CALLBACKS_ONLY: &[&str] = &[
    "Promise",
    "async",
    "await",
    "then",
    "fetch",
    "promises",
    "promisify",
];

/// The code of a JavaScript file without its comments: `/* ... */` blocks, then `//` to the end
/// of a line. As simple as [`code_without_comments`], and as safe: a comment marker inside a
/// string can only hide a violation in what follows, never invent one.
pub fn script_without_comments(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("/*") {
        code.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .split_once("*/")
            .map_or("", |(_, after)| after);
    }
    code.push_str(rest);
    code_without_comments(&code)
}

/// The style crates, each of which has the [`SKELETON`].
pub const STYLE_CRATES: &[&str] = &[
    "threads",
    "callbacks",
    "combinators",
    "state-machines",
    "async-await",
];

/// The skeleton: the files every style crate has, and the public items each must define. The
/// four files are the pipeline; whatever else a crate has (its folder) is its machinery.
pub const SKELETON: &[(&str, &[Item])] = &[
    (
        "lib.rs",
        &[Item::Const("NAME"), Item::Const("MODEL"), Item::Fn("run")],
    ),
    ("fetch.rs", &[Item::Fn("fetch_with_retry")]),
    (
        "cache.rs",
        &[Item::Struct("SingleFlightCache"), Item::Fn("region_of")],
    ),
    ("workers.rs", &[Item::Fn("hand_off"), Item::Fn("worker")]),
];

/// A public item a skeleton file must define.
#[derive(Debug, Clone, Copy)]
pub enum Item {
    /// `pub const NAME`.
    Const(&'static str),
    /// `pub fn NAME` (or `pub async fn`), generic or not.
    Fn(&'static str),
    /// `pub struct NAME`, generic or not.
    Struct(&'static str),
}

impl Item {
    /// True if `code` (comments removed) defines this item publicly on one line.
    fn is_defined_in(self, code: &str) -> bool {
        let (keyword, name) = match self {
            Item::Const(name) => ("const", name),
            Item::Fn(name) => ("fn", name),
            Item::Struct(name) => ("struct", name),
        };
        code.lines().map(str::trim_start).any(|line| {
            let Some(rest) = line
                .strip_prefix("pub ")
                .or_else(|| line.strip_prefix("pub(crate) "))
            else {
                return false;
            };
            let rest = rest.strip_prefix("async ").unwrap_or(rest);
            let Some(after) = rest
                .strip_prefix(keyword)
                .and_then(|r| r.strip_prefix(' '))
                .and_then(|r| r.strip_prefix(name))
            else {
                return false;
            };
            after.starts_with(['(', '<', ':', ' ', '{', ';'])
        })
    }

    fn describe(self) -> String {
        match self {
            Item::Const(name) => format!("`pub const {name}`"),
            Item::Fn(name) => format!("`pub fn {name}`"),
            Item::Struct(name) => format!("`pub struct {name}`"),
        }
    }
}

/// Where the style crates at `root` depart from the [`SKELETON`].
pub fn skeleton_problems(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for style in STYLE_CRATES {
        for (file, items) in SKELETON {
            let path = root.join("crates").join(style).join("src").join(file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                problems.push(format!(
                    "{}: missing; every style crate has lib.rs, fetch.rs, cache.rs and workers.rs",
                    relative(root, &path)
                ));
                continue;
            };
            let code = code_without_comments(&text);
            for item in *items {
                if !item.is_defined_in(&code) {
                    problems.push(format!(
                        "{}: defines no {}, a step of the skeleton every style shares",
                        relative(root, &path),
                        item.describe()
                    ));
                }
            }
        }
    }
    problems
}

/// The modules of `crates/pipeline/src` (each `foo.rs` is module `foo`) and, for each, the
/// modules its code (comments removed) names through `crate::`. A path through the crate root
/// (`crate::Report`, `crate::{..}`) hides which module it reaches, so it is a problem of its
/// own, returned in the second list.
type ImportGraph = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;

fn pipeline_imports(src: &Path) -> (ImportGraph, Vec<String>) {
    let mut modules = ImportGraph::new();
    let mut through_root = Vec::new();
    for file in rust_files(src) {
        if file.parent() != Some(src) || file.ends_with("lib.rs") {
            continue; // The root re-exports: it is above everything by definition.
        }
        let Some(name) = file.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        let code = code_without_comments(&std::fs::read_to_string(&file).unwrap_or_default());
        let mut uses = std::collections::BTreeSet::new();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let next: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if next.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                if next != name {
                    uses.insert(next);
                }
            } else {
                let path: String = rest.chars().take(24).collect();
                through_root.push(format!(
                    "crates/pipeline/src/{name}.rs: imports through the crate root \
                     (`crate::{}`); name the module, so that the import graph shows the edge",
                    path.trim_end()
                ));
            }
        }
        modules.insert(name, uses);
    }
    (modules, through_root)
}

/// A cycle among the modules of `crates/pipeline/src` ([`pipeline_imports`]), as the modules
/// on it in order, or `None`. The specification should read in a straight line, from the
/// scenario and the temperature up to the report and the reference run.
pub fn module_cycle(src: &Path) -> Option<Vec<String>> {
    let (modules, _) = pipeline_imports(src);
    // Depth-first search with the path so far; a module met again on the path closes a cycle.
    fn visit(
        module: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module.to_string());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_string());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    for module in modules.keys() {
        if let Some(cycle) = visit(module, &modules, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

/// Runs every tidy check on the repository at `root`; returns every problem found.
pub fn check(root: &Path) -> Result<(), Vec<String>> {
    let mut problems = skeleton_problems(root);
    let pipeline = root.join("crates/pipeline/src");
    if pipeline.is_dir() {
        problems.extend(pipeline_imports(&pipeline).1);
    }
    if pipeline.is_dir()
        && let Some(cycle) = module_cycle(&pipeline)
    {
        problems.push(format!(
            "crates/pipeline/src: its modules import one another in a cycle ({}); the \
             specification should read in a straight line",
            cycle.join(" -> ")
        ));
    }
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
    for (file, forbidden, why) in SCRIPT_RULES {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else {
            problems.push(format!("{file}: missing"));
            continue;
        };
        let code = script_without_comments(&text);
        for word in *forbidden {
            if has_word(&code, word) {
                problems.push(format!("{file}: uses `{word}`, but {why}"));
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
    fn a_promise_in_the_callbacks_program_is_found_and_one_in_a_comment_is_not() {
        let callbacks = "/** No Promise here: callbacks only. */\n\
                         // not fetch either\n\
                         http.get(url, (res) => done(null, res));\n";
        let code = script_without_comments(callbacks);
        assert!(
            !CALLBACKS_ONLY.iter().any(|word| has_word(&code, word)),
            "{code}"
        );
        for sneaked in [
            "const body = await text;",
            "fetch(url).then(done);",
            "import { setTimeout } from 'node:timers/promises';",
            "new Promise((resolve) => resolve());",
        ] {
            let code = script_without_comments(sneaked);
            assert!(
                CALLBACKS_ONLY.iter().any(|word| has_word(&code, word)),
                "not caught: {sneaked}"
            );
        }
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
        for expected in [
            "crates/combinators/src/lib.rs: uses `async`, but the Promise style is written with combinators only",
            "crates/combinators/src/no_header.rs: does not start with a `//!` line saying what the file is",
            "crates/combinators/src/lib.rs: defines no `pub const NAME`, a step of the skeleton every style shares",
            "crates/combinators/src/workers.rs: missing; every style crate has lib.rs, fetch.rs, cache.rs and workers.rs",
        ] {
            assert!(
                problems.iter().any(|p| p == expected),
                "{expected}\nnot in {problems:#?}"
            );
        }
    }

    #[test]
    fn the_skeleton_accepts_generic_and_async_steps_and_names_what_is_missing() {
        assert!(Item::Fn("run").is_defined_in("pub fn run<R: Runtime>(scenario: &Scenario)"));
        assert!(Item::Fn("region_of").is_defined_in("    pub async fn region_of(&self)"));
        assert!(
            Item::Struct("SingleFlightCache").is_defined_in("pub struct SingleFlightCache<'a> {")
        );
        assert!(Item::Const("NAME").is_defined_in("    pub const NAME: &str = \"tokio\";"));
        assert!(!Item::Fn("run").is_defined_in("pub fn run_async()"));
        assert!(
            !Item::Fn("worker").is_defined_in("fn worker()"),
            "not public"
        );
        assert!(
            !Item::Fn("hand_off").is_defined_in(&code_without_comments("// pub fn hand_off()"))
        );
    }

    #[test]
    fn a_cycle_among_the_pipeline_modules_is_found() {
        let dir = std::env::temp_dir().join(format!("rosetta-cycle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("lib.rs"),
            "//! x\npub mod a; pub mod b; pub mod c;\n",
        )
        .unwrap();
        std::fs::write(dir.join("a.rs"), "//! a\nuse crate::b::B;\n").unwrap();
        std::fs::write(
            dir.join("b.rs"),
            "//! b\nuse crate::c::C; // crate::a::A in a comment\n",
        )
        .unwrap();
        std::fs::write(dir.join("c.rs"), "//! c\n").unwrap();
        assert_eq!(module_cycle(&dir), None, "a -> b -> c is a line");
        std::fs::write(dir.join("c.rs"), "//! c\nfn f() { crate::a::g() }\n").unwrap();
        let cycle = module_cycle(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            cycle,
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
    }

    #[test]
    fn an_import_through_the_crate_root_is_named() {
        let dir = std::env::temp_dir().join(format!("rosetta-root-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rs"), "//! x\n").unwrap();
        std::fs::write(dir.join("a.rs"), "//! a\nuse crate::{Report, b::B};\n").unwrap();
        let (_, problems) = pipeline_imports(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("a.rs: imports through the crate root"),
            "{problems:?}"
        );
    }
}
