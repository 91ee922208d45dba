//! `--feeds URL`: a client given only a server's address learns what it serves.

use std::sync::Arc;

use rosetta_feeds::{Config, FeedServer, served_by};
use rosetta_pipeline::Scenario;

#[test]
fn a_client_learns_the_scenario_and_time_scale_a_server_serves() {
    let scenario = Scenario::builtin("faults").unwrap();
    let server =
        FeedServer::start(Config::default().serving(Arc::new(scenario.clone()), 0.5)).unwrap();
    let served = served_by(server.addr()).unwrap();
    assert_eq!(*served.scenario, scenario);
    assert_eq!(served.time_scale, 0.5);
}

#[test]
fn a_server_without_a_scenario_of_its_own_says_so() {
    let server = FeedServer::start(Config::default()).unwrap();
    let error = served_by(server.addr()).unwrap_err();
    assert!(
        error.to_string().contains("serves no scenario of its own"),
        "{error}"
    );
}

#[test]
fn nobody_listening_is_an_error_not_a_hang() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    assert!(served_by(port).is_err());
}
