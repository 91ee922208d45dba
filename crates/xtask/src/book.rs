//! `cargo xtask book`: build the mdBook in `book/` with `mdbook-driver`, and check it.
//!
//! mdBook is forgiving in ways a teaching book cannot afford. An `{{#include file.rs:anchor}}`
//! whose anchor was renamed in the code includes *nothing*, silently; one whose file is missing
//! logs an error, leaves the raw `{{#include ...}}` text in the page and still reports success.
//! A link to a heading that was reworded leads nowhere. So the build here is wrapped in checks
//! that turn each of those into a failure with the file, the line and the reason:
//!
//! 1. **Sources** ([`check_sources`], before the build): every `{{#include}}` resolves to a file
//!    and, if it names one, to an anchor with both `ANCHOR:` and `ANCHOR_END:` lines and
//!    something between them; every chapter file is listed in `SUMMARY.md` and every file
//!    `SUMMARY.md` lists exists; every code block says its language (mdBook and rustdoc take an
//!    unmarked block for Rust), and every ```` ```rust ```` block consists of includes from a
//!    crate's `.rs` file, so that it is compiled and tested with the crate. Nothing typed into
//!    the Markdown passes for tested code. Code blocks are found with `pulldown-cmark`, the
//!    parser mdBook itself renders with, so a fence in a list or a block quote counts as it
//!    does in the build; `SUMMARY.md` is read by mdBook's own summary parser
//!    (`mdbook-summary`).
//! 2. **The build** ([`build`]): `mdbook_driver::MDBook::load`, with the build directory
//!    overridden, then `build()`, exactly as `mdbook build` does it.
//! 3. **Output** ([`check_html`], after the build): every relative `href` and `src` in every
//!    page points to a file that exists, every `#fragment` to an `id` in that file, and no page
//!    still contains `{{#`, the trace of an include mdBook could not resolve.
//!
//! The test at the bottom builds the real book the same way, and proves each check on a small
//! broken fixture book (`fixtures/book-*`), among them one whose included anchor was renamed.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Component, Path, PathBuf};

use anyhow::Context as _;
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

/// One thing wrong with the book: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The file (relative to the book or to its build directory), with `:line` when known.
    pub place: String,
    /// What is wrong, as a sentence.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

/// Builds the book at `book_dir` into `dest` and checks it, before and after. `code_root` is the
/// directory whose `crates/` and `solutions/` hold the code the book's Rust listings come from
/// (the workspace root for the real book).
///
/// Returns the path of the built `index.html`, or every problem found. The build itself runs
/// only if the sources are sound (a broken include would only produce more noise).
pub fn build_and_check(
    book_dir: &Path,
    code_root: &Path,
    dest: &Path,
) -> Result<PathBuf, Vec<Problem>> {
    let problems = check_sources(book_dir, code_root);
    if !problems.is_empty() {
        return Err(problems);
    }
    build(book_dir, dest).map_err(|error| {
        vec![Problem {
            place: book_dir.display().to_string(),
            what: format!("mdBook failed: {error:#}"),
        }]
    })?;
    let problems = check_html(dest);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(dest.join("index.html"))
}

/// The repository's book, built and checked once per test run ([`build_and_check`] into
/// `target/test-book`), for every test that needs it: the checks here and the browser's.
#[cfg(test)]
pub(crate) fn the_built_book() -> &'static Result<PathBuf, Vec<Problem>> {
    static BUILT: std::sync::OnceLock<Result<PathBuf, Vec<Problem>>> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let root = crate::tidy::workspace_root();
        let dest = root.join("target/test-book");
        let _ = std::fs::remove_dir_all(&dest);
        build_and_check(&root.join("book"), &root, &dest)
    })
}

/// Builds the book with mdBook's own driver, into `dest` instead of `book.toml`'s `build-dir`.
pub fn build(book_dir: &Path, dest: &Path) -> anyhow::Result<()> {
    let mut book = mdbook_driver::MDBook::load(book_dir)
        .with_context(|| format!("cannot load the book in {}", book_dir.display()))?;
    book.config.build.build_dir = dest.to_path_buf();
    book.build().context("the build failed")
}

// ----------------------------------------------------------------------------------------------
// Sources

/// An `{{#include ...}}` (or `{{#rustdoc_include ...}}`) found in a Markdown file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Include {
    /// Line number in the Markdown file, from 1.
    pub(crate) line: usize,
    /// Everything after `include`, as written (`path:anchor`).
    pub(crate) argument: String,
    /// The path as written, relative to the Markdown file's folder.
    pub(crate) path: String,
    /// What follows the path's `:`, if anything: an anchor or a line range.
    pub(crate) selector: Option<String>,
    /// The anchor, if the include names one (`file.rs:anchor`).
    pub(crate) anchor: Option<String>,
}

/// Finds the includes of one line. `\{{#include}}` (escaped) is not an include.
pub(crate) fn includes_in_line(line_no: usize, line: &str) -> Vec<Include> {
    let mut found = Vec::new();
    let mut rest = line;
    let mut offset = 0;
    while let Some(at) = rest.find("{{#") {
        let absolute = offset + at;
        let escaped = absolute > 0 && line.as_bytes()[absolute - 1] == b'\\';
        let after = &rest[at + 3..];
        let Some(end) = after.find("}}") else { break };
        let body = after[..end].trim();
        let (command, argument) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        if !escaped && matches!(command, "include" | "rustdoc_include") {
            let argument = argument.trim();
            let (path, selector) = match argument.split_once(':') {
                Some((path, selector)) => (path, Some(selector)),
                None => (argument, None),
            };
            // `file:anchor` names an anchor; `file:10:20` and `file:10` are line ranges.
            let anchor = selector
                .filter(|s| !s.is_empty() && !s.starts_with(|c: char| c.is_ascii_digit()))
                .map(str::to_string);
            found.push(Include {
                line: line_no,
                argument: argument.to_string(),
                path: path.to_string(),
                selector: selector.map(str::to_string),
                anchor,
            });
        }
        let consumed = at + 3 + end + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    found
}

/// True if `line` holds `marker` (`ANCHOR` or `ANCHOR_END`), a colon, then exactly `name`.
fn has_marker(line: &str, marker: &str, name: &str) -> bool {
    marker_name(line, marker) == Some(name)
}

/// The name after `marker` (`ANCHOR` or `ANCHOR_END`) and its colon in `line`, the way mdBook
/// finds it (`ANCHOR:\s*([\w_-]+)`), or `None` if the line holds no such marker.
pub(crate) fn marker_name<'l>(line: &'l str, marker: &str) -> Option<&'l str> {
    let pattern = format!("{marker}:");
    line.match_indices(&pattern).find_map(|(at, _)| {
        // `ANCHOR:` must not be the tail of a longer word.
        let before_ok = !line[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = line[at + pattern.len()..].trim_start();
        let len = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(after.len());
        (before_ok && len > 0).then(|| &after[..len])
    })
}

/// Checks that `text` has a non-empty region between `ANCHOR: name` and `ANCHOR_END: name`.
fn anchor_problem(text: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| has_marker(l, "ANCHOR", name)) else {
        return Some(format!("has no `ANCHOR: {name}` line"));
    };
    let Some(len) = lines[start + 1..]
        .iter()
        .position(|l| has_marker(l, "ANCHOR_END", name))
    else {
        return Some(format!(
            "has `ANCHOR: {name}` but no `ANCHOR_END: {name}` after it"
        ));
    };
    let body = &lines[start + 1..start + 1 + len];
    if body.iter().all(|l| l.trim().is_empty()) {
        return Some(format!("has an empty anchor `{name}`"));
    }
    None
}

/// Turns `a/b/../c` into `a/c` without touching the file system (so a missing file can still be
/// named in the error).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Every Markdown file below `src`, sorted.
fn markdown_files(src: &Path) -> Vec<PathBuf> {
    crate::tidy::files_with_extension(src, "md")
}

/// The options mdBook renders chapters with (`mdbook-markdown`), so that the checks parse the
/// Markdown as the build does: a table cell or footnote does not change where a fence starts.
fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Line number (from 1) of byte `offset` in `text`: pulldown-cmark reports byte ranges, the
/// problems name lines.
fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// One chapter link of `SUMMARY.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SummaryLink {
    /// Line of the link in `SUMMARY.md`, from 1.
    line: usize,
    /// The link's text: the chapter's title in the table of contents.
    title: String,
    /// The target as written, relative to `src/`.
    pub(crate) target: String,
}

/// The chapter links of `SUMMARY.md`, in order, read by mdBook's own summary parser
/// (`mdbook-summary`, the crate `mdbook build` reads it with), so that what is checked is what
/// the build will list, and a summary mdBook would refuse is refused here with its reason. A
/// draft chapter (`[Title]()`) has no file and is left out, as mdBook leaves it out of the build.
pub(crate) fn summary_links(summary: &str) -> anyhow::Result<Vec<SummaryLink>> {
    let parsed = mdbook_summary::parse_summary(summary).context("mdBook cannot read it")?;
    let mut links = Vec::new();
    // mdBook's summary keeps no line numbers: find each target's line, in order, from the line
    // of the previous one, so that a file listed twice gets both of its lines.
    let mut from_line = 0;
    let items = parsed
        .prefix_chapters
        .iter()
        .chain(&parsed.numbered_chapters)
        .chain(&parsed.suffix_chapters);
    let mut stack: Vec<&mdbook_summary::SummaryItem> = items.rev().collect();
    while let Some(item) = stack.pop() {
        let mdbook_summary::SummaryItem::Link(link) = item else {
            continue; // a part title or a separator
        };
        if let Some(location) = &link.location {
            let target = location.to_string_lossy().into_owned();
            let line = summary
                .lines()
                .enumerate()
                .skip(from_line)
                .find(|(_, text)| text.contains(&target))
                .map_or(from_line, |(index, _)| index);
            from_line = line;
            links.push(SummaryLink {
                line: line + 1,
                title: link.name.clone(),
                target,
            });
        }
        // Depth first, in order: the nested chapters come right after their parent.
        stack.extend(link.nested_items.iter().rev());
    }
    Ok(links)
}

/// A fenced code block of a Markdown file.
#[derive(Debug)]
pub(crate) struct Fence {
    /// Line of the opening fence, from 1.
    pub(crate) line: usize,
    /// The info string (`rust`, `rust,ignore`, `text`, ...), trimmed.
    pub(crate) info: String,
    /// The lines between the fences, each with its line number in the file.
    pub(crate) body: Vec<(usize, String)>,
}

/// The fenced code blocks of `text`, found by pulldown-cmark: backtick and tilde fences, inside
/// lists and block quotes too. Indented code blocks have no info string and are not fences.
pub(crate) fn fences(text: &str) -> Vec<Fence> {
    let mut found = Vec::new();
    let mut open: Option<Fence> = None;
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                open = Some(Fence {
                    line: line_at(text, range.start),
                    info: info.trim().to_string(),
                    body: Vec::new(),
                });
            }
            // The block's text comes in pieces, each starting where it stands in the file (a
            // block quote's `> ` is left out), so each piece's lines get their own numbers.
            Event::Text(piece) => {
                if let Some(fence) = &mut open {
                    let first = line_at(text, range.start);
                    for (index, line) in piece.lines().enumerate() {
                        fence.body.push((first + index, line.to_string()));
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => found.extend(open.take()),
            _ => {}
        }
    }
    found
}

/// True if a code block's info string makes it Rust (`rust`, `rust,ignore`, `rust compile_fail`).
fn is_rust(info: &str) -> bool {
    info.split([',', ' ', '\t'])
        .next()
        .is_some_and(|lang| lang == "rust")
}

/// Checks the Markdown sources of the book at `book_dir` (see the module docs for the rules).
pub fn check_sources(book_dir: &Path, code_root: &Path) -> Vec<Problem> {
    let src = book_dir.join("src");
    let mut problems = Vec::new();
    let relative = |path: &Path| {
        path.strip_prefix(book_dir)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    let mut included: BTreeSet<PathBuf> = BTreeSet::new();
    let files = markdown_files(&src);
    if files.is_empty() {
        problems.push(Problem {
            place: relative(&src),
            what: "holds no Markdown file".into(),
        });
    }

    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            problems.push(Problem {
                place: relative(file),
                what: "cannot be read as UTF-8 text".into(),
            });
            continue;
        };
        let dir = file.parent().unwrap_or(&src);

        // 1. Includes.
        let mut include_targets: HashMap<usize, Vec<(PathBuf, Include)>> = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            for include in includes_in_line(index + 1, line) {
                let place = format!("{}:{}", relative(file), include.line);
                let target = normalize(&dir.join(&include.path));
                included.insert(target.clone());
                include_targets
                    .entry(include.line)
                    .or_default()
                    .push((target.clone(), include.clone()));
                let Ok(code) = std::fs::read_to_string(&target) else {
                    problems.push(Problem {
                        place,
                        what: format!("includes `{}`, which does not exist", include.path),
                    });
                    continue;
                };
                if let Some(anchor) = &include.anchor
                    && let Some(what) = anchor_problem(&code, anchor)
                {
                    problems.push(Problem {
                        place,
                        what: format!("includes `{}:{anchor}`, but that file {what}", include.path),
                    });
                }
            }
        }

        // 2. Code blocks.
        let crates = normalize(&code_root.join("crates"));
        let solutions = normalize(&code_root.join("solutions"));
        for fence in fences(&text) {
            let place = format!("{}:{}", relative(file), fence.line);
            if fence.info.is_empty() {
                problems.push(Problem {
                    place,
                    what: "a code block without a language; mdBook and rustdoc take it for Rust \
                           (mark it `text`, `sh`, `toml`, ...)"
                        .into(),
                });
                continue;
            }
            if !is_rust(&fence.info) {
                continue;
            }
            let mut typed = false;
            let mut from_crates = true;
            let mut any_include = false;
            for (line_no, line) in &fence.body {
                let line_no = *line_no;
                if line.trim().is_empty() {
                    continue;
                }
                let includes = includes_in_line(line_no, line);
                let whole_line = includes.len() == 1
                    && line.trim().starts_with("{{#")
                    && line.trim().ends_with("}}");
                if !whole_line {
                    typed = true;
                    continue;
                }
                any_include = true;
                for (target, _) in include_targets.get(&line_no).into_iter().flatten() {
                    let in_crate = (target.starts_with(&crates) || target.starts_with(&solutions))
                        && target.extension().is_some_and(|ext| ext == "rs");
                    from_crates &= in_crate;
                }
            }
            if typed || !any_include {
                problems.push(Problem {
                    place,
                    what: "a ```rust block typed into the book; include it from a crate with \
                           `{{#include ../../crates/...rs:anchor}}` so that it is compiled and tested"
                        .into(),
                });
            } else if !from_crates {
                problems.push(Problem {
                    place,
                    what: "a ```rust block included from outside `crates/` or `solutions/`, so \
                           nothing compiles it"
                        .into(),
                });
            }
        }
    }

    // 3. SUMMARY.md: every chapter listed, every listed chapter present.
    let summary_path = src.join("SUMMARY.md");
    let summary = std::fs::read_to_string(&summary_path).unwrap_or_default();
    if summary.is_empty() {
        problems.push(Problem {
            place: relative(&summary_path),
            what: "is missing or empty".into(),
        });
    }
    let mut listed = BTreeSet::new();
    let links = summary_links(&summary).unwrap_or_else(|err| {
        problems.push(Problem {
            place: relative(&summary_path),
            what: format!("{err:#}"),
        });
        Vec::new()
    });
    for SummaryLink { line, target, .. } in links {
        let path = normalize(&src.join(&target));
        if !path.is_file() {
            problems.push(Problem {
                place: format!("{}:{line}", relative(&summary_path)),
                what: format!("lists `{target}`, which does not exist"),
            });
        }
        listed.insert(path);
    }
    for file in &files {
        let file = normalize(file);
        if file == normalize(&summary_path) || listed.contains(&file) || included.contains(&file) {
            continue;
        }
        problems.push(Problem {
            place: relative(&file),
            what: "is not in SUMMARY.md (mdBook would leave it out of the book)".into(),
        });
    }
    problems.extend(crate::listing_width::check(book_dir));
    problems.sort();
    problems
}

// ----------------------------------------------------------------------------------------------
// Output

/// Every `.html` file below `dir`, sorted.
fn html_files(dir: &Path) -> Vec<PathBuf> {
    crate::tidy::files_with_extension(dir, "html")
}

/// The values of every `name="..."` attribute in `html` (double quotes, as mdBook writes them).
pub(crate) fn attribute_values<'h>(html: &'h str, name: &str) -> Vec<&'h str> {
    let pattern = format!(" {name}=\"");
    let mut values = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find(&pattern) {
        let after = &rest[at + pattern.len()..];
        let Some(end) = after.find('"') else { break };
        values.push(&after[..end]);
        rest = &after[end..];
    }
    values
}

/// Decodes `%XX` escapes (UTF-8) and the `&amp;` entity in a link.
fn decode_link(link: &str) -> String {
    percent_decode(&link.replace("&amp;", "&"))
}

/// Decodes `%XX` escapes (bytes of UTF-8) in a URL's path or fragment.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the built HTML in `dest`: relative links and sources resolve, fragments name ids, and
/// no unresolved `{{#...}}` is left.
pub fn check_html(dest: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let pages = html_files(dest);
    if pages.is_empty() {
        problems.push(Problem {
            place: dest.display().to_string(),
            what: "the build produced no HTML page".into(),
        });
    }
    let mut ids: HashMap<PathBuf, BTreeSet<String>> = HashMap::new();
    let mut ids_of = |page: &Path| -> BTreeSet<String> {
        ids.entry(page.to_path_buf())
            .or_insert_with(|| {
                let html = std::fs::read_to_string(page).unwrap_or_default();
                attribute_values(&html, "id")
                    .into_iter()
                    .map(decode_link)
                    .collect()
            })
            .clone()
    };
    for page in &pages {
        let html = std::fs::read_to_string(page).unwrap_or_default();
        let place = page
            .strip_prefix(dest)
            .unwrap_or(page)
            .display()
            .to_string();
        if let Some(at) = html.find("{{#") {
            let snippet: String = html[at..].chars().take(60).collect();
            problems.push(Problem {
                place: place.clone(),
                what: format!("still contains `{snippet}`: an include mdBook could not resolve"),
            });
        }
        // Relative links resolve against the page's folder, or against `<base href="/...">`
        // where the page sets one (mdBook's 404 page does, with the site's URL, `/` by default);
        // a link starting with `/` resolves against the book's root.
        let base = html
            .find("<base href=\"")
            .and_then(|at| attribute_values(&html[at..], "href").first().copied())
            .filter(|base| base.starts_with('/'));
        let dir = match base {
            Some(base) => dest.join(base.trim_start_matches('/')),
            None => page.parent().unwrap_or(dest).to_path_buf(),
        };
        let links = attribute_values(&html, "href")
            .into_iter()
            .chain(attribute_values(&html, "src"));
        for link in links {
            let link = decode_link(link);
            let external = link.contains("://")
                || link.starts_with("//")
                || ["mailto:", "javascript:", "data:", "tel:"]
                    .iter()
                    .any(|scheme| link.starts_with(scheme));
            if external || link.is_empty() {
                continue;
            }
            let (path_part, fragment) = match link.split_once('#') {
                Some((path, fragment)) => (path, Some(fragment)),
                None => (link.as_str(), None),
            };
            let path_part = path_part.split('?').next().unwrap_or_default();
            let target = if path_part.is_empty() {
                page.to_path_buf()
            } else {
                let mut target = match path_part.strip_prefix('/') {
                    Some(from_root) => normalize(&dest.join(from_root)),
                    None => normalize(&dir.join(path_part)),
                };
                if path_part.ends_with('/') || target.is_dir() {
                    target = target.join("index.html");
                }
                target
            };
            if !target.is_file() {
                problems.push(Problem {
                    place: place.clone(),
                    what: format!("links to `{link}`, which does not exist"),
                });
                continue;
            }
            if let Some(fragment) = fragment.filter(|f| !f.is_empty())
                && target.extension().is_some_and(|ext| ext == "html")
                && !ids_of(&target).contains(fragment)
            {
                problems.push(Problem {
                    place: place.clone(),
                    what: format!("links to `{link}`, but that page has no id `{fragment}`"),
                });
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name)
    }

    /// A fresh directory for one test's build output.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rosetta-book-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_book_builds_and_passes_every_check() {
        if let Err(problems) = the_built_book() {
            let list: Vec<String> = problems.iter().map(Problem::to_string).collect();
            panic!("the book has problems:\n{}", list.join("\n"));
        }
    }

    #[test]
    fn the_sound_fixture_passes() {
        let dir = fixture("book-sound");
        let dest = scratch("sound");
        let result = build_and_check(&dir.join("book"), &dir, &dest);
        let _ = std::fs::remove_dir_all(&dest);
        assert_eq!(result.map(|_| ()), Ok(()));
    }

    #[test]
    fn a_renamed_anchor_fails_the_check_although_mdbook_builds() {
        let dir = fixture("book-renamed-anchor");
        let book = dir.join("book");
        // mdBook itself builds this book without complaint: the listing is just empty.
        let dest = scratch("renamed-mdbook");
        build(&book, &dest).expect("mdBook does not fail on a missing anchor");
        let chapter = std::fs::read_to_string(dest.join("chapter.html")).unwrap();
        let _ = std::fs::remove_dir_all(&dest);
        assert!(!chapter.contains("fn greet"), "the listing came out empty");
        // The check does fail, and says which include and which anchor.
        let problems = check_sources(&book, &dir);
        assert_eq!(
            problems,
            [Problem {
                place: "src/chapter.md:6".into(),
                what: "includes `../../crates/demo/src/lib.rs:greet`, but that file has no \
                       `ANCHOR: greet` line"
                    .into(),
            }]
        );
        let dest = scratch("renamed");
        assert!(build_and_check(&book, &dir, &dest).is_err());
        let _ = std::fs::remove_dir_all(&dest);
    }

    #[test]
    fn every_other_kind_of_breakage_is_reported() {
        let dir = fixture("book-broken");
        let problems: Vec<String> = check_sources(&dir.join("book"), &dir)
            .iter()
            .map(Problem::to_string)
            .collect();
        assert_eq!(
            problems,
            [
                "src/SUMMARY.md:4: lists `missing.md`, which does not exist",
                "src/chapter.md:11: a ```rust block typed into the book; include it from a crate \
                 with `{{#include ../../crates/...rs:anchor}}` so that it is compiled and tested",
                "src/chapter.md:15: a code block without a language; mdBook and rustdoc take it \
                 for Rust (mark it `text`, `sh`, `toml`, ...)",
                "src/chapter.md:19: a ```rust block included from outside `crates/` or \
                 `solutions/`, so nothing compiles it",
                // The listing_width check, run with the others.
                "src/chapter.md:20: `listings/demo.rs` line 1 of the listing (line 1 of the \
                 file) is 88 characters wide, over 80 (if it is output shown word for word, \
                 mark its code block `text,output`)",
                "src/chapter.md:5: includes `../../crates/demo/src/gone.rs`, which does not exist",
                "src/chapter.md:7: includes `../../crates/demo/src/lib.rs:half`, but that file has \
                 `ANCHOR: half` but no `ANCHOR_END: half` after it",
                "src/orphan.md: is not in SUMMARY.md (mdBook would leave it out of the book)",
            ]
        );
    }

    #[test]
    fn broken_links_and_heading_anchors_are_found_in_the_output() {
        let dir = fixture("book-bad-links");
        let book = dir.join("book");
        assert_eq!(check_sources(&book, &dir), []);
        let dest = scratch("links");
        build(&book, &dest).unwrap();
        let problems: Vec<String> = check_html(&dest).iter().map(Problem::to_string).collect();
        let _ = std::fs::remove_dir_all(&dest);
        // `index.html` repeats the first chapter, and `print.html` holds every chapter (with
        // links between chapters turned into links within the page): each shows the breakage.
        assert_eq!(
            problems,
            [
                "chapter.html: links to `nowhere.html`, which does not exist",
                "chapter.html: links to `other.html#no-such-heading`, but that page has no id \
                 `no-such-heading`",
                "index.html: links to `nowhere.html`, which does not exist",
                "index.html: links to `other.html#no-such-heading`, but that page has no id \
                 `no-such-heading`",
                "print.html: links to `#no-such-heading`, but that page has no id \
                 `no-such-heading`",
                "print.html: links to `nowhere.html`, which does not exist",
            ]
        );
    }

    #[test]
    fn chapters_come_in_summary_order_with_their_titles() {
        // Part titles and the prefix chapter are not chapters' titles; a draft has no file.
        let summary = "# Summary\n\n[Preface](./preface.md)\n\n# Part I\n\n\
                       - [The `poll` method](poll.md)\n  - [Nested](a/nested.md)\n- [Draft]()\n";
        let links: Vec<_> = summary_links(summary)
            .unwrap()
            .into_iter()
            .map(|link| (link.line, link.title, link.target))
            .collect();
        assert_eq!(
            links,
            [
                (3, "Preface".to_string(), "./preface.md".to_string()),
                (7, "The poll method".to_string(), "poll.md".to_string()),
                (8, "Nested".to_string(), "a/nested.md".to_string()),
            ]
        );
    }

    #[test]
    fn a_summary_mdbook_would_refuse_is_refused_with_its_reason() {
        let summary = "# Summary\n\n- [One](one.md)\n\n[Suffix](suffix.md)\n\n- [Two](two.md)\n";
        let err = summary_links(summary).unwrap_err();
        assert!(
            format!("{err:#}").contains("Suffix chapters cannot be followed by a list"),
            "{err:#}"
        );
    }

    #[test]
    fn fences_are_found_as_commonmark_finds_them() {
        let text = "````markdown\n```rust\nnot a fence\n```\n````\n\n\
                    - item\n\n  ~~~rust,ignore\n  {{#include a.rs:x}}\n  ~~~\n\n\
                    > ```text\n> quoted\n> ```\n\n    indented, not a fence\n";
        let found: Vec<_> = fences(text)
            .into_iter()
            .map(|fence| (fence.line, fence.info, fence.body))
            .collect();
        assert_eq!(
            found,
            [
                (
                    1,
                    "markdown".to_string(),
                    vec![
                        (2, "```rust".to_string()),
                        (3, "not a fence".into()),
                        (4, "```".into())
                    ]
                ),
                (
                    9,
                    "rust,ignore".to_string(),
                    vec![(10, "{{#include a.rs:x}}".to_string())]
                ),
                (13, "text".to_string(), vec![(14, "quoted".to_string())]),
            ]
        );
    }

    #[test]
    fn includes_and_markers_are_parsed_like_mdbook_does() {
        let found = includes_in_line(
            3,
            r"a {{#include ../x.rs:run}} b \{{#include no.rs}} {{#include y.md}} {{#include z.rs:4:9}}",
        );
        let pairs: Vec<_> = found
            .iter()
            .map(|i| (i.path.as_str(), i.anchor.as_deref()))
            .collect();
        assert_eq!(
            pairs,
            [("../x.rs", Some("run")), ("y.md", None), ("z.rs", None)]
        );
        assert!(has_marker("// ANCHOR: run", "ANCHOR", "run"));
        assert!(!has_marker("// ANCHOR: run_fast", "ANCHOR", "run"));
        assert!(!has_marker("// ANCHOR_END: run", "ANCHOR", "run"));
        assert!(has_marker("<!-- ANCHOR_END: run -->", "ANCHOR_END", "run"));
        assert_eq!(
            decode_link("G%C3%B6teborg.html#a&amp;b"),
            "Göteborg.html#a&b"
        );
    }
}
