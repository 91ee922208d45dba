//! `cargo xtask diff STYLE_A STYLE_B [FILE]`: one file of the skeleton of two styles, side by
//! side, so that the book's claim is visible: the same step, in the same file, under the same
//! name, and only the waiting differs.
//!
//! Lines the two files share are printed side by side with nothing between them; a line only
//! the left has is marked `<`, only the right `>`, and a pair that differs `|`. The alignment
//! is a line diff (`similar`, the diff crate insta uses). The width is `$COLUMNS`, or 160.

use std::path::Path;

use anyhow::{Context, bail};
use similar::{DiffOp, TextDiff};

use crate::tidy::{SKELETON, STYLE_CRATES};

/// The side-by-side text for the command-line arguments `STYLE_A STYLE_B [FILE]`.
pub fn run(root: &Path, args: &[String]) -> anyhow::Result<String> {
    let (left, right, file) = match args {
        [left, right] => (left, right, "fetch.rs"),
        [left, right, file] => (left, right, file.as_str()),
        _ => bail!("usage: cargo xtask diff STYLE_A STYLE_B [FILE]"),
    };
    let files: Vec<&str> = SKELETON.iter().map(|(file, _)| *file).collect();
    if !files.contains(&file) {
        bail!(
            "`{file}` is not a file of the skeleton ({})",
            files.join(", ")
        );
    }
    let read = |style: &str| {
        if !STYLE_CRATES.contains(&style) {
            bail!(
                "no style crate `{style}` (style crates: {})",
                STYLE_CRATES.join(", ")
            );
        }
        let path = root.join("crates").join(style).join("src").join(file);
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.parse().ok())
        .unwrap_or(160usize)
        .clamp(60, 400);
    let (left_text, right_text) = (read(left)?, read(right)?);
    let header = (
        format!("crates/{left}/src/{file}"),
        format!("crates/{right}/src/{file}"),
    );
    Ok(side_by_side(&left_text, &right_text, header, width))
}

/// `left` and `right` side by side in `width` columns, aligned by a line diff.
pub fn side_by_side(left: &str, right: &str, header: (String, String), width: usize) -> String {
    let column = (width.saturating_sub(3) / 2).max(10);
    let fit = |text: &str| {
        let text = text.replace('\t', "    ");
        let count = text.chars().count();
        if count <= column {
            format!("{text}{}", " ".repeat(column - count))
        } else {
            let cut: String = text.chars().take(column - 1).collect();
            format!("{cut}…")
        }
    };
    let (left_lines, right_lines): (Vec<&str>, Vec<&str>) =
        (left.lines().collect(), right.lines().collect());
    let mut out = format!("{} | {}\n", fit(&header.0), header.1);
    out.push_str(&format!(
        "{}-+-{}\n",
        "-".repeat(column),
        "-".repeat(column)
    ));
    let mut row = |l: Option<&str>, mark: char, r: Option<&str>| {
        let line = format!("{} {mark} {}", fit(l.unwrap_or("")), r.unwrap_or(""));
        out.push_str(line.trim_end());
        out.push('\n');
    };
    let diff = TextDiff::from_lines(left, right);
    for op in diff.ops() {
        match *op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for i in 0..len {
                    row(
                        Some(left_lines[old_index + i]),
                        ' ',
                        Some(right_lines[new_index + i]),
                    );
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => {
                for line in &left_lines[old_index..old_index + old_len] {
                    row(Some(line), '<', None);
                }
            }
            DiffOp::Insert {
                new_index, new_len, ..
            } => {
                for line in &right_lines[new_index..new_index + new_len] {
                    row(None, '>', Some(line));
                }
            }
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for i in 0..old_len.max(new_len) {
                    let l = (i < old_len).then(|| left_lines[old_index + i]);
                    let r = (i < new_len).then(|| right_lines[new_index + i]);
                    let mark = match (l, r) {
                        (Some(_), Some(_)) => '|',
                        (Some(_), None) => '<',
                        _ => '>',
                    };
                    row(l, mark, r);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_lines_pair_up_and_differences_are_marked() {
        let left = "fn fetch() {\n    wait_on_a_thread();\n    done();\n}\n";
        let right = "fn fetch() {\n    wait_on_a_future().await;\n    done();\n    extra();\n}\n";
        let text = side_by_side(left, right, ("a".into(), "b".into()), 60);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].starts_with("fn fetch() {") && lines[2].ends_with("fn fetch() {"));
        assert!(lines[3].contains(" | "), "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains(" > ") && l.ends_with("extra();")),
            "{text}"
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{text}");
    }

    #[test]
    fn unknown_styles_and_files_are_refused_by_name() {
        let root = crate::tidy::workspace_root();
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let error = run(&root, &args(&["threads", "nodejs"])).unwrap_err();
        assert!(
            error.to_string().contains("no style crate `nodejs`"),
            "{error}"
        );
        let error = run(&root, &args(&["threads", "callbacks", "main.rs"])).unwrap_err();
        assert!(
            error.to_string().contains("not a file of the skeleton"),
            "{error}"
        );
    }
}
