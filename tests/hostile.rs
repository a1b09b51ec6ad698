//! `opcore serve` against a hostile network, over real sockets on loopback: stalled and
//! excess connections, slow heads and bodies, unauthenticated uploads, huge error bodies,
//! secrets in the request log, stopping with a client stuck mid-request, and the methods.
//!
//! Other source addresses are other loopback addresses (on Linux all of 127/8 is loopback):
//! a client socket is bound to e.g. 127.0.0.2 before it connects.
#![cfg(all(feature = "server", target_os = "linux"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use opcore::server::{self, LogSink, RunningServer, ServerOptions};
use opcore::{Options, Store};
use serde_json::{json, Value};

const OPCORE: &str = env!("CARGO_BIN_EXE_opcore");
const OPTIONS: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},
    "rate_limits":{"manage":{"limit":1000000,"window_seconds":10}}}"#;
const MIB: usize = 1 << 20;

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A blocking client socket bound to `from` (any port) and connected to `to`.
fn connect_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns; the sockaddr_in values
    // are fully initialized and their sizes passed.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = TcpStream::from_raw_fd(fd);
        let sockaddr = |addr: SocketAddr| {
            let (IpAddr::V4(v4), port) = (addr.ip(), addr.port()) else {
                panic!("IPv4 only");
            };
            libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: port.to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(v4).to_be(),
                },
                sin_zero: [0; 8],
            }
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let local = sockaddr(SocketAddr::new(from, 0));
        let rc = libc::bind(fd, (&raw const local).cast(), len);
        assert_eq!(rc, 0, "bind {from}: {}", std::io::Error::last_os_error());
        let remote = sockaddr(to);
        let rc = libc::connect(fd, (&raw const remote).cast(), len);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        stream
    }
}

/// Enough descriptors for a few thousand sockets in this process.
fn raise_fd_limit() {
    let limit = server::raise_open_files_limit().unwrap();
    assert!(
        limit >= 8192,
        "RLIMIT_NOFILE is {limit}; these tests need 8192"
    );
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

/// Reads one response (its head, then `content-length` bytes of body unless `head_only`).
fn read_reply(stream: &mut TcpStream, head_only: bool) -> Reply {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut raw = Vec::new();
    let mut byte = [0u8; 4096];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut byte).expect("a response");
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&byte[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    if !head_only {
        while body.len() < length {
            let n = stream.read(&mut byte).expect("the body");
            assert!(n > 0, "closed mid-body");
            body.extend_from_slice(&byte[..n]);
        }
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// Whether the server closes `stream` within `within` (EOF or reset), reading and ignoring
/// anything it sends first.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

struct Fixture {
    store: Store,
    server: RunningServer,
    id: String,
    secret: String,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new(options: ServerOptions) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("opcore.db"),
            Options::from_json(OPTIONS).unwrap(),
        )
        .unwrap();
        let boot = store.create_organization("Acme").unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let server = server::spawn_with(
            store.clone(),
            "127.0.0.1:0".parse().unwrap(),
            LogSink::lines(move |line| sink.lock().unwrap().push(line.to_owned())),
            options,
        )
        .unwrap();
        Fixture {
            store,
            server,
            id: boot.client.client.id.clone(),
            secret: boot.client.secret.expose().to_owned(),
            log,
            _dir: dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    fn credentials(&self) -> String {
        format!(
            "openpanel-client-id: {}\r\nopenpanel-client-secret: {}\r\n",
            self.id, self.secret
        )
    }

    /// One request on its own connection from `from`; `extra` are header lines.
    fn send_from(
        &self,
        from: IpAddr,
        method: &str,
        target: &str,
        extra: &str,
        body: &[u8],
    ) -> Reply {
        let mut stream = connect_from(from, self.addr());
        let head = format!(
            "{method} {target} HTTP/1.1\r\nhost: opcore\r\nconnection: close\r\n{extra}\
             content-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        read_reply(&mut stream, method == "HEAD")
    }

    fn send(&self, method: &str, target: &str, extra: &str, body: &[u8]) -> Reply {
        self.send_from(ip(1), method, target, extra, body)
    }

    fn log_lines(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.log.lock().unwrap().clone();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn two_thousand_stalled_connections_from_one_address_do_not_delay_another() {
    raise_fd_limit();
    let f = Fixture::new(ServerOptions::default());
    let mut stalled = Vec::new();
    for i in 0..2000 {
        let mut s = connect_from(ip(2), f.addr());
        // Half a request line, half the headers, or nothing at all.
        let partial: &[u8] = match i % 3 {
            0 => b"GET /manage/pro",
            1 => b"GET /manage/projects HTTP/1.1\r\nhost: opcore\r\nopenpanel-cl",
            _ => b"",
        };
        s.write_all(partial).unwrap();
        stalled.push(s);
    }
    let started = Instant::now();
    let r = f.send_from(ip(3), "GET", "/manage/projects", &f.credentials(), b"");
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"data": []}));
    assert!(took < Duration::from_secs(1), "answered in {took:?}");
    drop(stalled);
}

#[test]
fn the_257th_connection_from_one_address_is_refused_while_another_address_connects() {
    raise_fd_limit();
    let f = Fixture::new(ServerOptions::default());
    let held: Vec<TcpStream> = (0..256).map(|_| connect_from(ip(4), f.addr())).collect();
    // Accepted in order: once a request on the last one is answered, all 256 are admitted.
    let mut last = connect_from(ip(4), f.addr());
    let refused = read_reply(&mut last, false);
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("content-type"), Some("application/json"));
    assert_eq!(
        refused.json(),
        json!({"error": "Service Unavailable", "message": "Too many connections from this address or in all"})
    );
    assert!(closed_within(&mut last, Duration::from_secs(5)));

    let r = f.send_from(ip(5), "GET", "/manage/projects", &f.credentials(), b"");
    assert_eq!(r.status, 200);

    // A place given back is a place for the same address again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = f.send_from(ip(4), "GET", "/manage/projects", &f.credentials(), b"");
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503);
        assert!(Instant::now() < deadline, "the address stayed refused");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_connection_cap_in_all_counts_every_address() {
    let f = Fixture::new(ServerOptions {
        max_connections: 3,
        ..ServerOptions::default()
    });
    let held: Vec<TcpStream> = (6..9).map(|i| connect_from(ip(i), f.addr())).collect();
    let mut fourth = connect_from(ip(9), f.addr());
    assert_eq!(read_reply(&mut fourth, false).status, 503);
    drop(held);
}

fn short_timeouts() -> ServerOptions {
    ServerOptions {
        header_timeout: Duration::from_millis(600),
        body_timeout: Duration::from_millis(600),
        idle_timeout: Duration::from_millis(2000),
        ..ServerOptions::default()
    }
}

#[test]
fn a_head_that_does_not_arrive_in_time_closes_the_connection() {
    let f = Fixture::new(short_timeouts());
    for partial in [
        &b""[..],
        b"GET /manage/pro",
        b"GET / HTTP/1.1\r\nhost: x\r\n",
    ] {
        let mut s = connect_from(ip(10), f.addr());
        s.write_all(partial).unwrap();
        let started = Instant::now();
        assert!(closed_within(&mut s, Duration::from_secs(5)), "{partial:?}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(500),
            "{partial:?} closed after {took:?}"
        );
    }
    // A head trickling in one byte at a time is held to the same deadline.
    let mut s = connect_from(ip(10), f.addr());
    let started = Instant::now();
    let mut closed = false;
    for byte in b"GET /manage/projects HTTP/1.1\r\nhost: opcore\r\n"
        .iter()
        .cycle()
        .take(100)
    {
        if s.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    assert!(closed || closed_within(&mut s, Duration::from_millis(100)));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_body_that_does_not_arrive_in_time_is_a_408_and_closes_the_connection() {
    let f = Fixture::new(short_timeouts());
    let mut s = connect_from(ip(11), f.addr());
    let head = format!(
        "POST /manage/projects HTTP/1.1\r\nhost: opcore\r\n{}content-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"name\":",
        f.credentials()
    );
    s.write_all(head.as_bytes()).unwrap();
    let r = read_reply(&mut s, false);
    assert_eq!(r.status, 408);
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["error"], "Request Timeout");
    assert!(closed_within(&mut s, Duration::from_secs(5)));
}

#[test]
fn idle_keep_alive_connections_get_the_idle_timeout_then_are_closed() {
    let f = Fixture::new(short_timeouts());
    let mut s = connect_from(ip(12), f.addr());
    let request = format!(
        "GET /manage/projects HTTP/1.1\r\nhost: opcore\r\n{}\r\n",
        f.credentials()
    );
    s.write_all(request.as_bytes()).unwrap();
    assert_eq!(read_reply(&mut s, false).status, 200);
    // Longer than the header timeout, shorter than the idle one: still open.
    std::thread::sleep(Duration::from_millis(1200));
    s.write_all(request.as_bytes()).unwrap();
    assert_eq!(read_reply(&mut s, false).status, 200);
    let started = Instant::now();
    assert!(closed_within(&mut s, Duration::from_secs(6)));
    assert!(started.elapsed() >= Duration::from_millis(1800));
}

#[test]
fn a_huge_list_of_bad_cors_entries_gets_a_small_400() {
    let f = Fixture::new(ServerOptions::default());
    let entries = vec!["1"; 200_000].join(",");
    let body = format!(r#"{{"name":"Big","cors":[{entries}]}}"#);
    assert!(body.len() > 400_000);
    let extra = format!("{}content-type: application/json\r\n", f.credentials());
    let r = f.send("POST", "/manage/projects", &extra, body.as_bytes());
    assert_eq!(r.status, 400);
    assert!(r.body.len() <= 16 * 1024, "{} bytes", r.body.len());
    let v = r.json();
    assert_eq!(v["error"], "Bad Request");
    assert_eq!(v["message"], "Invalid request body");
    let details = v["details"].as_array().unwrap();
    assert_eq!(details.len(), 20);
    assert_eq!(details[0]["path"], json!(["cors", 0]));
    assert_eq!(details[18]["path"], json!(["cors", 18]));
    assert_eq!(
        details[19],
        json!({"path": [], "message": "199981 more errors not shown"})
    );

    // The same bound through the library's one-shot entry point (the C ABI's).
    let headers = [
        ("openpanel-client-id", f.id.as_str()),
        ("openpanel-client-secret", f.secret.as_str()),
    ];
    let r = opcore::manage::handle(
        &f.store,
        &opcore::manage::Request {
            headers: &headers,
            body: body.as_bytes(),
            ..opcore::manage::Request::new("POST", "/manage/projects")
        },
    );
    assert_eq!(r.status, 400);
    assert!(r.body.len() <= 16 * 1024);
    assert_eq!(r.json()["details"].as_array().unwrap().len(), 20);
}

#[test]
fn the_log_never_holds_a_secret_or_token_wherever_it_was_in_the_request() {
    let f = Fixture::new(ServerOptions::default());
    let token = format!("opat_{}", "ab".repeat(36));
    let refresh = format!("oprt_{}", "cd".repeat(36));
    let pasted = "sec_00112233445566778899aabbccddeeff";
    let creds = f.credentials();
    let requests: Vec<(String, String, String)> = vec![
        (
            "GET".into(),
            format!("/manage/clients/{}", f.secret),
            creds.clone(),
        ),
        (
            "GET".into(),
            format!("/manage/clients/{pasted}/x"),
            String::new(),
        ),
        (
            "GET".into(),
            format!(
                "/manage/clients?projectId={}&client_secret={}&access_token={token}&code=opac_1",
                f.secret, pasted
            ),
            creds.clone(),
        ),
        (
            "GET".into(),
            format!("/manage/{token}?refresh={refresh}"),
            String::new(),
        ),
        (
            "GET".into(),
            format!("/manage/projects/sec%5f{}", &f.secret[4..]),
            creds.clone(),
        ),
        (
            "GET".into(),
            "/manage/projects".into(),
            format!("authorization: Bearer {token}\r\n"),
        ),
    ];
    for (method, target, extra) in &requests {
        f.send(method, target, extra, b"");
    }
    let body = format!(r#"{{"name":"{pasted}","cors":["{token}"]}}"#);
    f.send(
        "POST",
        "/manage/projects",
        &format!("{creds}content-type: application/json\r\n"),
        body.as_bytes(),
    );
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        f.id, f.secret
    );
    f.send(
        "POST",
        "/oauth/token",
        "content-type: application/x-www-form-urlencoded\r\n",
        form.as_bytes(),
    );

    let lines = f.log_lines(requests.len() + 2);
    assert_eq!(lines.len(), requests.len() + 2, "{lines:#?}");
    let all = lines.join("\n");
    for needle in [
        f.secret.as_str(),
        &f.secret[4..],
        pasted,
        &pasted[4..],
        &token,
        &token[5..],
        &refresh[5..],
    ] {
        assert!(!all.contains(needle), "{needle} in\n{all}");
    }
    assert!(
        lines[0].starts_with("GET /manage/clients/sec_… 404 "),
        "{}",
        lines[0]
    );
    assert!(
        lines[2].starts_with(
            "GET /manage/clients?projectId=sec_…&client_secret=…&access_token=…&code=… "
        ),
        "{}",
        lines[2]
    );
    assert!(
        lines[6].starts_with("POST /manage/projects "),
        "{}",
        lines[6]
    );
    assert!(lines[7].starts_with("POST /oauth/token "), "{}", lines[7]);
}

#[test]
fn methods_are_case_sensitive_and_head_is_answered_wherever_get_is() {
    let f = Fixture::new(ServerOptions::default());
    let creds = f.credentials();
    let created = f.send(
        "POST",
        "/manage/projects",
        &format!("{creds}content-type: application/json\r\n"),
        br#"{"name":"Kept"}"#,
    );
    assert_eq!(created.status, 200);

    for (method, target, allow) in [
        (
            "delete",
            "/manage/projects/kept",
            "GET, HEAD, PATCH, DELETE",
        ),
        ("get", "/manage/projects", "GET, HEAD, POST"),
        ("Patch", "/manage/projects/kept", "GET, HEAD, PATCH, DELETE"),
        ("PUT", "/manage/projects", "GET, HEAD, POST"),
        ("OPTIONS", "/manage/clients", "GET, HEAD, POST"),
        ("POST", "/manage/openapi.json", "GET, HEAD"),
        ("post", "/oauth/token", "POST"),
        ("GET", "/oauth/token", "POST"),
    ] {
        let r = f.send(method, target, &creds, b"");
        assert_eq!(r.status, 405, "{method} {target}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {target}");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let r = f.send("delete", "/manage/projects/kept", &creds, b"");
    assert_eq!(
        r.json(),
        json!({"error": "Method Not Allowed", "message": "Method delete is not allowed on this route"})
    );
    // Nothing was deleted.
    let r = f.send("GET", "/manage/projects/kept", &creds, b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["deleteAt"], Value::Null);

    for target in [
        "/manage/projects",
        "/manage/projects/kept",
        "/manage/openapi.json",
    ] {
        let get = f.send("GET", target, &creds, b"");
        let head = f.send("HEAD", target, &creds, b"");
        assert_eq!(head.status, 200, "{target}");
        assert!(head.body.is_empty(), "{target}");
        assert_eq!(head.header("content-type"), Some("application/json"));
        assert!(!get.body.is_empty());
    }
    let head = f.send("HEAD", "/manage/projects", &creds, b"");
    assert_eq!(head.header("x-ratelimit-limit"), Some("1000000"));
    let head = f.send("HEAD", "/manage/projects/nope", &creds, b"");
    assert_eq!(head.status, 404);
    assert!(head.body.is_empty());
    let head = f.send("HEAD", "/manage/projects", "", b"");
    assert_eq!(head.status, 401);
}

// ---------------------------------------------------------------------------------------------
// Against the `opcore serve` binary.

struct Process {
    child: Child,
    addr: SocketAddr,
    id: String,
    secret: String,
    _dir: tempfile::TempDir,
}

impl Process {
    fn start(flags: &[&str]) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(OPCORE)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("opcore.db"))
            .args(["--options", OPTIONS])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (addr_tx, addr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(url) = line
                    .strip_prefix("opcore: serving ")
                    .and_then(|l| l.rsplit(" on http://").next())
                {
                    let _ = addr_tx.send(url.to_owned());
                }
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("opcore serve announces its address")
            .parse()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (mut id, mut secret) = (String::new(), String::new());
        let mut line = String::new();
        while secret.is_empty() {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "no credentials printed"
            );
            if let Some(v) = line.trim().strip_prefix("openpanel-client-id: ") {
                id = v.to_owned();
            }
            if let Some(v) = line.trim().strip_prefix("openpanel-client-secret: ") {
                secret = v.to_owned();
            }
        }
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Process {
            child,
            addr,
            id,
            secret,
            _dir: dir,
        }
    }

    /// Resident memory, from /proc/PID/status.
    fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|v| v.trim().parse().ok())
            .expect("VmRSS");
        kb * 1024
    }

    fn terminate(&self) {
        // SAFETY: signals a child this test started and has not yet reaped.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0);
    }

    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get_projects(addr: SocketAddr, id: &str, secret: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let request = format!(
        "GET /manage/projects HTTP/1.1\r\nhost: opcore\r\nconnection: close\r\n\
         openpanel-client-id: {id}\r\nopenpanel-client-secret: {secret}\r\n\r\n"
    );
    s.write_all(request.as_bytes()).unwrap();
    read_reply(&mut s, false)
}

#[test]
fn stalled_unauthenticated_uploads_cost_the_server_no_memory() {
    raise_fd_limit();
    let server = Process::start(&[]);
    assert_eq!(
        get_projects(server.addr, &server.id, &server.secret).status,
        200
    );
    std::thread::sleep(Duration::from_millis(300));
    let before = server.rss_bytes();

    // 400 uploads of 1 MiB without credentials from four addresses (100 each, under the
    // per-address cap), each stalled one byte short of its end and held open.
    let chunk = vec![b'x'; 64 * 1024];
    let mut held = Vec::new();
    for i in 0..400u32 {
        let mut s = connect_from(ip(20 + (i % 4) as u8), server.addr);
        s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let head = format!(
            "POST /manage/projects HTTP/1.1\r\nhost: opcore\r\ncontent-type: application/json\r\n\
             content-length: {MIB}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut sent = 0;
        while sent < MIB - 1 {
            let n = chunk.len().min(MIB - 1 - sent);
            if s.write_all(&chunk[..n]).is_err() {
                break; // refused and closed before the upload was over: as it should be
            }
            sent += n;
        }
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = server.rss_bytes();
    let grown = after.saturating_sub(before);
    assert!(
        grown < 50 * MIB as u64,
        "RSS grew by {} MiB ({before} -> {after} bytes)",
        grown / MIB as u64
    );
    drop(held);
    // Each is answered 401 from its head alone, before any of the body is read.
    let mut s = connect_from(ip(24), server.addr);
    let head = format!(
        "POST /manage/projects HTTP/1.1\r\nhost: opcore\r\ncontent-type: application/json\r\n\
         content-length: {MIB}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let r = read_reply(&mut s, false);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["message"], "Invalid client credentials");
    // And the server still serves.
    assert_eq!(
        get_projects(server.addr, &server.id, &server.secret).status,
        200
    );
}

#[test]
fn sigterm_with_a_client_stuck_mid_request_exits_0_within_the_grace() {
    let mut server = Process::start(&["--shutdown-grace", "1"]);
    // One client stuck mid-body, one mid-head, one idle.
    let mut mid_body = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST /manage/projects HTTP/1.1\r\nhost: opcore\r\nopenpanel-client-id: {}\r\n\
         openpanel-client-secret: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"na",
        server.id, server.secret
    );
    mid_body.write_all(head.as_bytes()).unwrap();
    let mut mid_head = TcpStream::connect(server.addr).unwrap();
    mid_head
        .write_all(b"GET /manage/projects HTTP/1.1\r\nhost: op")
        .unwrap();
    let _idle = TcpStream::connect(server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let started = Instant::now();
    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("opcore serve exits after SIGTERM");
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_millis(2500), "exited after {took:?}");
    assert!(closed_within(&mut mid_body, Duration::from_secs(1)));
    assert!(closed_within(&mut mid_head, Duration::from_secs(1)));
}

#[test]
fn serve_help_lists_every_limit() {
    let out = Command::new(OPCORE)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--header-timeout <SECONDS>",
        "--body-timeout <SECONDS>",
        "--idle-timeout <SECONDS>",
        "--max-connections-per-address <N>",
        "--max-connections <N>",
        "--shutdown-grace <SECONDS>",
    ] {
        assert!(help.contains(flag), "{flag} missing from\n{help}");
    }
    for default in [
        "[default: 10]",
        "[default: 30]",
        "[default: 60]",
        "[default: 256]",
        "[default: 10000]",
    ] {
        assert!(help.contains(default), "{default} missing from\n{help}");
    }
}
