//! Bytes on the wire: hyper's own replies to requests it cannot parse, put in the one error
//! shape.
//!
//! A request whose head hyper cannot parse (`Content-Length: -1`, two different lengths, a
//! method or header with forbidden bytes, an unknown HTTP version, a head over hyper's size
//! limit, an over-long URI) never reaches our service: hyper answers it itself with an empty
//! `400`, `414` or `431` and closes the connection. [`ErrorShapeIo`] wraps a connection and
//! replaces exactly those replies (a `4xx` head with `content-length: 0` and no
//! `content-type`, which no response of ours has: every error of ours carries a JSON body)
//! with the JSON error body every other failure gets, a fresh request id in the body and in
//! `x-request-id`, and `connection: close`.

use crate::error::code_for_status;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose parse-error replies are rewritten (see the module docs).
pub struct ErrorShapeIo<S> {
    inner: S,
    /// Bytes of a rewritten reply still to be written to `inner`.
    pending: Vec<u8>,
}

impl<S> ErrorShapeIo<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        ErrorShapeIo {
            inner,
            pending: Vec::new(),
        }
    }
}

/// The status of `buf` when it is one whole reply hyper wrote for a request it could not
/// parse: an empty `4xx` without a content type.
fn parse_error_status(buf: &[u8]) -> Option<u16> {
    let rest = buf.strip_prefix(b"HTTP/1.1 4")?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != buf.len() {
        return None;
    }
    let head = std::str::from_utf8(&buf[..end]).ok()?.to_ascii_lowercase();
    let status: u16 = std::str::from_utf8(rest.get(..2)?)
        .ok()?
        .parse::<u16>()
        .ok()
        .map(|n| 400 + n)?;
    let empty = head.lines().any(|l| {
        l.split_once(':')
            .is_some_and(|(k, v)| k.trim() == "content-length" && v.trim() == "0")
    });
    let typed = head.lines().any(|l| {
        l.split_once(':')
            .is_some_and(|(k, _)| k.trim() == "content-type")
    });
    (empty && !typed).then_some(status)
}

/// The reply that replaces hyper's for `status`.
fn error_reply(status: u16) -> Vec<u8> {
    let (reason, message) = match status {
        414 => (
            "URI Too Long",
            "the request URI is longer than the server accepts",
        ),
        431 => (
            "Request Header Fields Too Large",
            "the request head is larger than the server accepts",
        ),
        _ => (
            "Bad Request",
            "the request head could not be parsed as HTTP/1.1 (check the request line, the \
             header names and values, and that Content-Length is one non-negative integer)",
        ),
    };
    let code = code_for_status(
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST),
    );
    let id = format!("req_{}", uuid::Uuid::new_v4().simple());
    let body = serde_json::json!({
        "error": {"code": code, "message": message, "request_id": id}
    })
    .to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         x-request-id: {id}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl<S: AsyncWrite + Unpin> ErrorShapeIo<S> {
    /// Writes what is pending; ready once nothing is.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ErrorShapeIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ErrorShapeIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(status) = parse_error_status(buf) {
            tracing::debug!(
                status,
                "request head not parseable; answered in the error shape"
            );
            self.pending = error_reply(status);
            // hyper's bytes count as written; ours go out on this and later polls.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_untyped_4xx_heads_are_taken_for_hyper_replies() {
        let hyper = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Fri, 04 Dec 2026 23:00:00 GMT\r\n\r\n";
        assert_eq!(parse_error_status(hyper), Some(400));
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_status(big), Some(431));
        // Ours: typed, or with a body, or not an error, or not the whole write.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_status(ours), None);
        let body = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_error_status(body), None);
        let ok = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_error_status(ok), None);
        let chunk = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n";
        assert_eq!(parse_error_status(chunk), None);
    }

    #[test]
    fn the_replacement_is_the_error_shape() {
        let raw = String::from_utf8(error_reply(400)).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "bad_request");
        let id = v["error"]["request_id"].as_str().unwrap();
        assert!(head.contains(&format!("x-request-id: {id}")));
    }
}
