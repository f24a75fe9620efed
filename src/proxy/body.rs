//! Response and upstream-request body types: one boxed body for everything the proxy sends, and a
//! guard that keeps the `active_streams` gauge honest however a stream ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use prometheus::IntGauge;

use crate::providers::sse::{SseEvent, SseSplitter, StreamTransform};

/// Any error a body can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response privgate sends and every request it forwards.
pub type ProxyBody = BoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// Wraps a streamed body: increments `gauge` now and decrements it when the stream ends, fails
/// or is dropped (client gone).
pub struct Tracked {
    inner: ProxyBody,
    gauge: Option<IntGauge>,
}

impl Tracked {
    /// Starts tracking.
    pub fn new(inner: ProxyBody, gauge: IntGauge) -> Tracked {
        gauge.inc();
        Tracked {
            inner,
            gauge: Some(gauge),
        }
    }

    fn done(&mut self) {
        if let Some(g) = self.gauge.take() {
            g.dec();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.done();
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.done();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A streamed SSE answer rewritten event by event by a [`StreamTransform`] (placeholders
/// restored). Bytes are released as soon as their event is complete. A clean end flushes the
/// transform's held text; an upstream error is passed on as an error, never as a clean end, and
/// the held text is dropped.
pub struct SseRewrite {
    inner: ProxyBody,
    splitter: SseSplitter,
    transform: Box<dyn StreamTransform>,
    ended: bool,
}

impl SseRewrite {
    /// Wraps a streamed body.
    pub fn new(inner: ProxyBody, transform: Box<dyn StreamTransform>) -> SseRewrite {
        SseRewrite {
            inner,
            splitter: SseSplitter::default(),
            transform,
            ended: false,
        }
    }
}

impl Body for SseRewrite {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    let frame = match frame.into_data() {
                        Ok(data) => data,
                        Err(other) => return Poll::Ready(Some(Ok(other))),
                    };
                    let mut out = BytesMut::new();
                    for raw in this.splitter.push(&frame) {
                        for piece in this.transform.event(SseEvent::parse(raw)) {
                            out.extend_from_slice(&piece);
                        }
                    }
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
                    }
                }
                Poll::Ready(None) => {
                    this.ended = true;
                    let mut out = BytesMut::new();
                    let rest = this.splitter.take_rest();
                    if !rest.is_empty() {
                        for piece in this.transform.event(SseEvent::parse(rest)) {
                            out.extend_from_slice(&piece);
                        }
                    }
                    for piece in this.transform.finish() {
                        out.extend_from_slice(&piece);
                    }
                    if out.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(out.freeze()))));
                }
            }
        }
    }
}
