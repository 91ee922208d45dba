//! The ideal wall time of a scenario: the physical limit every style is
//! measured against.
//!
//! This replaces the seed article's `T = N / (B * v * P)`, which is
//! dimensionally wrong (see the book's chapter "Performance"). For I/O-bound
//! work the right model is a schedule: with at most `P` attempts in flight,
//! sources are started in file order on the first free slot (list scheduling),
//! each occupies its slot for the sum of its attempts, and nothing else costs
//! anything. For `N` sources of equal latency `L` that gives `ceil(N / P) * L`.
//!
//! After a source answers, its records need their stations' regions. With zero
//! overhead every distinct station is looked up once, starting the moment the
//! first successful source that mentions it has answered (lookups are not
//! bounded by `concurrency`), and parsing, partitioning and merging take no
//! time. The ideal wall time is the later of the last fetch and the last
//! lookup.
//!
//! A real style adds overhead (scheduling, thread start-up, timer granularity),
//! so its wall time over this ideal, the *ratio*, is at least 1. A ratio close
//! to 1 means the style wastes no waiting. The sequential reference's ratio is
//! its sequential time over this ideal: at most about `P` when lookups are few,
//! and less when the `P` slots cannot all stay busy until the end (latencies,
//! retries and timeouts rarely divide evenly among them).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::enrich::survey;
use crate::outcome::AttemptOutcome;
use crate::scenario::{Response, Scenario, Settings, Source};

/// How long attempt number `attempt` of `source` takes and how it ends, in
/// scenario milliseconds, according to the semantics: the answer comes after
/// `latency_ms` unless the timeout comes first; a hanging feed always times
/// out.
///
/// Only the sequential reference and this model may decide an attempt this way.
/// The concurrent styles race a real timer against a real timeout, which is the
/// point of them.
pub fn attempt(
    source: &Source,
    attempt: u32,
    settings: &Settings,
) -> (u64, AttemptOutcome) {
    let timeout = settings.timeout_ms;
    match source.respond(attempt) {
        _ if source.latency_ms > timeout => (timeout, AttemptOutcome::Timeout),
        Response::Never => (timeout, AttemptOutcome::Timeout),
        Response::Error => (source.latency_ms, AttemptOutcome::Error),
        Response::Body(_) => (source.latency_ms, AttemptOutcome::Answered),
    }
}

/// The time one source keeps a slot busy (all its attempts), and whether it
/// answered in the end.
pub fn fetch_ms(source: &Source, settings: &Settings) -> (u64, bool) {
    let mut total = 0;
    for number in 1..=settings.max_attempts() {
        let (ms, outcome) = attempt(source, number, settings);
        // Saturating, like every sum in this module: the model must answer for
        // any scenario, even one built in code without validation, and "more
        // than u64 milliseconds" is as good an answer as any there.
        total = u64::saturating_add(total, ms);
        if outcome == AttemptOutcome::Answered {
            return (total, true);
        }
    }
    (total, false)
}

/// The ideal figures of one scenario, in scenario milliseconds (multiply by the
/// time scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ideal {
    /// When the last fetch ends, with `concurrency` slots and zero overhead.
    pub fetch_ms: u64,
    /// When everything ends: the later of the last fetch and the last lookup.
    pub total_ms: u64,
    /// The sequential time: every attempt and every lookup one after the other.
    pub sequential_ms: u64,
}

// ANCHOR: ideal
// ANCHOR: ideal_fetches
/// Computes the ideal schedule of `scenario`.
pub fn ideal(scenario: &Scenario) -> Ideal {
    let settings = &scenario.settings;
    // Each slot is the time at which it becomes free; the earliest free slot
    // takes the next source (list scheduling, in file order). Slots beyond the
    // number of sources would never be used, so the heap is sized by the input,
    // never by the `concurrency` setting alone.
    let slot_count = settings.concurrency.min(scenario.sources.len()).max(1);
    let mut slots: BinaryHeap<Reverse<u64>> =
        (0..slot_count).map(|_| Reverse(0)).collect();
    let mut fetch_end = 0;
    let mut sequential = 0;
    // Earliest moment each station is known to be needed.
    let mut needed_at: HashMap<String, u64> = HashMap::new();
    for (index, source) in scenario.sources.iter().enumerate() {
        let Reverse(start) = slots.pop().expect("concurrency is at least 1");
        let (busy, answered) = fetch_ms(source, settings);
        let end = start.saturating_add(busy);
        slots.push(Reverse(end));
        fetch_end = fetch_end.max(end);
        sequential = u64::saturating_add(sequential, busy);
        if answered {
            for station in survey(index, source.body.as_str()).stations {
                let at = needed_at.entry(station).or_insert(end);
                *at = (*at).min(end);
            }
        }
    }
    // ANCHOR_END: ideal_fetches
    // ANCHOR: ideal_lookups
    let lookups_end = needed_at
        .values()
        .map(|at| at.saturating_add(settings.lookup_ms))
        .max()
        .unwrap_or(0);
    let all_lookups =
        (needed_at.len() as u64).saturating_mul(settings.lookup_ms);
    sequential = sequential.saturating_add(all_lookups);
    Ideal {
        fetch_ms: fetch_end,
        total_ms: fetch_end.max(lookups_end),
        sequential_ms: sequential,
    }
    // ANCHOR_END: ideal_lookups
}
// ANCHOR_END: ideal

/// The longest time [`describe_ms`] writes as a number: an hour, the longest
/// latency or timeout a scenario may hold.
pub const DESCRIBED_UP_TO_MS: u64 = 3_600_000;

/// A model figure for people: `78 ms`, or `more than an hour` beyond an hour,
/// where a number of milliseconds says nothing useful (and a saturated figure
/// would print as 18446744073709551615).
pub fn describe_ms(ms: u64) -> String {
    if ms > DESCRIBED_UP_TO_MS {
        "more than an hour".to_string()
    } else {
        format!("{ms} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Fault;

    fn scenario(
        concurrency: usize,
        sources: &[(u64, Fault, &str)],
    ) -> Scenario {
        let mut scenario = Scenario::from_toml(
            "name = \"m\"\n[registry]\nOslo = \"north\"\n",
            "m.toml",
        )
        .unwrap();
        scenario.settings.concurrency = concurrency;
        scenario.sources = sources
            .iter()
            .enumerate()
            .map(|(i, (latency_ms, fault, body))| Source {
                name: format!("s{i}"),
                latency_ms: *latency_ms,
                fault: *fault,
                body: body.to_string(),
            })
            .collect();
        scenario
    }

    #[test]
    fn uniform_latency_gives_ceil_n_over_p_times_l() {
        // 10 sources of 100 ms, 4 slots: ceil(10 / 4) * 100 = 300 ms.
        let s = scenario(4, &[(100, Fault::None, ""); 10]);
        let got = ideal(&s);
        assert_eq!(got.total_ms, 300);
        assert_eq!(got.sequential_ms, 1000);
    }

    #[test]
    fn list_scheduling_fills_the_first_free_slot() {
        // Slots: [50, then 50 more] and [150]: the third source starts at 50
        // and ends at 100.
        let s = scenario(
            2,
            &[
                (50, Fault::None, ""),
                (150, Fault::None, ""),
                (50, Fault::None, ""),
            ],
        );
        assert_eq!(ideal(&s).fetch_ms, 150);
    }

    #[test]
    fn retries_and_timeouts_keep_the_slot() {
        // timeout 400, retries 1: a hanging source holds its slot for 2 * 400
        // ms; a `first` source for twice its latency; an `always` source fails
        // twice.
        let s = scenario(
            1,
            &[
                (10, Fault::Hang, ""),
                (10, Fault::First, ""),
                (10, Fault::Always, ""),
            ],
        );
        assert_eq!(ideal(&s).fetch_ms, 800 + 20 + 20);
        let slow = scenario(1, &[(900, Fault::None, "")]);
        assert_eq!(
            ideal(&slow).fetch_ms,
            800,
            "latency above the timeout always times out"
        );
    }

    #[test]
    fn huge_settings_neither_overflow_nor_allocate() {
        // Built in code, so validation never saw it: the model must still
        // answer, saturated, without a heap of `usize::MAX` slots ("capacity
        // overflow") or an overflowing sum.
        let mut s = scenario(1, &[(u64::MAX / 2, Fault::Hang, ""); 3]);
        s.settings.concurrency = usize::MAX;
        s.settings.timeout_ms = u64::MAX / 2;
        s.settings.retries = 3;
        s.settings.lookup_ms = u64::MAX;
        let got = ideal(&s);
        assert_eq!(got.sequential_ms, u64::MAX);
        assert_eq!(describe_ms(got.sequential_ms), "more than an hour");
        assert_eq!(describe_ms(3_600_000), "3600000 ms");
        assert_eq!(describe_ms(78), "78 ms");
    }

    #[test]
    fn a_station_is_looked_up_once_from_its_first_answer() {
        // Both sources mention Oslo; the lookup (30 ms) starts when the first
        // one answers at 20.
        let s = scenario(
            2,
            &[
                (100, Fault::None, "Oslo;1.0"),
                (20, Fault::None, "Oslo;2.0\nbad"),
            ],
        );
        let got = ideal(&s);
        assert_eq!(got.fetch_ms, 100);
        assert_eq!(got.total_ms, 100);
        assert_eq!(got.sequential_ms, 120 + 30);
        let late = scenario(1, &[(100, Fault::None, "Oslo;1.0")]);
        assert_eq!(ideal(&late).total_ms, 130);
    }
}

/// The machine a measurement ran on, for the captions of figures: a ratio to
/// the ideal means little without the cores it had. `rosetta bench --svg` and
/// `cargo xtask figures` both describe the machine through this one reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The cores this process may use (`available_parallelism`: it honours CPU
    /// affinity and cgroup quotas, as `nproc` does), or 0 if the system will
    /// not say.
    pub cores: usize,
    /// The CPU model from `/proc/cpuinfo` (Linux), or "an unknown CPU".
    pub cpu: String,
}

/// Reads the [`Machine`] this process runs on.
pub fn machine() -> Machine {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".to_string());
    Machine { cores, cpu }
}

impl std::fmt::Display for Machine {
    /// `2 cores, AMD EPYC 7B13`: the short form, for one caption line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} cores, {}", self.cores, self.cpu)
    }
}
