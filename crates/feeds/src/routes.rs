//! What the server answers: one request in, one response out.
//!
//! The routes are the specification's (Appendix D, "Transports"):
//!
//! - `GET /runs/{run}/feeds/{source}`: the feed, after its latency (scaled), answered as its
//!   fault says: `200` and the body, `503` on the run's first request then `200`, `500`, or
//!   nothing at all until the client goes away;
//! - `GET /`: a page for people, the feeds and how to fetch them;
//! - `GET /scenario.toml`: the default scenario, so a client given only the server's URL can
//!   run the same one (its time scale in the header [`TIME_SCALE_HEADER`]);
//! - `GET /runs/{run}/plan.json`: what a client of that run needs to know and nothing more
//!   (the settings, the registry, the sources' names in order, the time scale), as JSON, for
//!   the JavaScript and Python versions of the pipeline ([`Plan`]);
//! - anything else `404`, any other method `405`. Requests hyper cannot parse never get here:
//!   hyper answers them `400` itself.
//!
//! Every response says `Connection: close`: one request per connection, as the `tcp` transport
//! makes one connection per attempt.
//!
//! Read next: `server.rs`, which accepts connections and hands their requests to [`answer`].

use std::convert::Infallible;
use std::fmt::Write as _;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use rosetta_pipeline::options::later;
use rosetta_pipeline::registry::Registry;
use rosetta_pipeline::scenario::{Fault, Response as FeedResponse, Settings, one_line};
use rosetta_pipeline::transport::{PercentEncoded, percent_decode};
use serde::Serialize;
use tokio::time::Instant;

use crate::runs::{MAX_RUN_ID_LEN, Run, Runs, Served};
use crate::stats::Counters;

/// The response header of `/scenario.toml` that holds the time scale the server's feeds wait
/// at: a client needs both to run the same scenario against this server.
pub const TIME_SCALE_HEADER: &str = "x-rosetta-time-scale";

/// The run id the index page's URLs use. Any other id works as well on a server with a
/// default scenario; each is a fresh run, with its own `first` failures.
pub const DEMO_RUN: &str = "demo";

/// Every response body: a whole, known-length chunk of bytes (hyper writes `Content-Length`).
pub type Body = Full<Bytes>;

/// What the server needs to answer a request: its runs, its counters and its own address (for
/// the URLs on the index page).
#[derive(Debug)]
pub struct Site {
    /// Every run, registered or created on demand.
    pub runs: Runs,
    /// Connections and requests so far.
    pub counters: Counters,
    /// The URL the server is reached at, `http://127.0.0.1:PORT`, without a final `/`.
    pub base_url: String,
}

/// Answers one request. The error type is [`Infallible`]: every failure is an HTTP status.
pub async fn answer(site: &Site, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    // The feed's latency counts from here: hyper calls us as soon as the request head has
    // arrived (a `GET` has no body to wait for).
    let arrived = Instant::now();
    site.counters.request();
    if request.method() != Method::GET {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET is served\n");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
        return Ok(response);
    }
    let path = request.uri().path();
    Ok(match path {
        "/" => index(site),
        "/scenario.toml" => scenario_toml(site),
        _ => match (feed_path(path), plan_path(path)) {
            (Some((run, source)), _) => feed(site, run, source, arrived).await,
            (None, Some(run)) => plan(site, run),
            (None, None) => text(StatusCode::NOT_FOUND, "no such page; GET / lists them\n"),
        },
    })
}

/// Splits `/runs/{run}/feeds/{source}` into its two segments, still percent-encoded.
fn feed_path(path: &str) -> Option<(&str, &str)> {
    let (run, source) = path.strip_prefix("/runs/")?.split_once("/feeds/")?;
    // A `/` in a source name arrives encoded (`%2F`); a raw one is another path.
    (!run.contains('/') && !source.contains('/')).then_some((run, source))
}

/// The run id of `/runs/{run}/plan.json`.
fn plan_path(path: &str) -> Option<&str> {
    let run = path.strip_prefix("/runs/")?.strip_suffix("/plan.json")?;
    (!run.contains('/')).then_some(run)
}

/// What a client of one run is told: enough to run the pipeline against this server, and
/// nothing a client could not know. The feeds' latencies, faults and bodies stay here; a
/// client learns them the only honest way, by fetching.
///
/// Served as JSON because every language reads JSON: Node.js has no TOML reader, and this way
/// no program re-implements the scenario's validation and defaults, which were applied once,
/// in Rust, when the server was given its scenario.
#[derive(Debug, Serialize)]
pub struct Plan<'a> {
    /// Multiplies the timeout and the lookup time (the server applies it to the latencies).
    pub time_scale: f64,
    /// The scenario's name, the report's first key.
    pub name: &'a str,
    /// Every setting, defaults filled in.
    pub settings: &'a Settings,
    /// Station to region: the registry a lookup answers from, after `lookup_ms`.
    pub registry: &'a Registry,
    /// The sources' names, in file order: what to fetch, and the order the report lists them in.
    pub sources: Vec<&'a str>,
}

/// `GET /runs/{run}/plan.json`: the run's [`Plan`].
fn plan(site: &Site, run: &str) -> Response<Body> {
    let Some(run) = site.runs.find_or_create(run) else {
        return text(StatusCode::NOT_FOUND, "no such run\n");
    };
    let scenario = run.scenario();
    let plan = Plan {
        time_scale: run.time_scale(),
        name: &scenario.name,
        settings: &scenario.settings,
        registry: &scenario.registry,
        sources: scenario
            .sources
            .iter()
            .map(|source| source.name.as_str())
            .collect(),
    };
    let json = serde_json::to_string_pretty(&plan).expect("a plan always serializes");
    let mut response = text(StatusCode::OK, json);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A feed: find the run and the source, count the request, wait out the latency, answer.
async fn feed(site: &Site, run: &str, source: &str, arrived: Instant) -> Response<Body> {
    let Some(source) = percent_decode(source) else {
        return text(
            StatusCode::BAD_REQUEST,
            "bad percent-escape in the feed name\n",
        );
    };
    let Some(run) = site.runs.find_or_create(run) else {
        return text(StatusCode::NOT_FOUND, "no such run\n");
    };
    let Some(index) = run.source_index(&source) else {
        return text(StatusCode::NOT_FOUND, "no such feed in this run\n");
    };
    let (feed, response) = run.arrive(index);
    // `later` saturates: a latency too long for an `Instant` (a huge time scale) is a year.
    let due = later(arrived.into_std(), run.scaled(feed.latency_ms));
    tokio::time::sleep_until(Instant::from_std(due)).await;
    match response {
        FeedResponse::Body(_) => body(&run, index),
        // `first` is a transient failure (try again), `always` a broken feed: the statuses say
        // so, though the client counts both as the same `error`.
        FeedResponse::Error if feed.fault == Fault::First => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the first request of this run fails (fault = first); try again\n",
        ),
        FeedResponse::Error => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "this feed always fails (fault = always)\n",
        ),
        // `hang`: never answer. hyper keeps reading the connection meanwhile, and when the
        // client closes it, hyper ends the connection and drops this future (see `server.rs`).
        FeedResponse::Never => std::future::pending().await,
    }
}

/// A `200` with source `index`'s body, without copying it: the bytes stay in the run's
/// scenario, which the response holds on to until hyper has written them.
fn body(run: &std::sync::Arc<Run>, index: usize) -> Response<Body> {
    /// Owns the scenario (through the run) and lends out one source's body.
    struct FeedBody(std::sync::Arc<Run>, usize);

    impl AsRef<[u8]> for FeedBody {
        fn as_ref(&self) -> &[u8] {
            self.0.scenario().sources[self.1].body.as_bytes()
        }
    }

    text(
        StatusCode::OK,
        Bytes::from_owner(FeedBody(std::sync::Arc::clone(run), index)),
    )
}

/// The page for people: what is served, at which URLs, and the routes.
fn index(site: &Site) -> Response<Body> {
    let mut page = String::new();
    // Writing to a `String` cannot fail; `let _ =` says we know.
    let _ = match site.runs.default_served() {
        Some(served) => index_with_default(&mut page, site, served),
        None => writeln!(
            page,
            "rosetta feed server\n\n\
             This server has no default scenario: it serves the runs its program registers \
             ({} so far), at /runs/{{run}}/feeds/{{source}}.\n",
            site.runs.len()
        ),
    };
    let _ = write!(
        page,
        "Routes (HTTP/1.1, GET only, one request per connection):\n\
         \x20 GET /                           this page\n\
         \x20 GET /scenario.toml              the scenario as TOML; its time scale in the header {TIME_SCALE_HEADER}\n\
         \x20 GET /runs/{{run}}/plan.json       what a client of the run needs: settings, registry, feed names, time scale\n\
         \x20 GET /runs/{{run}}/feeds/{{source}}  a feed, after its latency: 200 and the body (fault none),\n\
         \x20                                 503 on the run's first request then 200 (first), 500 (always),\n\
         \x20                                 or no answer until you close the connection (hang)\n\
         A run id is 1 to {MAX_RUN_ID_LEN} characters of A-Z a-z 0-9 _ -; a source name is percent-encoded.\n"
    );
    text(StatusCode::OK, page)
}

fn index_with_default(page: &mut String, site: &Site, served: &Served) -> std::fmt::Result {
    let scenario = &served.scenario;
    writeln!(
        page,
        "rosetta feed server: scenario {}, time scale {}\n",
        one_line(&scenario.name),
        served.time_scale
    )?;
    writeln!(
        page,
        "Feeds of run `{DEMO_RUN}` (any other run id is a fresh run, with its own first failures):\n"
    )?;
    let options = rosetta_pipeline::RunOptions::with_time_scale(served.time_scale);
    for source in &scenario.sources {
        let fault = match source.fault {
            Fault::None => "none",
            Fault::First => "first",
            Fault::Always => "always",
            Fault::Hang => "hang",
        };
        write!(
            page,
            "  {}  fault {fault}, latency {} ms",
            one_line(&source.name),
            source.latency_ms
        )?;
        if served.time_scale != 1.0 {
            let real_ms = options.scaled(source.latency_ms).as_secs_f64() * 1000.0;
            write!(page, " ({real_ms:.1} ms at this time scale)")?;
        }
        writeln!(
            page,
            "\n    curl -i {}/runs/{DEMO_RUN}/feeds/{}",
            site.base_url,
            PercentEncoded(&source.name)
        )?;
    }
    writeln!(page)
}

/// The default scenario as TOML, with its time scale in a header.
fn scenario_toml(site: &Site) -> Response<Body> {
    let Some(served) = site.runs.default_served() else {
        return text(
            StatusCode::NOT_FOUND,
            "this server has no default scenario\n",
        );
    };
    let mut response = text(StatusCode::OK, served.scenario.to_toml());
    // Sent as `text/plain` (by `text`), so that a browser shows it rather than downloads it.
    if let Ok(value) = HeaderValue::from_str(&served.time_scale.to_string()) {
        response.headers_mut().insert(TIME_SCALE_HEADER, value);
    }
    response
}

/// A plain-text response with `status`, closing the connection after it. (hyper, with
/// keep-alive off, would add `Connection: close` by itself; writing it here keeps the rule in
/// sight where every response is made.)
fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_paths_have_two_segments() {
        assert_eq!(feed_path("/runs/7/feeds/oslo"), Some(("7", "oslo")));
        assert_eq!(feed_path("/runs/demo/feeds/a%2Fb"), Some(("demo", "a%2Fb")));
        assert_eq!(feed_path("/runs/7/feeds/a/b"), None);
        assert_eq!(feed_path("/runs/a/b/feeds/c"), None);
        assert_eq!(feed_path("/runs/7"), None);
        assert_eq!(feed_path("/feeds/oslo"), None);
    }

    #[test]
    fn plan_paths_have_one_segment() {
        assert_eq!(plan_path("/runs/7/plan.json"), Some("7"));
        assert_eq!(plan_path("/runs/a/b/plan.json"), None);
        assert_eq!(plan_path("/runs/7/plan"), None);
        assert_eq!(feed_path("/runs/7/plan.json"), None);
    }
}
