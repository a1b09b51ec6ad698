//! The `opcore` binary as a user runs it: what it prints on stdout and stderr, and its exit
//! status.
#![cfg(feature = "cli")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const OPCORE: &str = env!("CARGO_BIN_EXE_opcore");
const SMALL_ARGON2: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1}}"#;

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn db(&self) -> PathBuf {
        self.path().join("opcore.db")
    }

    /// Runs `opcore ARGS` in this directory, without `--db` or `--options`.
    fn raw(&self, args: &[&str]) -> Output {
        Command::new(OPCORE)
            .args(args)
            .current_dir(self.path())
            .output()
            .unwrap()
    }

    /// Runs `opcore ARGS --db DB --options SMALL_ARGON2`.
    fn run(&self, args: &[&str]) -> Output {
        let db = self.db();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", db.to_str().unwrap(), "--options", SMALL_ARGON2]);
        self.raw(&all)
    }

    /// Runs a command that must succeed with nothing on stderr; returns its JSON output.
    fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "opcore {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "opcore {args:?}");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "opcore {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs a command that must fail with status 1 and exactly `message` on stderr.
    fn fails(&self, args: &[&str], message: &str) {
        let out = self.run(args);
        assert_eq!(out.status.code(), Some(1), "opcore {args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            message,
            "opcore {args:?}"
        );
        assert!(out.stdout.is_empty(), "opcore {args:?}");
    }
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn is_timestamp(v: &Value) -> bool {
    v.as_str()
        .and_then(opcore::Timestamp::parse_rfc3339)
        .is_some_and(|t| Some(t.to_rfc3339().as_str()) == v.as_str())
}

fn is_secret(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 36
            && s.starts_with("sec_")
            && s[4..]
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

// ---------------------------------------------------------------------------------------------
// init

#[test]
fn init_prints_the_bootstrap_json() {
    let d = Dir::new();
    let boot = d.json(&["init", "--name", "Acme Inc"]);
    assert_eq!(keys(&boot), ["client", "organization"]);
    let org = &boot["organization"];
    assert_eq!(keys(org), ["createdAt", "id", "name", "updatedAt"]);
    assert_eq!(org["id"], "acme-inc");
    assert_eq!(org["name"], "Acme Inc");
    assert!(is_timestamp(&org["createdAt"]) && org["updatedAt"] == org["createdAt"]);

    let client = &boot["client"];
    assert_eq!(
        keys(client),
        [
            "createdAt",
            "expiresAt",
            "id",
            "ignoreCorsAndSecret",
            "lastUsedAt",
            "name",
            "organizationId",
            "projectId",
            "redirectUris",
            "secret",
            "tier",
            "type",
            "updatedAt"
        ]
    );
    let id = client["id"].as_str().unwrap();
    assert_eq!(
        uuid::Uuid::parse_str(id).unwrap().get_version_num(),
        4,
        "{id}"
    );
    assert_eq!(id, id.to_ascii_lowercase());
    assert_eq!(client["name"], "Root client");
    assert_eq!(client["type"], "root");
    assert_eq!(client["projectId"], Value::Null);
    assert_eq!(client["organizationId"], "acme-inc");
    assert_eq!(client["ignoreCorsAndSecret"], false);
    assert!(is_timestamp(&client["createdAt"]));
    assert!(is_secret(&client["secret"]), "{}", client["secret"]);

    // The secret is in that output only: not in the file, not in a later read.
    let secret = client["secret"].as_str().unwrap();
    let bytes = std::fs::read(d.db()).unwrap();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    let listed = d.run(&["clients", "list", "--org", "acme-inc"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(secret));

    // The same name again: the next id for that base.
    let again = d.json(&["init", "--name", "Acme Inc"]);
    assert_eq!(again["organization"]["id"], "acme-inc-1");
    assert_ne!(again["client"]["secret"], client["secret"]);
    let orgs = d.json(&["organizations", "list"]);
    let ids: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme-inc", "acme-inc-1"]);
}

#[test]
fn init_needs_a_valid_name() {
    let d = Dir::new();
    let out = d.run(&["init"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--name <NAME>"), "{err}");
    d.fails(
        &["init", "--name", "   "],
        "opcore: invalid input: name: String must contain a visible character (not only \
         whitespace or invisible characters)\n",
    );
}

#[test]
fn bad_options_are_named_and_nothing_is_created() {
    let d = Dir::new();
    let cases = [
        (
            r#"{"argon":{}}"#,
            "opcore: invalid options: unknown field `argon`, expected one of `argon2`, \
             `deletion_grace_seconds`, `audit_retention_days`, `synchronous`, `rate_limits`, \
             `cross_process_staleness_ms`, `credential_cache_capacity`, `busy_timeout_ms`, \
             `access_token_ttl_seconds`, `refresh_token_ttl_seconds`, \
             `authorization_code_ttl_seconds`, `refresh_reuse_grace_seconds`, `issuer`, \
             `authorization_endpoint`, `rate_limit_url`, `rate_limit_on_outage`, \
             `rate_limit_key_prefix` at line 1 column 8\n",
        ),
        (
            r#"{"synchronous":"off"}"#,
            "opcore: invalid options: unknown variant `off`, expected `full` or `normal` at \
             line 1 column 20\n",
        ),
        (
            "[",
            "opcore: invalid options: EOF while parsing a list at line 1 column 1\n",
        ),
    ];
    let db = d.db();
    for (options, message) in cases {
        for command in [
            vec!["init", "--name", "Acme"],
            vec!["purge"],
            #[cfg(feature = "server")]
            vec!["serve", "--listen", "127.0.0.1:0"],
        ] {
            let mut args = command.clone();
            args.extend(["--db", db.to_str().unwrap(), "--options", options]);
            let out = d.raw(&args);
            assert_eq!(out.status.code(), Some(1), "{args:?}");
            assert_eq!(String::from_utf8_lossy(&out.stderr), message, "{args:?}");
            assert!(out.stdout.is_empty());
        }
    }
    let out = d.raw(&[
        "init",
        "--name",
        "Acme",
        "--db",
        db.to_str().unwrap(),
        "--options",
        r#"{"argon2":{"m_cost":1,"t_cost":1,"p_cost":1}}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("opcore: invalid options: argon2: argon2 m_cost must be between"),
        "{err}"
    );
    assert!(!db.exists(), "a refused command must not create the store");
}

// ---------------------------------------------------------------------------------------------
// --help

#[test]
fn help_is_everywhere() {
    let d = Dir::new();
    let mut commands: Vec<Vec<&str>> = vec![
        vec![],
        vec!["init"],
        vec!["purge"],
        vec!["organizations"],
        vec!["organizations", "list"],
        vec!["organizations", "get"],
        vec!["audit"],
        vec!["migrate"],
    ];
    #[cfg(feature = "server")]
    commands.push(vec!["serve"]);
    for group in ["projects", "clients", "references"] {
        commands.push(vec![group]);
        for verb in ["list", "get", "create", "delete"] {
            commands.push(vec![group, verb]);
        }
    }
    for command in commands {
        let mut args = command.clone();
        args.push("--help");
        let out = d.raw(&args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let usage = if command.is_empty() {
            "Usage: opcore [OPTIONS] <COMMAND>".to_owned()
        } else {
            format!("Usage: opcore {}", command.join(" "))
        };
        assert!(text.contains(&usage), "{args:?}:\n{text}");
        assert!(text.contains("--db <PATH>"), "{args:?}:\n{text}");
    }
    // The main job's defaults are visible where a newcomer looks.
    #[cfg(feature = "server")]
    {
        let serve = String::from_utf8(d.raw(&["serve", "--help"]).stdout).unwrap();
        assert!(serve.contains("[default: 127.0.0.1:3333]"), "{serve}");
        assert!(serve.contains("[default: ./opcore.db]"), "{serve}");
    }
    // Without a command: the help, on stderr, with the usage-error status.
    let out = d.raw(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage: opcore"));
    assert!(!d.db().exists());
}

#[test]
fn migrate_is_in_the_help_and_says_what_it_needs() {
    let d = Dir::new();
    let top = String::from_utf8(d.raw(&["--help"]).stdout).unwrap();
    assert!(
        top.contains("opcore migrate --from opcore.db --to postgres://…"),
        "{top}"
    );
    let help = String::from_utf8(d.raw(&["migrate", "--help"]).stdout).unwrap();
    assert!(help.contains("--from <PATH>"), "{help}");
    assert!(help.contains("--to <URL>"), "{help}");
    assert!(help.contains("empty PostgreSQL database"), "{help}");
    d.json(&["init", "--name", "Acme"]);
    let db = d.db();
    let from = db.to_str().unwrap();
    let out = d.raw(&["migrate", "--from", from, "--to", "./copy.db"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "opcore: --to must be a PostgreSQL URL (postgres://… or postgresql://…)\n"
    );
    let before = std::fs::read(&db).unwrap();
    let out = d.raw(&[
        "migrate",
        "--from",
        from,
        "--to",
        "postgres://127.0.0.1:1/none",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    #[cfg(not(feature = "postgres"))]
    assert_eq!(
        stderr,
        "opcore: this opcore was built without PostgreSQL support; `opcore migrate` needs a \
         build with the Cargo feature `postgres` (cargo build --release --features postgres)\n"
    );
    #[cfg(feature = "postgres")]
    assert!(
        stderr.starts_with(
            "opcore: cannot open store: postgres://127.0.0.1:1/none: cannot connect to PostgreSQL"
        ),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

// ---------------------------------------------------------------------------------------------
// Admin commands

#[test]
fn admin_commands_manage_projects_clients_and_references() {
    let d = Dir::new();
    let org = d.json(&["init", "--name", "Acme"])["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let o = ["--org", org.as_str()];

    let project = d.json(
        &[
            &[
                "projects",
                "create",
                "--name",
                "My Project",
                "--domain",
                "HTTPS://Example.com/",
            ][..],
            &["--cors", "https://example.com/", "--cors", "*.example.com"],
            &["--type", "website", "--type", "app", "--cross-domain"],
            &o,
        ]
        .concat(),
    );
    assert_eq!(project["id"], "my-project");
    // Stored as sent, trailing slashes removed.
    assert_eq!(project["domain"], "HTTPS://Example.com");
    assert_eq!(
        project["cors"],
        json!(["https://example.com", "*.example.com"])
    );
    assert_eq!(project["types"], json!(["website", "app"]));
    assert_eq!(project["crossDomain"], true);
    assert_eq!(project["deleteAt"], Value::Null);
    assert!(is_secret(&project["client"]["secret"]));
    let first_client = project["client"]["id"].as_str().unwrap().to_owned();

    let listed = d.json(&["projects", "list", "--org", &org]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let mut read_back = project.clone();
    read_back.as_object_mut().unwrap().remove("client");
    assert_eq!(listed[0], read_back);
    assert_eq!(
        d.json(&["projects", "get", "my-project", "--org", &org]),
        read_back
    );

    // --org may be left out while the store holds one organization.
    let client = d.json(&[
        "clients",
        "create",
        "--name",
        "Reader",
        "--project",
        "my-project",
        "--type",
        "read",
    ]);
    assert_eq!(client["type"], "read");
    assert_eq!(client["projectId"], "my-project");
    assert_eq!(client["ignoreCorsAndSecret"], false);
    assert!(is_secret(&client["secret"]));
    let reader = client["id"].as_str().unwrap().to_owned();
    let ignoring = d.json(&[
        "clients",
        "create",
        "--name",
        "Kiosk",
        "--project",
        "my-project",
        "--ignore-cors-and-secret",
    ]);
    assert_eq!(ignoring["type"], "write");
    assert_eq!(ignoring["ignoreCorsAndSecret"], true);

    let of_project = d.json(&["clients", "list", "--project", "my-project"]);
    let names: Vec<&str> = of_project
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Kiosk", "Reader", "First client"]);
    let got = d.json(&["clients", "get", &reader]);
    assert_eq!(got["name"], "Reader");
    assert!(got.get("secret").is_none());
    assert_eq!(
        d.json(&["clients", "delete", &reader]),
        json!({"success": true})
    );
    d.fails(
        &["clients", "get", &reader],
        &format!("opcore: Client not found: `{reader}`\n"),
    );

    let reference = d.json(&[
        "references",
        "create",
        "--project",
        "my-project",
        "--title",
        " Launch ",
        "--description",
        "v1 is out",
        "--datetime",
        "2024-01-15",
    ]);
    assert_eq!(reference["title"], " Launch ", "titles are stored as sent");
    assert_eq!(reference["description"], "v1 is out");
    assert_eq!(reference["date"], "2024-01-15T00:00:00.000Z");
    let rid = reference["id"].as_str().unwrap().to_owned();
    assert_eq!(
        d.json(&["references", "list", "--project", "my-project"]),
        json!([reference.clone()])
    );
    assert_eq!(d.json(&["references", "get", &rid]), reference);
    assert_eq!(
        d.json(&["references", "delete", &rid]),
        json!({"success": true})
    );
    assert_eq!(d.json(&["references", "list"]), json!([]));

    let deleted = d.json(&["projects", "delete", "my-project"]);
    assert_eq!(keys(&deleted), ["deleteAt", "success"]);
    assert_eq!(deleted["success"], true);
    assert!(is_timestamp(&deleted["deleteAt"]));
    assert_eq!(d.json(&["projects", "list"]), json!([]));
    let scheduled = d.json(&["projects", "get", "my-project"]);
    assert_eq!(scheduled["deleteAt"], deleted["deleteAt"]);
    // The First client still exists until the project is purged.
    assert_eq!(
        d.json(&["clients", "get", &first_client])["id"],
        json!(first_client)
    );
}

#[test]
fn admin_errors_name_the_problem() {
    let d = Dir::new();
    d.fails(
        &["projects", "list"],
        &format!(
            "opcore: no store at {db}; create one with `opcore init --db {db} --name NAME`\n",
            db = d.db().display()
        ),
    );
    assert!(!d.db().exists());

    d.json(&["init", "--name", "Acme"]);
    d.fails(
        &["projects", "list", "--org", "nope"],
        "opcore: Organization not found: `nope`\n",
    );
    d.fails(
        &["organizations", "get", "nope"],
        "opcore: Organization not found: `nope`\n",
    );
    d.fails(
        &["projects", "get", "missing"],
        "opcore: Project not found: `missing`\n",
    );
    d.fails(
        &["projects", "delete", "missing"],
        "opcore: Project not found: `missing`\n",
    );
    d.fails(
        &["clients", "get", "not-a-uuid"],
        "opcore: Client not found: `not-a-uuid`\n",
    );
    d.fails(
        &["clients", "list", "--project", "missing"],
        "opcore: Project not found: `missing`\n",
    );
    d.fails(
        &["references", "list", "--project", "missing"],
        "opcore: Project not found: `missing`\n",
    );
    d.fails(
        &[
            "projects", "create", "--name", " ", "--domain", "ftp://x", "--cors", "a b",
        ],
        "opcore: invalid input: name: String must contain a visible character (not only \
         whitespace or invisible characters); domain: Invalid url: must be an absolute http or https URL with a host; \
         cors[0]: Invalid CORS origin: spaces and control characters are not allowed\n",
    );
    d.fails(
        &[
            "references",
            "create",
            "--project",
            "missing",
            "--title",
            "x",
            "--datetime",
            "yesterday",
        ],
        "opcore: invalid input: datetime: Invalid datetime: expected an ISO 8601 date-time (a \
         zone or offset, or none for UTC), a date YYYY-MM-DD, or an RFC 2822 date; projectId: \
         Project not found in this organization (or past its deletion time)\n",
    );
    let root = d.json(&["clients", "list"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    d.fails(
        &["clients", "delete", &root],
        "opcore: Cannot delete the last root client of the organization\n",
    );

    // Bad flag values are usage errors (status 2) that name the flag.
    let out = d.run(&["clients", "create", "--name", "x", "--type", "admin"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'admin' for '--type <TYPE>'"),
        "{err}"
    );

    // Two organizations: --org is needed, and the message lists them.
    d.json(&["init", "--name", "Beta"]);
    d.fails(
        &["projects", "list"],
        "opcore: this store holds 2 organizations; choose one with --org (acme, beta)\n",
    );
}

#[test]
fn purge_removes_projects_past_their_deletion_time() {
    let d = Dir::new();
    d.json(&["init", "--name", "Acme"]);
    assert_eq!(d.json(&["purge"]), json!({"purged": 0}));
    let project = d.json(&["projects", "create", "--name", "Gone"]);
    let client = project["client"]["id"].as_str().unwrap().to_owned();
    d.json(&["projects", "create", "--name", "Kept"]);
    d.json(&["references", "create", "--project", "gone", "--title", "t"]);

    // With a zero grace period the project is past its deletion time as soon as it is
    // deleted; `purge` then removes it with its clients and references.
    let db = d.db();
    let db = db.to_str().unwrap();
    let zero = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},"deletion_grace_seconds":0}"#;
    let out = d.raw(&["projects", "delete", "gone", "--db", db, "--options", zero]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert_eq!(d.json(&["purge"]), json!({"purged": 1}));
    assert_eq!(d.json(&["purge"]), json!({"purged": 0}));
    d.fails(
        &["projects", "get", "gone"],
        "opcore: Project not found: `gone`\n",
    );
    d.fails(
        &["clients", "get", &client],
        &format!("opcore: Client not found: `{client}`\n"),
    );
    assert_eq!(d.json(&["references", "list"]), json!([]));
    let names: Vec<String> = d
        .json(&["projects", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["kept"]);
}

// ---------------------------------------------------------------------------------------------
// serve

#[cfg(feature = "server")]
mod serve {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use super::{is_secret, Dir, OPCORE, SMALL_ARGON2};

    /// The lines a child writes to one of its streams, read on a thread.
    struct LineReader {
        rx: mpsc::Receiver<String>,
        seen: Vec<String>,
    }

    impl LineReader {
        fn new(stream: impl Read + Send + 'static) -> LineReader {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            LineReader {
                rx,
                seen: Vec::new(),
            }
        }

        /// The first line (from now on) satisfying `pred`; panics after 20 s.
        fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.rx.recv_timeout(left) {
                    Ok(line) => {
                        self.seen.push(line.clone());
                        if pred(&line) {
                            return line;
                        }
                    }
                    Err(_) => panic!("no line {what}; saw {:#?}", self.seen),
                }
            }
        }

        /// Every remaining line, until the stream closes.
        fn rest(&mut self) -> Vec<String> {
            let rest: Vec<String> = self.rx.iter().collect();
            self.seen.extend(rest.iter().cloned());
            rest
        }
    }

    struct Served {
        child: Child,
        stdout: LineReader,
        stderr: LineReader,
        base: String,
    }

    fn serve(d: &Dir, extra: &[&str]) -> Served {
        let db = d.db();
        let mut child = Command::new(OPCORE)
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--options",
                SMALL_ARGON2,
            ])
            .args(extra)
            .current_dir(d.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = LineReader::new(child.stdout.take().unwrap());
        let mut stderr = LineReader::new(child.stderr.take().unwrap());
        let line = stderr.wait_for("announcing the address", |l| l.contains(" on http://"));
        let base = line.rsplit(" on ").next().unwrap().to_owned();
        Served {
            child,
            stdout,
            stderr,
            base,
        }
    }

    impl Served {
        /// Sends `signal` (e.g. "TERM") and waits for a clean exit; returns the rest of stderr.
        fn stop(mut self, signal: &str) -> (Vec<String>, Vec<String>) {
            let status = Command::new("kill")
                .args([format!("-{signal}"), self.child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            let deadline = Instant::now() + Duration::from_secs(20);
            let exit = loop {
                if let Some(exit) = self.child.try_wait().unwrap() {
                    break exit;
                }
                assert!(
                    Instant::now() < deadline,
                    "opcore serve ignored SIG{signal}"
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            assert!(exit.success(), "exit after SIG{signal}: {exit:?}");
            self.stderr.rest();
            self.stdout.rest();
            (self.stdout.seen, self.stderr.seen)
        }
    }

    fn curl_manage(base: &str, id: &str, secret: &str) -> (u16, Value) {
        let out = Command::new("/usr/bin/curl")
            .args([
                "--silent",
                "--show-error",
                "--write-out",
                "\n%{http_code}",
                &format!("{base}/manage/projects"),
                "-H",
                &format!("openpanel-client-id: {id}"),
                "-H",
                &format!("openpanel-client-secret: {secret}"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.parse().unwrap(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn serve_bootstraps_once_serves_and_stops_on_signals() {
        let d = Dir::new();
        let mut s = serve(&d, &["--listen", "127.0.0.1:0"]);
        assert!(s.base.starts_with("http://127.0.0.1:"), "{}", s.base);

        // First run: a `Default` organization, its root client's id and secret on stdout, and a
        // request ready to paste.
        let id_line = s.stdout.wait_for("with the client id", |l| {
            l.trim_start().starts_with("openpanel-client-id: ")
        });
        let secret_line = s.stdout.wait_for("with the secret", |l| {
            l.trim_start().starts_with("openpanel-client-secret: ")
        });
        let id = id_line
            .trim()
            .trim_start_matches("openpanel-client-id: ")
            .to_owned();
        let secret = secret_line
            .trim()
            .trim_start_matches("openpanel-client-secret: ")
            .to_owned();
        assert!(is_secret(&json!(secret)), "{secret}");
        let curl_line = s
            .stdout
            .wait_for("with a curl example", |l| l.contains("curl '"));
        assert_eq!(
            curl_line.trim(),
            format!("curl '{}/manage/projects' \\", s.base)
        );

        assert_eq!(
            curl_manage(&s.base, &id, &secret),
            (200, json!({"data": []}))
        );
        let (stdout, stderr) = s.stop("TERM");
        assert_eq!(
            stdout[0],
            "Created organization \"Default\" (id `default`) and its root client."
        );
        let stderr = stderr.join("\n");
        assert!(stderr.contains("\nGET /manage/projects 200 "), "{stderr}");
        assert!(stderr.ends_with("opcore: stopped"), "{stderr}");
        assert!(!stderr.contains(&secret), "{stderr}");

        // Second run: the organization exists, nothing is printed on stdout, the same
        // credentials work; SIGINT stops it too.
        let s = serve(&d, &["--listen", "127.0.0.1:0"]);
        assert_eq!(curl_manage(&s.base, &id, &secret).0, 200);
        let (stdout, stderr) = s.stop("INT");
        assert!(stdout.is_empty(), "{stdout:?}");
        assert!(stderr.last().unwrap().ends_with("opcore: stopped"));
        let orgs = d.json(&["organizations", "list"]);
        assert_eq!(orgs.as_array().unwrap().len(), 1);
        assert_eq!(orgs[0]["name"], "Default");
    }

    #[test]
    fn serve_refuses_bad_addresses_clearly() {
        let d = Dir::new();
        d.fails(
            &["serve", "--listen", "nowhere"],
            "opcore: invalid --listen address `nowhere`: invalid socket address (expected \
             HOST:PORT, e.g. 127.0.0.1:3333)\n",
        );
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let out = d.run(&["serve", "--listen", &addr]);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with(&format!("opcore: cannot listen on {addr}: ")),
            "{err}"
        );
        // Nothing was bootstrapped by the failed start.
        assert!(out.stdout.is_empty());
        assert_eq!(d.json(&["organizations", "list"]), json!([]));
    }

    #[test]
    fn serve_without_flags_uses_the_local_file_and_loopback_port_3333() {
        if std::net::TcpListener::bind("127.0.0.1:3333").is_err() {
            println!("127.0.0.1:3333 is in use on this machine; the default cannot be exercised");
            return;
        }
        let d = Dir::new();
        let mut child = Command::new(OPCORE)
            .arg("serve")
            .current_dir(d.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = LineReader::new(child.stderr.take().unwrap());
        let _stdout = LineReader::new(child.stdout.take().unwrap());
        let line = stderr.wait_for("announcing the address", |l| l.contains(" on http://"));
        let expected_db = d.path().canonicalize().unwrap().join("opcore.db");
        assert_eq!(
            line,
            format!(
                "opcore: serving {} on http://127.0.0.1:3333",
                expected_db.display()
            )
        );
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(child.wait().unwrap().success());
        assert!(d.path().join("opcore.db").exists());
    }
}

// ---------------------------------------------------------------------------------------------
// The audit log

#[test]
fn audit_prints_the_log_newest_first_with_no_actor_for_cli_changes() {
    let d = Dir::new();
    let boot = d.json(&["init", "--name", "Acme"]);
    d.json(&[
        "projects",
        "create",
        "--name",
        "Shop",
        "--domain",
        "https://shop.example",
    ]);
    let client = d.json(&["clients", "create", "--name", "Reader", "--type", "read"]);
    let client_id = client["id"].as_str().unwrap().to_owned();
    d.json(&["clients", "delete", &client_id]);
    d.json(&["projects", "delete", "shop"]);

    let log = d.json(&["audit"]);
    let entries = log["data"].as_array().unwrap();
    let got: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["resourceId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("project.delete", "shop"),
            ("client.delete", client_id.as_str()),
            ("client.create", client_id.as_str()),
            ("project.create", "shop"),
            ("organization.create", "acme"),
        ]
    );
    assert!(entries.iter().all(|e| e["actorClientId"].is_null()));
    assert_eq!(entries[3]["changes"], json!(["name", "domain", "client"]));
    assert_eq!(entries[2]["changes"], json!(["name", "type", "secret"]));
    assert_eq!(log.get("nextCursor"), None);
    // No secret printed by earlier commands reaches the log's output.
    let text = log.to_string();
    for secret in [&boot["client"]["secret"], &client["secret"]] {
        assert!(!text.contains(secret.as_str().unwrap()));
    }

    let page = d.json(&["audit", "--limit", "2"]);
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let cursor = page["nextCursor"].as_str().expect("more remain").to_owned();
    let next = d.json(&["audit", "--limit", "2", "--cursor", &cursor]);
    assert_eq!(next["data"][0]["action"], "client.create");
    let shop = d.json(&["audit", "--resource-id", "shop", "--org", "acme"]);
    assert_eq!(shop["data"].as_array().unwrap().len(), 2);

    d.fails(
        &["audit", "--limit", "0"],
        "opcore: invalid input: limit: Expected an integer from 1 to 1000\n",
    );
    d.fails(
        &["audit", "--org", "nope"],
        "opcore: Organization not found: `nope`\n",
    );
}

#[test]
fn clients_rotate_prints_the_new_secret_once_and_create_takes_an_expiry() {
    let d = Dir::new();
    let org = d.json(&["init", "--name", "Acme"])["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = d.json(&[
        "clients",
        "create",
        "--name",
        "Deployer",
        "--type",
        "read",
        "--expires-at",
        "2999-01-01",
        "--org",
        &org,
    ]);
    assert_eq!(created["expiresAt"], "2999-01-01T00:00:00.000Z");
    assert_eq!(created["lastUsedAt"], Value::Null);
    let id = created["id"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();

    let rotated = d.json(&["clients", "rotate", &id, "--grace-seconds", "3600"]);
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("sec_") && new != old);
    assert!(rotated["previousSecretExpiresAt"].is_string());
    assert_eq!(rotated["id"], id.as_str());
    let again = d.json(&["clients", "rotate", &id]);
    assert_eq!(again["previousSecretExpiresAt"], Value::Null);
    // Reads never show a secret.
    let read = serde_json::to_string(&d.json(&["clients", "get", &id])).unwrap();
    assert!(!read.contains("sec_"), "{read}");

    let out = d.run(&["clients", "rotate", &id, "--grace-seconds", "2592001"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("graceSeconds: Expected an integer from 0 to 2592000 (seconds)"),
        "{err}"
    );
    d.fails(
        &["clients", "rotate", "0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c"],
        "opcore: Client not found: `0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c`\n",
    );
    let out = d.run(&[
        "clients",
        "create",
        "--name",
        "Old",
        "--expires-at",
        "2000-01-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expiresAt: Must be in the future"));
}
