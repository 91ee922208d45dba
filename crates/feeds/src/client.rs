//! The client side of `--feeds URL`: where a running feed server is, and what it serves.
//!
//! A style run against a server started elsewhere (`rosetta feeds serve` in another terminal)
//! must run the scenario that server serves, at its time scale, or the reports could not agree:
//! a feed's latency is the server's to wait, the timeout the client's. So the client asks the
//! server (`GET /scenario.toml`, its time scale in the header [`TIME_SCALE_HEADER`]) rather than
//! being told twice. The request goes through hyper's client, on a small runtime of its own: one
//! request, answered or refused within [`ASK_TIMEOUT`].

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rosetta_pipeline::Scenario;

use crate::{Served, TIME_SCALE_HEADER};

/// How long asking a server what it serves may take, connection included.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// The address of the feed server at `url`: `http://127.0.0.1:PORT`, with or without the
/// scheme and a final `/`; `localhost` or `[::1]` for the host. Loopback only: the project never
/// sends a request off this machine, so any other host is refused, with the reason.
pub fn address_of(url: &str) -> Result<SocketAddr, String> {
    let rest = url.trim();
    let rest = rest.strip_prefix("http://").unwrap_or(rest);
    if rest.contains("://") {
        return Err(format!("`{url}`: only http:// feed servers are supported"));
    }
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') {
        return Err(format!(
            "`{url}`: give the server's address only (http://127.0.0.1:PORT), not a path"
        ));
    }
    let addrs: Vec<SocketAddr> = authority
        .to_socket_addrs()
        .map_err(|_| format!("`{url}` is not a server address such as http://127.0.0.1:7878"))?
        .collect();
    addrs
        .iter()
        .copied()
        .find(|addr| addr.ip().is_loopback())
        .ok_or_else(|| {
            format!("`{url}` is not on this machine: feed servers are reached on loopback only")
        })
}

/// What the server at `addr` serves to run ids it was not told about: its scenario and time
/// scale, from `GET /scenario.toml`.
pub fn served_by(addr: SocketAddr) -> io::Result<Served> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    // The timer is made inside the runtime: tokio's timers need its context.
    let answer = runtime.block_on(async { tokio::time::timeout(ASK_TIMEOUT, ask(addr)).await });
    let (time_scale, toml) = answer.map_err(|_| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the feed server at {addr} did not answer within {ASK_TIMEOUT:?}"),
        )
    })??;
    let scenario = Scenario::from_toml(&toml, &format!("http://{addr}/scenario.toml"))
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error.to_string()))?;
    Ok(Served {
        scenario: Arc::new(scenario),
        time_scale,
    })
}

/// `GET /scenario.toml` over one connection: the time scale header and the body.
async fn ask(addr: SocketAddr) -> io::Result<(f64, String)> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    // The connection is driven beside the request; it ends when the response has been read.
    tokio::spawn(connection);
    let request = hyper::Request::get("/scenario.toml")
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(io::Error::other)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(io::Error::other)?;
    if response.status() != hyper::StatusCode::OK {
        return Err(invalid(format!(
            "the feed server at {addr} serves no scenario of its own (GET /scenario.toml: {})",
            response.status()
        )));
    }
    let time_scale = response
        .headers()
        .get(TIME_SCALE_HEADER)
        .and_then(|value| value.to_str().ok()?.parse::<f64>().ok())
        .ok_or_else(|| invalid(format!("the feed server at {addr} sent no time scale")))?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    let toml = String::from_utf8(body.to_vec())
        .map_err(|_| invalid(format!("the scenario from {addr} is not UTF-8")))?;
    Ok((time_scale, toml))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_with_or_without_the_scheme_and_only_on_loopback() {
        let addr: SocketAddr = "127.0.0.1:7878".parse().unwrap();
        for url in [
            "http://127.0.0.1:7878",
            "http://127.0.0.1:7878/",
            "127.0.0.1:7878",
        ] {
            assert_eq!(address_of(url), Ok(addr), "{url}");
        }
        assert!(
            address_of("http://localhost:7878")
                .unwrap()
                .ip()
                .is_loopback()
        );
        for (url, says) in [
            ("http://10.0.0.1:80", "loopback only"),
            ("https://127.0.0.1:7878", "only http://"),
            ("http://127.0.0.1:7878/runs/1", "not a path"),
            ("127.0.0.1", "not a server address"),
        ] {
            let error = address_of(url).unwrap_err();
            assert!(error.contains(says), "{url}: {error}");
        }
    }
}
