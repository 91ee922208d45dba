//! The helpers every table and drawing shares: columns padded by display width, and the SVG
//! writer that escapes every text.

use rosetta::svg::{Svg, xml_escape};
use rosetta::table::{cut, left, line, right};
use unicode_width::UnicodeWidthStr;

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
fn cut_keeps_what_fits_in_display_columns() {
    assert_eq!(cut("東京 feed", 3), "東");
    assert_eq!(cut("Bodø", 4), "Bodø");
    assert_eq!(cut("Bodø", 3), "Bod");
}

#[test]
fn a_cell_wider_than_its_column_is_kept_whole() {
    assert_eq!(line(&[left(2), right(2)], &["abc", "1234"]), "abc  1234");
}

#[test]
fn every_reserved_character_is_escaped() {
    assert_eq!(
        xml_escape(r#"a<b>&"c"'d"#),
        "a&lt;b&gt;&amp;&quot;c&quot;&apos;d"
    );
    let mut svg = Svg::new(10, 20, "serif", 9);
    svg.text(format_args!(r#"x="1""#), r#"say "hi" & <go>"#);
    let text = svg.finish();
    assert!(
        text.contains(r#"<text x="1">say &quot;hi&quot; &amp; &lt;go&gt;</text>"#),
        "{text}"
    );
}
