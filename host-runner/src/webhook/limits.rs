//! What one client may hold of the webhook: connections, and time. The API server waits
//! `timeoutSeconds` (10 s by default) for a webhook, so a client that opens connections and
//! never finishes a request must not be waited for: its connection is closed, and
//! well-behaved clients are answered meanwhile.
//!
//! | limit | what happens |
//! | --- | --- |
//! | `max_connections` | a connection past it is closed at once (metric `connections_refused`) |
//! | `handshake_timeout` | a TLS handshake not finished in time: the connection is closed |
//! | `header_timeout` | a request's head not received in time (from the connection's start for the first request, from its first byte for the next): closed |
//! | `body_timeout` | a body not received in time: `408 Request Timeout`, and the connection closed |
//! | `idle_timeout` | a connection with no byte moving either way for this long (an idle keep-alive connection, a client that does not read its answer): closed |
//! | `max_requests_per_connection` | the answer to the last one carries `Connection: close` |

use super::metrics::Metrics;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The connection limits of `podsec serve`, each a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Time for a TLS handshake.
    pub handshake_timeout: Duration,
    /// Time for a request's head (request line and headers).
    pub header_timeout: Duration,
    /// Time for a request's body.
    pub body_timeout: Duration,
    /// Time a connection may pass without a byte read or written.
    pub idle_timeout: Duration,
    /// Requests served on one connection before it is closed (`None`: no limit).
    pub max_requests_per_connection: Option<u64>,
}

impl ConnectionLimits {
    /// The defaults, well inside the API server's 10 s: a webhook answers in
    /// microseconds, so a client that needs seconds for a request is broken or hostile.
    pub const fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 4096,
            handshake_timeout: Duration::from_secs(5),
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(90),
            max_requests_per_connection: None,
        }
    }
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits::default()
    }
}

/// What the connection's I/O and its service share: whether the connection waits for a
/// request's head, and how many requests it has served.
#[derive(Debug)]
pub struct ConnectionState {
    awaiting_head: AtomicBool,
    served: AtomicU64,
}

impl ConnectionState {
    /// A new connection: it waits for its first request's head.
    pub fn new() -> Arc<ConnectionState> {
        Arc::new(ConnectionState {
            awaiting_head: AtomicBool::new(true),
            served: AtomicU64::new(0),
        })
    }

    /// A request's head arrived (the service is called); returns how many requests the
    /// connection has now had.
    pub fn request_started(&self) -> u64 {
        self.awaiting_head.store(false, Ordering::Relaxed);
        self.served
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
    }

    /// The answer is ready: the connection waits for the next head.
    pub fn request_answered(&self) {
        self.awaiting_head.store(true, Ordering::Relaxed);
    }
}

/// A connection's I/O under two clocks: a request's head must arrive within
/// `header_timeout` (counted from the connection's start for the first request, from its
/// first byte for the next ones), and no connection may pass `idle_timeout` without a byte
/// moving either way. Either one ends the connection with `TimedOut`, counted once in the
/// metrics by kind (`header`, `idle`).
pub struct TimedIo<IO> {
    io: IO,
    limits: ConnectionLimits,
    state: Arc<ConnectionState>,
    metrics: Arc<Metrics>,
    idle: Pin<Box<Sleep>>,
    /// The head deadline, while one runs, with the number of requests served when it
    /// started (a deadline from before the last request is stale).
    head: Option<(Pin<Box<Sleep>>, u64)>,
    expired: Option<&'static str>,
}

impl<IO> TimedIo<IO> {
    /// Wraps a connection's I/O just accepted (or just past its TLS handshake).
    pub fn new(
        io: IO,
        limits: ConnectionLimits,
        state: Arc<ConnectionState>,
        metrics: Arc<Metrics>,
    ) -> TimedIo<IO> {
        TimedIo {
            io,
            idle: Box::pin(tokio::time::sleep(limits.idle_timeout)),
            head: Some((Box::pin(tokio::time::sleep(limits.header_timeout)), 0)),
            limits,
            state,
            metrics,
            expired: None,
        }
    }

    /// Drops the head deadline once its request has arrived (the service counts it).
    fn forget_served_head(&mut self) {
        let served = self.state.served.load(Ordering::Relaxed);
        if self.head.as_ref().is_some_and(|(_, at)| *at != served) {
            self.head = None;
        }
    }

    /// Some bytes moved: the idle clock starts again, and a head that starts arriving
    /// gets its clock.
    fn moved(&mut self, read: bool) {
        self.idle
            .as_mut()
            .reset(Instant::now() + self.limits.idle_timeout);
        self.forget_served_head();
        if read && self.head.is_none() && self.state.awaiting_head.load(Ordering::Relaxed) {
            let served = self.state.served.load(Ordering::Relaxed);
            self.head = Some((
                Box::pin(tokio::time::sleep(self.limits.header_timeout)),
                served,
            ));
        }
    }

    /// The timeout that ends the connection, if one has passed; polled whenever the I/O
    /// has nothing to do, so the clocks wake the connection's task.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        if self.expired.is_none() {
            self.forget_served_head();
            let head = self
                .head
                .as_mut()
                .is_some_and(|(head, _)| head.as_mut().poll(cx).is_ready());
            if head {
                self.expired = Some("header");
            } else if self.idle.as_mut().poll(cx).is_ready() {
                self.expired = Some("idle");
            }
            if let Some(kind) = self.expired {
                self.metrics.timeout(kind);
            }
        }
        self.expired.map(|kind| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the connection's {kind} timeout passed"),
            )
        })
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for TimedIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.moved(true);
                }
                Poll::Ready(result)
            }
            Poll::Pending => match this.expired(cx) {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for TimedIo<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    this.moved(false);
                }
                Poll::Ready(Ok(written))
            }
            // A client that does not read its answer: the idle clock ends it.
            Poll::Pending => match this.expired(cx) {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
