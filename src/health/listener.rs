//! A listener for `/healthz` that cannot be starved, and never cuts a request short:
//! a keep-alive connection idle for 10 s between requests is closed (cleanly, as an end
//! of input), a request still arriving 10 s after its first byte is cut (a slow client
//! must not hold a connection), and when too many are open the oldest idle one is
//! closed to make room, so a real probe is answered while idle connections pile up. A
//! request being answered (a check waiting on the database for its --timeout) is never
//! touched.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Result;
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::health::check::Checker;
use crate::report::exit::{Code, fail};

/// How long a connection may stay idle between requests, and how long a request may
/// take to arrive.
const IDLE: Duration = Duration::from_secs(10);

/// Shared with each stream: closes it when set; `busy` while a request is in progress.
#[derive(Default)]
struct Kill {
    flag: AtomicBool,
    busy: AtomicBool,
    waker: AtomicWaker,
}

impl Kill {
    fn fire(&self) {
        self.flag.store(true, Ordering::Release);
        self.waker.wake();
    }
}

type Open = Arc<Mutex<VecDeque<(u64, Arc<Kill>)>>>;

pub struct GuardedListener {
    inner: TcpListener,
    open: Open,
    next_id: AtomicU64,
    cap: usize,
}

impl GuardedListener {
    /// Binds `addr` (HOST:PORT, resolved); at most as many connections as the open-file
    /// limit leaves room for.
    pub async fn bind(addr: &str) -> Result<GuardedListener> {
        let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host(addr)
            .await
            .map_err(|e| {
                fail(
                    Code::Usage,
                    format!("--serve {addr}: cannot resolve it: {e}"),
                )
            })?
            .collect();
        // "localhost" is 127.0.0.1 first, as probes and curl try it.
        addrs.sort_by_key(|a| !a.is_ipv4());
        let mut last = None;
        for a in &addrs {
            match TcpListener::bind(a).await {
                Ok(inner) => {
                    return Ok(GuardedListener {
                        inner,
                        open: Arc::default(),
                        next_id: AtomicU64::new(0),
                        cap: connection_cap(),
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(fail(
            Code::CantCreate,
            match last {
                Some(e) => format!("cannot listen on {addr}: {e}"),
                None => format!("--serve {addr}: resolves to no address"),
            },
        ))
    }

    fn register(&self) -> (u64, Arc<Kill>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let kill = Arc::new(Kill::default());
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while open.len() >= self.cap {
            // The oldest idle connection makes room; only when all are busy, the oldest.
            let at = open
                .iter()
                .position(|(_, k)| !k.busy.load(Ordering::Acquire))
                .unwrap_or(0);
            if let Some((_, victim)) = open.remove(at) {
                victim.fire();
            }
        }
        open.push_back((id, kill.clone()));
        (id, kill)
    }
}

/// Raises the soft open-file limit to the hard one, and keeps 64 descriptors spare.
fn connection_cap() -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum && setrlimit(Resource::Nofile, limit).is_ok() {
        limit.current = limit.maximum;
    }
    let soft = limit.current.unwrap_or(4096).min(1 << 20) as usize;
    soft.saturating_sub(64).clamp(16, 4096)
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let (id, kill) = self.register();
                    let stream = GuardedStream {
                        inner: stream,
                        id,
                        kill,
                        open: self.open.clone(),
                        idle: Box::pin(tokio::time::sleep(IDLE)),
                        request_since: None,
                    };
                    return (stream, addr);
                }
                Err(e) => {
                    // Out of descriptors: make room, then accept again.
                    tracing::debug!("accept failed: {e}");
                    let oldest = self
                        .open
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .pop_front();
                    if let Some((_, k)) = oldest {
                        k.fire();
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

pub struct GuardedStream {
    inner: TcpStream,
    id: u64,
    kill: Arc<Kill>,
    open: Open,
    /// Between requests: when the connection, idle, is closed.
    idle: Pin<Box<tokio::time::Sleep>>,
    /// The first byte of the request in progress arrived then (None between requests).
    request_since: Option<tokio::time::Instant>,
}

impl GuardedStream {
    /// Err once the connection was closed to make room.
    fn killed(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        self.kill.waker.register(cx.waker());
        if self.kill.flag.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection closed by kronic to make room",
            ));
        }
        Ok(())
    }
}

impl Drop for GuardedStream {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|(id, _)| *id != self.id);
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.killed(cx)?;
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &read {
            Poll::Ready(Ok(())) if buf.filled().len() > before => match self.request_since {
                None => {
                    self.request_since = Some(tokio::time::Instant::now());
                    self.kill.busy.store(true, Ordering::Release);
                }
                // Still arriving long after it began: a client too slow to hold on to.
                Some(t) if t.elapsed() > IDLE => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request too slow to arrive",
                    )));
                }
                Some(_) => {}
            },
            // Idle between requests for too long: the end of the connection (hyper
            // closes it cleanly). A request being answered is never cut.
            Poll::Pending
                if self.request_since.is_none() && self.idle.as_mut().poll(cx).is_ready() =>
            {
                return Poll::Ready(Ok(()));
            }
            _ => {}
        }
        read
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.killed(cx)?;
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(_)) = written {
            // The answer is going out: the request is over; idle time starts now.
            self.request_since = None;
            self.kill.busy.store(false, Ordering::Release);
            let next = tokio::time::Instant::now() + IDLE;
            self.idle.as_mut().reset(next);
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `GET /healthz` on `addr` until a signal: 200 when healthy, 503 otherwise.
pub async fn serve(checker: Arc<Checker>, addr: &str) -> Result<Code> {
    use axum::http::StatusCode;
    use axum::routing::get;

    let listener = GuardedListener::bind(addr).await?;
    let app = axum::Router::new().route(
        "/healthz",
        get(move || {
            let checker = checker.clone();
            async move {
                let (body, code) = checker.check().await;
                let status = if code == Code::Ok {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                (
                    status,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
            }
        }),
    );
    tracing::info!(
        "serving /healthz on http://{}",
        axum::serve::Listener::local_addr(&listener)?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::report::ui::shutdown_signal())
        .await
        .map_err(|e| fail(Code::IoErr, format!("health server failed: {e}")))?;
    tracing::info!("health server stopped");
    Ok(Code::Ok)
}
