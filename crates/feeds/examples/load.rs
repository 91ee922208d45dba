//! Load on the feed server: ten thousand connections at once, and what they cost it.
//!
//! ```text
//! cargo run --release -p rosetta-feeds --example load [-- CONNECTIONS]
//! ```
//!
//! Two phases, each with CONNECTIONS (default 10,000) connections open at once:
//!
//! 1. **latency**: every client fetches a feed whose latency is 500 ms. The ideal is that all
//!    answer 500 ms after they asked; the figure is how long the last one took, against that.
//! 2. **hang**: every client asks for a feed that never answers and holds its connection;
//!    then they all close, and the server must notice each one.
//!
//! For each phase it prints the wall time, the peak of open connections, and the CPU time the
//! server spent (its process's threads), beside the clients'. Nothing is asserted about time:
//! these are figures for people.
//!
//! The clients run in a child process (this same program, started with `client`): a process may
//! hold 20,000 descriptors here, and one holding both ends of 10,000 connections would need all
//! of them. So the server's process holds the server's ends and the child the clients'.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rosetta_feeds::{Config, FeedServer};
use rosetta_pipeline::Scenario;
use rosetta_pipeline::transport::Feeds;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LATENCY_MS: u64 = 500;

fn scenario() -> Scenario {
    let toml = format!(
        r#"
name = "load"
about = "One slow feed, one hanging feed"

[settings]
timeout_ms = 2000

[registry]
Oslo = "north"

[[sources]]
name = "slow"
latency_ms = {LATENCY_MS}
body = "Oslo;1.0\n"

[[sources]]
name = "stuck"
latency_ms = 0
fault = "hang"
"#
    );
    Scenario::from_toml(&toml, "load.toml").expect("the load scenario is valid")
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("client") {
        return client(&args[2..]);
    }
    let connections: usize = match args.get(1) {
        Some(n) => n.parse().map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "usage: load [CONNECTIONS]")
        })?,
        None => 10_000,
    };
    server(connections)
}

/// The server's side: start the server, start the clients, run both phases, print figures.
fn server(connections: usize) -> io::Result<()> {
    let server = FeedServer::start(Config::default())?;
    let feeds = server.host(Arc::new(scenario()), 1.0);
    println!(
        "feed server at {} (2 worker threads), {connections} connections per phase, on {}",
        server.url(),
        rosetta_pipeline::model::machine()
    );
    let mut child = Command::new(std::env::current_exe()?)
        .args(["client", &feeds.addr.to_string(), &feeds.run.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut to_clients = child.stdin.take().expect("piped");
    let mut from_clients = BufReader::new(child.stdout.take().expect("piped"));
    let mut ask = |command: &str| -> io::Result<String> {
        writeln!(to_clients, "{command}")?;
        to_clients.flush()?;
        let mut line = String::new();
        from_clients.read_line(&mut line)?;
        if line.is_empty() {
            return Err(io::Error::other("the client process ended"));
        }
        Ok(line.trim().to_owned())
    };

    // Phase 1: a feed with latency.
    server.reset_peak();
    let cpu = server_cpu();
    let machine = Machine::now();
    let report = ask(&format!("latency {connections}"))?;
    let cpu = server_cpu() - cpu;
    let machine = Machine::now() - machine;
    let figures = Figures::parse(&report);
    wait_until_closed(&server);
    let wall = figures.get("wall_ms");
    println!("\nphase 1: {connections} clients fetch a feed with a latency of {LATENCY_MS} ms");
    println!(
        "  answered {} (errors {}), all within {wall:.0} ms: {:.2} x the ideal ({LATENCY_MS} ms)",
        figures.get("ok"),
        figures.get("errors"),
        wall / LATENCY_MS as f64
    );
    println!(
        "  answered after (from the start): median {:.0} ms, 99th percentile {:.0} ms, last {:.0} ms; \
         the last client connected after {:.0} ms",
        figures.get("answered_p50_ms"),
        figures.get("answered_p99_ms"),
        figures.get("answered_max_ms"),
        figures.get("connected_ms"),
    );
    println!(
        "  answered after (from its connection): median {:.0} ms, 99th percentile {:.0} ms, longest {:.0} ms \
         (ideal {LATENCY_MS} ms: the rest is the server's delay)",
        figures.get("waited_p50_ms"),
        figures.get("waited_p99_ms"),
        figures.get("waited_max_ms"),
    );
    println!(
        "  peak open connections {}; CPU: server {} ({:.0} µs per request), clients {:.0} ms",
        server.stats().peak_open_connections,
        cpu,
        cpu.total_ms() * 1000.0 / connections as f64,
        figures.get("cpu_ms"),
    );
    println!(
        "  the whole machine: busy {:.0} ms of {:.0} ms ({} cores); others than this server and its \
         clients: {:.0} ms",
        machine.busy_ms,
        machine.total_ms,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        (machine.busy_ms - cpu.total_ms() - figures.get("cpu_ms")).max(0.0),
    );

    // Phase 2: a feed that hangs, then every client leaves.
    server.reset_peak();
    let requests_before = server.stats().requests;
    let cpu = server_cpu();
    let report = ask(&format!("hang {connections}"))?;
    let figures = Figures::parse(&report);
    let held = poll(|| server.stats().requests - requests_before >= connections as u64);
    let holding = server.stats();
    let cpu_holding = server_cpu() - cpu;
    let leaving = Instant::now();
    let report = ask("close")?;
    let freed = poll(|| server.stats().open_connections == 0);
    let all_freed = leaving.elapsed();
    let cpu = server_cpu() - cpu;
    let closed = Figures::parse(&report);
    println!("\nphase 2: {connections} clients wait on a hanging feed, then all close");
    println!(
        "  requests in after {:.0} ms (errors {}); the server held {} connections open{}",
        figures.get("wall_ms"),
        figures.get("errors"),
        holding.open_connections,
        if held {
            ""
        } else {
            " (not every request arrived)"
        },
    );
    println!(
        "  after the clients closed (in {:.0} ms), the server had freed every connection {} ms later{}",
        closed.get("wall_ms"),
        all_freed.as_millis(),
        if freed {
            ""
        } else {
            " (it did NOT: some stayed open)"
        },
    );
    println!(
        "  peak open connections {}; server CPU {cpu_holding} to take them, {cpu} in all",
        holding.peak_open_connections,
    );
    println!(
        "\ncounters: {:?} (accept errors are retried after a pause)",
        server.stats()
    );

    drop(to_clients);
    child.wait()?;
    server.shutdown();
    Ok(())
}

/// Waits (bounded: about 30 s) until `done` holds; whether it did.
fn poll(done: impl Fn() -> bool) -> bool {
    for _ in 0..3000 {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn wait_until_closed(server: &FeedServer) {
    if !poll(|| server.stats().open_connections == 0) {
        eprintln!("connections still open: {:?}", server.stats());
    }
}

/// CPU time of this process so far: the server's two workers, and this thread, which only
/// waits on a pipe.
fn server_cpu() -> Cpu {
    Cpu::of_this_process()
}

/// CPU time, split into time in the program (user) and in the kernel (system: for a server
/// on loopback, mostly TCP: handshakes, copies, teardowns).
#[derive(Debug, Clone, Copy)]
struct Cpu {
    user: Duration,
    system: Duration,
}

impl Cpu {
    /// From `/proc/self/stat` (fields 14 and 15, in clock ticks of 10 ms: `USER_HZ` is 100 on
    /// Linux). Zero where there is no `/proc`.
    fn of_this_process() -> Cpu {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let field = |n: usize| -> Duration {
            let ticks: u64 = after_name
                .split_whitespace()
                .nth(n - 3)
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            Duration::from_millis(ticks * 10)
        };
        Cpu {
            user: field(14),
            system: field(15),
        }
    }

    fn total_ms(&self) -> f64 {
        (self.user + self.system).as_secs_f64() * 1000.0
    }
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, earlier: Cpu) -> Cpu {
        Cpu {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

impl std::fmt::Display for Cpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} ms (user {} ms, system {} ms)",
            self.total_ms(),
            self.user.as_millis(),
            self.system.as_millis()
        )
    }
}

/// The whole machine's CPU time, busy and in all, from `/proc/stat` (ticks of 10 ms, summed
/// over cores): the figures of a shared machine mean little when something else was busy.
#[derive(Debug, Clone, Copy)]
struct Machine {
    busy_ms: f64,
    total_ms: f64,
}

impl Machine {
    fn now() -> Machine {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let ticks: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .filter_map(|t| t.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
        let total: f64 = ticks.iter().take(8).sum();
        let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
        Machine {
            busy_ms: (total - idle) * 10.0,
            total_ms: total * 10.0,
        }
    }
}

impl std::ops::Sub for Machine {
    type Output = Machine;
    fn sub(self, earlier: Machine) -> Machine {
        Machine {
            busy_ms: self.busy_ms - earlier.busy_ms,
            total_ms: self.total_ms - earlier.total_ms,
        }
    }
}

/// `key=value` figures on one line, as the client process reports them.
struct Figures(Vec<(String, f64)>);

impl Figures {
    fn parse(line: &str) -> Figures {
        Figures(
            line.split_whitespace()
                .filter_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    Some((key.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> f64 {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or(f64::NAN, |(_, v)| *v)
    }
}

/// The clients' side: a tokio runtime of two threads, commands on stdin, figures on stdout.
fn client(args: &[String]) -> io::Result<()> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "usage: load client ADDR RUN");
    let addr: SocketAddr = args.first().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let run: u64 = args.get(1).ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let feeds = Feeds { addr, run };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut held: Vec<TcpStream> = Vec::new();
    let mut out = io::stdout().lock();
    for line in io::stdin().lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or("");
        let count: usize = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let cpu = Cpu::of_this_process();
        let started = Instant::now();
        let figures = match command {
            "latency" => runtime.block_on(fetch_all(feeds, count)),
            "hang" => {
                let (streams, errors) = runtime.block_on(hold_all(feeds, count));
                held = streams;
                format!("errors={errors}")
            }
            "close" => {
                let closing = held.len();
                // Dropping a tokio stream deregisters it, which needs its runtime.
                let _inside = runtime.enter();
                held.clear();
                format!("closed={closing}")
            }
            _ => "unknown=1".to_owned(),
        };
        let cpu = Cpu::of_this_process() - cpu;
        writeln!(
            out,
            "{figures} wall_ms={} cpu_ms={}",
            started.elapsed().as_secs_f64() * 1000.0,
            cpu.total_ms()
        )?;
        out.flush()?;
    }
    Ok(())
}

/// `count` clients fetch the slow feed at once; figures of when they were answered.
async fn fetch_all(feeds: Feeds, count: usize) -> String {
    let started = Instant::now();
    let request = Arc::new(feeds.request("slow"));
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let request = Arc::clone(&request);
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(feeds.addr).await.ok()?;
                let connected = started.elapsed();
                stream.write_all(&request).await.ok()?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer).await.ok()?;
                let answered = started.elapsed();
                answer
                    .starts_with(b"HTTP/1.1 200")
                    .then_some((connected, answered))
            })
        })
        .collect();
    let mut connected = Duration::ZERO;
    // When each client was answered, from the start; and how long after it had connected.
    let mut answered = Vec::with_capacity(count);
    let mut waited = Vec::with_capacity(count);
    for task in tasks {
        if let Ok(Some((at_connect, at_answer))) = task.await {
            connected = connected.max(at_connect);
            answered.push(at_answer);
            waited.push(at_answer.saturating_sub(at_connect));
        }
    }
    format!(
        "ok={} errors={} connected_ms={} {} {}",
        answered.len(),
        count - answered.len(),
        connected.as_secs_f64() * 1000.0,
        quantiles("answered", &mut answered),
        quantiles("waited", &mut waited),
    )
}

/// The median, 99th percentile and largest of `times`, as `key_p50_ms=...` figures.
fn quantiles(key: &str, times: &mut [Duration]) -> String {
    times.sort();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 - 1.0) * q).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    format!(
        "{key}_p50_ms={} {key}_p99_ms={} {key}_max_ms={}",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// `count` clients ask for the hanging feed and keep their connections.
async fn hold_all(feeds: Feeds, count: usize) -> (Vec<TcpStream>, usize) {
    let request = Arc::new(feeds.request("stuck"));
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let request = Arc::clone(&request);
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(feeds.addr).await.ok()?;
                stream.write_all(&request).await.ok()?;
                Some(stream)
            })
        })
        .collect();
    let mut streams = Vec::with_capacity(count);
    for task in tasks {
        if let Ok(Some(stream)) = task.await {
            streams.push(stream);
        }
    }
    let errors = count - streams.len();
    (streams, errors)
}
