//! Where a command's runs get their feeds: timers (`--transport sim`), a feed server started in
//! this process (`--transport tcp`, the default), or one already running elsewhere
//! (`--feeds URL`).
//!
//! Every run of a style on `tcp` needs a run id of its own on the server, so that a `first`
//! feed fails once per run: [`Network::options`] gives each run fresh options, and the commands
//! call it once per style they run.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use rosetta_feeds::{Config, FeedServer};
use rosetta_pipeline::transport::{Feeds, Transport};
use rosetta_pipeline::{RunOptions, Scenario};

/// Where runs get their feeds, and at which time scale.
#[derive(Debug)]
pub struct Network {
    time_scale: f64,
    feeds: Where,
}

#[derive(Debug)]
enum Where {
    /// Timers: no server at all.
    Sim,
    /// A server this process started, serving the scenario of the command.
    Local {
        server: FeedServer,
        scenario: Arc<Scenario>,
    },
    /// A server started elsewhere, serving a scenario of its own (learnt from it).
    Remote(SocketAddr),
}

impl Network {
    /// Runs on the `sim` transport at `time_scale`.
    pub fn sim(time_scale: f64) -> Network {
        Network {
            time_scale,
            feeds: Where::Sim,
        }
    }

    /// Starts a feed server in this process on `127.0.0.1:0`, serving `scenario` to the runs
    /// of this command at `time_scale`. It stops when the `Network` is dropped.
    pub fn local(scenario: &Scenario, time_scale: f64) -> io::Result<Network> {
        let server = FeedServer::start(Config::default())?;
        Ok(Network {
            time_scale,
            feeds: Where::Local {
                server,
                scenario: Arc::new(scenario.clone()),
            },
        })
    }

    /// The feed server already running at `url`, with the scenario it serves and its time
    /// scale (a run must use both, or its report could not be the reference's).
    pub fn remote(url: &str) -> anyhow::Result<(Scenario, Network)> {
        let addr = rosetta_feeds::address_of(url).map_err(anyhow::Error::msg)?;
        let served = rosetta_feeds::served_by(addr)
            .map_err(|error| anyhow::anyhow!("cannot use the feed server at {url}: {error}"))?;
        let network = Network {
            time_scale: served.time_scale,
            feeds: Where::Remote(addr),
        };
        Ok((Scenario::clone(&served.scenario), network))
    }

    /// Options for one run: the time scale, and on `tcp` a fresh run on the server.
    pub fn options(&self) -> RunOptions {
        let opts = RunOptions::with_time_scale(self.time_scale);
        match &self.feeds {
            Where::Sim => opts,
            Where::Local { server, scenario } => opts.on(Transport::Tcp(
                server.host(Arc::clone(scenario), self.time_scale),
            )),
            // The server creates a run the first time it hears of its id; a random one cannot
            // meet another client's.
            Where::Remote(addr) => opts.on(Transport::Tcp(Feeds {
                addr: *addr,
                run: RandomState::new().build_hasher().finish(),
            })),
        }
    }

    /// Whether runs fetch over `tcp` (from a server here or elsewhere) rather than `sim`.
    pub fn is_tcp(&self) -> bool {
        !matches!(self.feeds, Where::Sim)
    }

    /// The time scale of every run.
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// The transport, for a header: `sim`, `tcp (a feed server in this process)` or
    /// `tcp (the feed server at URL)`.
    pub fn describe(&self) -> String {
        match &self.feeds {
            Where::Sim => "sim (timers)".into(),
            Where::Local { .. } => "tcp (a feed server on loopback, in this process)".into(),
            Where::Remote(addr) => format!("tcp (the feed server at http://{addr})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_gets_a_run_of_its_own() {
        let scenario = Scenario::builtin("classroom").unwrap();
        let network = Network::local(&scenario, 0.5).unwrap();
        let (first, second) = (network.options(), network.options());
        let (Transport::Tcp(a), Transport::Tcp(b)) = (first.transport, second.transport) else {
            panic!("a local network is tcp");
        };
        assert_ne!(a.run, b.run);
        assert_eq!(a.addr, b.addr);
        assert_eq!(first.time_scale, 0.5);
        assert_eq!(
            Network::sim(0.5).options(),
            RunOptions::with_time_scale(0.5)
        );
    }
}
