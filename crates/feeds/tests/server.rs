//! The feed server over real loopback connections: routes, faults, runs, and the robustness
//! the specification asks of it (clients that leave, half requests, shutdown with hanging
//! connections).
//!
//! Clients here are blocking `std::net` sockets with raw HTTP bytes, so that a test can send
//! exactly what it means (half a head, garbage) and see exactly what comes back. No test
//! asserts a duration: "eventually" is a bounded poll of the server's counters, and every read
//! has a timeout so that a broken server fails a test instead of hanging it.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rosetta_feeds::{Config, DEMO_RUN, FeedServer, MAX_RUN_ID_LEN, Stats, TIME_SCALE_HEADER};
use rosetta_pipeline::Scenario;
use rosetta_pipeline::transport::Feeds;

/// Every fault once, a name that needs percent-encoding, and a feed slow enough (a minute)
/// that no test lives to see it answer.
const SCENARIO: &str = r#"
name = "feeds-test"
about = "The feed server's tests"

[settings]
timeout_ms = 1000

[registry]
Oslo = "north"

[[sources]]
name = "plain"
latency_ms = 0
body = "Oslo;1.0\n"

[[sources]]
name = "flaky"
latency_ms = 0
fault = "first"
body = "Oslo;2.0\n"

[[sources]]
name = "down"
latency_ms = 0
fault = "always"

[[sources]]
name = "stuck"
latency_ms = 0
fault = "hang"

[[sources]]
name = "slow"
latency_ms = 60000
body = "Oslo;3.0\n"

[[sources]]
name = "Bodø west/1"
latency_ms = 10
body = "Oslo;4.0\n"
"#;

/// How long a test client waits for a byte before it calls the server broken.
const READ_LIMIT: Duration = Duration::from_secs(20);

fn scenario() -> Arc<Scenario> {
    Arc::new(Scenario::from_toml(SCENARIO, "feeds-test.toml").unwrap())
}

/// A server with no default scenario: only registered runs exist.
fn bare_server() -> FeedServer {
    FeedServer::start(Config::default()).unwrap()
}

/// A server whose default scenario answers any run id.
fn demo_server() -> FeedServer {
    FeedServer::start(Config::default().serving(scenario(), 1.0)).unwrap()
}

/// A response, as far as the tests care.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(READ_LIMIT)).unwrap();
    stream
}

/// Sends `raw` on a new connection and reads until the server closes it.
fn exchange(addr: SocketAddr, raw: &[u8]) -> Answer {
    let mut stream = connect(addr);
    stream.write_all(raw).unwrap();
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .expect("the server answers and closes within the read limit");
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole head");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Answer {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// A feed of a registered run, with exactly the request the `tcp` transport's clients send.
fn fetch(feeds: Feeds, source: &str) -> Answer {
    exchange(feeds.addr, &feeds.request(source))
}

/// Polls the server's counters until `done` holds, for at most about ten seconds.
fn eventually(server: &FeedServer, what: &str, done: impl Fn(&Stats) -> bool) {
    for _ in 0..1000 {
        if done(&server.stats()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what}: never happened; counters {:?}", server.stats());
}

/// Opens a connection and sends a whole request for `path` without waiting for the answer.
fn send_request(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = connect(addr);
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    stream
}

/// Whether nothing has arrived on `stream` for a short while (the read times out). Says
/// nothing about time: a feed that is still waiting, or that hangs, has sent nothing.
fn nothing_yet(stream: &mut TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut byte = [0; 1];
    let quiet = matches!(
        stream.read(&mut byte),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
    );
    stream.set_read_timeout(Some(READ_LIMIT)).unwrap();
    quiet
}

#[test]
fn a_feed_answers_its_body_as_plain_text_and_closes_the_connection() {
    let server = bare_server();
    let feeds = server.host(scenario(), 1.0);
    let answer = fetch(feeds, "plain");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, "Oslo;1.0\n");
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(answer.header("content-length"), Some("9"));
    assert_eq!(answer.header("connection"), Some("close"));
    // A name with a space, a `/` and a non-ASCII letter arrives percent-encoded.
    assert_eq!(fetch(feeds, "Bodø west/1").body, "Oslo;4.0\n");
}

#[test]
fn faults_become_status_codes() {
    let server = bare_server();
    let feeds = server.host(scenario(), 1.0);
    assert_eq!(fetch(feeds, "flaky").status, 503);
    assert_eq!(fetch(feeds, "flaky").status, 200);
    assert_eq!(fetch(feeds, "flaky").body, "Oslo;2.0\n");
    assert_eq!(fetch(feeds, "down").status, 500);
    assert_eq!(fetch(feeds, "down").status, 500);
}

#[test]
fn every_run_gets_its_own_first_failure() {
    let server = demo_server();
    let scenario = scenario();
    let one = server.host(Arc::clone(&scenario), 1.0);
    let two = server.host(scenario, 1.0);
    assert_ne!(one.run, two.run);
    assert_eq!(fetch(one, "flaky").status, 503);
    assert_eq!(fetch(one, "flaky").status, 200);
    assert_eq!(fetch(two, "flaky").status, 503, "run two's first request");
    assert_eq!(fetch(two, "flaky").status, 200);
    // Runs created on demand, by name, too.
    let addr = server.addr();
    assert_eq!(get(addr, "/runs/alice/feeds/flaky").status, 503);
    assert_eq!(get(addr, "/runs/bob/feeds/flaky").status, 503);
    assert_eq!(get(addr, "/runs/alice/feeds/flaky").status, 200);
}

#[test]
fn the_first_request_is_counted_when_it_arrives() {
    // The first request of a `first` feed fails even if nobody stays to hear it: a client that
    // gave up during the latency still made the run's first request, so the next one succeeds
    // (counted at the answer instead, the next one would get the 503).
    let server = bare_server();
    let toml = SCENARIO.replace(
        "name = \"flaky\"\nlatency_ms = 0",
        "name = \"flaky\"\nlatency_ms = 300",
    );
    let scenario = Arc::new(Scenario::from_toml(&toml, "slow-flaky.toml").unwrap());
    let feeds = server.host(scenario, 1.0);
    let first = send_request(feeds.addr, &feeds.path("flaky"));
    eventually(&server, "the first request arrives", |s| s.requests == 1);
    drop(first);
    eventually(&server, "the first client is gone", |s| {
        s.open_connections == 0
    });
    assert_eq!(fetch(feeds, "flaky").status, 200);
}

#[test]
fn a_feed_answers_only_once_its_latency_has_passed() {
    let server = bare_server();
    let feeds = server.host(scenario(), 1.0);
    let mut slow = send_request(feeds.addr, &feeds.path("slow"));
    // Order, not time: a feed with no latency, asked later, answers while the slow one
    // (a minute) has still sent nothing.
    assert_eq!(fetch(feeds, "plain").status, 200);
    assert!(nothing_yet(&mut slow));
    // At time scale 0 the same feed answers at once.
    let instant = server.host(scenario(), 0.0);
    assert_eq!(fetch(instant, "slow").body, "Oslo;3.0\n");
}

#[test]
fn unknown_runs_and_feeds_are_404() {
    let server = bare_server();
    let feeds = server.host(scenario(), 1.0);
    let addr = server.addr();
    assert_eq!(fetch(feeds, "no-such-feed").status, 404);
    // Without a default scenario, a run nobody registered does not exist.
    assert_eq!(get(addr, "/runs/demo/feeds/plain").status, 404);
    assert_eq!(
        get(addr, &format!("/runs/{}/feeds/plain", feeds.run + 1)).status,
        404
    );
    assert_eq!(get(addr, "/scenario.toml").status, 404);
    // A retired run is gone.
    server.retire(feeds);
    assert_eq!(fetch(feeds, "plain").status, 404);
}

#[test]
fn a_default_scenario_answers_any_run_id_a_person_types() {
    let server = demo_server();
    let addr = server.addr();
    assert_eq!(get(addr, "/runs/demo/feeds/plain").body, "Oslo;1.0\n");
    let longest = "x".repeat(MAX_RUN_ID_LEN);
    assert_eq!(
        get(addr, &format!("/runs/{longest}/feeds/plain")).status,
        200
    );
    let too_long = "x".repeat(MAX_RUN_ID_LEN + 1);
    assert_eq!(
        get(addr, &format!("/runs/{too_long}/feeds/plain")).status,
        404
    );
    assert_eq!(get(addr, "/runs/a.b/feeds/plain").status, 404);
    assert_eq!(get(addr, "/runs//feeds/plain").status, 404);
    assert_eq!(get(addr, "/runs/demo/feeds/no-such-feed").status, 404);
}

#[test]
fn the_index_page_lists_every_feed_with_a_url_to_curl() {
    let server = demo_server();
    let page = get(server.addr(), "/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        page.body.contains("scenario feeds-test, time scale 1"),
        "{}",
        page.body
    );
    for source in &scenario().sources {
        assert!(page.body.contains(&source.name), "{} listed", source.name);
    }
    let url = format!(
        "{}/runs/{DEMO_RUN}/feeds/Bod%C3%B8%20west%2F1",
        server.url()
    );
    assert!(page.body.contains(&url), "{}", page.body);
    assert!(page.body.contains("fault hang, latency 0 ms"));
    assert!(page.body.contains("GET /scenario.toml"));
    // A URL from the page works as it is written.
    let path = url.strip_prefix(server.url()).unwrap();
    assert_eq!(get(server.addr(), path).body, "Oslo;4.0\n");

    // Without a default, the page still explains the routes.
    let bare = bare_server();
    let page = get(bare.addr(), "/");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("no default scenario"), "{}", page.body);
    assert!(page.body.contains("GET /runs/{run}/feeds/{source}"));
}

#[test]
fn the_scenario_and_its_time_scale_can_be_fetched() {
    let server = FeedServer::start(Config::default().serving(scenario(), 0.25)).unwrap();
    let answer = get(server.addr(), "/scenario.toml");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header(TIME_SCALE_HEADER), Some("0.25"));
    let served = Scenario::from_toml(&answer.body, "served.toml").unwrap();
    assert_eq!(served, *scenario());
}

#[test]
fn a_run_tells_its_client_the_plan_and_nothing_more() {
    let server = bare_server();
    let feeds = server.host(scenario(), 0.5);
    let answer = get(feeds.addr, &format!("/runs/{}/plan.json", feeds.run));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let plan: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    let scenario = scenario();
    assert_eq!(plan["time_scale"], 0.5);
    assert_eq!(plan["name"], "feeds-test");
    // Every setting, the defaults filled in: a client applies no default of its own.
    assert_eq!(plan["settings"]["timeout_ms"], 1000);
    assert_eq!(
        plan["settings"]["concurrency"],
        scenario.settings.concurrency
    );
    assert_eq!(plan["registry"], serde_json::json!({ "Oslo": "north" }));
    let names: Vec<&str> = scenario.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(plan["sources"], serde_json::json!(names));
    // What a client learns only by fetching stays on the server.
    for secret in ["latency_ms", "fault", "body"] {
        assert!(!answer.body.contains(secret), "{secret} in {}", answer.body);
    }
    assert_eq!(get(feeds.addr, "/runs/404/plan.json").status, 404);
    // A server with a default scenario plans any run id a person types.
    let demo = demo_server();
    let answer = get(demo.addr(), "/runs/my-run/plan.json");
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[test]
fn other_methods_paths_and_malformed_requests_are_refused() {
    let server = demo_server();
    let addr = server.addr();
    let post = exchange(
        addr,
        format!(
            "POST /runs/demo/feeds/plain HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET"));
    assert_eq!(get(addr, "/nothing-here").status, 404);
    assert_eq!(get(addr, "/runs/demo/feeds/a/b").status, 404);
    // hyper refuses what is not HTTP before our code sees it.
    assert_eq!(exchange(addr, b"NONSENSE\r\n\r\n").status, 400);
    assert_eq!(
        exchange(addr, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n").status,
        400
    );
    // A bad percent-escape in a feed name.
    let bad = get(addr, "/runs/demo/feeds/a%zz").status;
    assert!(bad == 400 || bad == 404, "{bad}");
    assert_eq!(get(addr, "/runs/demo/feeds/%FF").status, 400, "not UTF-8");
    // The server is none the worse.
    assert_eq!(get(addr, "/runs/demo/feeds/plain").status, 200);
}

#[test]
fn a_hanging_feed_answers_nothing_until_the_client_leaves() {
    let server = demo_server();
    let mut stuck = send_request(server.addr(), "/runs/demo/feeds/stuck");
    eventually(&server, "the request arrives", |s| s.requests == 1);
    assert!(nothing_yet(&mut stuck));
    assert_eq!(server.stats().open_connections, 1);
    drop(stuck);
    eventually(&server, "the connection closes", |s| {
        s.open_connections == 0
    });
}

#[test]
fn clients_that_leave_while_waiting_free_their_connections() {
    // 200 clients wait on a hanging feed and 200 on a slow one; all leave. hyper notices each
    // close while the handler is still pending (it keeps reading the connection, and an end of
    // file in the middle of a request ends it), so every connection is freed.
    const CLIENTS: usize = 200;
    let server = demo_server();
    let addr = server.addr();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(send_request(addr, "/runs/demo/feeds/stuck"));
        clients.push(send_request(addr, "/runs/demo/feeds/slow"));
    }
    eventually(&server, "every request arrives", |s| {
        s.requests == 2 * CLIENTS as u64
    });
    assert_eq!(server.stats().open_connections, 2 * CLIENTS as u64);
    // Half of them shut down only their sending side (the way a client says "no more
    // requests") and wait for the server to close its end; the other half close outright.
    let mut half_closed = Vec::new();
    for (i, mut client) in clients.into_iter().enumerate() {
        if i % 2 == 0 {
            client.shutdown(Shutdown::Write).unwrap();
            half_closed.push(std::thread::spawn(move || {
                let mut rest = Vec::new();
                client.read_to_end(&mut rest).map(|_| rest)
            }));
        }
    }
    eventually(&server, "every connection is freed", |s| {
        s.open_connections == 0
    });
    assert_eq!(server.stats().peak_open_connections, 2 * CLIENTS as u64);
    for client in half_closed {
        // The server closed without a response: an empty end of stream, or a reset.
        match client.join().unwrap() {
            Ok(rest) => assert!(rest.is_empty(), "{rest:?}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
    }
}

#[test]
fn a_client_that_vanishes_mid_request_harms_nothing() {
    let server = demo_server();
    let addr = server.addr();
    for partial in [
        &b"GET /runs/demo/fee"[..],
        b"GET /runs/demo/feeds/plain HTTP/1.1\r\nHost: x",
        b"G",
    ] {
        let mut stream = connect(addr);
        stream.write_all(partial).unwrap();
        drop(stream);
    }
    // And one that sends half a head and stays: it holds only its own connection.
    let mut lingering = connect(addr);
    lingering.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    eventually(&server, "the vanished clients' connections close", |s| {
        s.connections_accepted == 4 && s.open_connections == 1
    });
    assert_eq!(
        server.stats().requests,
        0,
        "no half request reached a route"
    );
    assert_eq!(get(addr, "/runs/demo/feeds/plain").status, 200);
    assert!(nothing_yet(&mut lingering));
}

#[test]
fn shutdown_closes_hanging_connections_and_returns() {
    let server = demo_server();
    let addr = server.addr();
    let mut clients: Vec<TcpStream> = (0..20)
        .map(|_| send_request(addr, "/runs/demo/feeds/stuck"))
        .collect();
    eventually(&server, "every request arrives", |s| s.requests == 20);
    // Shut down on another thread, so that a shutdown that never returns fails the test
    // instead of hanging it.
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        server.shutdown();
        let _ = done.send(());
    });
    finished
        .recv_timeout(READ_LIMIT)
        .expect("shutdown returns with hanging connections open");
    for client in &mut clients {
        let mut rest = Vec::new();
        match client.read_to_end(&mut rest) {
            // The end of the stream, with no response: the server closed it.
            Ok(_) => assert!(rest.is_empty(), "{rest:?}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
    }
    // Nobody listens any more.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn a_server_dropped_inside_async_code_shuts_down_without_panicking() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(async {
        let server = demo_server();
        let addr = server.addr();
        let feeds = server.host(scenario(), 1.0);
        let answer = tokio::task::spawn_blocking(move || fetch(feeds, "plain"))
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        drop(server);
        addr
    });
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn only_loopback_addresses_are_served() {
    for addr in ["0.0.0.0:0", "192.0.2.1:0", "[::]:0"] {
        let config = Config::default().at(addr.parse().unwrap());
        let error = FeedServer::start(config).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(error.to_string().contains("loopback only"), "{error}");
    }
    let zero_threads = Config::default().with_worker_threads(0);
    assert_eq!(
        FeedServer::start(zero_threads).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn serve_runs_until_told_and_returns_the_counters() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (url_tx, url_rx) = mpsc::channel();
    let serving = std::thread::spawn(move || {
        rosetta_feeds::serve(
            Config::default().serving(scenario(), 1.0),
            async move {
                let _ = stopped.await;
                Ok(())
            },
            |server| {
                url_tx.send(server.addr()).unwrap();
                Ok(())
            },
        )
    });
    let addr = url_rx.recv_timeout(READ_LIMIT).unwrap();
    assert_eq!(get(addr, "/runs/demo/feeds/plain").status, 200);
    stop.send(()).unwrap();
    let stats = serving.join().unwrap().unwrap();
    assert_eq!(stats.requests, 1);
    assert!(TcpStream::connect(addr).is_err());

    // A failure to announce the server (stdout closed) ends `serve` with that error.
    let error = rosetta_feeds::serve(Config::default(), std::future::pending(), |_| {
        Err(std::io::Error::new(ErrorKind::BrokenPipe, "closed"))
    })
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BrokenPipe);
}
