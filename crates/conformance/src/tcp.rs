//! Conformance on the `tcp` transport: the same questions, asked of runs whose attempts are real
//! connections to a feed server on loopback.
//!
//! - [`check_style_on_tcp`]: the built-in scenarios and generated ones, each run against a
//!   feed server, checked against the reference's report and for the trace invariants, socket
//!   phases included ([`check_socket_phases`]).
//! - [`check_sockets_closed`]: a run full of hangs, timeouts and errors leaves no socket open
//!   behind it, counted in the kernel's own table.
//!
//! Time scales: real sockets add real delays (a connect, a scheduler on a busy two-core
//! machine running tests in parallel), so the tcp battery runs every scenario at
//! [`TCP_SLOWDOWN`] times its sim scale, keeping each answer at least ~40 ms of real time from
//! its timeout. The sim battery covers the specification's tightest margins; this one covers
//! the sockets.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rosetta_feeds::{Config, FeedServer};
use rosetta_pipeline::outcome::AttemptOutcome;
use rosetta_pipeline::trace::{EventKind, SocketPhase};
use rosetta_pipeline::transport::Transport;
use rosetta_pipeline::{Report, RunOptions, Scenario, Trace};

use crate::{StyleFn, check_trace, diff, expected_report, time_scale_for};

/// How many times slower than on sim the tcp battery runs a scenario.
pub const TCP_SLOWDOWN: f64 = 2.0;

/// The feed server shared by every tcp check of this test process, started on first use. One
/// server serves every test at once: each run is registered under a run id of its own.
pub fn feed_server() -> &'static FeedServer {
    static SERVER: OnceLock<FeedServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        FeedServer::start(Config::default()).expect("a feed server starts on 127.0.0.1:0")
    })
}

/// Whether a style's trace shows its sockets' phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sockets {
    /// Every Rust style, Node's `http` module and asyncio's streams: each attempt's phases, in
    /// order, all three for an answer ([`check_socket_phases`]).
    Seen,
    /// `fetch` (the `node-promises` and `node-async` styles) hides its connection: no phase at
    /// all, rather than some.
    Hidden,
}

/// Runs `style` on `scenario` at `time_scale` over tcp against `server` (a run of its own), and
/// asserts that its report is the reference's and its trace keeps every invariant, socket
/// phases included. Returns the report and the trace.
pub fn check_on_tcp(
    name: &str,
    style: StyleFn,
    scenario: &Scenario,
    time_scale: f64,
    server: &FeedServer,
) -> (Report, Trace) {
    check_on_tcp_seeing(name, style, Sockets::Seen, scenario, time_scale, server)
}

/// [`check_on_tcp`], for a style whose trace shows its sockets or not.
pub fn check_on_tcp_seeing(
    name: &str,
    style: StyleFn,
    sockets: Sockets,
    scenario: &Scenario,
    time_scale: f64,
    server: &FeedServer,
) -> (Report, Trace) {
    let feeds = server.host(Arc::new(scenario.clone()), time_scale);
    let opts = RunOptions::with_time_scale(time_scale).on(Transport::Tcp(feeds));
    let trace = Trace::new();
    let report = style(scenario, &opts, &trace)
        .unwrap_or_else(|error| panic!("{name} failed on `{}` over tcp: {error}", scenario.name));
    server.retire(feeds);
    let expected = expected_report(scenario).to_string();
    let actual = report.to_string();
    assert!(
        actual == expected,
        "{name} over tcp disagrees with the reference on `{}`:\n{}",
        scenario.name,
        diff(&expected, &actual, name)
    );
    check_trace(name, scenario, &report, &trace);
    match sockets {
        Sockets::Seen => check_socket_phases(name, scenario, &trace),
        Sockets::Hidden => assert!(
            !trace
                .events()
                .iter()
                .any(|event| matches!(event.kind, EventKind::Socket { .. })),
            "{name} over tcp on `{}`: a style that cannot see its sockets records no phase",
            scenario.name
        ),
    }
    (report, trace)
}

/// The tcp battery a style crate runs on itself: the built-in scenarios, generated ones, and the
/// smallest settings, each against the shared [`feed_server`].
pub fn check_style_on_tcp(name: &str, style: StyleFn) {
    check_style_on_tcp_seeing(name, style, Sockets::Seen, TCP_SLOWDOWN);
}

/// [`check_style_on_tcp`], for a style whose trace shows its sockets or not, with every
/// scenario `slowdown` times slower than on sim. The programs in other languages need more than
/// [`TCP_SLOWDOWN`]: an interpreter spends a millisecond or more of CPU per attempt (Node's
/// `fetch` about 1.5 ms), so forty attempts started at once keep its one thread busy for tens
/// of milliseconds, on a machine running other tests besides.
pub fn check_style_on_tcp_seeing(name: &str, style: StyleFn, sockets: Sockets, slowdown: f64) {
    let server = feed_server();
    let check_on_tcp = |name: &str, style, scenario: &Scenario, time_scale, server| {
        check_on_tcp_seeing(name, style, sockets, scenario, time_scale, server)
    };
    for builtin in Scenario::builtin_names() {
        let scenario = Scenario::builtin(builtin).expect("a built-in scenario");
        let time_scale = slowdown * time_scale_for(builtin);
        let (_, trace) = check_on_tcp(name, style, &scenario, time_scale, server);
        assert_eq!(
            trace.summary().peak_attempts,
            scenario.settings.concurrency,
            "{name} over tcp on {builtin}: every slot gets used"
        );
    }
    for (sources, seed) in [(12, 2), (40, 3)] {
        let scenario = Scenario::generate(sources, seed);
        check_on_tcp(name, style, &scenario, slowdown * 0.2, server);
    }
    let mut smallest = Scenario::generate(12, 6);
    smallest.settings.concurrency = 1;
    smallest.settings.workers = 1;
    smallest.settings.channel_capacity = 1;
    check_on_tcp(name, style, &smallest, slowdown * 0.2, server);
    check_on_tcp(name, style, &long_body_scenario(), slowdown * 0.2, server);
}

/// Three feeds, one of them a body of about 400 KB: far more than one read returns, so a client
/// must put a response together from many reads, by its `Content-Length`.
pub fn long_body_scenario() -> Scenario {
    let mut scenario = Scenario::generate(3, 21);
    scenario.name = "long-body".into();
    let stations = ["Oslo", "Bergen", "Atlantis", "Rome"];
    scenario.sources[1].body = (0..30_000)
        .map(|line| format!("{};{}.{}\n", stations[line % 4], line % 40, line % 10))
        .collect();
    scenario
}

/// Asserts what the socket phases of a tcp run must show: each lies inside its attempt (after
/// its `AttemptStarted`, before its `AttemptFinished`), in order (connected, request sent,
/// first byte), at most once; and an attempt that answered passed all three (an answer cannot
/// arrive on a socket that never connected or was never asked).
pub fn check_socket_phases(name: &str, scenario: &Scenario, trace: &Trace) {
    let at = format!("{name} over tcp on `{}`", scenario.name);
    // Per attempt: the phases reached so far, and whether it is running.
    let mut attempts: HashMap<(usize, u32), (Vec<SocketPhase>, bool)> = HashMap::new();
    for event in trace.events() {
        match event.kind {
            EventKind::AttemptStarted { source, attempt } => {
                attempts.insert((source, attempt), (Vec::new(), true));
            }
            EventKind::Socket {
                source,
                attempt,
                phase,
            } => {
                let Some((phases, true)) = attempts.get_mut(&(source, attempt)) else {
                    panic!("{at}: {phase:?} of attempt {attempt} of source {source} outside it");
                };
                assert!(
                    phases.last().is_none_or(|last| *last < phase),
                    "{at}: attempt {attempt} of source {source}: {phase:?} after {phases:?}"
                );
                phases.push(phase);
            }
            EventKind::AttemptFinished {
                source,
                attempt,
                outcome,
            } => {
                let Some((phases, running)) = attempts.get_mut(&(source, attempt)) else {
                    continue; // `check_trace` reports it
                };
                *running = false;
                if outcome == AttemptOutcome::Answered {
                    assert_eq!(
                        *phases,
                        [
                            SocketPhase::Connected,
                            SocketPhase::RequestSent,
                            SocketPhase::FirstByte
                        ],
                        "{at}: attempt {attempt} of source {source} answered"
                    );
                }
            }
            _ => {}
        }
    }
}

/// A scenario made of what leaves sockets behind when a style gets it wrong: feeds that hang,
/// feeds slower than the timeout, feeds that fail, each retried once, a few in flight at once.
pub fn leaky_scenario() -> Scenario {
    let mut toml = String::from(
        "name = \"leaky\"\n\
         [settings]\nconcurrency = 6\nretries = 1\ntimeout_ms = 60\nlookup_ms = 1\n\
         [registry]\nOslo = \"north\"\n",
    );
    for index in 0..18 {
        let (fault, latency_ms) = match index % 6 {
            0 | 1 => ("hang", 0),
            2 | 3 => ("none", 400),
            4 => ("always", 1),
            _ => ("none", 1),
        };
        toml.push_str(&format!(
            "[[sources]]\nname = \"feed-{index}\"\nlatency_ms = {latency_ms}\nfault = \"{fault}\"\n\
             body = \"Oslo;1.{index}\\n\"\n"
        ));
    }
    Scenario::from_toml(&toml, "leaky.toml").expect("a valid scenario")
}

/// Asserts that a run of `style` over tcp on [`leaky_scenario`] leaves none of its sockets
/// open: after the run returns, the process holds no socket connected to the run's server, and
/// the server sees every connection closed (it closes its side only when the client has).
///
/// The run gets a server of its own, so that the tests running beside it in the same process,
/// with sockets of their own to the shared server, cannot change the count. Linux only: the
/// count reads `/proc/self/fd` and `/proc/net/tcp{,6}`.
#[cfg(target_os = "linux")]
pub fn check_sockets_closed(name: &str, style: StyleFn) {
    let server = FeedServer::start(Config::default()).expect("a feed server starts");
    let port = server.addr().port();
    assert_eq!(sockets_to(port), 0, "{name}: no socket to a new server");
    let scenario = leaky_scenario();
    let (report, _) = check_on_tcp(name, style, &scenario, 1.0, &server);
    assert!(
        report.sources_failed.len() >= 12,
        "{name}: the leaky scenario's hangs and slow feeds fail"
    );
    let left = sockets_to(port);
    assert_eq!(
        left, 0,
        "{name}: {left} sockets to the feed server still open after the run returned"
    );
    // The server closes its side when it sees the client's close: bounded wait, no timing
    // asserted. Ten seconds is far more than a close takes; only a leak runs it out.
    let limit = Instant::now() + Duration::from_secs(10);
    while server.stats().open_connections > 0 && Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        server.stats().open_connections,
        0,
        "{name}: the server still holds connections the client should have closed"
    );
}

/// How many sockets of this process are connected to `port` on loopback: the inodes of the
/// process's socket descriptors (`/proc/self/fd/N -> socket:[INODE]`) that the kernel's TCP
/// tables list with that remote port. (A closed socket in `TIME_WAIT` has no descriptor and
/// inode 0: it does not count.)
#[cfg(target_os = "linux")]
pub fn sockets_to(port: u16) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue; // no IPv6 in this kernel
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
            let (Some(remote), Some(inode)) = (fields.get(2), fields.get(9)) else {
                continue;
            };
            let remote_port = remote
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            if remote_port == Some(port) && inodes.contains(*inode) {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaky_scenario_is_valid_and_fails_as_designed() {
        let report = expected_report(&leaky_scenario());
        // 6 hang, 6 too slow, 3 always fail: 15 failed; 3 answer.
        assert_eq!((report.sources_ok, report.sources_failed.len()), (3, 15));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn open_sockets_are_counted_and_closed_ones_are_not() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(sockets_to(port), 0);
        let first = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let second = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        // The accepted ends have the *local* port `port`: only the clients count.
        let _accepted = (listener.accept().unwrap(), listener.accept().unwrap());
        assert_eq!(sockets_to(port), 2);
        drop(first);
        assert_eq!(sockets_to(port), 1);
        drop(second);
        assert_eq!(sockets_to(port), 0);
    }

    #[test]
    fn the_reference_conforms_over_tcp() {
        crate::tcp::check_on_tcp(
            "reference",
            rosetta_pipeline::reference::run,
            &Scenario::builtin("classroom").unwrap(),
            TCP_SLOWDOWN * time_scale_for("classroom"),
            feed_server(),
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_reference_closes_its_sockets() {
        check_sockets_closed("reference", rosetta_pipeline::reference::run);
    }
}
