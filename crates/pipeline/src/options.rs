//! How a run waits: the time scale, and the options every style's entry point
//! takes.
//!
//! Options change how long a run waits and where its bytes come from, never
//! what it reports. This module imports only [`crate::transport`], so that
//! [`crate::scenario`] (which checks a time scale against a scenario) can use
//! it without a loop back to [`crate::run`], which names the scenario in every
//! style's signature.

use std::time::{Duration, Instant};

use crate::transport::Transport;

/// The largest time scale: a thousand times slower than the scenario says. Far
/// more than a classroom needs, and small enough that the longest wait a
/// scenario may hold (an hour) scaled by it still fits a [`Duration`] many
/// times over.
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// A time scale that is not a number from 0 to [`MAX_TIME_SCALE`].
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("the time scale must be a number from 0 to {MAX_TIME_SCALE}, not {0}")]
pub struct TimeScaleError(pub f64);

/// Options that change how a run waits and where its bytes come from, never
/// what it reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOptions {
    /// Multiplies every latency, timeout and lookup time. `1.0` is real time;
    /// tests use a smaller scale to run faster, the classroom mode a larger one
    /// to be watchable. The report cannot change with the scale (scenario
    /// validation keeps latencies far from timeouts, and
    /// [`check_time_scale`](crate::scenario::Scenario::check_time_scale) keeps
    /// them far enough apart in real time); the trace does. `0.0` is
    /// logical time: nothing waits (the tests' reference runs).
    pub time_scale: f64,
    /// Where attempts get their answers: timers ([`Transport::Sim`], the
    /// default) or a feed server ([`Transport::Tcp`]), which needs a time scale
    /// above 0: a real server cannot answer in logical time.
    pub transport: Transport,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions::with_time_scale(1.0)
    }
}

impl RunOptions {
    /// Options with the given time scale, on the `sim` transport.
    pub fn with_time_scale(time_scale: f64) -> Self {
        RunOptions {
            time_scale,
            transport: Transport::Sim,
        }
    }

    /// The same options on another transport.
    pub fn on(self, transport: Transport) -> Self {
        RunOptions { transport, ..self }
    }

    /// Options with the given time scale, if it is a number from 0 to
    /// [`MAX_TIME_SCALE`].
    pub fn checked(time_scale: f64) -> Result<Self, TimeScaleError> {
        if (0.0..=MAX_TIME_SCALE).contains(&time_scale) {
            Ok(RunOptions::with_time_scale(time_scale))
        } else {
            // NaN, infinities and negative numbers all land here: `contains` is
            // false for NaN.
            Err(TimeScaleError(time_scale))
        }
    }

    /// A scenario duration in milliseconds, scaled into the real time to wait.
    ///
    /// Saturates rather than panics: `Duration::from_secs_f64` panics on a
    /// value too large for a `Duration` (a time scale of `1e308`), and a model
    /// figure scaled for display can be large; a wait that long is "forever"
    /// either way.
    pub fn scaled(&self, ms: u64) -> Duration {
        Duration::try_from_secs_f64(
            ms as f64 / 1000.0 * self.time_scale.max(0.0),
        )
        .unwrap_or(Duration::MAX)
    }
}

/// The instant `wait` after `at`: an attempt's deadline, or the instant its
/// feed is due, both measured from when the attempt started. A wait too long
/// for an `Instant` (a huge time scale) becomes a year, which is forever as far
/// as a run is concerned; `+` would panic instead. Every style that keeps its
/// own clock computes its deadlines with this.
pub fn later(at: Instant, wait: Duration) -> Instant {
    const FOREVER: Duration = Duration::from_secs(365 * 24 * 60 * 60);
    at.checked_add(wait).unwrap_or(at + FOREVER)
}

/// The wait from now until `at`: a timer of this length ends at `at` (at once
/// if `at` has passed). The timers of the future-based styles take a length,
/// not an instant.
pub fn until(at: Instant) -> Duration {
    at.saturating_duration_since(Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_scale_out_of_range_is_refused() {
        for scale in [-1.0, f64::NAN, f64::INFINITY, 1000.5, 1e308] {
            let err = RunOptions::checked(scale).unwrap_err();
            assert!(
                err.to_string().starts_with(
                    "the time scale must be a number from 0 to 1000"
                )
            );
        }
        for scale in [0.0, 0.05, 1.0, MAX_TIME_SCALE] {
            RunOptions::checked(scale).unwrap();
        }
    }

    #[test]
    fn scaling_saturates_instead_of_panicking() {
        let huge = RunOptions::with_time_scale(1e308);
        assert_eq!(huge.scaled(u64::MAX), Duration::MAX);
        assert_eq!(
            RunOptions::with_time_scale(f64::NAN).scaled(10),
            Duration::ZERO
        );
    }
}
