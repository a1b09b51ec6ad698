//! The Manage API over real HTTP on loopback (`opcore::server`), driven by `/usr/bin/curl`.
//!
//! The seed tests run every curl example of the public docs (`../shared/seeds/`: Projects,
//! Clients, Manage overview, Authentication) exactly as written — the commands are parsed out
//! of the seed files at test time — changing only the base URL, the credentials and the
//! example ids (which name resources the test created). Each response is checked against the
//! response the seed documents, field by field: the same fields, the same JSON types, and the
//! same values wherever a value is determined (names, types, project ids, CORS lists, …);
//! generated values (UUIDs, secrets, timestamps) are checked for their format.
//!
//! A copy of the four seed files is committed under `tests/seeds/`; when `../shared/seeds/` is
//! present the copy must be identical to it, and the shared files are the ones tested.
#![cfg(feature = "server")]

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use opcore::server::{self, RunningServer};
use opcore::{NewClient, NewProject, Options, ProjectChanges, Store};
use serde_json::{json, Value};

const SHARED_SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/seeds");
const COMMITTED_SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/seeds");
const AUTHENTICATION: &str = "000_efe15334111d6e8a.txt";
const CLIENTS: &str = "001_28a8586a6ecd9a62.txt";
const OVERVIEW: &str = "002_d87d4fcf8e85c58f.txt";
const PROJECTS: &str = "003_b505ea40d44c61cc.txt";
const SEED_BASE: &str = "https://api.openpanel.dev";
const CURL: &str = "/usr/bin/curl";
const SMALL_ARGON2: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1}}"#;

// ---------------------------------------------------------------------------------------------
// Seeds: finding them and parsing their curl examples.

fn seed_dir() -> PathBuf {
    let shared = Path::new(SHARED_SEEDS);
    if !shared.is_dir() {
        println!("{SHARED_SEEDS} not found: testing the committed copy in {COMMITTED_SEEDS}");
        return PathBuf::from(COMMITTED_SEEDS);
    }
    for file in [AUTHENTICATION, CLIENTS, OVERVIEW, PROJECTS] {
        let ours = fs::read(Path::new(COMMITTED_SEEDS).join(file))
            .unwrap_or_else(|e| panic!("committed copy tests/seeds/{file}: {e}"));
        let theirs = fs::read(shared.join(file)).unwrap_or_else(|e| panic!("seed {file}: {e}"));
        assert!(
            ours == theirs,
            "tests/seeds/{file} differs from ../shared/seeds/{file}; copy the shared file"
        );
    }
    shared.to_path_buf()
}

fn seed(file: &str) -> String {
    let path = seed_dir().join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One curl example of a seed: its arguments (after `curl`, shell quoting removed) and the
/// response JSON the seed documents for it, if any.
#[derive(Debug, Clone)]
struct Example {
    args: Vec<String>,
    response: Option<Value>,
}

impl Example {
    fn method(&self) -> &str {
        self.args
            .iter()
            .position(|a| a == "-X")
            .and_then(|i| self.args.get(i + 1))
            .map_or("GET", String::as_str)
    }

    fn url(&self) -> &str {
        self.args
            .iter()
            .find(|a| a.starts_with(SEED_BASE))
            .map_or("", String::as_str)
    }
}

/// Every curl command in `text` (a line starting with `curl `, or a code fence opening with
/// it), in order. Commands are shell words: single- and
/// double-quoted strings, and `\` + whitespace as a line continuation (some seeds were
/// flattened onto one line, so the continuation can be followed by a space instead of a
/// newline). A command ends at an unescaped newline or at a closing code fence.
fn curl_examples(text: &str) -> Vec<Example> {
    let starts: Vec<usize> = text
        .match_indices("curl ")
        .map(|(i, _)| i)
        .filter(|&i| {
            // At the start of a line, or just inside a code fence of a flattened page.
            let before = text[..i].trim_end_matches([' ', '\t']);
            before.is_empty() || before.ends_with('\n') || before.ends_with("```bash")
        })
        .collect();
    let mut parsed: Vec<(Vec<String>, usize)> = Vec::new();
    for &start in &starts {
        parsed.push(shell_words(
            &text[start + "curl ".len()..],
            start + "curl ".len(),
        ));
    }
    let mut examples: Vec<Example> = Vec::new();
    for (i, (args, end)) in parsed.iter().enumerate() {
        let until = starts.get(i + 1).copied().unwrap_or(text.len());
        examples.push(Example {
            args: args.clone(),
            response: documented_response(&text[*end..until]),
        });
    }
    // Two commands under one "Example Request" (only comment lines between them) share the
    // response documented after the second.
    for i in (0..examples.len().saturating_sub(1)).rev() {
        let between = &text[parsed[i].1..starts[i + 1]];
        let only_comments = between
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if examples[i].response.is_none() && only_comments {
            examples[i].response = examples[i + 1].response.clone();
        }
    }
    examples
}

/// Parses shell words from `s`; returns them and the absolute offset where the command ended.
fn shell_words(s: &str, offset: usize) -> (Vec<String>, usize) {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && matches!(chars[i].1, ' ' | '\t') {
            i += 1;
        }
        if i >= chars.len() {
            return (words, offset + s.len());
        }
        let (at, c) = chars[i];
        if c == '\\' && chars.get(i + 1).is_some_and(|&(_, n)| n.is_whitespace()) {
            i += 2;
            continue;
        }
        if c == '\n' || c == '\r' || s[at..].starts_with("```") {
            return (words, offset + at);
        }
        let mut word = String::new();
        while i < chars.len() && !chars[i].1.is_whitespace() {
            match chars[i].1 {
                '\'' => {
                    i += 1;
                    while i < chars.len() && chars[i].1 != '\'' {
                        word.push(chars[i].1);
                        i += 1;
                    }
                    i += 1;
                }
                '"' => {
                    i += 1;
                    while i < chars.len() && chars[i].1 != '"' {
                        if chars[i].1 == '\\' && i + 1 < chars.len() {
                            i += 1;
                        }
                        word.push(chars[i].1);
                        i += 1;
                    }
                    i += 1;
                }
                '\\' if i + 1 < chars.len() => {
                    word.push(chars[i + 1].1);
                    i += 2;
                }
                c => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        words.push(word);
    }
}

/// The JSON object after a `Response` heading, if `text` has one.
fn documented_response(text: &str) -> Option<Value> {
    text.match_indices("Response").find_map(|(i, m)| {
        let rest = &text[i + m.len()..];
        if !rest.starts_with(char::is_whitespace) {
            return None; // "Responses", "Response Format", …
        }
        let json = rest.trim_start();
        json.starts_with('{').then(|| first_json(json))
    })
}

fn first_json(text: &str) -> Value {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()
        .expect("a JSON value")
        .unwrap_or_else(|e| panic!("seed JSON does not parse: {e}"))
}

/// The error body a seed documents under a heading such as `401 Unauthorized`.
fn documented_error(text: &str, heading: &str) -> Value {
    let at = text
        .find(heading)
        .unwrap_or_else(|| panic!("the seed has no `{heading}` example"));
    let json = &text[at + heading.len()..];
    first_json(json.trim_start())
}

#[test]
fn the_parser_reads_every_example_of_every_seed() {
    let counts = [
        (AUTHENTICATION, 1, 0),
        (CLIENTS, 6, 6),
        (OVERVIEW, 1, 0),
        (PROJECTS, 5, 5),
    ];
    for (file, commands, with_response) in counts {
        let examples = curl_examples(&seed(file));
        assert_eq!(examples.len(), commands, "{file}: {examples:#?}");
        assert_eq!(
            examples.iter().filter(|e| e.response.is_some()).count(),
            with_response,
            "{file}"
        );
        for e in &examples {
            assert!(e.url().starts_with(SEED_BASE), "{file}: {e:?}");
            assert!(
                e.args
                    .iter()
                    .any(|a| a.starts_with("openpanel-client-id: ")),
                "{file}: {e:?}"
            );
        }
    }
    let create = &curl_examples(&seed(CLIENTS))[3];
    assert_eq!(create.method(), "POST");
    let body: Value = serde_json::from_str(&create.args[create.args.len() - 1]).unwrap();
    assert_eq!(
        body,
        json!({"name": "My API Client", "projectId": "my-project", "type": "read"})
    );
}

/// The README's walkthrough is the seeds' examples with only the base URL and the
/// credentials changed: every seed example appears there, and nothing else.
#[test]
fn the_documented_walkthrough_is_the_seed_examples() {
    let docs = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = docs.find("## Walkthrough").expect("a walkthrough section");
    let end = start + 3 + docs[start + 3..].find("\n## ").expect("a section after it");
    let normalize = |args: &[String]| -> Vec<String> {
        args.iter()
            .map(|a| {
                a.replace("http://127.0.0.1:3333", SEED_BASE)
                    .replace("$ROOT_ID", "CLIENT_ID")
                    .replace("$ROOT_SECRET", "CLIENT_SECRET")
                    .replace("YOUR_ROOT_CLIENT_ID", "CLIENT_ID")
                    .replace("YOUR_ROOT_CLIENT_SECRET", "CLIENT_SECRET")
                    .replace("YOUR_CLIENT_ID", "CLIENT_ID")
                    .replace("YOUR_CLIENT_SECRET", "CLIENT_SECRET")
                    .replace("{projectId}", "my-project")
            })
            .collect()
    };
    let documented: Vec<Vec<String>> = curl_examples(&docs[start..end])
        .iter()
        .map(|e| normalize(&e.args))
        .collect();
    let mut seeds: Vec<Vec<String>> = Vec::new();
    for file in [OVERVIEW, PROJECTS, CLIENTS, AUTHENTICATION] {
        for e in curl_examples(&seed(file)) {
            let args = normalize(&e.args);
            if !seeds.contains(&args) {
                seeds.push(args);
            }
        }
    }
    for d in &documented {
        assert!(seeds.contains(d), "not a seed example: {d:?}");
    }
    for s in &seeds {
        assert!(
            documented.contains(s),
            "missing from the README walkthrough: {s:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A server on loopback, and curl.

struct Fixture {
    store: Store,
    server: RunningServer,
    org: String,
    root_id: String,
    root_secret: String,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_options(SMALL_ARGON2)
    }

    fn with_options(options: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("opcore.db"),
            Options::from_json(options).unwrap(),
        )
        .unwrap();
        let boot = store.create_organization("Acme").unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let server = server::spawn(
            store.clone(),
            "127.0.0.1:0".parse().unwrap(),
            server::LogSink::lines(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
        )
        .unwrap();
        Fixture {
            store,
            server,
            org: boot.organization.id,
            root_id: boot.client.client.id.clone(),
            root_secret: boot.client.secret.expose().to_owned(),
            log,
            _dir: dir,
        }
    }

    fn base(&self) -> String {
        self.server.base_url()
    }

    /// The log lines so far, once there are at least `n` (the log is written by its own
    /// thread, shortly after each response).
    fn log_lines(&self, n: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let lines = self.log.lock().unwrap().clone();
            if lines.len() >= n || std::time::Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// `My Project` (`my-project`) as the seeds show it; returns its First client's id.
    fn my_project(&self, cors: &[&str]) -> String {
        let created = self
            .store
            .create_project(
                &self.org,
                &NewProject {
                    name: "My Project".into(),
                    domain: Some("https://example.com".into()),
                    cors: cors.iter().map(|s| s.to_string()).collect(),
                    cross_domain: false,
                    types: vec!["website".into()],
                },
            )
            .unwrap();
        assert_eq!(created.project.id, "my-project");
        created.client.id
    }

    fn client(
        &self,
        name: &str,
        ty: opcore::ClientType,
        project: Option<&str>,
    ) -> (String, String) {
        let c = self
            .store
            .create_client(
                &self.org,
                &NewClient {
                    name: name.into(),
                    project_id: project.map(str::to_owned),
                    client_type: ty,
                    ..NewClient::default()
                },
            )
            .unwrap();
        (c.client.id.clone(), c.secret.expose().to_owned())
    }
}

#[derive(Debug)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
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

/// Runs `/usr/bin/curl` with `args` (plus flags to include the response head) and parses the
/// response.
fn curl(args: &[String]) -> HttpResponse {
    let out = Command::new(CURL)
        .args(args)
        .args(["--silent", "--show-error", "--include", "--max-time", "60"])
        .output()
        .unwrap_or_else(|e| panic!("{CURL}: {e}"));
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_http(&out.stdout)
}

fn parse_http(raw: &[u8]) -> HttpResponse {
    // `100 Continue` (curl sends `Expect: 100-continue` with large bodies) precedes the
    // real response.
    if raw.starts_with(b"HTTP/1.1 1") {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            return parse_http(&raw[end + 4..]);
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn s(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// Running an example and comparing its response with the documented one.

/// What replaces the seeds' placeholders: base URL, credentials and example ids.
struct Subst {
    base: String,
    values: HashMap<String, String>,
}

impl Subst {
    fn new(f: &Fixture) -> Subst {
        let mut values = HashMap::new();
        values.insert("YOUR_ROOT_CLIENT_ID".into(), f.root_id.clone());
        values.insert("YOUR_ROOT_CLIENT_SECRET".into(), f.root_secret.clone());
        values.insert("org_123".into(), f.org.clone());
        Subst {
            base: f.base(),
            values,
        }
    }

    fn set(&mut self, placeholder: &str, value: &str) {
        self.values.insert(placeholder.into(), value.into());
    }

    fn apply(&self, arg: &str) -> String {
        let mut out = arg.replace(SEED_BASE, &self.base);
        for (k, v) in &self.values {
            out = out.replace(k.as_str(), v);
        }
        out
    }

    fn args(&self, example: &Example) -> Vec<String> {
        example.args.iter().map(|a| self.apply(a)).collect()
    }
}

fn is_uuid_v4(s: &str) -> bool {
    s.len() == 36
        && uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 4)
        && s == s.to_ascii_lowercase()
}

fn is_timestamp(s: &str) -> bool {
    // 2024-01-15T10:30:00.000Z
    let b = s.as_bytes();
    b.len() == 24
        && s.ends_with('Z')
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && opcore::Timestamp::parse_rfc3339(s).is_some_and(|t| t.to_rfc3339() == s)
}

fn is_secret(s: &str) -> bool {
    s.len() == 36
        && s.starts_with("sec_")
        && s[4..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

const SEED_UUIDS: [&str; 2] = [
    "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9",
    "b8904453-863d-4e04-8ebc-8abae30ffb1a",
];

type DefaultValue = fn() -> Value;

/// Client fields beyond the seeds (SPEC §8: redirect URIs and rate-limit tier; expiry,
/// docs/lifecycle.md), with the value a client the seeds create has. `lastUsedAt`, the other
/// lifecycle field, is null or a timestamp (the clients the examples authenticate with are used).
const CLIENT_EXTENSIONS: [(&str, DefaultValue); 3] = [
    ("redirectUris", || Value::Array(Vec::new())),
    ("tier", || Value::Null),
    ("expiresAt", || Value::Null),
];

struct Compare<'a> {
    subst: &'a mut Subst,
    /// In a create response, an `id` is newly issued: the seed's example id is bound to it.
    creating: bool,
    /// Ids a list may hold beyond the documented elements (e.g. the caller's root client).
    extra_ids: &'a [String],
    problems: Vec<String>,
}

impl Compare<'_> {
    fn value(&mut self, path: &str, key: &str, expected: &Value, actual: &Value) {
        match (expected, actual) {
            (Value::Object(e), Value::Object(a)) => {
                let mut ek: Vec<&String> = e.keys().collect();
                let mut ak: Vec<&String> = a.keys().collect();
                // Fields opcore adds to the seeds' client reads (OAuth), at their defaults.
                for (k, default) in CLIENT_EXTENSIONS {
                    if !e.contains_key(k) && a.contains_key(k) {
                        ak.retain(|key| key.as_str() != k);
                        if a[k] != default() {
                            self.problems
                                .push(format!("{path}.{k}: {}, expected the default", a[k]));
                        }
                    }
                }
                if !e.contains_key("lastUsedAt") && a.contains_key("lastUsedAt") {
                    ak.retain(|key| key.as_str() != "lastUsedAt");
                    let used = &a["lastUsedAt"];
                    if !(used.is_null() || used.as_str().is_some_and(is_timestamp)) {
                        self.problems.push(format!(
                            "{path}.lastUsedAt: {used}, expected null or a timestamp"
                        ));
                    }
                }
                ek.sort();
                ak.sort();
                if ek != ak {
                    self.problems
                        .push(format!("{path}: fields {ak:?}, documented {ek:?}"));
                }
                for (k, ev) in e {
                    if let Some(av) = a.get(k) {
                        self.value(&format!("{path}.{k}"), k, ev, av);
                    }
                }
            }
            (Value::Array(e), Value::Array(a)) if e.iter().all(|v| v.get("id").is_some()) => {
                self.list(path, e, a)
            }
            (Value::Array(e), Value::Array(a)) => {
                if e.len() != a.len() {
                    self.problems
                        .push(format!("{path}: {actual}, documented {expected}"));
                    return;
                }
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    self.value(&format!("{path}[{i}]"), key, ev, av);
                }
            }
            (Value::String(e), Value::String(a)) => self.string(path, key, e, a),
            (e, a) if e == a => {}
            (e, a) => self.problems.push(format!("{path}: {a}, documented {e}")),
        }
    }

    fn string(&mut self, path: &str, key: &str, expected: &str, actual: &str) {
        let ok = match key {
            "createdAt" | "updatedAt" | "deleteAt" | "date" => is_timestamp(actual),
            "secret" => is_secret(actual),
            "id" if self.creating && SEED_UUIDS.contains(&expected) => {
                let fresh = is_uuid_v4(actual) && !self.subst.values.values().any(|v| v == actual);
                if fresh {
                    self.subst.set(expected, actual);
                }
                fresh
            }
            _ => self.subst.apply(expected) == actual,
        };
        if !ok {
            self.problems
                .push(format!("{path}: {actual:?}, documented {expected:?}"));
        }
    }

    /// Lists of resources are matched by id (the API orders them newest first; the seeds do
    /// not all follow one order), and must be ordered by `createdAt`, newest first.
    fn list(&mut self, path: &str, expected: &[Value], actual: &[Value]) {
        let id_of = |v: &Value| v["id"].as_str().unwrap_or_default().to_owned();
        for e in expected {
            let want = self.subst.apply(&id_of(e));
            match actual.iter().find(|a| id_of(a) == want) {
                Some(a) => self.value(&format!("{path}[id={want}]"), "", e, a),
                None => self
                    .problems
                    .push(format!("{path}: no element with id {want}")),
            }
        }
        let documented: Vec<String> = expected
            .iter()
            .map(|e| self.subst.apply(&id_of(e)))
            .collect();
        for a in actual {
            let id = id_of(a);
            if !documented.contains(&id) && !self.extra_ids.contains(&id) {
                self.problems
                    .push(format!("{path}: unexpected element {a}"));
            }
        }
        if actual.len() != documented.len() + self.extra_ids.len() {
            self.problems.push(format!(
                "{path}: {} elements, expected {}",
                actual.len(),
                documented.len() + self.extra_ids.len()
            ));
        }
        let created: Vec<&str> = actual
            .iter()
            .map(|a| a["createdAt"].as_str().unwrap_or_default())
            .collect();
        if created.windows(2).any(|w| w[0] < w[1]) {
            self.problems
                .push(format!("{path}: not newest first: {created:?}"));
        }
    }
}

/// Runs one seed example with the substitutions; checks status 200, JSON, the rate-limit
/// headers and the documented response. Returns the response body.
fn run_example(example: &Example, subst: &mut Subst, extra_ids: &[String]) -> Value {
    let args = subst.args(example);
    let response = curl(&args);
    assert_eq!(
        response.status,
        200,
        "{} {}: {}",
        example.method(),
        example.url(),
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("x-ratelimit-limit"), Some("20"));
    for h in ["x-ratelimit-remaining", "x-ratelimit-reset"] {
        let v = response.header(h).unwrap_or_else(|| panic!("no {h}"));
        assert!(v.parse::<u64>().is_ok(), "{h}: {v}");
    }
    let body = response.json();
    if let Some(expected) = &example.response {
        let mut cmp = Compare {
            subst,
            creating: example.method() == "POST",
            extra_ids,
            problems: Vec::new(),
        };
        cmp.value("$", "", expected, &body);
        assert!(
            cmp.problems.is_empty(),
            "{} {}:\n  {}\nresponse: {body:#}",
            example.method(),
            example.url(),
            cmp.problems.join("\n  ")
        );
    }
    body
}

// ---------------------------------------------------------------------------------------------
// The seeds.

#[test]
fn projects_seed_examples() {
    let text = seed(PROJECTS);
    let examples = curl_examples(&text);
    let f = Fixture::new();
    // The List example shows my-project with two CORS origins.
    let first_client = f.my_project(&["https://example.com", "https://www.example.com"]);
    let mut subst = Subst::new(&f);
    subst.set(SEED_UUIDS[0], &first_client);

    // List Projects.
    assert_eq!(examples[0].method(), "GET");
    run_example(&examples[0], &mut subst, &[]);

    // Get Project: the seed shows my-project with one CORS origin there (and in the Update
    // response), so the fixture takes the project to that state first.
    f.store
        .update_project(
            &f.org,
            "my-project",
            &ProjectChanges {
                cors: Some(vec!["https://example.com".into()]),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(examples[1].url().ends_with("/manage/projects/my-project"));
    run_example(&examples[1], &mut subst, &[]);

    // Create Project: a new project and its default write client, whose secret is returned.
    assert_eq!(examples[2].method(), "POST");
    let created = run_example(&examples[2], &mut subst, &[]);
    let client_id = created["data"]["client"]["id"].as_str().unwrap();
    let client = f.store.get_client(&f.org, client_id).unwrap();
    assert_eq!(
        (client.name.as_str(), client.client_type.as_str()),
        ("First client", "write")
    );
    assert_eq!(client.project_id.as_deref(), Some("my-new-project"));

    // Update Project.
    assert_eq!(examples[3].method(), "PATCH");
    let updated = run_example(&examples[3], &mut subst, &[]);
    assert!(
        updated["data"]["updatedAt"].as_str() >= updated["data"]["createdAt"].as_str(),
        "{updated}"
    );

    // Delete Project: scheduled 24 h ahead, no longer listed.
    assert_eq!(examples[4].method(), "DELETE");
    let deleted = run_example(&examples[4], &mut subst, &[]);
    assert_eq!(deleted, json!({"success": true}));
    let project = f.store.get_project(&f.org, "my-project").unwrap();
    let delete_at = project.delete_at.expect("deleteAt set").millis();
    let expected = f.store.now().millis() + 24 * 3600 * 1000;
    assert!(
        (expected - delete_at).abs() < 60_000,
        "{delete_at} vs {expected}"
    );
    let listed = curl(&subst.args(&examples[0])).json();
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["my-new-project"]);
}

#[test]
fn projects_seed_error_bodies() {
    let text = seed(PROJECTS);
    let examples = curl_examples(&text);
    let f = Fixture::new();
    let first_client = f.my_project(&["https://example.com"]);
    let mut subst = Subst::new(&f);

    // 404: the Get example for a project that does not exist (yet).
    let get = subst
        .args(&examples[1])
        .iter()
        .map(|a| a.replace("my-project", "no-such-project"))
        .collect::<Vec<_>>();
    let r = curl(&get);
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), documented_error(&text, "404 Not Found"));

    // 400: the Update example with an empty name.
    let mut patch = subst.args(&examples[3]);
    let body = patch.last_mut().unwrap();
    *body = json!({"name": ""}).to_string();
    let r = curl(&patch);
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), documented_error(&text, "400 Bad Request"));

    // 401: the List example with a write client of the project (valid credentials, wrong
    // type).
    assert!(f.store.get_client(&f.org, &first_client).is_ok());
    let (write_id, write_secret) =
        f.client("Writer", opcore::ClientType::Write, Some("my-project"));
    subst.set("YOUR_ROOT_CLIENT_ID", &write_id);
    subst.set("YOUR_ROOT_CLIENT_SECRET", &write_secret);
    let r = curl(&subst.args(&examples[0]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), documented_error(&text, "401 Unauthorized"));
}

#[test]
fn clients_seed_examples() {
    let text = seed(CLIENTS);
    let examples = curl_examples(&text);
    let f = Fixture::new();
    let first_client = f.my_project(&["https://example.com"]);
    // The List example shows a second client of my-project: `Read-only Client`, type read.
    let (read_only, _) = f.client(
        "Read-only Client",
        opcore::ClientType::Read,
        Some("my-project"),
    );
    let mut subst = Subst::new(&f);
    subst.set(SEED_UUIDS[0], &first_client);
    subst.set(SEED_UUIDS[1], &read_only);

    // List all clients: the documented two, and the root client making the request.
    assert!(examples[0].url().ends_with("/manage/clients"));
    run_example(&examples[0], &mut subst, std::slice::from_ref(&f.root_id));
    // List the clients of my-project: exactly the documented two.
    assert!(examples[1]
        .url()
        .ends_with("/manage/clients?projectId=my-project"));
    run_example(&examples[1], &mut subst, &[]);

    // Get Client.
    assert!(examples[2].url().ends_with(SEED_UUIDS[0]));
    run_example(&examples[2], &mut subst, &[]);

    // Create Client: binds the seed's id b8904453-… to the new client for the examples after.
    assert_eq!(examples[3].method(), "POST");
    let created = run_example(&examples[3], &mut subst, &[]);
    let new_id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, read_only);
    let secret = created["data"]["secret"].as_str().unwrap().to_owned();

    // Update Client (the new one).
    assert_eq!(examples[4].method(), "PATCH");
    let updated = run_example(&examples[4], &mut subst, &[]);
    assert_eq!(updated["data"]["id"], json!(new_id));
    assert_eq!(
        f.store.get_client(&f.org, &new_id).unwrap().name,
        "Updated Client Name"
    );

    // The secret returned once appears in no read.
    let listed = curl(&subst.args(&examples[0]));
    assert!(!String::from_utf8_lossy(&listed.body).contains(&secret));

    // Delete Client: gone at once, with the documented 404 body.
    assert_eq!(examples[5].method(), "DELETE");
    assert_eq!(
        run_example(&examples[5], &mut subst, &[]),
        json!({"success": true})
    );
    let get_deleted: Vec<String> = subst
        .args(&examples[2])
        .iter()
        .map(|a| a.replace(&first_client, &new_id))
        .collect();
    let r = curl(&get_deleted);
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), documented_error(&text, "404 Not Found"));
}

#[test]
fn clients_seed_error_bodies() {
    let text = seed(CLIENTS);
    let examples = curl_examples(&text);
    let f = Fixture::new();
    f.my_project(&[]);
    let mut subst = Subst::new(&f);

    // 400: the Create example with an empty name.
    let mut create = subst.args(&examples[3]);
    *create.last_mut().unwrap() = json!({"name": "", "projectId": "my-project"}).to_string();
    let r = curl(&create);
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), documented_error(&text, "400 Bad Request"));

    // 401: a read client (valid credentials, wrong type) on the List example.
    let (id, secret) = f.client("Reader", opcore::ClientType::Read, Some("my-project"));
    subst.set("YOUR_ROOT_CLIENT_ID", &id);
    subst.set("YOUR_ROOT_CLIENT_SECRET", &secret);
    let r = curl(&subst.args(&examples[0]));
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), documented_error(&text, "401 Unauthorized"));
}

#[test]
fn manage_overview_seed_example_under_both_base_paths() {
    let examples = curl_examples(&seed(OVERVIEW));
    assert_eq!(examples.len(), 1);
    let f = Fixture::new();
    f.my_project(&["https://example.com", "https://www.example.com"]);
    // The Projects seed documents what this request returns.
    let documented = curl_examples(&seed(PROJECTS))[0].response.clone();
    let example = Example {
        args: examples[0].args.clone(),
        response: documented,
    };
    let mut subst = Subst::new(&f);
    let body = run_example(&example, &mut subst, &[]);
    assert_eq!(body["data"][0]["id"], "my-project");

    // Self-hosted deployments expose the same API under /api/manage.
    subst.base = format!("{}/api", f.base());
    let body_api = run_example(&example, &mut subst, &[]);
    assert_eq!(body_api, body);
}

#[test]
fn authentication_seed_example_and_error_body() {
    let text = seed(AUTHENTICATION);
    let examples = curl_examples(&text);
    assert_eq!(examples.len(), 1);
    let f = Fixture::new();
    f.my_project(&[]);
    let (id, secret) = f.client("Reader", opcore::ClientType::Read, Some("my-project"));
    let mut subst = Subst::new(&f);
    subst.set("YOUR_CLIENT_ID", &id);
    subst.set("YOUR_CLIENT_SECRET", &secret);
    subst.set("{projectId}", "my-project");

    // The example calls the Insights API, which the host implements, not opcore: opcore's
    // server answers it as an unknown route.
    let args = subst.args(&examples[0]);
    assert!(
        args[0].ends_with("/insights/my-project/metrics"),
        "{args:?}"
    );
    let r = curl(&args);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"error": "Not Found", "message": "Route not found"})
    );

    // The documented 401 body: the same headers with a wrong secret, on a Manage route.
    let documented = documented_error(&text, "```json");
    let args: Vec<String> = subst
        .args(&examples[0])
        .iter()
        .map(|a| {
            a.replace("/insights/my-project/metrics", "/manage/projects")
                .replace(&secret, "sec_00000000000000000000000000000000")
        })
        .collect();
    let r = curl(&args);
    assert_eq!(r.status, 401);
    assert_eq!(r.json(), documented);
}

// ---------------------------------------------------------------------------------------------
// What the HTTP adapter itself adds: body limit, logging, source address, methods.

fn root_headers(f: &Fixture) -> Vec<String> {
    s(&[
        "-H",
        &format!("openpanel-client-id: {}", f.root_id),
        "-H",
        &format!("openpanel-client-secret: {}", f.root_secret),
    ])
}

#[test]
fn a_body_over_the_limit_is_a_json_413_after_authentication() {
    let f = Fixture::new();
    let big = f._dir.path().join("big.json");
    fs::write(&big, vec![b' '; opcore::manage::MAX_BODY_BYTES + 1]).unwrap();
    let url = format!("{}/manage/projects", f.base());
    let data = format!("@{}", big.display());

    let mut args = s(&["-X", "POST", &url, "--data-binary", &data]);
    args.extend(root_headers(&f));
    let r = curl(&args);
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json(),
        json!({"error": "Payload Too Large", "message": "Request body exceeds 1048576 bytes"})
    );
    assert_eq!(r.header("x-ratelimit-limit"), Some("20"));

    // Without credentials the size does not matter: 401 first.
    let r = curl(&s(&["-X", "POST", &url, "--data-binary", &data]));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        json!({"error": "Unauthorized", "message": "Invalid client credentials"})
    );

    // Exactly the limit is read and parsed (whitespace only: an empty object, so 400 name).
    fs::write(&big, vec![b' '; opcore::manage::MAX_BODY_BYTES]).unwrap();
    let mut args = s(&["-X", "POST", &url, "--data-binary", &data]);
    args.extend(root_headers(&f));
    let r = curl(&args);
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["details"][0]["path"], json!(["name"]));
}

#[test]
fn one_log_line_per_request_without_secrets() {
    let f = Fixture::new();
    let base = f.base();
    let mut args = s(&[&format!(
        "{base}/manage/clients?projectId=nope&client_secret={}",
        f.root_secret
    )]);
    args.extend(root_headers(&f));
    assert_eq!(curl(&args).status, 404);
    let mut args = s(&["-X", "POST", &format!("{base}/manage/clients")]);
    args.extend(root_headers(&f));
    args.extend(s(&["-d", r#"{"name":"Logged","type":"read"}"#]));
    let created = curl(&args).json();
    let new_secret = created["data"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(curl(&s(&[&format!("{base}/nowhere")])).status, 404);

    let lines = f.log_lines(3);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let expected = [
        "GET /manage/clients?projectId=nope&client_secret=… 404 ",
        "POST /manage/clients 200 ",
        "GET /nowhere 404 ",
    ];
    for (line, start) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(start),
            "{line:?} should start with {start:?}"
        );
        assert!(line.ends_with("ms"), "{line:?}");
    }
    let all = lines.join("\n");
    for secret in [&f.root_secret, &new_secret, &f.root_id] {
        assert!(!all.contains(secret.as_str()), "{all}");
    }
}

#[test]
fn failed_attempts_are_throttled_per_source_address_not_per_connection() {
    let f = Fixture::new();
    let url = format!("{}/manage/projects", f.base());
    // 100 wrong secrets for 100 different client ids, each on its own connection (so from
    // its own port): the per-client limit (10) is never reached, the per-source one (100) is.
    let mut args = Vec::new();
    let limit = opcore::auth::FAILURES_PER_SOURCE;
    for i in 0..=limit {
        if i > 0 {
            args.push("--next".to_owned());
        }
        args.extend(s(&[
            &url,
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}\\n",
            "-H",
            "Connection: close",
            "-H",
            &format!("openpanel-client-id: {}", uuid::Uuid::new_v4()),
            "-H",
            "openpanel-client-secret: sec_0123456789abcdef0123456789abcdef",
        ]));
    }
    let out = Command::new(CURL).args(&args).output().unwrap();
    let codes = String::from_utf8(out.stdout).unwrap();
    let codes: Vec<&str> = codes.lines().collect();
    assert_eq!(codes.len(), limit + 1);
    assert!(codes[..limit].iter().all(|c| *c == "401"), "{codes:?}");
    assert_eq!(codes[limit], "429");
    // The throttle only ever refuses wrong secrets: right credentials not verified before
    // still succeed from that address.
    let mut args = s(&[&url]);
    args.extend(root_headers(&f));
    let r = curl(&args);
    assert_eq!(r.status, 200, "{:?}", r.json());
}

#[test]
fn methods_and_unknown_routes_are_answered_by_the_manage_api() {
    let f = Fixture::new();
    let base = f.base();
    let r = curl(&s(&["-X", "PUT", &format!("{base}/manage/projects")]));
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
    assert_eq!(r.json()["error"], "Method Not Allowed");
    for path in [
        "/",
        "/manage",
        "/manage/",
        "/api",
        "/manage/projects/a/b",
        "/track",
    ] {
        let r = curl(&s(&[&format!("{base}{path}")]));
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.json(),
            json!({"error": "Not Found", "message": "Route not found"}),
            "{path}"
        );
    }
    let r = curl(&s(&[&format!("{base}/manage/openapi.json")]));
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
}

#[test]
fn stopping_finishes_the_request_in_flight_and_closes_idle_connections() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let f = Fixture::new();
    let addr = f.server.addr();
    let mut idle = TcpStream::connect(addr).unwrap();
    let mut busy = TcpStream::connect(addr).unwrap();
    let body = br#"{"name":"Shutdown"}"#;
    let head = format!(
        "POST /manage/projects HTTP/1.1\r\nhost: opcore\r\nopenpanel-client-id: {}\r\n\
         openpanel-client-secret: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        f.root_id,
        f.root_secret,
        body.len()
    );
    busy.write_all(head.as_bytes()).unwrap();
    busy.write_all(&body[..5]).unwrap();
    std::thread::sleep(Duration::from_millis(200));

    // Stop while the request's body is still arriving.
    let Fixture { server, store, .. } = f;
    let started = Instant::now();
    let stopping = std::thread::spawn(move || server.stop());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !stopping.is_finished(),
        "stop() must wait for the request in flight"
    );
    busy.write_all(&body[5..]).unwrap();
    let mut response = Vec::new();
    busy.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    busy.read_to_end(&mut response).unwrap();
    let response = parse_http(&response);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json()["data"]["id"], "shutdown");

    stopping.join().unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    // The idle keep-alive connection was closed, not left hanging.
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(idle.read(&mut buf).unwrap(), 0);
    let org = store.list_organizations().unwrap()[0].id.clone();
    assert_eq!(
        store.get_project(&org, "shutdown").unwrap().name,
        "Shutdown"
    );
}
