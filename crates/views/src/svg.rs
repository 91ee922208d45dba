//! The one SVG writer, for the two drawings: a trace's timeline ([`crate::timeline::svg`]) and
//! the bench chart (`rosetta::bench::render_svg`).
//!
//! A document is standalone (no fonts, scripts or links to fetch, so it opens anywhere and can
//! go into the book as it is), one element a line, on a white background. Every text goes
//! through [`xml_escape`] on its way in, so no caller can forget it: the bench chart once had an
//! escaper of its own that left quotes alone, and a caption with a `"` broke its SVG.

use std::fmt::{Arguments, Display, Write as _};

/// An SVG document being written: [`Svg::new`], then elements, then [`Svg::finish`].
#[derive(Debug)]
pub struct Svg {
    out: String,
}

impl Svg {
    /// A document `width` by `height` on white, its text in `font` at `size` pixels.
    pub fn new(width: impl Display, height: impl Display, font: &str, size: u32) -> Self {
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="{font}" font-size="{size}">"#
        );
        out.push_str("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        Svg { out }
    }

    /// An element with no content: `shape("circle", format_args!(r#"cx="1" cy="2" r="3""#))`.
    pub fn shape(&mut self, name: &str, attributes: Arguments<'_>) {
        let _ = writeln!(self.out, "<{name} {attributes}/>");
    }

    /// A `<text>` element with these attributes, its text escaped.
    pub fn text(&mut self, attributes: Arguments<'_>, text: impl Display) {
        let text = xml_escape(&text.to_string());
        let _ = writeln!(self.out, "<text {attributes}>{text}</text>");
    }

    /// The document, closed.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// `text` made safe inside XML (an SVG's text or attribute): the five characters XML reserves,
/// quotes included.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
