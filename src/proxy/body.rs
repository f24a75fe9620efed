//! Response and upstream-request body types: one boxed body for everything the proxy sends, and a
//! guard that keeps the `active_streams` gauge honest however a stream ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};
use prometheus::{IntCounterVec, IntGauge};

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

/// Called once when a guarded stream ends: `None` for a clean end, else the abort's code
/// (`upstream_reset_midstream`, `client_cancelled`).
pub type OnStreamEnd = Box<dyn FnOnce(Option<&'static str>) + Send + Sync>;

/// How a streamed answer ended, for `privgate_streams_aborted_total{side}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamEnd {
    Open,
    Clean,
    Upstream,
}

/// Guards a streamed answer: keeps `active_streams` honest however the stream ends, counts
/// aborts by side (`upstream` failed mid-stream, `client` went away before the end), and on an
/// upstream failure sends the provider's own error event first (only at an event boundary) so
/// SDKs raise a clear error, then ends the stream as an error, never as a clean end.
pub struct StreamGuard {
    inner: ProxyBody,
    gauge: IntGauge,
    aborted: IntCounterVec,
    error_event: Option<Bytes>,
    at_boundary: bool,
    end: StreamEnd,
    pending_error: Option<BoxError>,
    on_end: Option<OnStreamEnd>,
    /// Gives the error event time to be flushed before the stream is reset (a reset discards
    /// frames still queued).
    error_delay: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Longest silence between upstream chunks, and its timer.
    idle: Option<(std::time::Duration, Pin<Box<tokio::time::Sleep>>)>,
    /// When the whole stream must have ended.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// A stream that ran past its idle or total time limit.
#[derive(Debug, thiserror::Error)]
#[error("the upstream stream exceeded its time limit")]
pub struct StreamTimeout;

impl StreamGuard {
    /// Starts guarding; `error_event` is the provider-shaped SSE error to send on an upstream
    /// failure, if the format has one.
    pub fn new(
        inner: ProxyBody,
        gauge: IntGauge,
        aborted: IntCounterVec,
        error_event: Option<Bytes>,
    ) -> StreamGuard {
        gauge.inc();
        StreamGuard {
            inner,
            gauge,
            aborted,
            error_event,
            at_boundary: true,
            end: StreamEnd::Open,
            pending_error: None,
            on_end: None,
            error_delay: None,
            idle: None,
            deadline: None,
        }
    }

    /// Ends the stream as failed (upstream side) if no chunk arrives for `idle`, or when it has
    /// run for `max` in all (RELIABILITY D8: SSE max duration; F11: a trickling upstream).
    pub fn with_timeouts(
        mut self,
        idle: std::time::Duration,
        max: std::time::Duration,
    ) -> StreamGuard {
        self.idle = Some((idle, Box::pin(tokio::time::sleep(idle))));
        self.deadline = Some(Box::pin(tokio::time::sleep(max)));
        self
    }

    fn fail(
        &mut self,
        e: BoxError,
        code: &'static str,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.end = StreamEnd::Upstream;
        self.aborted.with_label_values(&["upstream"]).inc();
        self.ended(Some(code));
        tracing::warn!(
            code,
            "upstream stream failed; ending the client's stream as failed"
        );
        match self.error_event.take() {
            Some(ev) if self.at_boundary => {
                self.pending_error = Some(e);
                self.error_delay = Some(Box::pin(tokio::time::sleep(
                    std::time::Duration::from_millis(100),
                )));
                Poll::Ready(Some(Ok(Frame::data(ev))))
            }
            _ => Poll::Ready(Some(Err(e))),
        }
    }

    /// Sets what to do when the stream ends (the audit completion).
    pub fn on_end(&mut self, f: OnStreamEnd) {
        self.on_end = Some(f);
    }

    fn ended(&mut self, aborted: Option<&'static str>) {
        if let Some(f) = self.on_end.take() {
            f(aborted);
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.gauge.dec();
        if self.end == StreamEnd::Open {
            // Dropped before the end: the client went away. Dropping `inner` here cancels the
            // upstream request (its connection or HTTP/2 stream is reset).
            self.aborted.with_label_values(&["client"]).inc();
            self.ended(Some("client_cancelled"));
        }
    }
}

impl Body for StreamGuard {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.pending_error.is_some() {
            if let Some(delay) = self.error_delay.as_mut() {
                if delay.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            return Poll::Ready(self.pending_error.take().map(Err));
        }
        if self.end != StreamEnd::Open {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if !data.is_empty() {
                        self.at_boundary = data.ends_with(b"\n\n") || data.ends_with(b"\r\r");
                    }
                }
                if let Some((idle, timer)) = self.idle.as_mut() {
                    let next = tokio::time::Instant::now() + *idle;
                    timer.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => self.fail(e, "upstream_reset_midstream"),
            Poll::Ready(None) => {
                self.end = StreamEnd::Clean;
                self.ended(None);
                Poll::Ready(None)
            }
            Poll::Pending => {
                let idle_fired = self
                    .idle
                    .as_mut()
                    .is_some_and(|(_, t)| t.as_mut().poll(cx).is_ready());
                let deadline_fired = self
                    .deadline
                    .as_mut()
                    .is_some_and(|t| t.as_mut().poll(cx).is_ready());
                if idle_fired || deadline_fired {
                    // Dropping the upstream body cancels the upstream request.
                    self.inner = empty();
                    return self.fail(Box::new(StreamTimeout), "upstream_timeout");
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending_error.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
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
    /// Wraps a streamed body; `ndjson` selects newline-delimited framing instead of SSE.
    pub fn new(inner: ProxyBody, transform: Box<dyn StreamTransform>, ndjson: bool) -> SseRewrite {
        SseRewrite {
            inner,
            splitter: if ndjson {
                SseSplitter::lines()
            } else {
                SseSplitter::default()
            },
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
