//! The one way the tables lay out a line (the `compare` table, and the `bench` tables of scale
//! runs, `--scenario` and `--sleepers`): fixed-width columns two spaces apart, names to the left
//! and figures to the right, and a last free-width cell (the status, the model) that is never
//! padded. The terminal timeline pads and cuts its lane names with the same [`pad`] and [`cut`].
//!
//! The bench tables are printed a row at a time as the runs finish (a bench can take minutes),
//! so their widths are fixed in advance ([`Table`]) rather than measured from the rows; the
//! `compare` table, printed once every style has run, sizes its name columns to the widest
//! name. Widths are display columns ([`UnicodeWidthStr::width`]), not bytes or `char`s, so that
//! a name such as "Bodø" or "× input" takes the room it shows.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

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

/// The longest start of `text` that fits in `width` display columns.
pub fn cut(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (index, c) in text.char_indices() {
        used += c.width().unwrap_or(0);
        if used > width {
            return &text[..index];
        }
    }
    text
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

/// A figure with `decimals` decimals, or `-` when it was not measured: a table never shows a
/// figure nobody measured as 0.
pub fn figure(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |value| format!("{value:.decimals$}"))
}

/// A table printed a row at a time: its layout, written once for the header and every row.
pub trait Table {
    /// The fixed-width columns; the cells after them (the status) take what room they need.
    const COLUMNS: &'static [Column];
    /// The header's cells.
    const HEADER: &'static [&'static str];

    /// This row's cells, in the header's order.
    fn cells(&self) -> Vec<String>;

    /// The header, laid out.
    fn header() -> String {
        line(Self::COLUMNS, Self::HEADER)
    }

    /// This row, laid out.
    fn line(&self) -> String {
        line(Self::COLUMNS, &self.cells())
    }
}
