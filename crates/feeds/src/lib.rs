//! The feed server: a scenario's feeds over HTTP/1.1 on loopback.
//!
//! On the `tcp` transport (the specification's "Transports" section) every fetch attempt is a
//! real connection to this server: `GET /runs/{run}/feeds/{source}`, answered after the feed's
//! latency with its body, or with the status its fault calls for (`503` once, `500` always),
//! or never (`hang`). `GET /` lists the feeds for a person with `curl` or a browser, and
//! `GET /scenario.toml` hands the scenario to any other client (the JavaScript and Python
//! versions, another `rosetta`).
//!
//! The server is infrastructure, not a lesson, so it is built the way a Rust service usually
//! is: hyper's HTTP/1.1 connection (the protocol, written and fuzzed by others) on tokio
//! (sockets, timers, and a multi-threaded scheduler that holds ten thousand waiting connections
//! as ten thousand small tasks). The lessons are on the client side, where each style does its
//! own socket I/O; nothing here should be what a style's figures measure.
//!
//! # Use
//!
//! In a program ([`FeedServer`]): start a server, register a run per pipeline run, and point
//! the run's transport at it.
//!
//! ```
//! use std::sync::Arc;
//! use rosetta_feeds::{Config, FeedServer};
//! use rosetta_pipeline::{RunOptions, Scenario, transport::Transport};
//!
//! let server = FeedServer::start(Config::default())?;
//! let scenario = Arc::new(Scenario::builtin("classroom").unwrap());
//! let feeds = server.host(scenario, 0.05);
//! let options = RunOptions::with_time_scale(0.05).on(Transport::Tcp(feeds));
//! # let _ = options;
//! server.shutdown();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! On its own ([`serve`], behind `rosetta feeds serve`): a default scenario answers every run
//! id a person makes up, until Ctrl-C.
//!
//! # Layout
//!
//! - `lib.rs`: [`Config`], [`FeedServer`] (start, register runs, counters, shutdown) and
//!   [`serve`];
//! - `server.rs`: the listening socket, the accept loop and one task per connection;
//! - `routes.rs`: what each request is answered;
//! - `runs.rs`: the runs, and the request count per feed that the `first` fault needs;
//! - `stats.rs`: counters of connections and requests.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use rosetta_pipeline::Scenario;
use rosetta_pipeline::transport::Feeds;
use tokio::runtime::Runtime;

mod client;
mod routes;
mod runs;
mod server;
mod stats;

pub use client::{ASK_TIMEOUT, address_of, served_by};
pub use routes::{DEMO_RUN, Plan, TIME_SCALE_HEADER};
pub use runs::{MAX_RUN_ID_LEN, MAX_RUNS_ON_DEMAND, Served, is_run_id};
pub use server::{ACCEPT_BACKOFF, HEAD_TIMEOUT};
pub use stats::Stats;

use routes::Site;
use runs::Runs;

/// How to start a [`FeedServer`].
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen. Loopback only (`127.0.0.1`, `::1`, or another `127.x.y.z`): the project
    /// never listens where another machine could reach it. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// The server's own worker threads. It runs in the same process as the styles it serves,
    /// which are measured: two are plenty for ten thousand connections, and leave the
    /// machine's other cores to the styles.
    pub worker_threads: usize,
    /// How many connections may wait to be accepted (the kernel caps it at
    /// `net.core.somaxconn`).
    pub backlog: u32,
    /// What an unknown run id serves (created on demand), and what `/scenario.toml` returns.
    /// `None`: only runs registered with [`FeedServer::host`] exist.
    pub default: Option<Served>,
}

impl Default for Config {
    /// `127.0.0.1:0`, two worker threads, a backlog of 4,096, no default scenario.
    fn default() -> Self {
        Config {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            worker_threads: 2,
            backlog: 4096,
            default: None,
        }
    }
}

impl Config {
    /// The same configuration listening on `addr`.
    pub fn at(self, addr: SocketAddr) -> Config {
        Config { addr, ..self }
    }

    /// The same configuration with `threads` worker threads.
    pub fn with_worker_threads(self, threads: usize) -> Config {
        Config {
            worker_threads: threads,
            ..self
        }
    }

    /// The same configuration serving `scenario` at `time_scale` to every run id nobody
    /// registered (`/runs/demo/feeds/...`), and at `/scenario.toml`.
    pub fn serving(self, scenario: Arc<Scenario>, time_scale: f64) -> Config {
        Config {
            default: Some(Served {
                scenario,
                time_scale,
            }),
            ..self
        }
    }
}

/// A running feed server, on a tokio runtime of its own.
///
/// Dropping it shuts it down, as [`FeedServer::shutdown`] does.
#[derive(Debug)]
pub struct FeedServer {
    addr: SocketAddr,
    site: Arc<Site>,
    /// `None` once shut down.
    runtime: Option<Runtime>,
}

impl FeedServer {
    /// Starts a server: binds `config.addr`, starts the server's threads, and returns once it
    /// is listening (a client may connect as soon as this returns).
    ///
    /// Refuses (`InvalidInput`) an address that is not loopback, and zero worker threads.
    pub fn start(config: Config) -> io::Result<FeedServer> {
        if !config.addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the feed server listens on loopback only (127.0.0.1 or ::1), not {}",
                    config.addr.ip()
                ),
            ));
        }
        if config.worker_threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the feed server needs at least one worker thread",
            ));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads)
            .thread_name("rosetta-feeds")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _inside = runtime.enter();
            server::bind(config.addr, config.backlog)?
        };
        let addr = listener.local_addr()?;
        let site = Arc::new(Site {
            runs: Runs::new(config.default),
            counters: stats::Counters::default(),
            base_url: format!("http://{addr}"),
        });
        runtime.spawn(server::accept_loop(listener, Arc::clone(&site)));
        Ok(FeedServer {
            addr,
            site,
            runtime: Some(runtime),
        })
    }

    /// The address the server listens on (the port chosen, if `config.addr` said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's URL, `http://127.0.0.1:PORT` (no final `/`).
    pub fn url(&self) -> &str {
        &self.site.base_url
    }

    /// Registers a fresh run serving `scenario`, its latencies scaled by `time_scale`, and
    /// returns where a style finds its feeds. Every pipeline run needs its own: the `first`
    /// fault fails the first request *of a run*.
    pub fn host(&self, scenario: Arc<Scenario>, time_scale: f64) -> Feeds {
        let run = self.site.runs.host(Served {
            scenario,
            time_scale,
        });
        Feeds {
            addr: self.addr,
            run,
        }
    }

    /// Forgets a run registered with [`FeedServer::host`], freeing its counters; later
    /// requests for it are answered as for an unknown run. A program that registers many
    /// runs on one long-lived server (a benchmark loop) calls it when a run is done.
    pub fn retire(&self, feeds: Feeds) {
        self.site.runs.retire(&feeds.run.to_string());
    }

    /// The counters now: connections open, accepted, the peak, requests, accept errors.
    pub fn stats(&self) -> Stats {
        self.site.counters.snapshot()
    }

    /// Starts a new [`Stats::peak_open_connections`] from the connections open now (a
    /// benchmark measures the peak of each phase).
    pub fn reset_peak(&self) {
        self.site.counters.reset_peak();
    }

    /// Stops the server: stops accepting, closes every connection (a client waiting on a
    /// `hang` feed sees the connection end), and joins the server's threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        // Dropping a runtime drops every task it holds, the accept loop with its listener and
        // every connection with its socket, and waits for the runtime's threads to finish.
        if tokio::runtime::Handle::try_current().is_err() {
            drop(runtime);
            return;
        }
        // This thread is running async code (a server dropped inside `#[tokio::test]`, or in
        // a tokio style's run), where tokio refuses to block, and panics. Wait on a thread of
        // our own instead. If none can be had, shut down without waiting for the threads:
        // every task and socket is still dropped.
        let slot = Arc::new(Mutex::new(Some(runtime)));
        let theirs = Arc::clone(&slot);
        let dropper = std::thread::Builder::new()
            .name("rosetta-feeds-shutdown".into())
            .spawn(move || drop(take(&theirs)));
        match dropper {
            Ok(thread) => {
                let _ = thread.join();
            }
            Err(_) => {
                if let Some(runtime) = take(&slot) {
                    runtime.shutdown_background();
                }
            }
        }
    }
}

/// The runtime out of its slot; a poisoned lock still holds it.
fn take(slot: &Mutex<Option<Runtime>>) -> Option<Runtime> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a server until `until` completes, for `rosetta feeds serve`: starts it, calls
/// `listening` (which prints the URL, or whatever the caller wants: this function prints
/// nothing), waits, shuts the server down and returns its final counters.
///
/// `until` runs on the server's runtime, so it may use tokio (pass [`ctrl_c`] to run until
/// Ctrl-C). Call this from a thread that is not running async code: it blocks.
pub fn serve(
    config: Config,
    until: impl Future<Output = io::Result<()>>,
    listening: impl FnOnce(&FeedServer) -> io::Result<()>,
) -> io::Result<Stats> {
    let server = FeedServer::start(config)?;
    listening(&server)?;
    let runtime = server
        .runtime
        .as_ref()
        .expect("a server that has just started has its runtime");
    let ended = runtime.block_on(until);
    let stats = server.stats();
    server.shutdown();
    ended.map(|()| stats)
}

/// Completes when the process receives Ctrl-C (`SIGINT`), for [`serve`]'s `until`. Must run on
/// a tokio runtime, as `until` does.
pub async fn ctrl_c() -> io::Result<()> {
    tokio::signal::ctrl_c().await
}
