//! An HTTP/1.1 response, parsed sans-I/O: bytes in, status and body out.
//!
//! # Why the parser takes bytes, not a socket
//!
//! On the `tcp` transport every style reads a feed server's response, and every
//! style reads differently: the threads block in `read`, the event loop reads
//! when a readiness callback says it may, a hand-written future reads in `poll`
//! until `WouldBlock`, async/await reads in an `.await`. If the parser read
//! from a socket itself, it would have to be written once per way of reading,
//! eight times over, and each copy would get the corner cases (a head split
//! across two reads, a body that stops short) slightly differently.
//!
//! So the parser never touches a socket, a clock or a thread. It is a value
//! that is *fed* the bytes each read delivered, in pieces of any size (one
//! byte, or the whole response at once), and answers after each piece: not yet
//! ([`None`]), here is the response, or this is malformed. When a read says the
//! connection has closed, the caller tells the parser
//! ([`ResponseParser::eof`]), which says what a close means at that point: the
//! end of a response, or a short one. Every style drives the same parser the
//! same way; only the reading around it differs:
//!
//! ```text
//! let mut parser = ResponseParser::new();
//! loop {
//!     let n = read(&mut buf)  /* block, or wait for readiness, or .await */;
//!     if n == 0 { break parser.eof() }
//!     if let Some(response) = parser.feed(&buf[..n])? { break Ok(response) }
//! }
//! ```
//!
//! This design has a name, *sans-I/O* (Brett Cannon's
//! <https://sans-io.readthedocs.io>), and it is how the protocol libraries
//! people trust are built: hyper's HTTP/1 code parses and encodes buffers and
//! leaves the reading to its I/O layer (its head parser is `httparse`, which we
//! use too); Python's `h11` is an HTTP/1.1 state machine that "does no I/O";
//! `quinn-proto` is all of QUIC with no sockets, driven by `quinn` on tokio.
//! Being pure makes it testable the way protocol code should be tested: the
//! tests below split valid responses at every byte boundary and check that the
//! answer never depends on where the reads happened to end.
//!
//! # What this parser accepts
//!
//! The responses the feed server sends (see the specification's "Transports"),
//! and nothing looser: a head that `httparse` accepts within
//! [`MAX_HEAD_BYTES`], a `Content-Length` (repeated only with the same value),
//! no `Transfer-Encoding`, exactly that many body bytes, which must be UTF-8
//! and at most [`MAX_BODY_BYTES`]. Anything else is an [`HttpError`]. A
//! production client (hyper's) also reads chunked bodies, bodies that end at
//! the close, `1xx` interim answers and kept-alive connections; one connection
//! per attempt with `Connection: close` needs none of them.
//!
//! [`outcome`] is the one mapping from a finished exchange to the
//! specification's outcome.
//!
//! This module imports only [`crate::outcome`]. Read next:
//! [`crate::reference::exchange`], the blocking exchange that feeds it.

use crate::outcome::AttemptOutcome;

/// The longest response head (status line and headers) accepted: 16 KiB, a
/// hundred times what the feed server sends, and the same order as common
/// servers' limits (hyper's default buffer holds about 400 KiB, nginx's headers
/// 8 KiB per line). It bounds what a server that never ends its head can make
/// us buffer.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The largest body accepted: 64 MiB, the largest scenario file
/// (`scenario::MAX_FILE_BYTES`), so the largest feed a scenario can hold.
/// Checked against the `Content-Length` before any body byte is buffered: a
/// server announcing four gigabytes is refused, not believed.
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// How many headers a head may have. `httparse` parses into a fixed array; more
/// headers than this is a malformed head. The feed server sends four.
const MAX_HEADERS: usize = 64;

/// A complete response: its status code and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (`200`, `503`, ...).
    pub status: u16,
    /// The body, exactly `Content-Length` bytes, as UTF-8.
    pub body: String,
}

impl Response {
    /// Whether the status is a success (`2xx`): only then is the body the feed.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a response could not be read. Every message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The status line or a header is not HTTP/1.x, as `httparse` reads it.
    #[error("malformed response head: {0}")]
    MalformedHead(httparse::Error),
    /// The head did not end within [`MAX_HEAD_BYTES`].
    #[error("the response head is longer than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    /// The response has no `Content-Length`, so nothing says where its body
    /// ends.
    #[error(
        "the response has no Content-Length (this client reads bodies by Content-Length)"
    )]
    NoContentLength,
    /// A `Content-Length` is not a decimal number of bytes.
    #[error("the response's Content-Length is not a number of bytes")]
    InvalidContentLength,
    /// Two `Content-Length` values disagree: which one frames the body? (RFC
    /// 9112, 6.3: an error.)
    #[error(
        "the response has two different Content-Length values, {first} and {then}"
    )]
    ConflictingContentLength {
        /// The first value.
        first: u64,
        /// A later, different one.
        then: u64,
    },
    /// The response has a `Transfer-Encoding` (chunked, most likely), which
    /// this client does not read.
    #[error(
        "the response has a Transfer-Encoding, which is not supported (this client reads \
         bodies by Content-Length)"
    )]
    TransferEncoding,
    /// The announced body is larger than [`MAX_BODY_BYTES`].
    #[error(
        "the response's Content-Length, {length} bytes, is over the limit of {MAX_BODY_BYTES}"
    )]
    BodyTooLarge {
        /// The announced length.
        length: u64,
    },
    /// The server sent bytes after the `Content-Length` bytes of the body.
    #[error(
        "the server sent more than the {expected} body bytes its Content-Length announced"
    )]
    ExtraBytes {
        /// The announced length.
        expected: usize,
    },
    /// The connection closed before the head was complete (after no bytes at
    /// all, perhaps).
    #[error(
        "the connection closed after {received} bytes, before the response head was complete"
    )]
    ShortHead {
        /// The bytes of head received.
        received: usize,
    },
    /// The connection closed before the body was complete: a short body.
    #[error(
        "short body: the connection closed after {received} of {expected} body bytes"
    )]
    ShortBody {
        /// The body bytes received.
        received: usize,
        /// The announced length.
        expected: usize,
    },
    /// The body is not UTF-8 (a feed is text).
    #[error("the response body is not UTF-8")]
    NotUtf8,
    /// [`ResponseParser::eof`] was called after the parser had returned its
    /// response.
    #[error("the response was already complete")]
    AlreadyComplete,
}

// ANCHOR: parser
// ANCHOR: parser_type
/// Reads one response from the bytes it is fed, in pieces of any size.
///
/// ```
/// use rosetta_pipeline::http::{Response, ResponseParser};
///
/// let mut parser = ResponseParser::new();
/// // The pieces could end anywhere: one byte each, or the whole response at
/// // once.
/// assert_eq!(parser.feed(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
/// assert_eq!(parser.feed(b"ngth: 3\r\n\r\nOs").unwrap(), None);
/// let response = parser.feed(b"l").unwrap();
/// let expected = Response { status: 200, body: "Osl".to_string() };
/// assert_eq!(response, Some(expected));
/// ```
#[derive(Debug, Default)]
pub struct ResponseParser {
    state: State,
}

/// Where the parser is in the response.
#[derive(Debug)]
enum State {
    /// Reading the head: the bytes so far, all of them head (it has not ended
    /// yet).
    Head(Vec<u8>),
    /// The head has been read; reading the body's `expected` bytes.
    Body {
        status: u16,
        expected: usize,
        body: Vec<u8>,
    },
    /// The response (of `expected` body bytes) has been returned; any further
    /// byte is one too many.
    Complete { expected: usize },
    /// An error was found; the parser says it again whatever it is fed.
    Failed(HttpError),
}
// ANCHOR_END: parser_type

impl Default for State {
    fn default() -> Self {
        State::Head(Vec::new())
    }
}

// ANCHOR: parser_feed
impl ResponseParser {
    /// A parser that has seen nothing yet.
    pub fn new() -> Self {
        ResponseParser::default()
    }

    /// Feeds the next bytes a read delivered (an empty slice changes nothing; a
    /// close is [`ResponseParser::eof`], not an empty slice).
    ///
    /// Returns `Ok(Some(response))` once the response is complete (then stop
    /// reading: the server closes the connection), `Ok(None)` while more bytes
    /// are needed, or the error that makes the response malformed. After an
    /// error, every call returns that error again.
    pub fn feed(
        &mut self,
        bytes: &[u8],
    ) -> Result<Option<Response>, HttpError> {
        let result = self.advance(bytes);
        if let Err(error) = &result {
            self.state = State::Failed(error.clone());
        }
        result
    }
    // ANCHOR_END: parser_feed

    // ANCHOR: parser_eof
    /// The connection has closed (a read returned 0 bytes). What that means
    /// depends on where the response is: before the head or the body is
    /// complete, it is a short response; after a complete response the caller
    /// should have stopped reading, so it is [`HttpError::AlreadyComplete`]. A
    /// close never completes a response here: with a `Content-Length`, the last
    /// body byte does that.
    pub fn eof(&mut self) -> Result<Response, HttpError> {
        let error = match &self.state {
            State::Head(head) => HttpError::ShortHead {
                received: head.len(),
            },
            State::Body { expected, body, .. } => HttpError::ShortBody {
                received: body.len(),
                expected: *expected,
            },
            State::Complete { .. } => return Err(HttpError::AlreadyComplete),
            State::Failed(error) => return Err(error.clone()),
        };
        self.state = State::Failed(error.clone());
        Err(error)
    }
    // ANCHOR_END: parser_eof

    // ANCHOR: advance_head
    /// [`ResponseParser::feed`], without remembering the error.
    fn advance(&mut self, bytes: &[u8]) -> Result<Option<Response>, HttpError> {
        match &mut self.state {
            State::Head(head) => {
                head.extend_from_slice(bytes);
                // A head ends with an empty line, so with a `\n`: without a new
                // one, it cannot have ended, and there is no need to parse it
                // again (feeding a byte at a time would otherwise parse the
                // head once per byte).
                if !bytes.contains(&b'\n') {
                    return if head.len() > MAX_HEAD_BYTES {
                        Err(HttpError::HeadTooLarge)
                    } else {
                        Ok(None)
                    };
                }
                let Some((head_len, status, expected)) = parse_head(head)?
                else {
                    return Ok(None);
                };
                // What followed the head in these bytes is the start of the
                // body: keep the buffer for it, without the head.
                let mut body = std::mem::take(head);
                body.drain(..head_len);
                if body.len() > expected {
                    return Err(HttpError::ExtraBytes { expected });
                }
                self.state = State::Body {
                    status,
                    expected,
                    body,
                };
                // Nothing more to add, but the body may be complete already (or
                // empty).
                self.advance(&[])
            }
            // ANCHOR_END: advance_head
            // ANCHOR: advance_body
            State::Body {
                status,
                expected,
                body,
            } => {
                if bytes.len() > *expected - body.len() {
                    return Err(HttpError::ExtraBytes {
                        expected: *expected,
                    });
                }
                body.extend_from_slice(bytes);
                if body.len() < *expected {
                    return Ok(None);
                }
                let (status, expected, body) =
                    (*status, *expected, std::mem::take(body));
                self.state = State::Complete { expected };
                let body =
                    String::from_utf8(body).map_err(|_| HttpError::NotUtf8)?;
                Ok(Some(Response { status, body }))
            }
            State::Complete { .. } if bytes.is_empty() => Ok(None),
            // The caller read on after the response was complete, and there was
            // more.
            State::Complete { expected } => Err(HttpError::ExtraBytes {
                expected: *expected,
            }),
            State::Failed(error) => Err(error.clone()),
        }
    }
    // ANCHOR_END: advance_body
}
// ANCHOR_END: parser

/// Parses a head that may be complete: `None` if it is not yet, else its
/// length, its status and its body's length. Every check on the head is here,
/// before any body byte is kept.
fn parse_head(head: &[u8]) -> Result<Option<(usize, u16, usize)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head_len =
        match response.parse(head).map_err(HttpError::MalformedHead)? {
            httparse::Status::Partial if head.len() > MAX_HEAD_BYTES => {
                return Err(HttpError::HeadTooLarge);
            }
            httparse::Status::Partial => return Ok(None),
            // Checked here too: fed whole, a long head completes in one piece,
            // and must be refused as it would be a byte at a time.
            httparse::Status::Complete(len) if len > MAX_HEAD_BYTES => {
                return Err(HttpError::HeadTooLarge);
            }
            httparse::Status::Complete(len) => len,
        };
    // A complete head always has a code; `httparse` says so, but an error costs
    // nothing.
    let status = response
        .code
        .ok_or(HttpError::MalformedHead(httparse::Error::Status))?;
    let expected = content_length(response.headers)?;
    // Within `MAX_BODY_BYTES`, so it fits a `usize` on every platform Rust
    // supports.
    let expected = usize::try_from(expected)
        .map_err(|_| HttpError::BodyTooLarge { length: expected })?;
    Ok(Some((head_len, status, expected)))
}

/// The body's length, from the headers: one `Content-Length` (or several that
/// agree), no `Transfer-Encoding`, at most [`MAX_BODY_BYTES`].
fn content_length(headers: &[httparse::Header<'_>]) -> Result<u64, HttpError> {
    // Transfer-Encoding first, wherever it is: it would override any
    // Content-Length.
    if headers
        .iter()
        .any(|header| header.name.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err(HttpError::TransferEncoding);
    }
    let mut length = None;
    let values = headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case("content-length"))
        // `Content-Length: 5, 5` is the same as two headers (RFC 9110, 8.6), as
        // hyper reads it.
        .flat_map(|header| header.value.split(|&byte| byte == b','));
    for value in values {
        let value = decimal(value.trim_ascii())
            .ok_or(HttpError::InvalidContentLength)?;
        match length {
            Some(first) if first != value => {
                return Err(HttpError::ConflictingContentLength {
                    first,
                    then: value,
                });
            }
            _ => length = Some(value),
        }
    }
    let length = length.ok_or(HttpError::NoContentLength)?;
    if length > MAX_BODY_BYTES {
        return Err(HttpError::BodyTooLarge { length });
    }
    Ok(length)
}

/// A non-empty run of ASCII digits as a number; `None` for anything else (a
/// sign, a space, an overflow). Stricter than `str::parse::<u64>`, which
/// accepts a leading `+`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |number, &digit| {
        if !digit.is_ascii_digit() {
            return None;
        }
        number.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })
}

// ANCHOR: outcome
/// What an exchange that ended before its deadline counts as, in the
/// specification's terms: a `2xx` response is the feed's body (`Answered`); a
/// non-`2xx` status, a malformed or short response, a reset or a refused
/// connection (any `Err`, whatever its type: an [`HttpError`] or an I/O error)
/// is an `Error`. A timeout is not decided here: only the caller has a clock.
pub fn outcome<E>(
    finished: Result<Response, E>,
) -> (AttemptOutcome, Option<String>) {
    match finished {
        Ok(response) if response.is_success() => {
            (AttemptOutcome::Answered, Some(response.body))
        }
        Ok(_) | Err(_) => (AttemptOutcome::Error, None),
    }
}
// ANCHOR_END: outcome

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    /// Feeds `pieces` one after the other, then (if no response came) a close.
    fn parse_in_pieces<'a>(
        pieces: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Response, HttpError> {
        let mut parser = ResponseParser::new();
        let mut response = None;
        for piece in pieces {
            if let Some(complete) = parser.feed(piece)? {
                assert!(
                    response.is_none(),
                    "a parser returns its response once"
                );
                response = Some(complete);
            }
        }
        match response {
            Some(response) => Ok(response),
            None => parser.eof(),
        }
    }

    /// Feeds the bytes whole, then (if no response came) a close.
    fn parse(bytes: &[u8]) -> Result<Response, HttpError> {
        parse_in_pieces([bytes])
    }

    fn ok(status: u16, body: &str) -> Result<Response, HttpError> {
        Ok(Response {
            status,
            body: body.to_string(),
        })
    }

    #[test]
    fn a_response_is_its_status_and_its_body() {
        let bytes =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
                      Content-Length: 9\r\nConnection: close\r\n\r\nOslo;1.0\n";
        assert_eq!(parse(bytes), ok(200, "Oslo;1.0\n"));
        // One byte at a time, the same.
        assert_eq!(parse_in_pieces(bytes.chunks(1)), ok(200, "Oslo;1.0\n"));
    }

    #[test]
    fn an_empty_body_completes_with_the_head() {
        let mut parser = ResponseParser::new();
        let response = parser.feed(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!(
            response,
            Ok(Some(Response {
                status: 503,
                body: String::new()
            }))
        );
    }

    #[test]
    fn a_status_line_without_a_reason_is_accepted() {
        assert_eq!(
            parse(b"HTTP/1.0 404 \r\nContent-Length: 1\r\n\r\nx"),
            ok(404, "x")
        );
    }

    #[test]
    fn a_malformed_head_is_an_error() {
        for head in [
            &b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"[..],
            b"hello\r\n\r\n",
            b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Header: 1\r\n\r\n",
        ] {
            let err = parse(head).unwrap_err();
            assert!(matches!(err, HttpError::MalformedHead(_)), "{err:?}");
        }
    }

    #[test]
    fn too_many_headers_is_a_malformed_head() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            head.extend(format!("X-{i}: 1\r\n").bytes());
        }
        head.extend(b"Content-Length: 0\r\n\r\n");
        assert_eq!(
            parse(&head),
            Err(HttpError::MalformedHead(httparse::Error::TooManyHeaders))
        );
    }

    #[test]
    fn a_head_over_the_limit_is_an_error_fed_whole_or_in_pieces() {
        let mut head =
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Long: ".to_vec();
        head.resize(MAX_HEAD_BYTES + 10, b'a');
        // A head that never ends: refused once the limit is passed, not
        // buffered forever.
        let mut parser = ResponseParser::new();
        let results: Vec<_> =
            head.chunks(1000).map(|piece| parser.feed(piece)).collect();
        assert_eq!(results.last(), Some(&Err(HttpError::HeadTooLarge)));
        // The same head, ended and fed whole: still too long.
        head.extend(b"\r\n\r\n");
        assert_eq!(parse(&head), Err(HttpError::HeadTooLarge));
        assert_eq!(
            parse_in_pieces(head.chunks(7)),
            Err(HttpError::HeadTooLarge)
        );
    }

    #[test]
    fn no_content_length_is_an_error() {
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nOslo;1.0\n"),
            Err(HttpError::NoContentLength)
        );
    }

    #[test]
    fn an_invalid_content_length_is_an_error() {
        for value in [
            "abc",
            "-1",
            "+5",
            "",
            "5 5",
            "0x10",
            "99999999999999999999999",
        ] {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
            assert_eq!(
                parse(head.as_bytes()),
                Err(HttpError::InvalidContentLength),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_repeated_content_length_must_agree() {
        let same = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2, 2\r\n\r\nok";
        assert_eq!(parse(same), ok(200, "ok"));
        let different = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok";
        let conflict =
            Err(HttpError::ConflictingContentLength { first: 2, then: 3 });
        assert_eq!(parse(different), conflict);
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok"),
            conflict
        );
    }

    #[test]
    fn a_transfer_encoding_is_not_supported() {
        let chunked = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\
                        \r\n2\r\nok\r\n0\r\n\r\n";
        let err = parse(chunked).unwrap_err();
        assert_eq!(err, HttpError::TransferEncoding);
        assert!(err.to_string().contains("not supported"));
    }

    #[test]
    fn more_bytes_than_the_content_length_is_an_error() {
        let extra = Err(HttpError::ExtraBytes { expected: 2 });
        // In the piece that completes the body.
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokay"),
            extra
        );
        assert_eq!(
            parse_in_pieces([
                &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no"[..],
                b"kay"
            ]),
            extra
        );
        // Or fed after the response was complete.
        let mut parser = ResponseParser::new();
        let complete =
            parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        assert_eq!(
            complete,
            Ok(Some(Response {
                status: 200,
                body: "ok".into()
            }))
        );
        assert_eq!(parser.feed(b""), Ok(None));
        assert_eq!(
            parser.feed(b"!"),
            Err(HttpError::ExtraBytes { expected: 2 })
        );
    }

    #[test]
    fn a_close_before_the_head_is_complete_is_a_short_head() {
        assert_eq!(parse(b""), Err(HttpError::ShortHead { received: 0 }));
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Len"),
            Err(HttpError::ShortHead { received: 28 })
        );
    }

    #[test]
    fn a_close_before_the_body_is_complete_is_a_short_body() {
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOslo"),
            Err(HttpError::ShortBody {
                received: 4,
                expected: 10
            })
        );
    }

    #[test]
    fn a_body_that_is_not_utf8_is_an_error() {
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\xff\xfe"),
            Err(HttpError::NotUtf8)
        );
    }

    #[test]
    fn a_body_over_the_limit_is_refused_from_the_head() {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        // Refused with the head alone: not one body byte has been fed (or
        // buffered).
        let mut parser = ResponseParser::new();
        assert_eq!(
            parser.feed(head.as_bytes()),
            Err(HttpError::BodyTooLarge {
                length: MAX_BODY_BYTES + 1
            })
        );
        // The limit itself is accepted (and nothing is allocated for it up
        // front).
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {MAX_BODY_BYTES}\r\n\r\n"
        );
        assert_eq!(ResponseParser::new().feed(head.as_bytes()), Ok(None));
    }

    #[test]
    fn an_error_is_said_again_whatever_comes_next() {
        let mut parser = ResponseParser::new();
        let err = parser.feed(b"HTTP/1.1 200 OK\r\n\r\n").unwrap_err();
        assert_eq!(err, HttpError::NoContentLength);
        assert_eq!(parser.feed(b"more"), Err(err.clone()));
        assert_eq!(parser.eof(), Err(err));
    }

    #[test]
    fn a_close_after_the_response_is_a_mistake_of_the_caller() {
        let mut parser = ResponseParser::new();
        let response =
            parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(matches!(response, Ok(Some(_))));
        assert_eq!(parser.eof(), Err(HttpError::AlreadyComplete));
    }

    #[test]
    fn every_message_is_one_line() {
        let errors = [
            HttpError::MalformedHead(httparse::Error::Version),
            HttpError::HeadTooLarge,
            HttpError::NoContentLength,
            HttpError::InvalidContentLength,
            HttpError::ConflictingContentLength { first: 1, then: 2 },
            HttpError::TransferEncoding,
            HttpError::BodyTooLarge { length: u64::MAX },
            HttpError::ExtraBytes { expected: 3 },
            HttpError::ShortHead { received: 0 },
            HttpError::ShortBody {
                received: 1,
                expected: 2,
            },
            HttpError::NotUtf8,
            HttpError::AlreadyComplete,
        ];
        for error in errors {
            let message = error.to_string();
            assert!(!message.contains('\n'), "{message}");
        }
    }

    #[test]
    fn only_a_2xx_answer_is_the_body() {
        let response = |status| {
            Ok::<_, HttpError>(Response {
                status,
                body: "b".into(),
            })
        };
        assert_eq!(
            outcome(response(200)),
            (AttemptOutcome::Answered, Some("b".to_string()))
        );
        assert_eq!(
            outcome(response(204)),
            (AttemptOutcome::Answered, Some("b".to_string()))
        );
        for status in [101, 301, 404, 500, 503] {
            assert_eq!(
                outcome(response(status)),
                (AttemptOutcome::Error, None)
            );
        }
        let short = Err::<Response, _>(HttpError::ShortBody {
            received: 0,
            expected: 1,
        });
        assert_eq!(outcome(short), (AttemptOutcome::Error, None));
        let reset = Err::<Response, _>(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        ));
        assert_eq!(outcome(reset), (AttemptOutcome::Error, None));
    }

    /// A valid response as the feed server might send it: a status, a reason,
    /// extra headers (never a framing one) around the `Content-Length`, and any
    /// UTF-8 body.
    fn valid_response() -> impl Strategy<Value = (Vec<u8>, Response)> {
        let header = ("[A-Za-z][A-Za-z0-9-]{0,15}", "[!-~]([ -~]{0,30}[!-~])?")
            .prop_filter(
                "framing headers are the parser's to check",
                |(name, _): &(String, String)| {
                    !name.eq_ignore_ascii_case("content-length")
                        && !name.eq_ignore_ascii_case("transfer-encoding")
                },
            );
        (
            prop::sample::select(vec![200u16, 404, 500, 503]),
            "[A-Za-z ]{0,20}",
            prop::collection::vec(header.clone(), 0..4),
            prop::collection::vec(header, 0..4),
            any::<String>(),
        )
            .prop_map(|(status, reason, before, after, body)| {
                let mut bytes = format!("HTTP/1.1 {status} {reason}\r\n");
                for (name, value) in &before {
                    bytes.push_str(&format!("{name}: {value}\r\n"));
                }
                bytes.push_str(&format!("Content-Length: {}\r\n", body.len()));
                for (name, value) in &after {
                    bytes.push_str(&format!("{name}: {value}\r\n"));
                }
                bytes.push_str("\r\n");
                bytes.push_str(&body);
                (bytes.into_bytes(), Response { status, body })
            })
    }

    /// `bytes` cut at `cuts` (indices into `0..=len`, in any order, repeats
    /// allowed).
    fn cut<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> =
            cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
        at.push(0);
        at.push(bytes.len());
        at.sort_unstable();
        at.windows(2).map(|pair| &bytes[pair[0]..pair[1]]).collect()
    }

    proptest! {
        #[test]
        fn split_anywhere_in_two_the_answer_is_the_same((bytes, expected) in valid_response()) {
            prop_assert_eq!(parse(&bytes), Ok(expected.clone()));
            for at in 0..=bytes.len() {
                let (first, second) = bytes.split_at(at);
                prop_assert_eq!(parse_in_pieces([first, second]), Ok(expected.clone()), "split at {}", at);
            }
        }

        #[test]
        fn split_into_many_pieces_the_answer_is_the_same(
            (bytes, expected) in valid_response(),
            cuts in prop::collection::vec(any::<Index>(), 0..40),
        ) {
            prop_assert_eq!(parse_in_pieces(cut(&bytes, &cuts)), Ok(expected));
        }

        #[test]
        fn a_truncated_response_is_short_at_the_close(
            (bytes, _) in valid_response(),
            truncate_at in any::<Index>(),
            cuts in prop::collection::vec(any::<Index>(), 0..8),
        ) {
            // Every proper prefix, 0 to len - 1 bytes.
            let prefix = &bytes[..truncate_at.index(bytes.len())];
            let result = parse_in_pieces(cut(prefix, &cuts));
            prop_assert!(
                matches!(result, Err(HttpError::ShortHead { .. } | HttpError::ShortBody { .. })),
                "{:?}", result
            );
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..600),
            cuts in prop::collection::vec(any::<Index>(), 0..8),
        ) {
            let _ = parse_in_pieces(cut(&bytes, &cuts));
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_head_never_panic(
            length in 0u64..64,
            body in prop::collection::vec(any::<u8>(), 0..100),
            cuts in prop::collection::vec(any::<Index>(), 0..8),
        ) {
            let mut bytes = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n").into_bytes();
            bytes.extend(body);
            let _ = parse_in_pieces(cut(&bytes, &cuts));
        }

        #[test]
        fn arbitrary_head_lines_never_panic(
            lines in prop::collection::vec("[ -~\t]{0,40}", 0..8),
            cuts in prop::collection::vec(any::<Index>(), 0..8),
        ) {
            let bytes = format!("HTTP/1.1 200 OK\r\n{}\r\n\r\nbody", lines.join("\r\n")).into_bytes();
            let _ = parse_in_pieces(cut(&bytes, &cuts));
        }
    }
}
