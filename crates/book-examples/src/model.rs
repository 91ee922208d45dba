//! Chapter 12: the performance model, with its units checked by the code.
//!
//! The seed article models the time to process `N` megabytes in batches of `B`
//! megabytes at speed `v` with parallelism `P` as `T = N / (B v P)`, and works
//! an example to "1.25 ms, 800 times faster". Both are wrong. [`Quantity`]
//! carries a value with its unit (powers of megabytes and seconds) through `*`
//! and `/`, so a formula that does not come out in seconds is caught by a test
//! instead of by a reader. The right formulas follow: the bound for I/O-bound
//! work, Little's law and Amdahl's law, and the worked example done correctly.
//!
//! `rosetta_pipeline::model` is the full model the benchmarks compare against:
//! the makespan of list scheduling, of which `ceil(N / P) * L` is the uniform
//! special case.

use std::fmt;
use std::ops::{Div, Mul};

// ANCHOR: quantity
// ANCHOR: quantity_mul
/// A value with a unit: `value` × MB^`megabytes` × s^`seconds`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    /// The number.
    pub value: f64,
    /// Power of megabytes in the unit.
    pub megabytes: i32,
    /// Power of seconds in the unit.
    pub seconds: i32,
}

impl Mul for Quantity {
    type Output = Quantity;
    fn mul(self, other: Quantity) -> Quantity {
        Quantity {
            value: self.value * other.value,
            megabytes: self.megabytes + other.megabytes,
            seconds: self.seconds + other.seconds,
        }
    }
}
// ANCHOR_END: quantity_mul

impl Div for Quantity {
    type Output = Quantity;
    fn div(self, other: Quantity) -> Quantity {
        Quantity {
            value: self.value / other.value,
            megabytes: self.megabytes - other.megabytes,
            seconds: self.seconds - other.seconds,
        }
    }
}

/// A size in megabytes.
pub fn megabytes(value: f64) -> Quantity {
    Quantity {
        value,
        megabytes: 1,
        seconds: 0,
    }
}

/// A speed in megabytes per second.
pub fn megabytes_per_second(value: f64) -> Quantity {
    Quantity {
        value,
        megabytes: 1,
        seconds: -1,
    }
}

/// A pure number (a count of workers, a ratio).
pub fn count(value: f64) -> Quantity {
    Quantity {
        value,
        megabytes: 0,
        seconds: 0,
    }
}
// ANCHOR_END: quantity

impl Quantity {
    /// True if the unit is seconds, the unit of a time.
    pub fn is_time(&self) -> bool {
        (self.megabytes, self.seconds) == (0, 1)
    }
}

impl fmt::Display for Quantity {
    /// `1.25 s`, `0.0125 s/MB`, `8` (a pure number).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = |name: &str, power: i32| match power {
            1 => name.to_string(),
            _ => format!("{name}^{power}"),
        };
        let mut top = Vec::new();
        let mut bottom = Vec::new();
        for (name, power) in [("s", self.seconds), ("MB", self.megabytes)] {
            match power {
                0 => {}
                p if p > 0 => top.push(unit(name, p)),
                p => bottom.push(unit(name, -p)),
            }
        }
        write!(f, "{}", self.value)?;
        match (top.is_empty(), bottom.is_empty()) {
            (true, true) => Ok(()),
            (false, true) => write!(f, " {}", top.join("·")),
            (true, false) => write!(f, " 1/{}", bottom.join("·")),
            (false, false) => {
                write!(f, " {}/{}", top.join("·"), bottom.join("·"))
            }
        }
    }
}

// ANCHOR: seed_formula
/// The seed article's formula, `T = N / (B v P)`, computed with units.
pub fn seed_formula(
    data: Quantity,
    batch: Quantity,
    speed: Quantity,
    workers: Quantity,
) -> Quantity {
    data / (batch * speed * workers)
}

/// The time to process `data` with `workers` workers of `speed_per_worker`
/// each, when the work divides evenly and nothing else costs anything: `N / (v
/// P)`. The batch size does not appear: splitting the work into batches changes
/// how it is handed out, not how much there is.
pub fn processing_time(
    data: Quantity,
    speed_per_worker: Quantity,
    workers: Quantity,
) -> Quantity {
    data / (speed_per_worker * workers)
}
// ANCHOR_END: seed_formula

// ANCHOR: laws
/// The lower bound for `n` requests of latency `latency_ms` each with at most
/// `in_flight` at a time: `ceil(n / in_flight) * latency_ms`. (With unequal
/// latencies, the makespan of list scheduling,
/// `rosetta_pipeline::model::ideal`.)
pub fn uniform_bound_ms(n: u64, in_flight: u64, latency_ms: u64) -> u64 {
    n.div_ceil(in_flight) * latency_ms
}

/// Little's law: the average number of requests in flight equals the throughput
/// (requests per second) times the average latency (seconds). Read backwards:
/// to sustain `throughput` at `latency`, allow at least this much concurrency.
pub fn littles_law_in_flight(throughput_per_s: f64, latency_s: f64) -> f64 {
    throughput_per_s * latency_s
}

/// Amdahl's law: the speed-up of CPU-bound work whose `serial` fraction cannot
/// run in parallel, on `cores` cores: `1 / (serial + (1 - serial) / cores)`.
pub fn amdahl_speedup(serial: f64, cores: f64) -> f64 {
    1.0 / (serial + (1.0 - serial) / cores)
}
// ANCHOR_END: laws

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    // ANCHOR: worked_example
    #[test]
    fn the_seed_formula_is_not_a_time() {
        // The seed's numbers: N = 1 GB = 1000 MB, B = 100 MB, v = 100 MB/s, P =
        // 8.
        let t = seed_formula(
            megabytes(1000.0),
            megabytes(100.0),
            megabytes_per_second(100.0),
            count(8.0),
        );
        // MB / (MB · MB/s) = s/MB: seconds per megabyte, not seconds.
        assert_eq!((t.megabytes, t.seconds), (-1, 1));
        assert!(!t.is_time());
        assert_eq!(t.to_string(), "0.0125 s/MB");
    }

    #[test]
    fn the_worked_example_done_right() {
        let one_worker = processing_time(
            megabytes(1000.0),
            megabytes_per_second(100.0),
            count(1.0),
        );
        let eight = processing_time(
            megabytes(1000.0),
            megabytes_per_second(100.0),
            count(8.0),
        );
        assert!(eight.is_time());
        assert_eq!(one_worker.to_string(), "10 s");
        assert_eq!(eight.to_string(), "1.25 s"); // Not 1.25 ms.
        let speedup = one_worker / eight;
        // Not 800: P workers give at most P times.
        assert_eq!(speedup.to_string(), "8");
    }
    // ANCHOR_END: worked_example

    #[test]
    fn the_laws() {
        // 10 sources of 100 ms, 4 in flight: 3 rounds (4 + 4 + 2), 300 ms.
        assert_eq!(uniform_bound_ms(10, 4, 100), 300);
        assert_eq!(uniform_bound_ms(12, 4, 100), 300);
        assert_eq!(uniform_bound_ms(13, 4, 100), 400);
        // 1000 requests per second at 50 ms each keep 50 in flight.
        assert!(close(littles_law_in_flight(1000.0, 0.050), 50.0));
        // 10% serial work caps the speed-up below 10 however many cores there
        // are.
        assert!(close(amdahl_speedup(0.1, 8.0), 1.0 / (0.1 + 0.9 / 8.0)));
        assert!(amdahl_speedup(0.1, 1e9) < 10.0);
        assert!(close(amdahl_speedup(0.0, 8.0), 8.0));
    }
}
