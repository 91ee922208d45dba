//! A temperature in integer tenths of a degree, and the one way it is written.
//!
//! Feeds write temperatures as `-?[0-9]{1,2}\.[0-9]` (`-3.5`), and reports
//! print them the same way. Both directions live here, next to each other,
//! because each is the other's inverse: the generator writes feed bodies with
//! [`Tenths`]'s `Display` and the parser reads them back with its `FromStr`.
//! Were the two in different modules, a change to how reports print a
//! temperature (a `+` sign, two decimals) could make every generated record
//! fail to parse while every style still agreed with the reference. The
//! round-trip test below rules that out.
//!
//! This module imports nothing from the crate: it is the bottom of the line.
//! Read next: [`crate::parse`], which splits a line and hands the temperature
//! to [`Tenths::from_str`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A temperature in integer tenths of a degree (`-3.5` is `Tenths(-35)`).
///
/// Integers, never floats: float sums depend on the order of addition, and the
/// order changes from run to run in a concurrent program. Displays as `-3.5`;
/// serializes as the JSON number `-3.5`; parses from exactly
/// `-?[0-9]{1,2}\.[0-9]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tenths(pub i32);

impl Tenths {
    /// The lowest temperature a feed can write: `-99.9`.
    pub const MIN: Tenths = Tenths(-999);
    /// The highest temperature a feed can write: `99.9`.
    pub const MAX: Tenths = Tenths(999);
}

/// A temperature that is not written `-?[0-9]{1,2}\.[0-9]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a temperature is written -?[0-9]{{1,2}}.[0-9], like -3.5")]
pub struct BadTemperature;

// ANCHOR: parse_tenths
impl FromStr for Tenths {
    type Err = BadTemperature;

    /// Parses exactly `-?[0-9]{1,2}\.[0-9]`. Anything else (`+1.0`, `1`,
    /// `1.25`, `100.0`, ` 1.0`) is refused: a feed that changes its format
    /// should be noticed, not guessed.
    fn from_str(text: &str) -> Result<Tenths, BadTemperature> {
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) =
            unsigned.split_once('.').ok_or(BadTemperature)?;
        let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if !(1..=2).contains(&whole.len())
            || fraction.len() != 1
            || !is_digits(whole)
            || !is_digits(fraction)
        {
            return Err(BadTemperature);
        }
        // Both parts are one or two ASCII digits, so these parses cannot fail.
        let whole: i32 = whole.parse().map_err(|_| BadTemperature)?;
        let fraction: i32 = fraction.parse().map_err(|_| BadTemperature)?;
        let magnitude = whole * 10 + fraction;
        Ok(Tenths(if negative { -magnitude } else { magnitude }))
    }
}
// ANCHOR_END: parse_tenths

impl fmt::Display for Tenths {
    /// Writes `-3.5`: a `-` only below zero, the whole degrees without leading
    /// zeros, one decimal. For every value from [`Tenths::MIN`] to
    /// [`Tenths::MAX`] this is text that `from_str` reads back to the same
    /// value (outside that range it still prints, as `123.4`, but no feed may
    /// contain it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let text = format!("{sign}{}.{}", magnitude / 10, magnitude % 10);
        // `pad` so that width and alignment flags work in tables.
        f.pad(&text)
    }
}

impl Serialize for Tenths {
    fn serialize<S: Serializer>(
        &self,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        // Integer division by ten is exact in decimal but not in binary; the
        // nearest f64 to `t / 10` always prints back with one decimal
        // (serde_json prints the shortest form that round-trips), so `-35`
        // becomes `-3.5` and `20` becomes `2.0`.
        serializer.serialize_f64(f64::from(self.0) / 10.0)
    }
}

impl<'de> Deserialize<'de> for Tenths {
    /// Reads a report's temperature back: a JSON number with at most one
    /// decimal. By value, not by spelling: JavaScript writes `-1.0` as `-1`,
    /// and it is the same temperature. A number that is not a whole number of
    /// tenths (`3.25`) is refused, not rounded: it would mean the program that
    /// wrote it computed something else.
    fn deserialize<D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Self, D::Error> {
        let degrees = f64::deserialize(deserializer)?;
        let tenths = (degrees * 10.0).round();
        // The nearest f64 to a tenth times ten lies within a few ulps of a
        // whole number.
        if (degrees * 10.0 - tenths).abs() > 1e-6
            || tenths.abs() > f64::from(i32::MAX)
        {
            return Err(de::Error::custom(format_args!(
                "{degrees} is not a temperature in tenths of a degree"
            )));
        }
        // In range and whole, as just checked: the cast is exact.
        Ok(Tenths(tenths as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    fn parse(text: &str) -> Option<i32> {
        text.parse::<Tenths>().ok().map(|t| t.0)
    }

    #[test]
    fn temperatures_in_the_exact_format() {
        assert_eq!(parse("3.5"), Some(35));
        assert_eq!(parse("-1.0"), Some(-10));
        assert_eq!(parse("-0.0"), Some(0));
        assert_eq!(parse("99.9"), Some(999));
        assert_eq!(parse("-99.9"), Some(-999));
        assert_eq!(parse("05.5"), Some(55));
        for bad in [
            "", "1", "1.", ".5", "1.25", "100.0", "+1.0", " 1.0", "1.0 ",
            "--1.0", "1,0", "١.٠", "-", "-.5", "1.-5",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tenths_print_with_one_decimal() {
        let shown: Vec<String> = [35, -35, 0, -5, 5, 999, -999, 20]
            .map(|t| Tenths(t).to_string())
            .into();
        assert_eq!(
            shown,
            ["3.5", "-3.5", "0.0", "-0.5", "0.5", "99.9", "-99.9", "2.0"]
        );
    }

    #[test]
    fn tenths_serialize_as_numbers_with_one_decimal() {
        let json = serde_json::to_string(&[
            Tenths(35),
            Tenths(-5),
            Tenths(20),
            Tenths(23),
            Tenths(0),
        ])
        .unwrap();
        assert_eq!(json, "[3.5,-0.5,2.0,2.3,0.0]");
    }

    #[test]
    fn temperatures_read_back_by_value_not_by_spelling() {
        let read: Vec<Tenths> =
            serde_json::from_str("[3.5, -1, -1.0, 0, 2.3, -99.9]").unwrap();
        assert_eq!(read, [35, -10, -10, 0, 23, -999].map(Tenths));
        for bad in ["3.25", "1e10", "\"3.5\""] {
            assert!(serde_json::from_str::<Tenths>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn just_outside_the_range_prints_but_does_not_parse() {
        for outside in [Tenths::MAX.0 + 1, Tenths::MIN.0 - 1] {
            let text = Tenths(outside).to_string();
            assert_eq!(parse(&text), None, "{text}");
        }
    }

    proptest! {
        /// Value -> text -> value: every temperature a feed can hold survives
        /// being written by `Display` and read by `FromStr`. This is what the
        /// generator relies on.
        #[test]
        fn display_then_parse_gives_the_value_back(tenths in Tenths::MIN.0..=Tenths::MAX.0) {
            let text = Tenths(tenths).to_string();
            prop_assert_eq!(text.parse::<Tenths>(), Ok(Tenths(tenths)), "{}", text);
        }

        /// Text -> value -> text -> value: every text in the format parses to a
        /// value in range, and printing that value gives text that parses to it
        /// again. (`05.5` and `-0.0` are accepted but print as `5.5` and `0.0`:
        /// the printed text is the canonical spelling.)
        #[test]
        fn parse_then_display_then_parse_is_stable(text in r"-?[0-9]{1,2}\.[0-9]") {
            let value: Tenths = text.parse().expect("the format parses");
            prop_assert!(Tenths::MIN <= value && value <= Tenths::MAX);
            prop_assert_eq!(value.to_string().parse::<Tenths>(), Ok(value));
        }

        /// Canonical texts (no leading zero, no `-0.0`) are exactly `Display`'s
        /// image: they come back unchanged.
        #[test]
        fn canonical_texts_come_back_unchanged(text in r"(-?[1-9]?[0-9]\.[0-9])") {
            prop_assume!(text != "-0.0");
            let value: Tenths = text.parse().expect("the format parses");
            prop_assert_eq!(value.to_string(), text);
        }
    }
}
