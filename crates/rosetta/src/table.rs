//! The one way the `bench` tables (scale runs, `--scenario`, `--sleepers`) lay out a line:
//! fixed-width columns two spaces apart, names to the left and figures to the right, and a last
//! free-width cell (the status) that is never padded.
//!
//! The tables are printed a row at a time as the runs finish (a bench can take minutes), so the
//! widths are fixed in advance rather than measured from the rows. Widths are display columns
//! ([`UnicodeWidthStr::width`]), not bytes or `char`s, so that a name such as "Bodø" or "×
//! input" takes the room it shows.

use unicode_width::UnicodeWidthStr;

/// Which side of its column a cell keeps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Names: padded on the right.
    Left,
    /// Figures: padded on the left, so that their digits line up.
    Right,
}

/// One fixed-width column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The least number of display columns the cell takes (a longer cell is kept whole).
    pub width: usize,
    /// The side the cell keeps to.
    pub align: Align,
}

/// A column for a name, at least `width` display columns wide.
pub const fn left(width: usize) -> Column {
    Column {
        width,
        align: Align::Left,
    }
}

/// A column for a figure, at least `width` display columns wide.
pub const fn right(width: usize) -> Column {
    Column {
        width,
        align: Align::Right,
    }
}

/// `text` padded with spaces to `width` display columns on the side `align` says.
pub fn pad(text: &str, width: usize, align: Align) -> String {
    let fill = " ".repeat(width.saturating_sub(text.width()));
    match align {
        Align::Left => format!("{text}{fill}"),
        Align::Right => format!("{fill}{text}"),
    }
}

/// One line of a table: each cell padded to its column, two spaces between columns; cells after
/// the last column (the status) are written as they are.
pub fn line<S: AsRef<str>>(columns: &[Column], cells: &[S]) -> String {
    let mut parts = Vec::with_capacity(cells.len());
    for (index, cell) in cells.iter().enumerate() {
        let cell = cell.as_ref();
        parts.push(match columns.get(index) {
            Some(column) => pad(cell, column.width, column.align),
            None => cell.to_string(),
        });
    }
    parts.join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width_not_bytes() {
        let columns = [left(6), right(5)];
        let ascii = line(&columns, &["Oslo", "1.0", "ok"]);
        let accented = line(&columns, &["Bodø", "12.5", "ok"]);
        let wide = line(&columns, &["東京", "3.0", "ok"]);
        // "Bodø" is five bytes in four columns, "東京" two `char`s in four columns: both must be
        // padded like "Oslo" (`{:6}` pads by `char`s and would give "東京" four spaces).
        assert_eq!(ascii, "Oslo      1.0  ok");
        assert_eq!(accented, "Bodø     12.5  ok");
        assert_eq!(wide, "東京      3.0  ok");
        assert_eq!(ascii.width(), wide.width());
        assert_eq!(ascii.width(), accented.width());
    }

    #[test]
    fn a_cell_wider_than_its_column_is_kept_whole() {
        assert_eq!(line(&[left(2), right(2)], &["abc", "1234"]), "abc  1234");
    }
}
