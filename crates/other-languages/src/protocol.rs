//! The trace lines a program writes on its standard error, read into the run's [`Trace`].
//!
//! A program in another process cannot call [`Trace::record`]; it writes one JSON object per
//! event instead (`{"trace":"attempt_started","ms":12.5,"source":0,"attempt":1}`: the table is
//! in the crate's `README.md`), and [`TraceReader`] turns each line into an [`EventKind`].
//!
//! Times come from the program's clock, not from when a line arrives: a line can wait in a pipe
//! or behind the reading thread. The program's `run_started` is pinned to the moment it is read
//! (the clocks' offset), and every later event is placed at that moment plus the time the
//! program measured since ([`Trace::record_at`]).
//!
//! A line that is not a trace line is a message for people (a warning, a stack trace) and is
//! kept for the error if the program fails. A trace line that does not read, or names a source
//! or a worker the scenario does not have, is a bug in the program: the run fails with that
//! line, rather than a figure being drawn from it.

use std::time::Duration;

use rosetta_pipeline::Trace;
use rosetta_pipeline::outcome::AttemptOutcome;
use rosetta_pipeline::trace::{EventKind, SocketPhase};
use serde::Deserialize;

/// One trace line, as a program writes it: its time, and what happened (named by `trace`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Line {
    /// Milliseconds since the program started, on its own monotonic clock.
    ms: f64,
    #[serde(flatten)]
    event: Event,
}

/// What a trace line says happened.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "trace", rename_all = "snake_case")]
enum Event {
    RunStarted,
    AttemptStarted {
        source: usize,
        attempt: u32,
    },
    Socket {
        source: usize,
        attempt: u32,
        phase: SocketPhase,
    },
    AttemptFinished {
        source: usize,
        attempt: u32,
        outcome: AttemptOutcome,
    },
    LookupStarted {
        station: String,
    },
    LookupFinished {
        station: String,
        known: bool,
    },
    HandedOff {
        worker: usize,
        records: u32,
    },
    RunFinished,
}

impl Event {
    /// The event, if its indices fit a run of `sources` sources and `workers` workers.
    fn into_event(self, sources: usize, workers: usize) -> Result<EventKind, String> {
        let source_fits = |source: usize, attempt: u32| {
            if source >= sources {
                Err(format!("no source {source} (the run has {sources})"))
            } else if attempt == 0 {
                Err("attempts are numbered from 1".to_string())
            } else {
                Ok(())
            }
        };
        Ok(match self {
            Event::RunStarted => EventKind::RunStarted,
            Event::RunFinished => EventKind::RunFinished,
            Event::AttemptStarted { source, attempt } => {
                source_fits(source, attempt)?;
                EventKind::AttemptStarted { source, attempt }
            }
            Event::Socket {
                source,
                attempt,
                phase,
            } => {
                source_fits(source, attempt)?;
                EventKind::Socket {
                    source,
                    attempt,
                    phase,
                }
            }
            Event::AttemptFinished {
                source,
                attempt,
                outcome,
            } => {
                source_fits(source, attempt)?;
                EventKind::AttemptFinished {
                    source,
                    attempt,
                    outcome,
                }
            }
            Event::LookupStarted { station } => EventKind::LookupStarted { station },
            Event::LookupFinished { station, known } => {
                EventKind::LookupFinished { station, known }
            }
            Event::HandedOff { worker, records } => {
                if worker >= workers {
                    return Err(format!("no worker {worker} (the run has {workers})"));
                }
                if records == 0 {
                    return Err("a hand-off of no record".to_string());
                }
                EventKind::HandedOff { worker, records }
            }
        })
    }
}

/// The most lines of messages kept for an error; a program that prints a long stack trace
/// shows its start, where the cause is.
const MESSAGES_KEPT: usize = 20;

/// Reads a program's standard error, line by line, into a [`Trace`].
#[derive(Debug)]
pub(crate) struct TraceReader {
    trace: Trace,
    sources: usize,
    workers: usize,
    /// The trace's time and the program's `ms` at its `run_started`.
    origin: Option<(Duration, f64)>,
    /// Lines for people, the first [`MESSAGES_KEPT`] of them.
    messages: Vec<String>,
    /// Lines for people beyond those kept.
    messages_dropped: usize,
    /// The first trace line that did not read, and why.
    malformed: Option<String>,
    /// The program's process, whose peak memory is read at its `run_finished`.
    pid: u32,
    /// That peak, in KiB.
    peak_kib: Option<u64>,
}

impl TraceReader {
    /// A reader for a run of `sources` sources and `workers` workers by process `pid`,
    /// recording into `trace`.
    pub(crate) fn new(trace: Trace, sources: usize, workers: usize, pid: u32) -> TraceReader {
        TraceReader {
            trace,
            sources,
            workers,
            origin: None,
            messages: Vec::new(),
            messages_dropped: 0,
            malformed: None,
            pid,
            peak_kib: None,
        }
    }

    /// Reads one line (without its newline).
    pub(crate) fn line(&mut self, line: &str) {
        if !line.starts_with("{\"trace\"") {
            if self.messages.len() < MESSAGES_KEPT {
                self.messages.push(line.to_string());
            } else {
                self.messages_dropped += 1;
            }
            return;
        }
        let read = serde_json::from_str::<Line>(line)
            .map_err(|error| error.to_string())
            .and_then(|Line { ms, event }| {
                if !ms.is_finite() || ms < 0.0 {
                    return Err(format!("`ms` is {ms}"));
                }
                Ok((ms, event.into_event(self.sources, self.workers)?))
            });
        match read {
            Ok((ms, event)) => self.record(ms, event),
            Err(why) => {
                if self.malformed.is_none() {
                    self.malformed = Some(format!("{line} ({why})"));
                }
            }
        }
    }

    fn record(&mut self, ms: f64, event: EventKind) {
        if event == EventKind::RunFinished {
            // The process is still alive (it prints its report after this line), and its
            // high-water mark covers the whole pipeline.
            self.peak_kib = peak_kib_of(self.pid);
        }
        let now = self.trace.elapsed();
        let (at0, ms0) = match (&event, self.origin) {
            (EventKind::RunStarted, _) | (_, None) => *self.origin.insert((now, ms)),
            (_, Some(origin)) => origin,
        };
        let since = Duration::try_from_secs_f64((ms - ms0).max(0.0) / 1000.0).unwrap_or_default();
        self.trace.record_at(at0.saturating_add(since), event);
    }

    /// The program's peak resident memory at its `run_finished`, in KiB.
    pub(crate) fn peak_kib(&self) -> Option<u64> {
        self.peak_kib
    }

    /// What the program said for people, for an error message: its first lines.
    pub(crate) fn messages(&self) -> String {
        let mut text = self.messages.join("\n");
        if self.messages_dropped > 0 {
            text.push_str(&format!("\n(and {} more lines)", self.messages_dropped));
        }
        text
    }

    /// The first trace line that did not read, and why.
    pub(crate) fn malformed(&self) -> Option<&str> {
        self.malformed.as_deref()
    }
}

/// `VmHWM` of process `pid`, in KiB; `None` off Linux or once the process is gone.
fn peak_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> (TraceReader, Vec<EventKind>) {
        let trace = Trace::new();
        let mut reader = TraceReader::new(trace.clone(), 2, 3, std::process::id());
        for line in lines {
            reader.line(line);
        }
        let kinds = trace.events().into_iter().map(|event| event.kind).collect();
        (reader, kinds)
    }

    #[test]
    fn every_kind_of_line_becomes_its_event() {
        let (reader, kinds) = read(&[
            r#"{"trace":"run_started","ms":40.0}"#,
            r#"{"trace":"attempt_started","ms":41.5,"source":1,"attempt":1}"#,
            r#"{"trace":"socket","ms":42,"source":1,"attempt":1,"phase":"first_byte"}"#,
            r#"{"trace":"attempt_finished","ms":43,"source":1,"attempt":1,"outcome":"timeout"}"#,
            r#"{"trace":"lookup_started","ms":44,"station":"Oslo"}"#,
            r#"{"trace":"lookup_finished","ms":45,"station":"Oslo","known":false}"#,
            r#"{"trace":"handed_off","ms":46,"worker":2,"records":7}"#,
            r#"{"trace":"run_finished","ms":47}"#,
        ]);
        assert_eq!(reader.malformed(), None);
        // At `run_finished`, the process's peak memory (here the test's own process).
        assert!(cfg!(not(target_os = "linux")) || reader.peak_kib().is_some_and(|kib| kib > 0));
        assert_eq!(
            kinds,
            [
                EventKind::RunStarted,
                EventKind::AttemptStarted {
                    source: 1,
                    attempt: 1
                },
                EventKind::Socket {
                    source: 1,
                    attempt: 1,
                    phase: SocketPhase::FirstByte
                },
                EventKind::AttemptFinished {
                    source: 1,
                    attempt: 1,
                    outcome: AttemptOutcome::Timeout
                },
                EventKind::LookupStarted {
                    station: "Oslo".into()
                },
                EventKind::LookupFinished {
                    station: "Oslo".into(),
                    known: false
                },
                EventKind::HandedOff {
                    worker: 2,
                    records: 7
                },
                EventKind::RunFinished,
            ]
        );
    }

    #[test]
    fn messages_are_kept_for_people_and_bad_trace_lines_fail_the_run() {
        let (reader, kinds) = read(&[
            "(node:1) ExperimentalWarning: The Fetch API is an experimental feature.",
            r#"{"trace":"attempt_started","ms":1,"source":2,"attempt":1}"#,
            r#"{"trace":"handed_off","ms":1,"worker":3,"records":1}"#,
            r#"{"trace":"lookup_started","ms":"soon","station":"Oslo"}"#,
        ]);
        assert!(
            kinds.is_empty(),
            "nothing out of range is recorded: {kinds:?}"
        );
        assert!(reader.messages().contains("ExperimentalWarning"));
        let malformed = reader.malformed().expect("the first bad line is kept");
        assert!(
            malformed.contains("no source 2 (the run has 2)"),
            "{malformed}"
        );
    }

    #[test]
    fn times_are_the_programs_own_from_its_run_started() {
        let trace = Trace::new();
        let mut reader = TraceReader::new(trace.clone(), 1, 1, std::process::id());
        reader.line(r#"{"trace":"run_started","ms":1000}"#);
        // Written 0.2 ms after the start, read whenever: placed 0.2 ms after it.
        std::thread::sleep(Duration::from_millis(5));
        reader.line(r#"{"trace":"attempt_started","ms":1000.2,"source":0,"attempt":1}"#);
        let events = trace.events();
        assert_eq!(events[1].at - events[0].at, Duration::from_micros(200));
    }
}
