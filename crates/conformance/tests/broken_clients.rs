//! The tcp battery catches broken clients: two deliberately wrong ways of reading a feed, each
//! in a small sequential style, each caught by the checks `check_style_on_tcp` runs, on the
//! scenarios it runs them on.
//!
//! - `believes_any_status` reads the response whole and takes its body whatever the status, so a
//!   `503` from a `first` feed passes for an answer (caught on `classroom`);
//! - `trusts_one_read` takes what its first read returned as the whole response, ignoring
//!   `Content-Length`, so a body longer than one read arrives cut short (caught on
//!   `long_body_scenario`).
//!
//! A control, `reads_correctly`, is the same style with a correct reader, and passes both: so
//! what is caught is the bug, not the little style around it.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use rosetta_conformance::tcp::{TCP_SLOWDOWN, check_on_tcp, feed_server, long_body_scenario};
use rosetta_conformance::time_scale_for;
use rosetta_pipeline::aggregate::{Enriched, WorkerTally};
use rosetta_pipeline::parse::{Reason, Rejection, parse_lines};
use rosetta_pipeline::partition::worker_for;
use rosetta_pipeline::run::{AttemptOutcome, FetchSummary};
use rosetta_pipeline::trace::{EventKind, SocketPhase};
use rosetta_pipeline::transport::{Feeds, Transport};
use rosetta_pipeline::{Report, RunError, RunOptions, Scenario, Trace};

/// How a client turns the bytes of one exchange into a body: `Ok(None)` is an error answer, an
/// `Err` of kind `WouldBlock`/`TimedOut` the read timeout (the attempt's timeout).
type Reader = fn(&mut TcpStream) -> io::Result<Option<String>>;

/// Correct: the whole response, a `200`, and exactly `Content-Length` bytes of body.
fn reads_correctly(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let Some((head, body)) = response.split_once("\r\n\r\n") else {
        return Ok(None);
    };
    let length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .and_then(|length| length.parse::<usize>().ok());
    let ok = head.starts_with("HTTP/1.1 200") && length == Some(body.len());
    Ok(ok.then(|| body.to_string()))
}

/// Broken: the body after the head, whatever the status line says.
fn believes_any_status(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string()))
}

/// Broken: one read, taken as the whole response; the status is checked, `Content-Length` is
/// not.
fn trusts_one_read(stream: &mut TcpStream) -> io::Result<Option<String>> {
    let mut buffer = vec![0; 64 * 1024];
    let read = stream.read(&mut buffer)?;
    let response = String::from_utf8_lossy(&buffer[..read]).into_owned();
    if !response.starts_with("HTTP/1.1 200") {
        return Ok(None);
    }
    Ok(response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string()))
}

/// A sequential run whose attempts read with `read`, otherwise as the specification says, with
/// the trace events the checks look for. (Sequential, so it is only run on single scenarios with
/// `check_on_tcp`; the battery's "every slot used" check is not for it.)
fn run_with(
    read: Reader,
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    let Transport::Tcp(feeds) = opts.transport else {
        panic!("these clients only speak tcp");
    };
    let settings = &scenario.settings;
    let (mut fetches, mut rejected) = (Vec::new(), Vec::new());
    let mut regions: HashMap<String, Option<String>> = HashMap::new();
    let mut tallies = vec![WorkerTally::new(); settings.workers];
    trace.record(EventKind::RunStarted);
    for (index, source) in scenario.sources.iter().enumerate() {
        let mut attempt = 1;
        let body = loop {
            trace.record(EventKind::AttemptStarted {
                source: index,
                attempt,
            });
            let timeout = opts.scaled(settings.timeout_ms);
            let (outcome, body) = match exchange(read, &feeds, &source.name, timeout) {
                Ok(Some(body)) => {
                    for phase in [
                        SocketPhase::Connected,
                        SocketPhase::RequestSent,
                        SocketPhase::FirstByte,
                    ] {
                        trace.record(EventKind::Socket {
                            source: index,
                            attempt,
                            phase,
                        });
                    }
                    (AttemptOutcome::Answered, Some(body))
                }
                Ok(None) => (AttemptOutcome::Error, None),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    (AttemptOutcome::Timeout, None)
                }
                Err(_) => (AttemptOutcome::Error, None),
            };
            trace.record(EventKind::AttemptFinished {
                source: index,
                attempt,
                outcome,
            });
            if body.is_some() || attempt == settings.max_attempts() {
                fetches.push(FetchSummary::after(attempt, outcome));
                break body;
            }
            attempt += 1;
        };
        let Some(body) = body else { continue };
        for line in parse_lines(index, &body) {
            let line = match line {
                Ok(line) => line,
                Err(rejection) => {
                    rejected.push(rejection);
                    continue;
                }
            };
            let region = regions
                .entry(line.station.to_string())
                .or_insert_with(|| {
                    let station = line.station.to_string();
                    trace.record(EventKind::LookupStarted {
                        station: station.clone(),
                    });
                    let region = scenario.registry.region_of(&station).map(str::to_string);
                    trace.record(EventKind::LookupFinished {
                        station,
                        known: region.is_some(),
                    });
                    region
                })
                .clone();
            let Some(region) = region else {
                rejected.push(Rejection {
                    source: index,
                    line: line.line,
                    reason: Reason::UnknownStation,
                });
                continue;
            };
            let worker = worker_for(line.station, settings.workers);
            tallies[worker].add(Enriched {
                record: line.to_record(),
                region,
            });
            trace.hand_off(worker);
        }
    }
    trace.record(EventKind::RunFinished);
    Ok(Report::assemble(
        scenario,
        &fetches,
        rejected,
        regions.len() as u64,
        &tallies,
    ))
}

/// One exchange: connect, send, and let `read` make what it will of the answer, within
/// `timeout` per read (near enough the attempt's deadline for these scenarios' margins).
fn exchange(
    read: Reader,
    feeds: &Feeds,
    source: &str,
    timeout: Duration,
) -> io::Result<Option<String>> {
    let mut stream = TcpStream::connect(feeds.addr)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(&feeds.request(source))?;
    read(&mut stream)
}

fn correct_style(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    run_with(reads_correctly, scenario, opts, trace)
}

fn believing_style(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    run_with(believes_any_status, scenario, opts, trace)
}

fn trusting_style(
    scenario: &Scenario,
    opts: &RunOptions,
    trace: &Trace,
) -> Result<Report, RunError> {
    run_with(trusts_one_read, scenario, opts, trace)
}

/// The checks' verdict on `style` for one scenario of the tcp battery: the panic message if it
/// failed them.
fn verdict(
    style: rosetta_conformance::StyleFn,
    scenario: &Scenario,
    time_scale: f64,
) -> Option<String> {
    let check = || check_on_tcp("client", style, scenario, time_scale, feed_server());
    catch_unwind(AssertUnwindSafe(check)).err().map(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

fn classroom() -> (Scenario, f64) {
    let scale = TCP_SLOWDOWN * time_scale_for("classroom");
    (Scenario::builtin("classroom").unwrap(), scale)
}

fn long_body() -> (Scenario, f64) {
    (long_body_scenario(), TCP_SLOWDOWN * 0.2)
}

#[test]
fn the_control_client_passes() {
    for (scenario, scale) in [classroom(), long_body()] {
        assert_eq!(
            verdict(correct_style, &scenario, scale),
            None,
            "{}",
            scenario.name
        );
    }
}

#[test]
fn a_client_that_takes_a_503_for_an_answer_is_caught() {
    let (scenario, scale) = classroom();
    let message = verdict(believing_style, &scenario, scale).expect("the checks fail it");
    assert!(
        message.contains("disagrees with the reference"),
        "{message}"
    );
}

#[test]
fn a_client_that_ignores_content_length_is_caught() {
    let (scenario, scale) = long_body();
    let message = verdict(trusting_style, &scenario, scale).expect("the checks fail it");
    assert!(
        message.contains("disagrees with the reference"),
        "{message}"
    );
}
