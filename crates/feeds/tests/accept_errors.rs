//! The accept loop survives running out of file descriptors.
//!
//! A test binary of its own, with a single test: it uses up every descriptor the process may
//! open, which would break any other test running beside it in the same process.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rosetta_feeds::{Config, FeedServer};
use rosetta_pipeline::Scenario;

/// `EMFILE`: this process has as many descriptors open as it may.
const EMFILE: i32 = 24;

#[test]
fn running_out_of_descriptors_pauses_accepting_and_does_not_end_it() {
    let scenario = Arc::new(Scenario::builtin("classroom").unwrap());
    let server = FeedServer::start(Config::default().serving(scenario, 0.0)).unwrap();

    // Open files until the process may open no more (bounded: the limit here is 20,000).
    let mut hoard = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(file) => hoard.push(file),
            Err(e) if e.raw_os_error() == Some(EMFILE) => break,
            Err(e) => panic!("unexpected error while using up descriptors: {e}"),
        }
        assert!(hoard.len() < 1_000_000, "no descriptor limit to reach");
    }
    // Give one back, for the client's socket; the server's side of the connection then finds
    // none left: the kernel completes the connection, and `accept` fails with EMFILE.
    hoard.pop();
    let mut client = TcpStream::connect(server.addr()).unwrap();
    client
        .write_all(b"GET /runs/demo/feeds/oslo-feed HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    for _ in 0..1000 {
        if server.stats().accept_errors > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let failed = server.stats().accept_errors;
    assert!(failed > 0, "accept never failed: {:?}", server.stats());

    // Descriptors come back; the server, still accepting, answers.
    hoard.truncate(hoard.len().saturating_sub(100));
    client
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut answer = String::new();
    client
        .read_to_string(&mut answer)
        .expect("the server accepts again once descriptors are free");
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert_eq!(server.stats().connections_accepted, 1);
    drop(hoard);
}
