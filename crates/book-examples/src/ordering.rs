//! Chapter 2: why reports keep temperatures in integer tenths and sort every
//! list.
//!
//! A concurrent style adds readings in whatever order they arrive, and that
//! order changes from run to run. Floating-point addition is not associative,
//! so a float sum can change with the order; integer addition cannot.
//! [`sums_in_two_orders`] shows both on the same three readings.

// ANCHOR: float_sums
/// The same three readings summed front to back and back to front, as `f64`
/// degrees and as integer tenths.
pub fn sums_in_two_orders() -> ((f64, f64), (i64, i64)) {
    let degrees = [0.1, 0.2, 0.3];
    let tenths = [1_i64, 2, 3];
    let float = (
        degrees.iter().sum::<f64>(), // (0.1 + 0.2) + 0.3
        degrees.iter().rev().sum::<f64>(), // (0.3 + 0.2) + 0.1
    );
    let integer = (tenths.iter().sum(), tenths.iter().rev().sum());
    (float, integer)
}
// ANCHOR_END: float_sums

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_sums_depend_on_the_order_and_integer_sums_do_not() {
        let ((forward, backward), (tenths_forward, tenths_backward)) =
            sums_in_two_orders();
        assert_ne!(forward, backward);
        assert_eq!(format!("{forward} {backward}"), "0.6000000000000001 0.6");
        assert_eq!((tenths_forward, tenths_backward), (6, 6));
    }
}
