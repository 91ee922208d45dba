//! A static file server on 127.0.0.1 for `book --browser`: the built book, served over HTTP as
//! a web host serves it.
//!
//! Why not `file://` URLs: a page opened from a file has an opaque origin, where `fetch`, storage
//! and some script loads behave differently from the published site, and a missing file or a
//! wrong content type does not show up as it would there (an SVG served with the wrong type
//! does not display in an `<img>`). Over HTTP, a broken reference is a 404 that Chromium logs as
//! a failed resource load, as a reader's browser would. The server is std only: one thread per
//! connection (Chromium opens a few at a time, and may open one it never uses), each with a read
//! timeout, `Connection: close` on every answer, and only files below the root.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// A request head larger than this is refused (the book's URLs are short).
const MAX_HEAD: usize = 16 * 1024;

/// The server; dropping it stops it.
pub struct StaticServer {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Serves the files below `root` on a free port of 127.0.0.1.
    pub fn start(root: &Path) -> std::io::Result<StaticServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let address = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let root = root.to_path_buf();
        let stopping = Arc::clone(&stop);
        let acceptor = std::thread::spawn(move || {
            for connection in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(connection) = connection else { continue };
                let root = root.clone();
                std::thread::spawn(move || {
                    let _ = answer(connection, &root);
                });
            }
        });
        Ok(StaticServer {
            address,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // `accept` blocks: one last connection wakes it to see the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads one request from `connection` and answers it with a file or a 404.
fn answer(mut connection: TcpStream, root: &Path) -> std::io::Result<()> {
    connection.set_read_timeout(Some(Duration::from_secs(5)))?;
    connection.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buffer = [0; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = connection.read(&mut buffer)?;
        if read == 0 || head.len() > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let file = file_for(root, target).filter(|_| method == "GET" || method == "HEAD");
    let (status, kind, body) = match file.and_then(|file| {
        let body = std::fs::read(&file).ok()?;
        Some((content_type(&file), body))
    }) {
        Some((kind, body)) => ("200 OK", kind, body),
        None => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
    };
    write!(
        connection,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        connection.write_all(&body)?;
    }
    connection.flush()
}

/// The file below `root` that the request target `target` (`/dir/page.html?x`) names, as a web
/// host maps it: percent-decoded, a folder meaning its `index.html`. `None` if it is not a file,
/// or would leave `root` (a `..` segment).
pub fn file_for(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?.strip_prefix('/')?;
    file_at(root, &format!("/{}", crate::book::percent_decode(path)))
}

/// The file below `root` that the decoded path `path` (`/dir/page.html`) names: a folder means
/// its `index.html`. `None` if it is not a file, or would leave `root`.
pub fn file_at(root: &Path, path: &str) -> Option<PathBuf> {
    let path = path.strip_prefix('/')?;
    let relative = Path::new(path);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut file = root.join(relative);
    if path.is_empty() || path.ends_with('/') || file.is_dir() {
        file = file.join("index.html");
    }
    file.is_file().then_some(file)
}

/// The `Content-Type` of the book's kinds of file. The browser trusts it: an SVG served as
/// anything but `image/svg+xml` does not display in an `<img>`.
fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|ext| ext.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" | "md" | "rs" | "toml" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_targets_map_to_files_as_a_web_host_maps_them() {
        let root = std::env::temp_dir().join(format!("rosetta-serve-{}", std::process::id()));
        std::fs::create_dir_all(root.join("figures")).unwrap();
        std::fs::write(root.join("index.html"), "i").unwrap();
        std::fs::write(root.join("figures/index.html"), "f").unwrap();
        std::fs::write(root.join("a b.html"), "a").unwrap();
        let found = |target: &str| {
            file_for(&root, target).map(|file| file.strip_prefix(&root).unwrap().to_path_buf())
        };
        assert_eq!(found("/"), Some("index.html".into()));
        assert_eq!(found("/figures"), Some("figures/index.html".into()));
        assert_eq!(found("/figures/?q=1"), Some("figures/index.html".into()));
        assert_eq!(found("/a%20b.html#top"), Some("a b.html".into()));
        assert_eq!(found("/missing.html"), None);
        // Nothing outside the root, however it is spelled.
        assert_eq!(found("/../index.html"), None);
        assert_eq!(found("/figures/%2e%2e/index.html"), None);
        assert_eq!(found("index.html"), None);
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(
            crate::book::percent_decode("G%C3%B6teborg%zz"),
            "Göteborg%zz"
        );
    }
}
