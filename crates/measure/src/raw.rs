//! The raw baseline of `bench --transport tcp`: the same fetches, written as a user would write
//! them without this toolkit, against the same feed server, in the same bench run.
//!
//! hyper's client on tokio's multi-threaded runtime, one connection per attempt, the sources
//! through `buffer_unordered(concurrency)`, each attempt under `tokio::time::timeout`, retried as
//! the specification says. It fetches and nothing else (no parsing, no lookups, no workers), so
//! its time is what the network part of the pipeline costs on this machine, with code nobody
//! would call unusual: a style whose wall time is close to it spends its time where any client
//! would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rosetta_pipeline::Scenario;
use rosetta_pipeline::transport::Feeds;

/// What the baseline did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawRun {
    /// From the first request to the last answer.
    pub wall: Duration,
    /// Sources whose feed answered.
    pub sources_ok: usize,
    /// Attempts made, retries included.
    pub attempts: usize,
    /// The most attempts in flight at once.
    pub peak_in_flight: usize,
    /// The runtime's worker threads.
    pub threads: usize,
}

/// Fetches every source of `scenario` from `feeds`, at most `concurrency` attempts at a time,
/// each attempt limited by the scenario's timeout at `time_scale`.
pub fn fetch_all(scenario: &Scenario, feeds: Feeds, time_scale: f64) -> std::io::Result<RawRun> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()?;
    let settings = &scenario.settings;
    let timeout = Duration::from_secs_f64(settings.timeout_ms as f64 / 1000.0 * time_scale);
    let max_attempts = settings.max_attempts();
    let in_flight = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<(u32, bool)> = runtime.block_on(
        futures::stream::iter(&scenario.sources)
            .map(|source| {
                let path = feeds.path(&source.name);
                let (in_flight, peak) = (&in_flight, &peak);
                async move {
                    for attempt in 1..=max_attempts {
                        let now = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
                        peak.fetch_max(now, Ordering::Relaxed);
                        let answer = tokio::time::timeout(timeout, get(feeds.addr, &path)).await;
                        in_flight.fetch_sub(1, Ordering::Relaxed);
                        if let Ok(Ok(status)) = answer
                            && status.is_success()
                        {
                            return (attempt, true);
                        }
                    }
                    (max_attempts, false)
                }
            })
            .buffer_unordered(settings.concurrency)
            .collect(),
    );
    Ok(RawRun {
        wall: started.elapsed(),
        sources_ok: results.iter().filter(|(_, ok)| *ok).count(),
        attempts: results.iter().map(|(attempts, _)| *attempts as usize).sum(),
        peak_in_flight: peak.load(Ordering::Relaxed),
        threads,
    })
}

/// One attempt: a connection, a GET, the whole body read; the status.
async fn get(
    addr: SocketAddr,
    path: &str,
) -> Result<hyper::StatusCode, Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    response.into_body().collect().await?;
    Ok(status)
}
