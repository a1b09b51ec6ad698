//! `opcore serve`: the Manage API over HTTP/1.1 (docs/server.md). A thin adapter around the
//! two steps of [`crate::manage`]: [`manage::admit`] routes, checks the method and
//! authenticates from the request's head, and only then is the body read (never more than
//! [`manage::Admitted::body_limit`] `+ 1` bytes) and handed to
//! [`manage::Admitted::complete`]. Routing, authentication, status codes and error bodies
//! all live in [`crate::manage`]; this module moves bytes, enforces timeouts and connection
//! caps, logs and shuts down.
//!
//! ```no_run
//! use opcore::{server, Options, Store};
//!
//! let store = Store::open("opcore.db", Options::default())?;
//! let running = server::spawn(store, "127.0.0.1:0".parse().unwrap(), server::stderr_log())?;
//! println!("serving on {}", running.base_url());
//! running.stop()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::StatusCode;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinSet;

use crate::manage::{self, Admission, Admitted, Request, Response};
use crate::Store;

/// The default address of `opcore serve`: loopback only, the reference system's API port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3333";

/// Limits and timeouts of a server (docs/server.md#limits). `Default` gives the documented
/// defaults; `opcore serve` sets each from a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// A request's head (request line and headers) must arrive within this time of its first
    /// byte — or, on a new connection, of the connection being accepted.
    pub header_timeout: Duration,
    /// A request's whole body must arrive within this time of its head.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Most connections open at once from one source address; more are refused.
    pub max_connections_per_address: usize,
    /// Most connections open at once in all; more are refused.
    pub max_connections: usize,
    /// On a stop, requests in flight get this long to finish before their connections are
    /// closed.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections_per_address: 256,
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The log.

/// Where the server writes its log lines: one per request (written by a log thread, off the
/// request path), plus start and stop messages.
#[derive(Clone)]
pub struct LogSink(Sink);

#[derive(Clone)]
enum Sink {
    Stderr,
    Lines(Arc<dyn Fn(&str) + Send + Sync>),
}

impl LogSink {
    /// Standard error, written in batches (one `write` for all the lines waiting). A closed
    /// or full stderr loses lines but never fails (or panics) a request.
    pub fn stderr() -> LogSink {
        LogSink(Sink::Stderr)
    }

    /// Calls `f` with each line (tests, hosts with their own logger).
    pub fn lines(f: impl Fn(&str) + Send + Sync + 'static) -> LogSink {
        LogSink(Sink::Lines(Arc::new(f)))
    }

    /// Writes one line now, on the calling thread.
    pub fn line(&self, line: &str) {
        self.write_batch(std::slice::from_ref(&line));
    }

    fn write_batch<S: AsRef<str>>(&self, lines: &[S]) {
        match &self.0 {
            Sink::Stderr => {
                use std::io::Write;
                let mut text = String::with_capacity(lines.len() * 64);
                for line in lines {
                    text.push_str(line.as_ref());
                    text.push('\n');
                }
                let _ = io::stderr().lock().write_all(text.as_bytes());
            }
            Sink::Lines(f) => lines.iter().for_each(|l| f(l.as_ref())),
        }
    }
}

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Sink::Stderr => "LogSink::Stderr",
            Sink::Lines(_) => "LogSink::Lines",
        })
    }
}

/// [`LogSink::stderr`].
pub fn stderr_log() -> LogSink {
    LogSink::stderr()
}

/// Lines waiting for the log thread; when it falls this far behind, lines are dropped (and
/// counted in a later line) rather than slowing requests down or growing without bound.
const LOG_QUEUE_LINES: usize = 16 * 1024;

/// How long the log thread lets lines accumulate after writing a batch. While it waits,
/// requests hand their lines over without waking it.
const LOG_BATCH_INTERVAL: Duration = Duration::from_millis(5);

/// The request path's end of the log: a bounded queue to the log thread.
struct RequestLog {
    queue: mpsc::SyncSender<String>,
    dropped: Arc<AtomicU64>,
}

impl RequestLog {
    fn start(sink: LogSink) -> io::Result<(RequestLog, std::thread::JoinHandle<()>)> {
        let (queue, lines) = mpsc::sync_channel::<String>(LOG_QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        let thread = std::thread::Builder::new()
            .name("opcore-log".into())
            .spawn(move || {
                let mut batch = Vec::with_capacity(256);
                while let Ok(first) = lines.recv() {
                    batch.push(first);
                    while let Ok(line) = lines.try_recv() {
                        batch.push(line);
                        if batch.len() == 4096 {
                            break;
                        }
                    }
                    let lost = counted.swap(0, Ordering::Relaxed);
                    if lost > 0 {
                        batch.push(format!(
                            "opcore: {lost} request log line(s) dropped: the log could not keep up"
                        ));
                    }
                    sink.write_batch(&batch);
                    batch.clear();
                    std::thread::sleep(LOG_BATCH_INTERVAL);
                }
            })?;
        Ok((RequestLog { queue, dropped }, thread))
    }

    fn send(&self, line: String) {
        if self.queue.try_send(line).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Serving.

struct App {
    store: Store,
    log: RequestLog,
    options: ServerOptions,
    /// Bounds how many requests run on blocking threads at once (argon2 verifications take
    /// ~19 MiB each with default parameters; writes wait on the database's lock): excess
    /// requests wait (cheaply) here.
    permits: Arc<Semaphore>,
    /// The server's clock origin: connection deadlines are milliseconds since it.
    epoch: Instant,
}

impl App {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// How many requests may run on blocking threads at the same time.
fn blocking_permits() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (cores * 4).max(8)
}

/// Serves `store` on `listener` with the default [`ServerOptions`] until `shutdown`
/// completes; see [`serve_with`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    log: LogSink,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with(listener, store, log, ServerOptions::default(), shutdown).await
}

/// Serves `store` on `listener` until `shutdown` completes; then stops accepting, closes idle
/// connections, gives requests in flight up to [`ServerOptions::shutdown_grace`] to finish,
/// closes whatever remains and returns (after the log is written out).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    store: Store,
    log: LogSink,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (request_log, log_thread) = RequestLog::start(log.clone())?;
    let grace = options.shutdown_grace;
    let caps = Arc::new(ConnectionCaps::new(&options));
    let app = Arc::new(App {
        store,
        log: request_log,
        options,
        permits: Arc::new(Semaphore::new(blocking_permits())),
        epoch: Instant::now(),
    });
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match caps.admit(peer.ip()) {
                    Some(slot) => {
                        connections.spawn(connection(app.clone(), stream, peer, slot, stopping.clone()));
                    }
                    None => refuse(stream),
                },
                Err(e) => accept_failed(&log, &e).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
    drop(app);
    // The log thread ends once every queue handle is gone (the request tasks are); joining
    // it writes out the last lines.
    let _ = tokio::task::spawn_blocking(move || log_thread.join()).await;
    Ok(())
}

/// An accept error: a failed handshake is the peer's problem; running out of descriptors (or
/// memory) is waited out briefly instead of spinning.
async fn accept_failed(log: &LogSink, e: &io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    ) {
        return;
    }
    log.line(&format!("opcore: warning: accept failed: {e}"));
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The answer to a connection over a cap: a best-effort `503` (without waiting for the
/// socket to be writable), then the socket is closed.
fn refuse(stream: TcpStream) {
    const BODY: &str = r#"{"error":"Service Unavailable","message":"Too many connections from this address or in all"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.try_write(response.as_bytes());
}

/// Connection counts per source address and in all.
struct ConnectionCaps {
    per_address: usize,
    total: usize,
    open: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection; dropping it gives its place back.
struct Slot {
    caps: Arc<ConnectionCaps>,
    ip: IpAddr,
}

impl ConnectionCaps {
    fn new(options: &ServerOptions) -> Self {
        ConnectionCaps {
            per_address: options.max_connections_per_address,
            total: options.max_connections,
            open: AtomicUsize::new(0),
            by_address: Mutex::new(HashMap::new()),
        }
    }

    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut by_address = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if self.open.load(Ordering::Relaxed) >= self.total {
            return None;
        }
        let count = by_address.entry(ip).or_insert(0);
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            caps: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut by_address = self
            .caps
            .by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = by_address.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                by_address.remove(&self.ip);
            }
        }
        self.caps.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Where a connection is, for its watchdog: waiting for a request's head (since its first
/// byte, or since the connection was accepted), serving a request, or idle between requests.
struct Phase {
    state: AtomicU8,
    since_ms: AtomicU64,
}

const HEAD: u8 = 0;
const BUSY: u8 = 1;
const IDLE: u8 = 2;

impl Phase {
    fn set(&self, state: u8, now_ms: u64) {
        self.since_ms.store(now_ms, Ordering::Relaxed);
        self.state.store(state, Ordering::Release);
    }

    /// When the connection is to be closed if it is still in the same phase, or `None` while
    /// a request is being served (the body timeout bounds that).
    fn deadline_ms(&self, options: &ServerOptions) -> Option<u64> {
        let limit = match self.state.load(Ordering::Acquire) {
            HEAD => options.header_timeout,
            IDLE => options.idle_timeout,
            _ => return None,
        };
        let since = self.since_ms.load(Ordering::Relaxed);
        Some(since.saturating_add(u64::try_from(limit.as_millis()).unwrap_or(u64::MAX)))
    }
}

/// The socket, noting the first byte of a request that arrives on an idle connection (its
/// head must then arrive within the header timeout).
struct Watched {
    stream: TcpStream,
    phase: Arc<Phase>,
    app: Arc<App>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before && self.phase.state.load(Ordering::Relaxed) == IDLE {
            let now = self.app.now_ms();
            self.phase.set(HEAD, now);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves one connection until the client closes it, a timeout closes it, or a stop does.
async fn connection(
    app: Arc<App>,
    stream: TcpStream,
    peer: SocketAddr,
    _slot: Slot,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let phase = Arc::new(Phase {
        state: AtomicU8::new(HEAD),
        since_ms: AtomicU64::new(app.now_ms()),
    });
    // The failed-attempt throttle counts per address, not per connection: no port.
    let source: Arc<str> = peer.ip().to_string().into();
    let io = TokioIo::new(Watched {
        stream,
        phase: phase.clone(),
        app: app.clone(),
    });
    let service = {
        let (app, phase) = (app.clone(), phase.clone());
        service_fn(move |request| {
            let (app, phase, source) = (app.clone(), phase.clone(), source.clone());
            async move { Ok::<_, Infallible>(serve_request(&app, &phase, &source, request).await) }
        })
    };
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut stop_seen = false;
    loop {
        // The watchdog: wakes at the current phase's deadline (or to look again while a
        // request is served) and closes the connection if the phase has not moved on.
        let deadline = phase.deadline_ms(&app.options);
        let wake = deadline.unwrap_or_else(|| {
            app.now_ms()
                .saturating_add(u64::try_from(app.options.header_timeout.as_millis()).unwrap_or(1))
        });
        let wake_at = tokio::time::Instant::from_std(app.epoch + Duration::from_millis(wake));
        tokio::select! {
            _ = conn.as_mut() => return,
            () = tokio::time::sleep_until(wake_at) => {
                if let Some(deadline) = phase.deadline_ms(&app.options) {
                    if app.now_ms() >= deadline {
                        return; // dropping the connection closes the socket
                    }
                }
            }
            changed = stopping.changed(), if !stop_seen => {
                stop_seen = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// One request: admit it from its head, read its body only if admitted, complete it, log it.
async fn serve_request(
    app: &Arc<App>,
    phase: &Phase,
    source: &Arc<str>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let started = Instant::now();
    phase.set(BUSY, app.now_ms());
    let (parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let owned: Vec<(&str, Cow<'_, str>)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), String::from_utf8_lossy(v.as_bytes())))
        .collect();
    let headers: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    let head = Request {
        method: parts.method.as_str(),
        target,
        headers: &headers,
        body: &[],
        source: Some(&**source),
    };

    let admission = if manage::admission_may_block(&app.store, &head) {
        let owned = OwnedHead::of(&head);
        blocking(app, move |store| {
            owned.with(|head| manage::admit(store, head))
        })
        .await
        .unwrap_or_else(Admission::Respond)
    } else {
        manage::admit(&app.store, &head)
    };
    let (response, close) = match admission {
        Admission::Respond(r) => (r, false),
        Admission::Body(admitted) => complete(app, &head, admitted, body).await,
    };

    app.log.send(log_line(
        head.method,
        target,
        response.status,
        started.elapsed(),
        response.internal_error.as_deref(),
    ));
    phase.set(IDLE, app.now_ms());
    to_http(response, close)
}

/// Reads the admitted request's body (within the body timeout, at most its limit + 1 bytes)
/// and completes it. The flag asks for the connection to be closed after the response.
async fn complete(
    app: &Arc<App>,
    head: &Request<'_>,
    admitted: Admitted,
    body: Incoming,
) -> (Response, bool) {
    let limit = admitted.body_limit();
    let read = tokio::time::timeout(app.options.body_timeout, read_body(body, limit)).await;
    let body = match read {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return (unreadable_body(), true),
        Err(_) => return (body_timeout(app.options.body_timeout), true),
    };
    // A body over the limit was not read to its end: the connection cannot be reused.
    let close = body.len() > limit;
    if !admitted.may_block() {
        return (admitted.complete(&app.store, head, &body), close);
    }
    let owned = OwnedHead::of(head);
    let response = blocking(app, move |store| {
        owned.with(|head| admitted.complete(store, head, &body))
    })
    .await
    .unwrap_or_else(|r| r);
    (response, close)
}

/// A request head that can move to a blocking thread.
struct OwnedHead {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    source: Option<String>,
}

impl OwnedHead {
    fn of(head: &Request<'_>) -> Self {
        OwnedHead {
            method: head.method.to_owned(),
            target: head.target.to_owned(),
            headers: head
                .headers
                .iter()
                .map(|&(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            source: head.source.map(str::to_owned),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        f(&Request {
            method: &self.method,
            target: &self.target,
            headers: &headers,
            body: &[],
            source: self.source.as_deref(),
        })
    }
}

/// Runs `f` on a blocking thread, at most [`blocking_permits`] at once; a failure to run it
/// is a 500.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&Store) -> T + Send + 'static,
) -> Result<T, Response> {
    let Ok(permit) = app.permits.clone().acquire_owned().await else {
        return Err(Response::internal("the request queue is closed".into()));
    };
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&store)
    })
    .await
    .map_err(|e| Response::internal(format!("request handler failed: {e}")))
}

/// Reads the body, but never more than `limit + 1` bytes: enough for `complete` to see that
/// it is too large and answer its JSON 413, without buffering an unbounded upload.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Vec<u8>, hyper::Error> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        let room = (limit + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&data[..data.len().min(room)]);
        if buf.len() > limit {
            break;
        }
    }
    Ok(buf)
}

/// The client sent a body that could not be read (connection dropped, bad chunked encoding).
fn unreadable_body() -> Response {
    Response::error(400, "The request body could not be read")
}

fn body_timeout(limit: Duration) -> Response {
    Response::error(
        408,
        &format!(
            "The request body did not arrive within {} s",
            limit.as_secs_f64()
        ),
    )
}

fn to_http(response: Response, close: bool) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    for (name, value) in &response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    if close {
        headers.insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Stopping and running in the background.

/// A future that completes on the first SIGINT (Ctrl-C) or SIGTERM. The handlers are
/// installed by this call (it must run inside a Tokio runtime), so a signal that arrives
/// before the future is first polled still stops the server gracefully.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Raises this process's soft limit on open files to its hard limit, so that the connection
/// caps, not the descriptor limit, decide what is refused. Returns the limit in force.
pub fn raise_open_files_limit() -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid, writable rlimit.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: `raised` is a valid rlimit.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
                return Err(io::Error::last_os_error());
            }
            return Ok(raised.rlim_cur);
        }
        Ok(limit.rlim_cur)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "not supported on this platform",
        ))
    }
}

/// Pending connections the kernel queues for `accept` (the standard library's 128 is
/// quickly overrun by a burst of connections, whose clients then wait a second to retry).
const LISTEN_BACKLOG: i32 = 4096;

/// Binds a non-blocking listener on `addr` with a backlog of `LISTEN_BACKLOG`.
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // Calling listen(2) again on a listening socket sets its backlog.
        // SAFETY: a valid socket descriptor owned by `listener`.
        if unsafe { libc::listen(listener.as_raw_fd(), LISTEN_BACKLOG) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A server running on its own thread and runtime (for tests and embedding hosts).
/// Dropping it stops it too.
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// The address actually bound (the port is filled in when `:0` was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL for requests.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish (up to the shutdown grace), and joins
    /// the thread.
    pub fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// [`spawn_with`] with the default [`ServerOptions`].
pub fn spawn(store: Store, addr: SocketAddr, log: LogSink) -> io::Result<RunningServer> {
    spawn_with(store, addr, log, ServerOptions::default())
}

/// Binds `addr` now (so a bind error is returned here) and serves `store` on a background
/// thread with its own multi-threaded runtime until [`RunningServer::stop`].
pub fn spawn_with(
    store: Store,
    addr: SocketAddr,
    log: LogSink,
    options: ServerOptions,
) -> io::Result<RunningServer> {
    let listener = bind(addr)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("opcore-server")
        .build()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("opcore-server".into())
        .spawn(move || {
            let served = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                serve_with(listener, store, log, options, async move {
                    let _ = stopped.await;
                })
                .await
            });
            // Blocking work still running after the grace is not waited for.
            runtime.shutdown_timeout(Duration::from_millis(100));
            served
        })?;
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

// ---------------------------------------------------------------------------------------------
// Log lines.

/// Query parameters whose values are logged (after redaction); every other value is
/// replaced by `…`, so a secret or token in a URL never reaches the log.
const LOGGED_QUERY_VALUES: &[&str] = &["projectId", "limit", "cursor", "resourceId"];

/// Longest path (in characters) a log line repeats.
const MAX_LOGGED_PATH: usize = 256;

/// `GET /manage/clients?projectId=my-project 200 1.2ms`: the method, the percent-decoded
/// path and query with every secret- or token-shaped string redacted and query values other
/// than `LOGGED_QUERY_VALUES` replaced by `…`, the status and the duration; control
/// characters are escaped, and on a 500 the internal error (never a secret, redacted all the
/// same) is appended (docs/server.md#request-log).
pub fn log_line(
    method: &str,
    target: &str,
    status: u16,
    elapsed: Duration,
    internal: Option<&str>,
) -> String {
    let mut line = format!(
        "{} {} {} {:.1}ms",
        printable(&redact(method), 16),
        redact_target(target),
        status,
        elapsed.as_secs_f64() * 1000.0
    );
    if let Some(detail) = internal {
        let detail: String = redact(detail).chars().take(512).collect();
        line.push_str(&format!(" error={detail:?}"));
    }
    line
}

fn redact_target(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut out = printable(&redact(&decoded), MAX_LOGGED_PATH);
    if let Some(query) = query {
        let pairs: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| {
                let key = printable(&redact(&k), 64);
                if LOGGED_QUERY_VALUES.contains(&k.as_ref()) {
                    format!("{key}={}", printable(&redact(&v), 128))
                } else if v.is_empty() && !query_has_equals(query, &k) {
                    key
                } else {
                    format!("{key}=…")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Whether `key` appears in `query` with an `=` (`flag` and `flag=` are told apart).
fn query_has_equals(query: &str, key: &str) -> bool {
    query.split('&').any(|pair| {
        pair.split_once('=').is_some_and(|(k, _)| {
            percent_encoding::percent_decode_str(&k.replace('+', " ")).decode_utf8_lossy() == key
        })
    })
}

/// `s` with every secret- or token-shaped part replaced: `sec_` and the hex digits after it,
/// `opat_` / `oprt_` / `opac_` and the characters after them, and any run of 32 or more hex
/// digits (a secret's digits without their prefix). Prefixes are matched in any case.
pub fn redact(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let prefix = ["sec_", "opat_", "oprt_", "opac_"]
            .into_iter()
            .find(|p| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p.as_bytes()));
        let (start, end) = if let Some(p) = prefix {
            let body = rest[p.len()..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if body == 0 {
                i += 1;
                continue;
            }
            (i + p.len(), i + p.len() + body)
        } else if bytes[i].is_ascii_hexdigit() && (i == 0 || !bytes[i - 1].is_ascii_hexdigit()) {
            let run = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if run < 32 {
                i += run;
                continue;
            }
            (i, i + run)
        } else {
            i += 1;
            continue;
        };
        let out = out.get_or_insert_with(|| String::with_capacity(s.len()));
        out.push_str(&s[copied..start]);
        out.push('…');
        copied = end;
        i = end;
    }
    match out {
        None => Cow::Borrowed(s),
        Some(mut out) => {
            out.push_str(&s[copied..]);
            Cow::Owned(out)
        }
    }
}

/// At most `max` characters, with anything that is not printable ASCII escaped, so a request
/// cannot forge or break log lines.
fn printable(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_ascii_graphic() {
            out.push(c);
        } else if c == ' ' {
            // Keeps a line's fields space-separated.
            out.push_str("%20");
        } else if c == '…' {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_hide_query_values_but_listed_ones() {
        let line = log_line(
            "GET",
            "/manage/clients?projectId=my-project&secret=sec_0123&flag&limit=5",
            200,
            Duration::from_micros(1500),
            None,
        );
        assert_eq!(
            line,
            "GET /manage/clients?projectId=my-project&secret=…&flag&limit=5 200 1.5ms"
        );
    }

    #[test]
    fn secrets_and_tokens_are_redacted_wherever_they_appear() {
        let secret = "sec_0123456789abcdef0123456789abcdef";
        let token = format!("opat_{}", "ab".repeat(36));
        let cases = [
            (
                format!("/manage/clients/{secret}"),
                "/manage/clients/sec_…".to_owned(),
            ),
            (
                "/manage/clients/sec%5F0123456789abcdef0123456789abcdef".to_owned(),
                "/manage/clients/sec_…".to_owned(),
            ),
            (format!("/x/{token}/y"), "/x/opat_…/y".to_owned()),
            (
                format!("/manage/projects?projectId={secret}"),
                "/manage/projects?projectId=sec_…".to_owned(),
            ),
            (
                format!("/manage/projects?cursor=OPRT_{}", "0".repeat(72)),
                "/manage/projects?cursor=OPRT_…".to_owned(),
            ),
            (
                format!("/p/{}", "0123456789abcdef".repeat(2)),
                "/p/…".to_owned(),
            ),
            (
                format!("/manage/projects?{secret}=1"),
                "/manage/projects?sec_…=…".to_owned(),
            ),
            (
                "/manage/clients/0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c".to_owned(),
                "/manage/clients/0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c".to_owned(),
            ),
        ];
        for (target, logged) in cases {
            let line = log_line("GET", &target, 404, Duration::ZERO, None);
            assert_eq!(line, format!("GET {logged} 404 0.0ms"), "{target}");
        }
        let line = log_line(secret, "/", 405, Duration::ZERO, Some(secret));
        assert_eq!(line, "sec_… / 405 0.0ms error=\"sec_…\"");
    }

    #[test]
    fn log_lines_escape_control_characters_and_append_internal_errors() {
        let line = log_line(
            "GET",
            "/a\nb c",
            500,
            Duration::ZERO,
            Some("storage failure: \"disk\"\nI/O error"),
        );
        assert_eq!(
            line,
            r#"GET /a\nb%20c 500 0.0ms error="storage failure: \"disk\"\nI/O error""#
        );
    }

    #[test]
    fn long_paths_are_cut() {
        let path = format!("/{}", "x".repeat(1000));
        let line = log_line("GET", &path, 404, Duration::ZERO, None);
        assert!(line.len() < 300, "{line}");
        assert!(line.contains('…'));
    }
}
