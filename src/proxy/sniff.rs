//! A read-side observer for HTTP/1.1 connections that notices a header block carrying both
//! `Content-Length` and `Transfer-Encoding`.
//!
//! hyper resolves such a request safely (chunked wins, the connection closes) but removes
//! `Content-Length` before privgate sees the request, so the ambiguity would go unnoticed. The
//! contract is to refuse such requests outright (a request-smuggling attempt), so this wrapper
//! scans header lines as bytes go by and raises a per-connection flag. It only looks at line
//! starts and keeps a few bytes of state: no buffering, no copy.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Set once a header block with both framing headers was seen on the connection.
#[derive(Debug, Clone, Default)]
pub struct AmbiguousFraming(Arc<AtomicBool>);

impl AmbiguousFraming {
    /// True if seen.
    pub fn seen(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The scanner's state between reads.
#[derive(Debug, Default)]
struct LineScanner {
    /// Lower-cased start of the current line (up to 18 bytes: enough for both names).
    prefix: [u8; 18],
    prefix_len: usize,
    /// True while the current line is empty so far.
    line_empty: bool,
    saw_cl: bool,
    saw_te: bool,
}

impl LineScanner {
    fn feed(&mut self, bytes: &[u8], flag: &AmbiguousFraming) {
        for &b in bytes {
            match b {
                b'\n' => {
                    self.end_line(flag);
                }
                b'\r' => {}
                _ => {
                    self.line_empty = false;
                    if self.prefix_len < self.prefix.len() {
                        self.prefix[self.prefix_len] = b.to_ascii_lowercase();
                        self.prefix_len += 1;
                    }
                }
            }
        }
    }

    fn end_line(&mut self, flag: &AmbiguousFraming) {
        let p = &self.prefix[..self.prefix_len];
        if p.starts_with(b"content-length") {
            self.saw_cl = true;
        } else if p.starts_with(b"transfer-encoding") {
            self.saw_te = true;
        }
        if self.saw_cl && self.saw_te {
            flag.0.store(true, Ordering::Relaxed);
        }
        if self.line_empty {
            // End of a header block (or a blank body line): start over.
            self.saw_cl = false;
            self.saw_te = false;
        }
        self.prefix_len = 0;
        self.line_empty = true;
    }
}

/// An IO wrapper that scans what is read for ambiguous framing.
pub struct SniffIo<T> {
    inner: T,
    scanner: LineScanner,
    flag: AmbiguousFraming,
}

impl<T> SniffIo<T> {
    /// Wraps `inner`; the returned flag is raised on ambiguous framing.
    pub fn new(inner: T) -> (SniffIo<T>, AmbiguousFraming) {
        let flag = AmbiguousFraming::default();
        (
            SniffIo {
                inner,
                scanner: LineScanner {
                    line_empty: true,
                    ..LineScanner::default()
                },
                flag: flag.clone(),
            },
            flag,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SniffIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.scanner.feed(&buf.filled()[before..], &this.flag);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SniffIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> bool {
        let flag = AmbiguousFraming::default();
        let mut s = LineScanner {
            line_empty: true,
            ..LineScanner::default()
        };
        for c in chunks {
            s.feed(c, &flag);
        }
        flag.seen()
    }

    #[test]
    fn both_framing_headers_in_one_block_are_noticed_across_reads() {
        assert!(scan(&[
            b"POST / HTTP/1.1\r\nContent-Len",
            b"gth: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        ]));
        assert!(scan(&[
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n"
        ]));
    }

    #[test]
    fn separate_requests_are_not_confused() {
        assert!(!scan(&[
            b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ]));
    }
}
