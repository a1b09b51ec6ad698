//! `opcore serve`: the Manage API over HTTP. A thin axum adapter around
//! [`crate::manage::handle`]: every request — whatever its method or path — is handed to
//! `handle` with its method, path and query, headers, body and the peer's IP address, and
//! `handle`'s response is sent back unchanged. Routing, authentication, status codes and error
//! bodies all live in [`crate::manage`]; this module only moves bytes, logs and shuts down.
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

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use tokio::sync::{oneshot, Semaphore};

use crate::manage::{self, Request, Response, MAX_BODY_BYTES};
use crate::Store;

/// Where the server writes its log lines (one per request, plus start and stop).
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A [`LogSink`] writing each line to standard error. A closed or full stderr loses the line
/// but never fails (or panics) the request.
pub fn stderr_log() -> LogSink {
    Arc::new(|line: &str| {
        use std::io::Write;
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "{line}");
    })
}

/// The default address of `opcore serve`: loopback only, the reference system's API port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3333";

/// Query parameters whose values are logged; every other value is replaced by `…`, so a
/// secret pasted into a URL never reaches the log.
const LOGGED_QUERY_VALUES: &[&str] = &["projectId"];

/// Longest path (in characters) a log line repeats.
const MAX_LOGGED_PATH: usize = 256;

struct App {
    store: Store,
    log: LogSink,
    /// Bounds how many requests run on blocking threads at once: argon2 takes ~19 MiB per
    /// verification with default parameters, so an unbounded burst of new credentials must
    /// not turn into an unbounded amount of memory. Excess requests wait (cheaply) here.
    permits: Arc<Semaphore>,
}

/// How many requests may run `manage::handle` at the same time.
fn blocking_permits() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    (cores * 4).max(8)
}

/// The axum application: a single fallback that hands every request to
/// [`manage::handle`]. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(store: Store, log: LogSink) -> Router {
    let app = Arc::new(App {
        store,
        log,
        permits: Arc::new(Semaphore::new(blocking_permits())),
    });
    Router::new().fallback(serve_request).with_state(app)
}

/// Serves `store` on `listener` until `shutdown` completes, then stops accepting, lets
/// requests in flight finish and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    log: LogSink,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = router(store, log);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

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

    /// Stops accepting, waits for requests in flight to finish, and joins the thread.
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

/// Binds `addr` now (so a bind error is returned here) and serves `store` on a background
/// thread with its own multi-threaded runtime until [`RunningServer::stop`].
pub fn spawn(store: Store, addr: SocketAddr, log: LogSink) -> io::Result<RunningServer> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("opcore-server")
        .build()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("opcore-server".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                serve(listener, store, log, async move {
                    let _ = stopped.await;
                })
                .await
            })
        })?;
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// The one handler: HTTP in, [`manage::handle`] on a blocking thread, HTTP out, one log line.
async fn serve_request(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_owned();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();

    let response = match read_body(body, MAX_BODY_BYTES).await {
        Ok(body) => run_handle(&app, method.clone(), target.clone(), headers, body, peer).await,
        Err(_) => unreadable_body(),
    };

    (app.log)(&log_line(
        &method,
        &target,
        response.status,
        started.elapsed(),
        response.internal_error.as_deref(),
    ));
    to_http(response)
}

/// Reads the body, but never more than `limit + 1` bytes: enough for `manage::handle` to see
/// that it is too large and answer its JSON 413 (after authentication, with rate-limit
/// headers, exactly as through the library), without buffering an unbounded upload.
async fn read_body(mut body: Body, limit: usize) -> Result<Vec<u8>, axum::Error> {
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

async fn run_handle(
    app: &App,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    peer: SocketAddr,
) -> Response {
    let Ok(permit) = app.permits.clone().acquire_owned().await else {
        return internal_error("the request queue is closed".into());
    };
    let store = app.store.clone();
    // The failed-attempt throttle counts per address, not per connection: no port.
    let source = peer.ip().to_string();
    let joined = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        manage::handle(
            &store,
            &Request {
                method: &method,
                target: &target,
                headers: &headers,
                body: &body,
                source: Some(&source),
            },
        )
    })
    .await;
    joined.unwrap_or_else(|e| internal_error(format!("request handler failed: {e}")))
}

fn json_error(status: u16, error: &str, message: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&serde_json::json!({"error": error, "message": message}))
            .unwrap_or_default(),
        internal_error: None,
    }
}

fn internal_error(detail: String) -> Response {
    let mut r = json_error(500, "Internal Server Error", "Internal server error");
    r.internal_error = Some(detail);
    r
}

/// The client sent a body that could not be read (connection dropped, bad chunked encoding).
fn unreadable_body() -> Response {
    json_error(400, "Bad Request", "The request body could not be read")
}

fn to_http(response: Response) -> axum::response::Response {
    let mut out = axum::response::Response::new(Body::from(response.body));
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
    out
}

/// `GET /manage/clients?projectId=my-project 200 1.2ms`; query values other than
/// [`LOGGED_QUERY_VALUES`] are replaced by `…`, control characters are escaped, and on a 500
/// the internal error (never a secret) is appended.
pub fn log_line(
    method: &str,
    target: &str,
    status: u16,
    elapsed: Duration,
    internal: Option<&str>,
) -> String {
    let mut line = format!(
        "{} {} {} {:.1}ms",
        printable(method, 16),
        redact_target(target),
        status,
        elapsed.as_secs_f64() * 1000.0
    );
    if let Some(detail) = internal {
        let detail: String = detail.chars().take(512).collect();
        line.push_str(&format!(" error={detail:?}"));
    }
    line
}

fn redact_target(target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut out = printable(path, MAX_LOGGED_PATH);
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if LOGGED_QUERY_VALUES.contains(&k) => {
                    format!("{}={}", printable(k, 64), printable(v, 128))
                }
                Some((k, _)) => format!("{}=…", printable(k, 64)),
                None => printable(pair, 64),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// At most `max` characters, with anything that is not printable ASCII escaped, so a request
/// cannot forge or break log lines.
fn printable(s: &str, max: usize) -> String {
    let mut out = String::new();
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
    fn log_lines_hide_query_values_but_project_ids() {
        let line = log_line(
            "GET",
            "/manage/clients?projectId=my-project&secret=sec_0123&flag",
            200,
            Duration::from_micros(1500),
            None,
        );
        assert_eq!(
            line,
            "GET /manage/clients?projectId=my-project&secret=…&flag 200 1.5ms"
        );
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
