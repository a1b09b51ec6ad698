//! Shared rate limits on a real Redis (docs/scale-out.md): `OPCORE_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`. Each test uses its own key prefix and deletes its keys.
#![cfg(feature = "redis")]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::{Duration, Instant};

use opcore::{
    AuthError, AuthRequest, Family, NewClient, OnOutage, Options, RateLimit, RateLimitUrl, Store,
    Tier,
};
use support::FAST_ARGON2;

fn redis_url() -> String {
    std::env::var("OPCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn redis_conn(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .unwrap_or_else(|e| {
            panic!("the test Redis at {url} does not answer (set OPCORE_TEST_REDIS_URL): {e}")
        })
}

fn unique_prefix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "opcore-test:it:{}:{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Deletes every key under `prefix`; returns how many there were.
fn remove_keys(url: &str, prefix: &str) -> usize {
    let mut conn = redis_conn(url);
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut conn)
        .unwrap();
    if !keys.is_empty() {
        redis::cmd("DEL").arg(&keys).query::<()>(&mut conn).unwrap();
    }
    keys.len()
}

fn options(url: Option<&str>, prefix: &str, on_outage: OnOutage, manage: RateLimit) -> Options {
    let mut o = Options {
        argon2: FAST_ARGON2,
        rate_limit_url: url.map(RateLimitUrl::new),
        rate_limit_on_outage: on_outage,
        rate_limit_key_prefix: prefix.into(),
        ..Options::default()
    };
    o.rate_limits.manage = manage;
    o
}

struct Creds {
    id: String,
    secret: String,
}

/// A store file with one organization; returns its root client (and, with `tier`, a second
/// root client with that tier).
fn bootstrap(path: &std::path::Path, tier: Option<Tier>) -> (Creds, Option<Creds>) {
    let store = Store::open(
        path,
        options(None, "unused", OnOutage::Closed, RateLimit::new(20, 10)),
    )
    .unwrap();
    let b = store.create_organization("Acme").unwrap();
    let root = Creds {
        id: b.client.client.id.clone(),
        secret: b.client.secret.expose().to_owned(),
    };
    let tiered = tier.map(|tier| {
        let c = store
            .create_client(
                &b.organization.id,
                &NewClient {
                    name: "Tiered".into(),
                    client_type: opcore::ClientType::Root,
                    tier: Some(tier),
                    ..NewClient::default()
                },
            )
            .unwrap();
        Creds {
            id: c.client.id.clone(),
            secret: c.secret.expose().to_owned(),
        }
    });
    (root, tiered)
}

fn manage(store: &Store, c: &Creds) -> Result<opcore::Principal, AuthError> {
    store.authenticate(&AuthRequest {
        client_id: Some(&c.id),
        client_secret: Some(&c.secret),
        ..AuthRequest::new(Family::Manage)
    })
}

/// The most admissions any window of `window` holds (windows start at each admission),
/// with `slack` taken off the window for the time between a decision and its recording.
fn max_in_window(times: &[Instant], window: Duration, slack: Duration) -> usize {
    let w = window - slack;
    (0..times.len())
        .map(|i| times[i..].iter().take_while(|&&t| t - times[i] < w).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn one_client_on_two_stores_never_gets_more_than_the_limit_in_any_window() {
    let url = redis_url();
    let prefix = unique_prefix();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let (root, _) = bootstrap(&path, None);
    let limit = RateLimit::new(5, 2);
    let open =
        || Store::open(&path, options(Some(&url), &prefix, OnOutage::Closed, limit)).unwrap();
    let (a, b) = (open(), open());
    // At once: five admitted in total, whichever store is asked, then 429 on both.
    let first: Vec<bool> = (0..8)
        .map(|i| manage(if i % 2 == 0 { &a } else { &b }, &root).is_ok())
        .collect();
    assert_eq!(first, [true, true, true, true, true, false, false, false]);
    // Both stores, each from its own thread, for three windows.
    let admitted = std::sync::Mutex::new(Vec::new());
    let end = Instant::now() + Duration::from_secs(6);
    std::thread::scope(|s| {
        for store in [&a, &b] {
            let (admitted, root) = (&admitted, &root);
            s.spawn(move || {
                while Instant::now() < end {
                    match manage(store, root) {
                        Ok(_) => admitted.lock().unwrap().push(Instant::now()),
                        Err(AuthError::RateLimited(d)) => {
                            assert_eq!((d.limit, d.remaining), (5, 0));
                            assert!(d.retry_after_seconds.is_some_and(|s| (1..=2).contains(&s)));
                        }
                        Err(e) => panic!("{e}"),
                    }
                    std::thread::sleep(Duration::from_millis(3));
                }
            });
        }
    });
    let mut times = admitted.into_inner().unwrap();
    times.sort();
    // Per-node limits would admit up to 10 per window; shared, at most 5 (20 ms of slack for
    // the time between Redis's decision and the recording here).
    assert!(times.len() >= 10, "{} admitted in 6 s", times.len());
    let most = max_in_window(&times, Duration::from_secs(2), Duration::from_millis(20));
    assert!(most <= 5, "{most} admitted in one 2 s window");
    assert!(remove_keys(&url, &prefix) >= 1);
}

#[test]
fn tiers_hold_across_stores_and_decisions_match_the_local_limiter() {
    let url = redis_url();
    let prefix = unique_prefix();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let (root, tiered) = bootstrap(&path, Some(Tier::Free));
    let tiered = tiered.unwrap();
    let limit = RateLimit::new(20, 10);
    let a = Store::open(&path, options(Some(&url), &prefix, OnOutage::Closed, limit)).unwrap();
    let b = Store::open(&path, options(Some(&url), &prefix, OnOutage::Closed, limit)).unwrap();
    let local = Store::open(&path, options(None, &prefix, OnOutage::Closed, limit)).unwrap();
    // Free: burst 50 in any 10 s, across both stores; the decisions (and so the
    // x-ratelimit-* and retry-after headers) are those one local store gives.
    for i in 0..52 {
        let shared = manage(if i % 2 == 0 { &a } else { &b }, &tiered);
        let alone = manage(&local, &tiered);
        match (shared, alone) {
            (Ok(s), Ok(l)) => assert_eq!(s.rate, l.rate, "request {i}"),
            (Err(AuthError::RateLimited(s)), Err(AuthError::RateLimited(l))) => {
                assert!(i >= 50, "request {i} refused");
                assert_eq!(s, l, "request {i}");
                assert_eq!(s.retry_after_seconds, Some(10));
                let burst = s.burst.unwrap();
                assert_eq!((s.limit, burst.limit, burst.remaining), (1_000, 50, 0));
            }
            (s, l) => panic!("request {i}: shared {s:?}, local {l:?}"),
        }
    }
    // The family limit of another client is its own key, also shared and also equal.
    for i in 0..22 {
        let s = manage(if i % 2 == 0 { &b } else { &a }, &root);
        let l = manage(&local, &root);
        match (s, l) {
            (Ok(s), Ok(l)) => assert_eq!(s.rate, l.rate),
            (Err(AuthError::RateLimited(s)), Err(AuthError::RateLimited(l))) => {
                assert!(i >= 20);
                assert_eq!(s, l);
            }
            (s, l) => panic!("request {i}: shared {s:?}, local {l:?}"),
        }
    }
    let mut conn = redis_conn(&url);
    for key in [
        format!("{prefix}:tier-hour:{}", tiered.id),
        format!("{prefix}:tier-burst:{}", tiered.id),
        format!("{prefix}:manage:{}", root.id),
    ] {
        let exists: bool = redis::cmd("EXISTS").arg(&key).query(&mut conn).unwrap();
        assert!(exists, "{key}");
    }
    assert_eq!(remove_keys(&url, &prefix), 3);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn an_outage_is_closed_or_open_as_configured_and_never_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let (root, _) = bootstrap(&path, None);
    let url = format!("redis://127.0.0.1:{}", free_port());
    let limit = RateLimit::new(3, 10);
    let closed = Store::open(&path, options(Some(&url), "p", OnOutage::Closed, limit)).unwrap();
    let open = Store::open(&path, options(Some(&url), "p", OnOutage::Open, limit)).unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        match manage(&closed, &root) {
            Err(AuthError::RateLimited(d)) => {
                assert_eq!(
                    (d.limit, d.remaining, d.retry_after_seconds),
                    (3, 0, Some(1))
                );
            }
            other => panic!("closed: {other:?}"),
        }
    }
    // Open: admitted, limited by this node alone.
    let admitted: Vec<bool> = (0..4).map(|_| manage(&open, &root).is_ok()).collect();
    assert_eq!(admitted, [true, true, true, false]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // A host that accepts connections but never answers: bounded by the timeouts.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", silent.local_addr().unwrap());
    let closed = Store::open(&path, options(Some(&url), "p", OnOutage::Closed, limit)).unwrap();
    let started = Instant::now();
    assert!(matches!(
        manage(&closed, &root),
        Err(AuthError::RateLimited(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// A throwaway `redis-server` on a free port in a temporary directory.
struct Throwaway {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Throwaway {
    /// On a free port. A port another process takes between [`free_port`] and redis-server's
    /// bind (redis-server then exits) is given up for another.
    fn start_on_a_free_port(dir: tempfile::TempDir) -> Throwaway {
        Self::start_trying(free_port, dir)
    }

    /// On `port` again (a restart): tried a few times, as the port may still be held.
    fn start(port: u16, dir: tempfile::TempDir) -> Throwaway {
        Self::start_trying(|| port, dir)
    }

    /// Up to five attempts, each on the port `port` gives, 200 ms apart.
    fn start_trying(mut port: impl FnMut() -> u16, dir: tempfile::TempDir) -> Throwaway {
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = port();
            match Self::spawn(port, dir.path()) {
                Ok(child) => {
                    return Throwaway {
                        child,
                        port,
                        _dir: dir,
                    }
                }
                Err(e) => failures.push(e),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no throwaway redis-server started: {failures:?}");
    }

    /// A redis-server on `port` that answers `PING`, or why not.
    fn spawn(port: u16, dir: &std::path::Path) -> Result<std::process::Child, String> {
        let mut child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH (.ci/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = format!("redis://127.0.0.1:{port}");
        loop {
            let pong = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                return Ok(child);
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("redis-server on {port} exited ({status})"));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("redis-server on {port} did not answer within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) -> tempfile::TempDir {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self._dir
    }
}

#[test]
fn decisions_resume_when_redis_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let (root, _) = bootstrap(&path, None);
    let server = Throwaway::start_on_a_free_port(tempfile::tempdir().unwrap());
    let port = server.port;
    let url = format!("redis://127.0.0.1:{port}");
    let store = Store::open(
        &path,
        options(Some(&url), "rec", OnOutage::Closed, RateLimit::new(100, 10)),
    )
    .unwrap();
    assert_eq!(manage(&store, &root).unwrap().rate.remaining, 99);
    let dir = server.stop();
    let started = Instant::now();
    match manage(&store, &root) {
        Err(AuthError::RateLimited(d)) => assert_eq!(d.retry_after_seconds, Some(1)),
        other => panic!("while Redis is down: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let server = Throwaway::start(port, dir);
    // Within the retry interval (and a margin), decisions come from Redis again; the
    // restarted server kept nothing (`--save ''`), so the count starts afresh.
    let deadline = Instant::now() + Duration::from_secs(5);
    let rate = loop {
        match manage(&store, &root) {
            Ok(p) => break p.rate,
            Err(AuthError::RateLimited(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            other => panic!("after Redis returned: {other:?}"),
        }
    };
    assert_eq!((rate.limit, rate.remaining), (100, 99));
    server.stop();
}

#[test]
fn a_bad_url_or_prefix_is_refused_at_open_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    for (json, needle) in [
        (
            r#"{"rate_limit_url":"http://x"}"#,
            "rate_limit_url must be a redis:// URL",
        ),
        (
            r#"{"rate_limit_url":"rediss://h:1"}"#,
            "rediss:// (TLS) is not supported",
        ),
        (
            r#"{"rate_limit_on_outage":"maybe"}"#,
            "unknown variant `maybe`",
        ),
        (
            r#"{"rate_limit_key_prefix":"a b"}"#,
            "rate_limit_key_prefix must be",
        ),
    ] {
        let e = Options::from_json(json).unwrap_err().to_string();
        assert!(e.contains(needle), "{json}: {e}");
    }
    // The password never appears in the error or in Debug.
    let o = Options::from_json(r#"{"rate_limit_url":"ftp://u:hunter2@h"}"#).unwrap_err();
    assert!(!o.to_string().contains("hunter2"), "{o}");
    let o = Options::from_json(r#"{"rate_limit_url":"redis://:hunter2@127.0.0.1:1/0"}"#).unwrap();
    assert!(!format!("{o:?}").contains("hunter2"));
    assert!(Store::open(&path, o).is_ok());
}

/// Three `opcore serve` processes on one store file and one Redis; a root client (Manage: 20
/// per 10 s) sends round-robin to all three for `OPCORE_MULTINODE_SECONDS` (default 12) s. No
/// 10 s window may hold more than 20 admitted requests (the recording slack: 20 ms).
/// `scripts/multinode-ratelimit.sh` runs this alone, longer.
#[cfg(feature = "server")]
#[test]
fn three_serve_processes_share_one_manage_limit() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    let url = redis_url();
    let prefix = unique_prefix();
    let seconds: u64 = std::env::var("OPCORE_MULTINODE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opcore.db");
    let (root, _) = bootstrap(&path, None);
    let json = format!(
        r#"{{"argon2":{{"m_cost":8,"t_cost":1,"p_cost":1}},"rate_limit_url":"{url}","rate_limit_key_prefix":"{prefix}"}}"#
    );
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_opcore"))
            .args([
                "serve",
                "--db",
                path.to_str().unwrap(),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--options", &json])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("opcore serve announces its address")
                .unwrap();
            if let Some(at) = line
                .rsplit(" on http://")
                .next()
                .filter(|_| line.contains(" on http://"))
            {
                break at.trim().to_owned();
            }
        };
        // Keep draining stderr so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        nodes.push((child, addr));
    }
    let get = |addr: &str| -> u16 {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET /manage/projects HTTP/1.1\r\nHost: {addr}\r\nopenpanel-client-id: {}\r\n\
             openpanel-client-secret: {}\r\nConnection: close\r\n\r\n",
            root.id, root.secret
        )
        .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
    };
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut admitted = Vec::new();
    let mut refused = 0;
    let mut i = 0;
    while Instant::now() < end {
        let addr = &nodes[i % 3].1;
        i += 1;
        match get(addr) {
            200 => admitted.push(Instant::now()),
            429 => refused += 1,
            other => panic!("node {addr}: status {other}"),
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for (mut child, _) in nodes {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let most = max_in_window(
        &admitted,
        Duration::from_secs(10),
        Duration::from_millis(20),
    );
    assert!(
        refused > 0 && admitted.len() >= 20,
        "{} admitted, {refused} refused",
        admitted.len()
    );
    assert!(
        most <= 20,
        "{most} admitted in one 10 s window across three nodes"
    );
    assert!(remove_keys(&url, &prefix) >= 1);
}
