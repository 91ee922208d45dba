//! Where an attempt's bytes come from: a timer (`sim`) or a feed server on
//! loopback (`tcp`).
//!
//! The specification (Appendix D, "Transports") defines both, and the report is
//! identical on both. On [`Transport::Sim`] an attempt is a timer and the feed
//! answers from memory ([`crate::scenario::Source::respond`]). On
//! [`Transport::Tcp`] an attempt is one HTTP/1.1 exchange with the feed server
//! named by [`Feeds`]: connect, send [`Feeds::request`], read the response and
//! hand its bytes to [`crate::http::ResponseParser`]. Each style does the
//! connect, the write and the reads in its own idiom; what the bytes are is
//! decided here, once.
//!
//! This module imports nothing from the crate.

use std::fmt;
use std::net::SocketAddr;

/// How a run's attempts reach their feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// An attempt is a timer; the feed answers from memory. Deterministic, and
    /// the only transport that runs in logical time (time scale 0).
    #[default]
    Sim,
    /// An attempt is a TCP connection to a feed server.
    Tcp(Feeds),
}

impl Transport {
    /// The transport's name, as the command line and the report header write
    /// it.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Sim => "sim",
            Transport::Tcp(_) => "tcp",
        }
    }
}

/// One run's feeds on a feed server: where the server listens, and the run's
/// id.
///
/// The id keeps runs apart: a source whose fault is `first` fails on the first
/// request *of its run*, so two runs (two styles of one `compare`, two tests at
/// once) against the same server each see their own first failure. `Copy`, so
/// that options holding it stay `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Feeds {
    /// The server's address: loopback only (`127.0.0.1:PORT` or `[::1]:PORT`).
    pub addr: SocketAddr,
    /// The run's id, the `{run}` of `/runs/{run}/feeds/{source}`.
    pub run: u64,
}

impl Feeds {
    /// The path of a source's feed: `/runs/{run}/feeds/{source}`, the source
    /// name percent-encoded (a name may hold spaces, `/` or any other
    /// character).
    pub fn path(&self, source: &str) -> String {
        format!("/runs/{}/feeds/{}", self.run, PercentEncoded(source))
    }

    /// The request an attempt sends for `source`: a `GET` of [`Feeds::path`],
    /// closing the connection after the answer (one connection per attempt, as
    /// the specification says).
    pub fn request(&self, source: &str) -> Vec<u8> {
        format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.path(source),
            self.addr
        )
        .into_bytes()
    }

    /// The feed's URL, for people (`curl` it).
    pub fn url(&self, source: &str) -> String {
        format!("http://{}{}", self.addr, self.path(source))
    }
}

/// Whether a non-blocking `connect`'s error only says that the handshake has
/// started, as it normally does: `EINPROGRESS` on Unix, `WSAEWOULDBLOCK` (read
/// as `WouldBlock`) on Windows. The event loop and the reactor, which connect
/// without blocking, both ask this.
///
/// Rust reads `EINPROGRESS` as `io::ErrorKind::InProgress`, which is not stable
/// yet; so the error number is compared, as mio and socket2 do.
pub fn connect_in_progress(error: &std::io::Error) -> bool {
    #[cfg(unix)]
    if error.raw_os_error() == Some(libc::EINPROGRESS) {
        return true;
    }
    error.kind() == std::io::ErrorKind::WouldBlock
}

/// Writes a string percent-encoded for a URL path segment: every byte outside
/// the unreserved set of RFC 3986 (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`.
pub struct PercentEncoded<'a>(pub &'a str);

impl fmt::Display for PercentEncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in self.0.as_bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                write!(f, "{}", byte as char)?;
            } else {
                write!(f, "%{byte:02X}")?;
            }
        }
        Ok(())
    }
}

/// Decodes a percent-encoded path segment: the inverse of [`PercentEncoded`],
/// and lenient the way servers are (`+` and unreserved characters pass
/// through). `None` if a `%` is not followed by two hex digits or the bytes are
/// not UTF-8.
pub fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feeds() -> Feeds {
        Feeds {
            addr: "127.0.0.1:8080".parse().unwrap(),
            run: 7,
        }
    }

    #[test]
    fn a_request_names_the_run_and_the_source_and_closes_the_connection() {
        let request =
            String::from_utf8(feeds().request("Bodø west/1")).unwrap();
        assert_eq!(
            request,
            "GET /runs/7/feeds/Bod%C3%B8%20west%2F1 HTTP/1.1\r\n\
             Host: 127.0.0.1:8080\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn only_a_handshake_under_way_is_in_progress() {
        #[cfg(unix)]
        assert!(connect_in_progress(&std::io::Error::from_raw_os_error(
            libc::EINPROGRESS
        )));
        assert!(connect_in_progress(&std::io::ErrorKind::WouldBlock.into()));
        assert!(!connect_in_progress(
            &std::io::ErrorKind::ConnectionRefused.into()
        ));
    }

    #[test]
    fn a_bad_escape_is_refused() {
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("%FF"), None, "not UTF-8");
    }

    proptest! {
        #[test]
        fn decoding_inverts_encoding(name in any::<String>()) {
            let encoded = PercentEncoded(&name).to_string();
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(percent_decode(&encoded), Some(name));
        }
    }
}
