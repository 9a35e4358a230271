//! What one client may hold of the webhook: connections, and time. The API server waits
//! `timeoutSeconds` (10 s by default) for a webhook, so a client that opens connections and
//! never finishes a request must not be waited for: its connection is closed, and
//! well-behaved clients are answered meanwhile.
//!
//! | limit | what happens |
//! | --- | --- |
//! | `max_connections` | a new connection past it takes the place of the open connection that has waited longest for a request (in its TLS handshake, before its first head, or idle between requests; metric `connections_evicted`); when every open connection is in a request, the new one is closed at once (metric `connections_refused`) |
//! | `handshake_timeout` | a TLS handshake not finished in time: the connection is closed |
//! | `header_timeout` | a request's head not received in time (from the connection's start for the first request, from its first byte for the next): closed |
//! | `body_timeout` | a body not received in time: `408 Request Timeout`, and the connection closed |
//! | `idle_timeout` | a connection with no byte moving either way for this long (an idle keep-alive connection, a client that does not read its answer): closed |
//! | `max_requests_per_connection` | the answer to the last one carries `Connection: close` |

use super::metrics::Metrics;
use futures_util::task::AtomicWaker;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
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

/// What the connection's I/O, its service and the [`Connections`] share: whether the
/// connection waits for a request's head and since when, how many requests it has served,
/// and whether it was told to make room for a new connection.
#[derive(Debug)]
pub struct ConnectionState {
    awaiting_head: AtomicBool,
    served: AtomicU64,
    /// Since when it waits for a head, in nanoseconds from [`EPOCH`].
    waiting_since: AtomicU64,
    evicted: AtomicBool,
    /// The connection's task, woken when it is evicted.
    waker: AtomicWaker,
    /// Where an evicted connection hands its place when it goes: straight to the newcomer
    /// that evicted it, so no other arrival can take it in between.
    handover: Mutex<Option<oneshot::Sender<OwnedSemaphorePermit>>>,
}

/// The instant the connections' waiting times count from.
static EPOCH: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);

impl ConnectionState {
    /// A new connection: it waits for its first request's head.
    fn new() -> Arc<ConnectionState> {
        let state = ConnectionState {
            awaiting_head: AtomicBool::new(true),
            served: AtomicU64::new(0),
            waiting_since: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            handover: Mutex::new(None),
        };
        state.mark_waiting();
        Arc::new(state)
    }

    fn mark_waiting(&self) {
        let nanos = u64::try_from(EPOCH.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.waiting_since.store(nanos, Ordering::Relaxed);
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
        self.mark_waiting();
        self.awaiting_head.store(true, Ordering::Relaxed);
        if self.evicted.load(Ordering::Relaxed) {
            // Told to make room while it was in a request: it goes now.
            self.waker.wake();
        }
    }

    /// Whether the connection was told to make room and is between requests, so it goes.
    fn must_go(&self, cx: &mut Context<'_>) -> bool {
        self.waker.register(cx.waker());
        self.evicted.load(Ordering::Relaxed) && self.awaiting_head.load(Ordering::Relaxed)
    }

    /// Completes when the connection is told to make room (used during its TLS handshake,
    /// before there is any I/O to wrap).
    pub async fn evicted(&self) {
        std::future::poll_fn(|cx| {
            if self.must_go(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// The open connections, for `max_connections`. A client that opens connections and never
/// sends a request must not lock the API server out until its connections' clocks run out,
/// so a newcomer past the limit takes the place of the connection that has waited longest
/// for a request (as a proxy reuses its idle keep-alive connections when it runs out of
/// them); a connection in the middle of a request is never closed for a newcomer.
pub struct Connections {
    permits: Arc<Semaphore>,
    open: Mutex<HashMap<u64, Arc<ConnectionState>>>,
    next: AtomicU64,
    metrics: Arc<Metrics>,
}

/// What a new connection gets: its place now, its place once an evicted connection has
/// gone, or nothing (every open connection is in a request).
pub enum Admission {
    /// A place was free.
    Now(Slot),
    /// The connection that waited longest for a request was told to go; its place comes
    /// through the receiver ([`Connections::wait`]).
    AfterEviction(oneshot::Receiver<OwnedSemaphorePermit>),
    /// Every open connection is in a request: the new one is closed (and counted).
    Refused,
}

/// A connection's place among the `max_connections`, given back when dropped.
pub struct Slot {
    id: u64,
    /// The connection's shared state.
    pub state: Arc<ConnectionState>,
    connections: Arc<Connections>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.connections.open.lock() {
            open.remove(&self.id);
        }
        let newcomer = self
            .state
            .handover
            .lock()
            .ok()
            .and_then(|mut handover| handover.take());
        if let (Some(newcomer), Some(permit)) = (newcomer, self.permit.take()) {
            // If the newcomer has given up, the place goes back to the pool.
            let _ = newcomer.send(permit);
        }
    }
}

impl Connections {
    /// Room for `max_connections` (at least one).
    pub fn new(max_connections: usize, metrics: Arc<Metrics>) -> Arc<Connections> {
        Arc::new(Connections {
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            open: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            metrics,
        })
    }

    fn slot(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Slot {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let state = ConnectionState::new();
        if let Ok(mut open) = self.open.lock() {
            open.insert(id, Arc::clone(&state));
        }
        Slot {
            id,
            state,
            connections: Arc::clone(self),
            permit: Some(permit),
        }
    }

    /// A place for a connection just accepted.
    pub fn admit(self: &Arc<Self>) -> Admission {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Admission::Now(self.slot(permit));
        }
        match self.evict_longest_waiting() {
            Some(place) => Admission::AfterEviction(place),
            None => {
                self.metrics.refused();
                Admission::Refused
            }
        }
    }

    /// The place the evicted connection hands over when it goes; `None` if it does not
    /// come within `within`.
    pub async fn wait(
        self: &Arc<Self>,
        place: oneshot::Receiver<OwnedSemaphorePermit>,
        within: Duration,
    ) -> Option<Slot> {
        match tokio::time::timeout(within, place).await {
            Ok(Ok(permit)) => Some(self.slot(permit)),
            _ => {
                self.metrics.refused();
                None
            }
        }
    }

    /// Tells the connection that has waited longest for a request to go, and returns where
    /// its place will come; `None` when every open connection is in a request (or already
    /// going).
    fn evict_longest_waiting(&self) -> Option<oneshot::Receiver<OwnedSemaphorePermit>> {
        let open = self.open.lock().ok()?;
        let longest = open
            .values()
            .filter(|c| {
                c.awaiting_head.load(Ordering::Relaxed) && !c.evicted.load(Ordering::Relaxed)
            })
            .min_by_key(|c| c.waiting_since.load(Ordering::Relaxed));
        let connection = longest?;
        let (place, newcomer) = oneshot::channel();
        *connection.handover.lock().ok()? = Some(place);
        connection.evicted.store(true, Ordering::Relaxed);
        connection.waker.wake();
        self.metrics.evicted();
        Some(newcomer)
    }
}

/// Raises this process's soft limit of open files to its hard limit (as Go's runtime does
/// for every program), so connections are not cut short by a soft limit of 1,024; returns
/// the soft limit in force afterwards (`None`: unlimited).
pub fn raise_open_files() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            super::log::log(
                super::log::Level::Warn,
                "cannot raise the open files limit",
                &[("error", error.to_string().into())],
            );
        }
    }
    getrlimit(Resource::Nofile).current
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
            if self.state.must_go(cx) {
                // Counted by `Connections` when it chose this one.
                self.expired = Some("evicted");
            } else if head {
                self.expired = Some("header");
                self.metrics.timeout("header");
            } else if self.idle.as_mut().poll(cx).is_ready() {
                self.expired = Some("idle");
                self.metrics.timeout("idle");
            }
        }
        self.expired.map(|kind| match kind {
            "evicted" => io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the connection made room for a new one",
            ),
            kind => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the connection's {kind} timeout passed"),
            ),
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
