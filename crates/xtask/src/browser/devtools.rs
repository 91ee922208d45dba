//! The browser end of `book --browser`: a headless Chromium, started and always stopped, and a
//! client for its DevTools protocol small enough to read in one sitting.
//!
//! The protocol is JSON-RPC over one WebSocket: a command is `{"id", "method", "params"}` and
//! its answer carries the same `id`; everything else the browser sends is an *event*
//! (`{"method", "params"}`), such as a console message or "the page has loaded". With
//! `Target.attachToTarget {flatten: true}` one socket talks to every tab, a command and an event
//! naming its tab by `sessionId`. Every read here has a deadline: a browser that stops answering
//! becomes an error, never a hang.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// The line Chromium prints on stderr once its DevTools server listens.
const LISTENING: &str = "DevTools listening on ";

/// The WebSocket address in Chromium's `DevTools listening on ws://...` line, if `line` is it.
pub fn devtools_url(line: &str) -> Option<&str> {
    let url = line.trim().strip_prefix(LISTENING)?.trim();
    url.starts_with("ws://").then_some(url)
}

/// The socket address of a `ws://HOST:PORT/...` URL, if HOST is a loopback address: this tool
/// talks to nothing but the browser it started on this machine.
pub fn loopback_address(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("ws://")?;
    let authority = rest.split('/').next()?;
    let address: SocketAddr = authority.parse().ok()?;
    address.ip().is_loopback().then_some(address)
}

/// A headless Chromium, killed (with every process it started) when this is dropped, also when
/// a check panics.
pub struct Chromium {
    child: Child,
    /// A fresh profile, so that no cache, cookie or extension of a real one changes a page.
    profile: PathBuf,
    /// The browser's DevTools WebSocket.
    pub url: String,
}

impl Chromium {
    /// Starts `binary` headless and waits (at most `timeout`) for its DevTools address.
    pub fn launch(binary: &Path, timeout: Duration) -> anyhow::Result<Chromium> {
        let profile = std::env::temp_dir().join(format!(
            "rosetta-chromium-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        std::fs::create_dir_all(&profile)?;
        let mut command = Command::new(binary);
        command.args([
            "--headless=new",
            // Port 0: the system picks a free port, and Chromium prints it (see `devtools_url`).
            "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1",
            // Loopback only: no update checks, sync, metrics or other calls home, which would
            // also make the run depend on the network.
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-domain-reliability",
            "--no-pings",
            // And if a page asks for anything off this machine (mdBook's playground, a web
            // font), it fails here instead of going out: no name resolves, and every request
            // not to loopback goes to a proxy on a closed loopback port. The failure is then
            // logged, and reported as a failed resource load.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--proxy-server=http://127.0.0.1:9",
            // Containers often have a tiny /dev/shm, which crashes renderers under load.
            "--disable-dev-shm-usage",
        ]);
        command.arg(format!("--user-data-dir={}", profile.display()));
        if running_as_root() {
            // Chromium refuses to start as root with its sandbox on ("Running as root without
            // --no-sandbox is not supported"): the sandbox relies on dropping privileges that
            // root cannot usefully drop. CI containers run as root; the pages are our own book.
            // As any other user the sandbox stays on.
            command.arg("--no-sandbox");
        }
        command.arg("about:blank");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Its own process group, so that `Drop` can end the renderers and helpers it starts, and
        // only those.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        // From here on, `Drop` kills it whatever happens.
        let mut chromium = Chromium {
            child,
            profile,
            url: String::new(),
        };
        // Chromium keeps writing to stderr; a thread drains it for the browser's whole life, or
        // a full pipe would block it. The lines before the address go to this thread.
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = lines.send(line);
            }
        });
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match received.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = devtools_url(&line) {
                        chromium.url = url.to_string();
                        return Ok(chromium);
                    }
                    seen.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!(
                        "Chromium printed no DevTools address within {timeout:?}; its stderr:\n{}",
                        seen.join("\n")
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!(
                        "Chromium exited before it listened; its stderr:\n{}",
                        seen.join("\n")
                    )
                }
            }
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // SIGKILL to the whole group (the browser made it its own: `process_group(0)` above),
        // then reap the browser. `kill` the command, because the workspace forbids `unsafe`
        // and std can signal one process but not a group.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// True if this process runs as root (on Linux: `/proc/self` belongs to the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// A DevTools connection: commands with deadlines, and the events that arrive meanwhile, kept
/// in order until someone takes them.
pub struct DevTools {
    socket: WebSocket<TcpStream>,
    next_id: u64,
    events: VecDeque<Value>,
}

impl DevTools {
    /// Connects to the browser's WebSocket `url`, which must be on a loopback address.
    pub fn connect(url: &str, timeout: Duration) -> anyhow::Result<DevTools> {
        let address =
            loopback_address(url).ok_or_else(|| anyhow!("not a loopback ws:// address: {url}"))?;
        let stream = TcpStream::connect_timeout(&address, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let (socket, _response) = tungstenite::client::client(url, stream)
            .map_err(|error| anyhow!("WebSocket handshake with {url} failed: {error}"))?;
        Ok(DevTools {
            socket,
            next_id: 1,
            events: VecDeque::new(),
        })
    }

    /// Sends `method` (to the tab `session`, or to the browser) and waits at most `timeout` for
    /// its answer. A protocol error (`{"error": ...}`) is an `Err`.
    pub fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .with_context(|| format!("cannot send {method}"))?;
        let deadline = Instant::now() + timeout;
        loop {
            let Some(message) = self.read(deadline)? else {
                bail!("no answer to {method} within {timeout:?}");
            };
            if message.get("id").and_then(Value::as_u64) == Some(id) {
                if let Some(error) = message.get("error") {
                    bail!("{method} failed: {error}");
                }
                return Ok(message.get("result").cloned().unwrap_or(Value::Null));
            }
            if message.get("method").is_some() {
                self.events.push_back(message);
            }
        }
    }

    /// Waits at most `timeout` for the event `method` of tab `session`, and takes it (an earlier
    /// one that is already waiting counts). Other events stay queued.
    pub fn wait_for_event(
        &mut self,
        session: &str,
        method: &str,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let matches = |event: &Value| {
            event.get("method").and_then(Value::as_str) == Some(method)
                && event.get("sessionId").and_then(Value::as_str) == Some(session)
        };
        if let Some(at) = self.events.iter().position(matches) {
            return Ok(self.events.remove(at).expect("found"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let Some(message) = self.read(deadline)? else {
                bail!("no {method} within {timeout:?}");
            };
            if matches(&message) {
                return Ok(message);
            }
            if message.get("method").is_some() {
                self.events.push_back(message);
            }
        }
    }

    /// Every event received so far, oldest first.
    pub fn take_events(&mut self) -> Vec<Value> {
        self.events.drain(..).collect()
    }

    /// One JSON message, or `None` once `deadline` has passed.
    fn read(&mut self, deadline: Instant) -> anyhow::Result<Option<Value>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.socket.get_mut().set_read_timeout(Some(left))?;
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return serde_json::from_str(text.as_str())
                        .map(Some)
                        .context("the browser sent a message that is not JSON");
                }
                Ok(_) => {} // pings (answered by tungstenite), pongs, binary: not the protocol's
                // A read timeout: tungstenite keeps a half-read frame and resumes it next time.
                Err(tungstenite::Error::Io(error))
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(error) => return Err(error).context("the DevTools connection failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_devtools_line_gives_the_address_and_nothing_else_does() {
        let line = "DevTools listening on ws://127.0.0.1:39255/devtools/browser/6e1f-4a\n";
        assert_eq!(
            devtools_url(line),
            Some("ws://127.0.0.1:39255/devtools/browser/6e1f-4a")
        );
        assert_eq!(
            devtools_url("[1201/1:ERROR:bus.cc(407)] Failed to connect"),
            None
        );
        assert_eq!(devtools_url("DevTools listening on http://x"), None);
        assert_eq!(
            loopback_address("ws://127.0.0.1:39255/devtools/browser/6e1f"),
            Some("127.0.0.1:39255".parse().unwrap())
        );
        assert_eq!(
            loopback_address("ws://[::1]:9222/devtools/browser/x"),
            Some("[::1]:9222".parse().unwrap())
        );
        // Anything but loopback is refused, names included (they would need a DNS lookup).
        assert_eq!(loopback_address("ws://10.0.0.1:9222/devtools"), None);
        assert_eq!(loopback_address("ws://localhost:9222/devtools"), None);
        assert_eq!(loopback_address("wss://127.0.0.1:9222/devtools"), None);
    }
}
