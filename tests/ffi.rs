//! The C ABI, called from Rust exactly as a C host calls it: statuses, out-parameters left
//! untouched on failure, NULL and invalid UTF-8 for every pointer argument, the thread-local
//! error message (never a secret), and the header's version macros and prototypes.

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr;

use opcore::ffi::*;
use serde_json::Value;
use tempfile::TempDir;

const FAST: &str = r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1}}"#;
const INVALID_UTF8: &[u8] = b"\xff\xfe\0";
/// A pointer value no call may write: out-parameters are preset to it and checked afterwards.
const SENTINEL: usize = 0x5eed;

fn c(s: &str) -> CString {
    CString::new(s).expect("test strings have no NUL")
}

fn bad_utf8() -> *const c_char {
    INVALID_UTF8.as_ptr().cast()
}

fn last_error() -> String {
    // SAFETY: opc_last_error_message never returns NULL and the text is valid until the next
    // opc_ call on this thread; it is copied at once.
    unsafe { CStr::from_ptr(opc_last_error_message()) }
        .to_str()
        .expect("UTF-8")
        .to_owned()
}

/// Takes ownership of a library string: copies it and frees it with `opc_string_free`.
fn take(p: *mut c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: a string returned by opcore, freed once here.
    let s = unsafe { CStr::from_ptr(p) }
        .to_str()
        .expect("UTF-8")
        .to_owned();
    unsafe { opc_string_free(p) };
    s
}

fn json(p: *mut c_char) -> Value {
    serde_json::from_str(&take(p)).expect("valid JSON")
}

fn sentinel<T>() -> *mut T {
    SENTINEL as *mut T
}

/// An open store in a temporary directory, closed on drop.
struct Fixture {
    store: *mut opc_store,
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_options(FAST)
    }

    fn with_options(options: &str) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = c(dir.path().join("opcore.db").to_str().expect("UTF-8 path"));
        let options = c(options);
        let mut store = ptr::null_mut();
        let status = unsafe { opc_store_open(path.as_ptr(), options.as_ptr(), &mut store) };
        assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
        assert!(!store.is_null());
        Fixture { store, dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("opcore.db")
    }

    /// Bootstraps an organization: (organization id, root client id, root secret).
    fn organization(&self, name: &str) -> (String, String, String) {
        let name = c(name);
        let mut out = ptr::null_mut();
        let status = unsafe { opc_organization_create(self.store, name.as_ptr(), &mut out) };
        assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
        let v = json(out);
        (
            v["organization"]["id"].as_str().unwrap().to_owned(),
            v["client"]["id"].as_str().unwrap().to_owned(),
            v["client"]["secret"].as_str().unwrap().to_owned(),
        )
    }

    fn create(&self, kind: &str, org: &str, body: &str) -> Result<Value, (opc_status, String)> {
        let f = match kind {
            "project" => opc_project_create,
            "client" => opc_client_create,
            "reference" => opc_reference_create,
            _ => unreachable!(),
        };
        let (org, body) = (c(org), c(body));
        let mut out = sentinel();
        let status = unsafe { f(self.store, org.as_ptr(), body.as_ptr(), &mut out) };
        if status == opc_status::OPC_OK {
            Ok(json(out))
        } else {
            assert_eq!(out, sentinel(), "out_json written on failure");
            Err((status, last_error()))
        }
    }

    fn handle(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Response {
        let (method, target) = (c(method), c(target));
        let names: Vec<CString> = headers.iter().map(|(n, _)| c(n)).collect();
        let values: Vec<CString> = headers.iter().map(|(_, v)| c(v)).collect();
        let name_ptrs: Vec<*const c_char> = names.iter().map(|s| s.as_ptr()).collect();
        let value_ptrs: Vec<*const c_char> = values.iter().map(|s| s.as_ptr()).collect();
        let mut response = ptr::null_mut();
        let status = unsafe {
            opc_handle(
                self.store,
                method.as_ptr(),
                target.as_ptr(),
                name_ptrs.as_ptr(),
                value_ptrs.as_ptr(),
                headers.len(),
                body.as_ptr(),
                body.len(),
                &mut response,
            )
        };
        assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
        Response(response)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        unsafe { opc_store_close(self.store) };
    }
}

/// An `opc_response`, freed on drop.
struct Response(*mut opc_response);

impl Response {
    fn status(&self) -> u16 {
        unsafe { opc_response_status(self.0) }
    }

    fn body(&self) -> String {
        let p = unsafe { opc_response_body(self.0) };
        let s = unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        assert_eq!(s.len(), unsafe { opc_response_body_len(self.0) });
        s
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body()).expect("JSON body")
    }

    fn header(&self, name: &str) -> Option<String> {
        let name = c(name);
        let p = unsafe { opc_response_header(self.0, name.as_ptr()) };
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned())
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        unsafe { opc_response_free(self.0) };
    }
}

fn root_headers<'a>(id: &'a str, secret: &'a str) -> [(&'a str, &'a str); 2] {
    [
        ("openpanel-client-id", id),
        ("openpanel-client-secret", secret),
    ]
}

// ---------------------------------------------------------------------------------------------
// Header, version, statuses

fn header_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/opcore.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} is not defined in include/opcore.h"))
        .trim()
        .to_owned()
}

#[test]
fn version_macros_match_cargo_toml_and_opc_version() {
    let header = header_text();
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .expect("Cargo.toml");
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("version in Cargo.toml");
    let library = unsafe { CStr::from_ptr(opc_version()) }.to_str().unwrap();
    assert_eq!(library, version);
    let mut parts = version.split(['.', '-', '+']);
    for name in [
        "OPCORE_VERSION_MAJOR",
        "OPCORE_VERSION_MINOR",
        "OPCORE_VERSION_PATCH",
    ] {
        assert_eq!(define(&header, name), parts.next().unwrap(), "{name}");
    }
    assert_eq!(define(&header, "OPCORE_VERSION"), format!("\"{version}\""));
}

/// The SPEC §6 prototypes, exactly (whitespace aside): external programs compile against them.
#[test]
fn header_declares_the_spec_prototypes() {
    let flat: String = header_text()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let required = [
        "opc_status opc_store_open(const char *path, const char *options_json, opc_store **out_store);",
        "void opc_store_close(opc_store *store);",
        "opc_status opc_organization_create(opc_store *store, const char *name, char **out_json);",
        "opc_status opc_handle(opc_store *store, const char *method, const char *target, \
         const char *const *header_names, const char *const *header_values, size_t header_count, \
         const uint8_t *body, size_t body_len, opc_response **out_response);",
        "uint16_t opc_response_status(const opc_response *response);",
        "const char *opc_response_body(const opc_response *response);",
        "const char *opc_response_header(const opc_response *response, const char *name);",
        "void opc_response_free(opc_response *response);",
        "void opc_string_free(char *s);",
        "const char *opc_status_str(opc_status status);",
        "const char *opc_last_error_message(void);",
        "const char *opc_version(void);",
        "typedef struct opc_store opc_store;",
        "typedef struct opc_response opc_response;",
        "typedef uint32_t opc_status;",
        "OPC_OK = 0,",
    ];
    for prototype in required {
        assert!(
            flat.contains(prototype),
            "include/opcore.h lacks: {prototype}"
        );
    }
}

/// Every `extern "C"` function in src/ffi is declared (and documented) in the header.
#[test]
fn header_declares_every_entry_point() {
    let header = header_text();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            // Exported entry points only: a private `extern "C"` callback (the fork handler
            // given to pthread_atfork) is not part of the ABI.
            if !line.trim_start().starts_with("pub ") {
                continue;
            }
            if let Some(rest) = line.split("extern \"C\" fn ").nth(1) {
                names.push(rest.split('(').next().unwrap().to_owned());
            }
        }
    }
    assert!(names.len() >= 38, "found only {names:?}");
    for name in names {
        let lines: Vec<&str> = header.lines().collect();
        let declaration = lines
            .iter()
            .position(|l| {
                let l = l.trim_start();
                !l.starts_with('*') && !l.starts_with('/') && l.contains(&format!("{name}("))
            })
            .unwrap_or_else(|| panic!("{name} is not declared in include/opcore.h"));
        assert!(
            declaration > 0 && lines[declaration - 1].trim() == "*/",
            "{name} has no doc comment right above it"
        );
    }
}

#[test]
fn statuses_keep_their_values_and_have_static_text() {
    let fixed = [
        (opc_status::OPC_OK, 0, "ok"),
        (
            opc_status::OPC_NULL_ARGUMENT,
            1,
            "a required argument is NULL",
        ),
        (
            opc_status::OPC_INVALID_UTF8,
            2,
            "a string argument is not valid UTF-8",
        ),
        (
            opc_status::OPC_INVALID_ARGUMENT,
            3,
            "an argument is out of range",
        ),
        (
            opc_status::OPC_INVALID_OPTIONS,
            100,
            "invalid store options",
        ),
        (
            opc_status::OPC_OPEN_FAILED,
            101,
            "the store cannot be opened",
        ),
        (
            opc_status::OPC_FORKED,
            102,
            "the store handle belongs to the parent process (fork)",
        ),
        (opc_status::OPC_NOT_FOUND, 200, "not found"),
        (opc_status::OPC_INVALID_INPUT, 201, "invalid input"),
        (opc_status::OPC_CONFLICT, 202, "refused by the stored state"),
        (opc_status::OPC_STORAGE, 300, "storage failure"),
        (opc_status::OPC_BUSY, 301, "the database is busy"),
        (opc_status::OPC_PANIC, 900, "internal error (panic caught)"),
        (opc_status::OPC_INTERNAL, 901, "internal error"),
    ];
    assert_eq!(fixed.len(), opc_status::ALL.len());
    let header = header_text();
    for (status, value, text) in fixed {
        assert_eq!(status as u32, value);
        let got = unsafe { CStr::from_ptr(opc_status_str(value)) };
        assert_eq!(got.to_str().unwrap(), text);
        assert!(header.contains(&format!("{status:?} = {value},")));
    }
    for unknown in [4, 99, 103, 1000, u32::MAX] {
        let got = unsafe { CStr::from_ptr(opc_status_str(unknown)) };
        assert_eq!(got.to_str().unwrap(), "unknown status");
    }
}

// ---------------------------------------------------------------------------------------------
// Opening and closing

#[test]
fn open_refuses_null_and_invalid_arguments_without_writing_the_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = c(dir.path().join("a.db").to_str().unwrap());
    let mut out: *mut opc_store = sentinel();
    let cases: Vec<(*const c_char, *const c_char, bool, opc_status, &str)> = vec![
        (
            ptr::null(),
            ptr::null(),
            true,
            opc_status::OPC_NULL_ARGUMENT,
            "path is NULL",
        ),
        (
            path.as_ptr(),
            ptr::null(),
            false,
            opc_status::OPC_NULL_ARGUMENT,
            "out_store is NULL",
        ),
        (
            bad_utf8(),
            ptr::null(),
            true,
            opc_status::OPC_INVALID_UTF8,
            "path is not valid UTF-8",
        ),
        (
            path.as_ptr(),
            bad_utf8(),
            true,
            opc_status::OPC_INVALID_UTF8,
            "options_json is not valid UTF-8",
        ),
        (
            c"".as_ptr(),
            ptr::null(),
            true,
            opc_status::OPC_INVALID_ARGUMENT,
            "path is empty",
        ),
        (
            path.as_ptr(),
            cr#"{"argon":{}}"#.as_ptr(),
            true,
            opc_status::OPC_INVALID_OPTIONS,
            "invalid options: unknown field `argon`",
        ),
        (
            path.as_ptr(),
            cr#"{"argon2":{"m_cost":1,"t_cost":1,"p_cost":1}}"#.as_ptr(),
            true,
            opc_status::OPC_INVALID_OPTIONS,
            "argon2 m_cost must be between",
        ),
    ];
    for (p, options, with_out, status, message) in cases {
        let out_ptr = if with_out {
            &mut out as *mut _
        } else {
            ptr::null_mut()
        };
        assert_eq!(unsafe { opc_store_open(p, options, out_ptr) }, status);
        assert!(
            last_error().contains(message),
            "{message:?} not in {:?}",
            last_error()
        );
        assert_eq!(out, sentinel());
    }
    assert!(
        !dir.path().join("a.db").exists(),
        "a refused open created the file"
    );
}

#[test]
fn open_refuses_files_that_are_not_opcore_stores_and_leaves_them_untouched() {
    let dir = tempfile::tempdir().unwrap();

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();

    let newer = dir.path().join("newer.db");
    {
        let f = Fixture::new();
        std::fs::copy(f.path(), &newer).unwrap();
    }
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 9999;")
        .unwrap();

    let cases = [
        (garbage.clone(), "is not an SQLite database"),
        (
            foreign.clone(),
            "is an SQLite database but not an opcore store",
        ),
        (newer.clone(), "newer than this opcore supports"),
        (
            dir.path().join("missing/dir/x.db"),
            "cannot open or create the file",
        ),
    ];
    for (path, message) in cases {
        let before = std::fs::read(&path).ok();
        let p = c(path.to_str().unwrap());
        let mut out: *mut opc_store = sentinel();
        let status = unsafe { opc_store_open(p.as_ptr(), c(FAST).as_ptr(), &mut out) };
        assert_eq!(
            status,
            opc_status::OPC_OPEN_FAILED,
            "{}: {}",
            path.display(),
            last_error()
        );
        let e = last_error();
        assert!(
            e.contains(message) && e.contains(path.to_str().unwrap()),
            "{e}"
        );
        assert_eq!(out, sentinel());
        assert_eq!(
            std::fs::read(&path).ok(),
            before,
            "{} changed",
            path.display()
        );
    }
}

#[test]
fn close_and_reopen_keeps_everything() {
    let f = Fixture::new();
    let (org, root_id, root_secret) = f.organization("Acme");
    let project = f.create("project", &org, r#"{"name":"Kept"}"#).unwrap();
    let mut reopened = f;
    reopened.reopen();
    let mut out = ptr::null_mut();
    let (o, id) = (c(&org), c(project["id"].as_str().unwrap()));
    assert_eq!(
        unsafe { opc_project_get(reopened.store, o.as_ptr(), id.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    assert_eq!(json(out)["name"], "Kept");
    let r = reopened.handle(
        "GET",
        "/manage/projects",
        &root_headers(&root_id, &root_secret),
        "",
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.json()["data"][0]["id"], "kept");
}

impl Fixture {
    /// Closes the handle and opens the same file again.
    fn reopen(&mut self) {
        unsafe { opc_store_close(self.store) };
        self.store = ptr::null_mut();
        unsafe { opc_store_close(ptr::null_mut()) };
        let path = c(self.path().to_str().unwrap());
        let status = unsafe { opc_store_open(path.as_ptr(), c(FAST).as_ptr(), &mut self.store) };
        assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
    }
}

// ---------------------------------------------------------------------------------------------
// Bootstrap and opc_handle

#[test]
fn bootstrap_returns_the_organization_and_root_client_once() {
    let f = Fixture::new();
    let name = c("Acme Inc");
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_organization_create(f.store, name.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    assert_eq!(last_error(), "");
    let v = json(out);
    assert_eq!(v["organization"]["id"], "acme-inc");
    assert_eq!(v["organization"]["name"], "Acme Inc");
    assert_eq!(v["client"]["type"], "root");
    assert_eq!(v["client"]["organizationId"], "acme-inc");
    let secret = v["client"]["secret"].as_str().unwrap();
    assert!(secret.starts_with("sec_") && secret.len() == 36, "{secret}");

    let mut out = ptr::null_mut();
    let id = c("acme-inc");
    assert_eq!(
        unsafe { opc_organization_get(f.store, id.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    let got = take(out);
    assert!(
        got.contains("\"name\":\"Acme Inc\"") && !got.contains("sec_"),
        "{got}"
    );

    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_organization_list(f.store, &mut out) },
        opc_status::OPC_OK
    );
    assert_eq!(json(out).as_array().unwrap().len(), 1);

    // Refusals leave the out-parameter alone.
    let mut out: *mut c_char = sentinel();
    let cases: Vec<(*mut opc_store, *const c_char, opc_status, &str)> = vec![
        (
            ptr::null_mut(),
            name.as_ptr(),
            opc_status::OPC_NULL_ARGUMENT,
            "store is NULL",
        ),
        (
            f.store,
            ptr::null(),
            opc_status::OPC_NULL_ARGUMENT,
            "name is NULL",
        ),
        (
            f.store,
            bad_utf8(),
            opc_status::OPC_INVALID_UTF8,
            "name is not valid UTF-8",
        ),
        (
            f.store,
            c"   ".as_ptr(),
            opc_status::OPC_INVALID_INPUT,
            "invalid input: name",
        ),
    ];
    for (store, name, status, message) in cases {
        assert_eq!(
            unsafe { opc_organization_create(store, name, &mut out) },
            status
        );
        assert!(last_error().contains(message), "{}", last_error());
        assert_eq!(out, sentinel());
    }
    assert_eq!(
        unsafe { opc_organization_create(f.store, name.as_ptr(), ptr::null_mut()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(last_error(), "out_json is NULL");
    let mut out = ptr::null_mut();
    unsafe { opc_organization_list(f.store, &mut out) };
    assert_eq!(
        json(out).as_array().unwrap().len(),
        1,
        "a call without out_json created an organization"
    );

    let missing = c("nope");
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe { opc_organization_get(f.store, missing.as_ptr(), &mut out) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(last_error(), "Organization not found");
    assert_eq!(out, sentinel());
    assert_eq!(
        unsafe { opc_organization_delete(f.store, id.as_ptr()) },
        opc_status::OPC_OK
    );
    assert_eq!(
        unsafe { opc_organization_delete(f.store, id.as_ptr()) },
        opc_status::OPC_NOT_FOUND
    );
}

#[test]
fn handle_serves_the_manage_api() {
    let f = Fixture::new();
    let (_, id, secret) = f.organization("Acme");
    let headers = root_headers(&id, &secret);

    let r = f.handle(
        "POST",
        "/manage/projects",
        &headers,
        r#"{"name":"My Project"}"#,
    );
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(last_error(), "");
    let v = r.json();
    assert_eq!(v["data"]["id"], "my-project");
    assert!(v["data"]["client"]["secret"]
        .as_str()
        .unwrap()
        .starts_with("sec_"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("X-RateLimit-Limit").as_deref(), Some("20"));
    assert_eq!(r.header("x-ratelimit-remaining").as_deref(), Some("19"));
    assert_eq!(r.header("retry-after"), None);

    // Every header, in order, through the iteration entry points.
    let count = unsafe { opc_response_header_count(r.0) };
    assert_eq!(count, 4);
    let mut names = Vec::new();
    for i in 0..count {
        let (mut n, mut v) = (ptr::null(), ptr::null());
        assert_eq!(
            unsafe { opc_response_header_at(r.0, i, &mut n, &mut v) },
            opc_status::OPC_OK
        );
        names.push(unsafe { CStr::from_ptr(n) }.to_str().unwrap().to_owned());
        assert!(!unsafe { CStr::from_ptr(v) }.to_bytes().is_empty());
    }
    assert_eq!(
        names,
        [
            "content-type",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset"
        ]
    );
    let unset = SENTINEL as *const c_char;
    let (mut n, mut v) = (unset, unset);
    assert_eq!(
        unsafe { opc_response_header_at(r.0, count, &mut n, &mut v) },
        opc_status::OPC_INVALID_ARGUMENT
    );
    assert_eq!(
        last_error(),
        "index 4 is past the last header (the response has 4)"
    );
    assert_eq!((n, v), (unset, unset));

    let r = f.handle("GET", "/api/manage/projects/my-project", &headers, "");
    assert_eq!(r.status(), 200);
    assert_eq!(r.json()["data"]["name"], "My Project");

    let r = f.handle(
        "GET",
        "/manage/projects",
        &[("openpanel-client-id", &id)],
        "",
    );
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.body(),
        r#"{"error":"Unauthorized","message":"Invalid client credentials"}"#
    );

    let r = f.handle("POST", "/manage/projects", &headers, "[1]");
    assert_eq!(r.status(), 400);
    assert_eq!(r.json()["message"], "Invalid request body");
    // A non-UTF-8 body is the request's problem: a 400 response, not a failed call.
    let mut response = ptr::null_mut();
    let (m, t) = (c("POST"), c("/manage/projects"));
    let (n0, n1) = (c(headers[0].0), c(headers[1].0));
    let (v0, v1) = (c(headers[0].1), c(headers[1].1));
    let names = [n0.as_ptr(), n1.as_ptr()];
    let values = [v0.as_ptr(), v1.as_ptr()];
    let status = unsafe {
        opc_handle(
            f.store,
            m.as_ptr(),
            t.as_ptr(),
            names.as_ptr(),
            values.as_ptr(),
            2,
            b"\xff{".as_ptr(),
            2,
            &mut response,
        )
    };
    assert_eq!(status, opc_status::OPC_OK);
    let r = Response(response);
    assert_eq!(r.status(), 400);
}

#[test]
fn handle_refuses_null_and_invalid_utf8_arguments() {
    let f = Fixture::new();
    let (_, id, secret) = f.organization("Acme");
    let (m, t) = (c("GET"), c("/manage/projects"));
    let (n0, n1) = (c("openpanel-client-id"), c("openpanel-client-secret"));
    let (v0, v1) = (c(&id), c(&secret));
    let names = [n0.as_ptr(), n1.as_ptr()];
    let values = [v0.as_ptr(), v1.as_ptr()];
    let with_null_name = [n0.as_ptr(), ptr::null()];
    let with_null_value = [v0.as_ptr(), ptr::null()];
    let with_bad_name = [n0.as_ptr(), bad_utf8()];
    // A secret with one invalid byte: the message must not echo any of it.
    let mut bad_secret = secret.clone().into_bytes();
    bad_secret[10] = 0xff;
    bad_secret.push(0);
    let with_bad_value = [v0.as_ptr(), bad_secret.as_ptr().cast()];

    struct Case<'a> {
        store: *mut opc_store,
        source: *const c_char,
        method: *const c_char,
        target: *const c_char,
        names: *const *const c_char,
        values: *const *const c_char,
        count: usize,
        body: *const u8,
        body_len: usize,
        status: opc_status,
        message: &'a str,
    }
    let ok = Case {
        store: f.store,
        source: ptr::null(),
        method: m.as_ptr(),
        target: t.as_ptr(),
        names: names.as_ptr(),
        values: values.as_ptr(),
        count: 2,
        body: ptr::null(),
        body_len: 0,
        status: opc_status::OPC_OK,
        message: "",
    };
    use opc_status::*;
    let cases = vec![
        Case {
            store: ptr::null_mut(),
            status: OPC_NULL_ARGUMENT,
            message: "store is NULL",
            ..ok
        },
        Case {
            method: ptr::null(),
            status: OPC_NULL_ARGUMENT,
            message: "method is NULL",
            ..ok
        },
        Case {
            method: bad_utf8(),
            status: OPC_INVALID_UTF8,
            message: "method is not valid UTF-8",
            ..ok
        },
        Case {
            target: ptr::null(),
            status: OPC_NULL_ARGUMENT,
            message: "target is NULL",
            ..ok
        },
        Case {
            target: bad_utf8(),
            status: OPC_INVALID_UTF8,
            message: "target is not valid UTF-8",
            ..ok
        },
        Case {
            names: ptr::null(),
            status: OPC_NULL_ARGUMENT,
            message: "header_names is NULL",
            ..ok
        },
        Case {
            values: ptr::null(),
            status: OPC_NULL_ARGUMENT,
            message: "header_values is NULL",
            ..ok
        },
        Case {
            names: with_null_name.as_ptr(),
            status: OPC_NULL_ARGUMENT,
            message: "header_names[1] is NULL",
            ..ok
        },
        Case {
            values: with_null_value.as_ptr(),
            status: OPC_NULL_ARGUMENT,
            message: "header_values[1] is NULL",
            ..ok
        },
        Case {
            names: with_bad_name.as_ptr(),
            status: OPC_INVALID_UTF8,
            message: "header_names[1] is not valid UTF-8",
            ..ok
        },
        Case {
            values: with_bad_value.as_ptr(),
            status: OPC_INVALID_UTF8,
            message: "header_values[1] is not valid UTF-8",
            ..ok
        },
        Case {
            body_len: 3,
            status: OPC_NULL_ARGUMENT,
            message: "body is NULL",
            ..ok
        },
        Case {
            source: bad_utf8(),
            status: OPC_INVALID_UTF8,
            message: "source is not valid UTF-8",
            ..ok
        },
        Case {
            body: b"{}".as_ptr(),
            body_len: usize::MAX,
            status: OPC_INVALID_ARGUMENT,
            message: "the length given for body is too large",
            ..ok
        },
    ];
    for case in cases {
        let mut out: *mut opc_response = sentinel();
        let status = unsafe {
            opc_handle_from(
                case.store,
                case.source,
                case.method,
                case.target,
                case.names,
                case.values,
                case.count,
                case.body,
                case.body_len,
                &mut out,
            )
        };
        assert_eq!(status, case.status, "{}", case.message);
        assert_eq!(last_error(), case.message);
        assert!(!last_error().contains(&secret[4..14]));
        assert_eq!(out, sentinel(), "{}: out_response written", case.message);
    }
    // NULL arrays are fine with no headers (an unauthenticated request: a 401 response).
    let mut out = ptr::null_mut();
    let status = unsafe {
        opc_handle(
            f.store,
            m.as_ptr(),
            t.as_ptr(),
            ptr::null(),
            ptr::null(),
            0,
            ptr::null(),
            0,
            &mut out,
        )
    };
    assert_eq!(status, OPC_OK);
    assert_eq!(Response(out).status(), 401);
    let status = unsafe {
        opc_handle(
            f.store,
            m.as_ptr(),
            t.as_ptr(),
            names.as_ptr(),
            values.as_ptr(),
            2,
            ptr::null(),
            0,
            ptr::null_mut(),
        )
    };
    assert_eq!(status, OPC_NULL_ARGUMENT);
    assert_eq!(last_error(), "out_response is NULL");
}

#[test]
fn response_accessors_accept_null() {
    unsafe {
        assert_eq!(opc_response_status(ptr::null()), 0);
        assert!(opc_response_body(ptr::null()).is_null());
        assert_eq!(last_error(), "opc_response_body: response is NULL");
        assert_eq!(opc_response_body_len(ptr::null()), 0);
        assert!(opc_response_header(ptr::null(), c"content-type".as_ptr()).is_null());
        assert_eq!(opc_response_header_count(ptr::null()), 0);
        let (mut n, mut v) = (ptr::null(), ptr::null());
        assert_eq!(
            opc_response_header_at(ptr::null(), 0, &mut n, &mut v),
            opc_status::OPC_NULL_ARGUMENT
        );
        opc_response_free(ptr::null_mut());
        opc_string_free(ptr::null_mut());
    }
    let f = Fixture::new();
    let r = f.handle("GET", "/manage/nothing", &[], "");
    assert_eq!(r.status(), 404);
    unsafe {
        assert!(opc_response_header(r.0, ptr::null()).is_null());
        assert_eq!(last_error(), "opc_response_header: name is NULL");
        assert!(opc_response_header(r.0, bad_utf8()).is_null());
        assert_eq!(last_error(), "opc_response_header: name is not valid UTF-8");
        let mut v = ptr::null();
        assert_eq!(
            opc_response_header_at(r.0, 0, ptr::null_mut(), &mut v),
            opc_status::OPC_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "out_name is NULL");
        let mut n = ptr::null();
        assert_eq!(
            opc_response_header_at(r.0, 0, &mut n, ptr::null_mut()),
            opc_status::OPC_NULL_ARGUMENT
        );
        assert_eq!(last_error(), "out_value is NULL");
    }
}

#[test]
fn the_last_error_belongs_to_the_calling_thread_and_is_cleared_by_success() {
    let f = Fixture::new();
    assert_eq!(
        unsafe { opc_organization_create(f.store, ptr::null(), ptr::null_mut()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(last_error(), "name is NULL");
    std::thread::spawn(|| assert_eq!(last_error(), ""))
        .join()
        .unwrap();
    assert_eq!(last_error(), "name is NULL");
    f.organization("Acme");
    assert_eq!(last_error(), "");
}

// ---------------------------------------------------------------------------------------------
// opc_authenticate

fn authenticate(
    f: &Fixture,
    family: u32,
    id: Option<&str>,
    secret: Option<&str>,
    origin: Option<&str>,
    project: Option<&str>,
) -> opc_principal {
    let to_c = |s: Option<&str>| s.map(c);
    let (id, secret, origin, project) = (to_c(id), to_c(secret), to_c(origin), to_c(project));
    let p = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
    let mut out = opc_principal::EMPTY;
    let status = unsafe {
        opc_authenticate(
            f.store,
            family,
            p(&id),
            p(&secret),
            p(&origin),
            p(&project),
            c"198.51.100.1".as_ptr(),
            &mut out,
        )
    };
    assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
    out
}

fn text(buffer: &[c_char]) -> String {
    let bytes: Vec<u8> = buffer
        .iter()
        .take_while(|&&b| b != 0)
        .map(|&b| b as u8)
        .collect();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn authenticate_reports_allowed_and_refused_decisions() {
    let f = Fixture::with_options(
        r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},
            "rate_limits":{"export":{"limit":2,"window_seconds":60}}}"#,
    );
    let (org, root_id, root_secret) = f.organization("Acme");
    let project = f
        .create(
            "project",
            &org,
            r#"{"name":"Web","cors":["https://example.com"]}"#,
        )
        .unwrap();
    let write_id = project["client"]["id"].as_str().unwrap();
    let write_secret = project["client"]["secret"].as_str().unwrap();
    let reader = f
        .create(
            "client",
            &org,
            r#"{"name":"Reader","projectId":"web","type":"read"}"#,
        )
        .unwrap();
    let read_id = reader["id"].as_str().unwrap();
    let read_secret = reader["secret"].as_str().unwrap();
    const TRACK: u32 = opc_family::OPC_FAMILY_TRACK as u32;
    const EXPORT: u32 = opc_family::OPC_FAMILY_EXPORT as u32;
    const MANAGE: u32 = opc_family::OPC_FAMILY_MANAGE as u32;

    let p = authenticate(&f, TRACK, Some(write_id), Some(write_secret), None, None);
    assert!(p.allowed);
    assert_eq!(p.http_status, 200);
    assert_eq!(text(&p.message), "");
    assert_eq!(p.client_type, opc_client_type::OPC_CLIENT_WRITE);
    assert_eq!(text(&p.client_id), write_id);
    assert_eq!(text(&p.organization_id), org);
    assert_eq!(text(&p.client_project_id), "web");
    assert_eq!(text(&p.project_id), "web");
    assert!(p.has_rate_limit && !p.has_retry_after);
    assert_eq!((p.rate_limit, p.rate_remaining), (1000, 999));

    // Track without a secret from an allowed origin.
    let p = authenticate(
        &f,
        TRACK,
        Some(write_id),
        None,
        Some("https://example.com"),
        None,
    );
    assert!(p.allowed, "{}", text(&p.message));
    let p = authenticate(
        &f,
        TRACK,
        Some(write_id),
        None,
        Some("https://evil.com"),
        None,
    );
    assert!(!p.allowed);
    assert_eq!(
        (p.http_status, text(&p.message).as_str()),
        (401, "Invalid client credentials")
    );

    let p = authenticate(
        &f,
        MANAGE,
        Some(&root_id),
        Some(&root_secret),
        None,
        Some("web"),
    );
    assert!(p.allowed);
    assert_eq!(p.client_type, opc_client_type::OPC_CLIENT_ROOT);
    assert_eq!(text(&p.client_project_id), "");
    assert_eq!(text(&p.project_id), "web");

    // (family, client id, secret, project, HTTP status, message)
    type Refusal<'a> = (
        u32,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        u16,
        &'a str,
    );
    let refusals: Vec<Refusal> = vec![
        (TRACK, None, None, None, 401, "Invalid client credentials"),
        (
            TRACK,
            Some("not-a-uuid"),
            Some(write_secret),
            None,
            401,
            "Malformed client ID (must be a valid UUIDv4)",
        ),
        (
            TRACK,
            Some(write_id),
            Some("sec_00000000000000000000000000000000"),
            None,
            401,
            "Invalid client credentials",
        ),
        (
            TRACK,
            Some("6f1d2b5e-8f3a-4c1e-9b7d-2a4c6e8f0a1b"),
            Some(write_secret),
            None,
            401,
            "Invalid client credentials",
        ),
        (
            EXPORT,
            Some(write_id),
            Some(write_secret),
            None,
            401,
            "Export: Client is not allowed to export",
        ),
        (
            MANAGE,
            Some(read_id),
            Some(read_secret),
            None,
            401,
            "Manage: Only root clients are allowed to manage resources",
        ),
        (
            EXPORT,
            Some(read_id),
            Some(read_secret),
            Some("other"),
            403,
            "You do not have access to this project",
        ),
    ];
    for (family, id, secret, project, status, message) in refusals {
        let p = authenticate(&f, family, id, secret, None, project);
        assert!(!p.allowed, "{message}");
        assert_eq!(p.http_status, status, "{message}");
        assert_eq!(text(&p.message), message);
        assert_eq!(p.client_type, opc_client_type::OPC_CLIENT_NONE);
        assert_eq!(text(&p.client_id), "");
        assert!(!p.has_rate_limit && !p.has_retry_after, "{message}");
    }

    // The export limit is 2 per 60 s: the third request is a 429 with the headers' values.
    for remaining in [1, 0] {
        let p = authenticate(&f, EXPORT, Some(read_id), Some(read_secret), None, None);
        assert!(p.allowed);
        assert_eq!((p.rate_limit, p.rate_remaining), (2, remaining));
    }
    let p = authenticate(&f, EXPORT, Some(read_id), Some(read_secret), None, None);
    assert!(!p.allowed);
    assert_eq!(
        (p.http_status, text(&p.message).as_str()),
        (429, "Rate limit exceeded")
    );
    assert!(p.has_rate_limit && p.has_retry_after);
    assert_eq!((p.rate_limit, p.rate_remaining), (2, 0));
    // Within one window plus one of the limiter's 20 buckets.
    assert!(
        (1..=63).contains(&p.retry_after_seconds),
        "{}",
        p.retry_after_seconds
    );
    assert!(
        (1..=63).contains(&p.rate_reset_seconds),
        "{}",
        p.rate_reset_seconds
    );
}

#[test]
fn authenticate_throttles_failures_and_never_echoes_a_secret() {
    let f = Fixture::new();
    let (_, root_id, root_secret) = f.organization("Acme");
    const MANAGE: u32 = opc_family::OPC_FAMILY_MANAGE as u32;
    let wrong = "sec_0123456789abcdef0123456789abcdef";
    for _ in 0..10 {
        let p = authenticate(&f, MANAGE, Some(&root_id), Some(wrong), None, None);
        assert_eq!(p.http_status, 401);
        assert_eq!(last_error(), "");
    }
    // After 10 failures within a minute wrong secrets for the id are refused as throttled...
    let p = authenticate(&f, MANAGE, Some(&root_id), Some(wrong), None, None);
    assert_eq!(p.http_status, 429);
    assert_eq!(text(&p.message), "Rate limit exceeded");
    assert!(p.has_retry_after && p.retry_after_seconds >= 1 && !p.has_rate_limit);
    for buffer in [&p.message[..], &p.client_id[..]] {
        assert!(!text(buffer).contains("0123456789abcdef"));
    }
    // ...but the throttle never refuses the right secret (docs/security.md).
    let p = authenticate(&f, MANAGE, Some(&root_id), Some(&root_secret), None, None);
    assert_eq!(p.http_status, 200);
}

#[test]
fn authenticate_refuses_bad_arguments_without_writing_the_principal() {
    let f = Fixture::new();
    let (_, root_id, root_secret) = f.organization("Acme");
    let (id, secret) = (c(&root_id), c(&root_secret));
    let mut bad_secret = root_secret.clone().into_bytes();
    bad_secret[20] = 0xc3; // a lone UTF-8 lead byte
    bad_secret.push(0);
    let manage = opc_family::OPC_FAMILY_MANAGE as u32;
    type Args = (*mut opc_store, u32, [*const c_char; 5]);
    let good: [*const c_char; 5] = [
        id.as_ptr(),
        secret.as_ptr(),
        ptr::null(),
        ptr::null(),
        ptr::null(),
    ];
    let with = |i: usize, p: *const c_char| {
        let mut a = good;
        a[i] = p;
        a
    };
    let cases: Vec<(Args, opc_status, &str)> = vec![
        (
            (ptr::null_mut(), manage, good),
            opc_status::OPC_NULL_ARGUMENT,
            "store is NULL",
        ),
        (
            (f.store, 4, good),
            opc_status::OPC_INVALID_ARGUMENT,
            "family 4 is not an opc_family",
        ),
        (
            (f.store, u32::MAX, good),
            opc_status::OPC_INVALID_ARGUMENT,
            "is not an opc_family",
        ),
        (
            (f.store, manage, with(0, bad_utf8())),
            opc_status::OPC_INVALID_UTF8,
            "client_id is not valid UTF-8",
        ),
        (
            (f.store, manage, with(1, bad_secret.as_ptr().cast())),
            opc_status::OPC_INVALID_UTF8,
            "client_secret is not valid UTF-8",
        ),
        (
            (f.store, manage, with(2, bad_utf8())),
            opc_status::OPC_INVALID_UTF8,
            "origin is not valid UTF-8",
        ),
        (
            (f.store, manage, with(3, bad_utf8())),
            opc_status::OPC_INVALID_UTF8,
            "project_id is not valid UTF-8",
        ),
        (
            (f.store, manage, with(4, bad_utf8())),
            opc_status::OPC_INVALID_UTF8,
            "source is not valid UTF-8",
        ),
    ];
    for ((store, family, a), status, message) in cases {
        let mut out = opc_principal::EMPTY;
        out.http_status = 777;
        let got =
            unsafe { opc_authenticate(store, family, a[0], a[1], a[2], a[3], a[4], &mut out) };
        assert_eq!(got, status, "{message}");
        assert!(last_error().contains(message), "{}", last_error());
        assert!(!last_error().contains(&root_secret[4..]));
        assert_eq!(out.http_status, 777, "{message}: principal written");
    }
    let got = unsafe {
        opc_authenticate(
            f.store,
            manage,
            good[0],
            good[1],
            good[2],
            good[3],
            good[4],
            ptr::null_mut(),
        )
    };
    assert_eq!(got, opc_status::OPC_NULL_ARGUMENT);
    assert_eq!(last_error(), "out_principal is NULL");
}

// ---------------------------------------------------------------------------------------------
// opc_authorize, opc_token_verify

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "https://app.example.com/cb";

/// `opc_authorize` with every argument given as text (None: NULL).
fn authorize(f: &Fixture, args: [Option<&str>; 7]) -> Result<String, (opc_status, String)> {
    let owned: Vec<Option<CString>> = args.iter().map(|a| a.map(c)).collect();
    let p = |i: usize| owned[i].as_ref().map_or(ptr::null(), |s| s.as_ptr());
    let mut out = sentinel();
    let status =
        unsafe { opc_authorize(f.store, p(0), p(1), p(2), p(3), p(4), p(5), p(6), &mut out) };
    if status == opc_status::OPC_OK {
        Ok(take(out))
    } else {
        assert_eq!(out, sentinel(), "out_redirect_url written on failure");
        Err((status, last_error()))
    }
}

fn verify(f: &Fixture, token: Option<&str>) -> opc_token_info {
    let token = token.map(c);
    let mut out = opc_token_info::EMPTY;
    let status = unsafe {
        opc_token_verify(
            f.store,
            token.as_ref().map_or(ptr::null(), |t| t.as_ptr()),
            &mut out,
        )
    };
    assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
    out
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[test]
fn authorize_and_token_verify_through_c() {
    let f = Fixture::new();
    let (org, root_id, root_secret) = f.organization("Acme");
    let app = f
        .create(
            "client",
            &org,
            &format!(r#"{{"name":"App","type":"root","redirectUris":["{REDIRECT}"]}}"#),
        )
        .unwrap();
    assert_eq!(app["redirectUris"], serde_json::json!([REDIRECT]));
    let app_id = app["id"].as_str().unwrap().to_owned();
    let app_secret = app["secret"].as_str().unwrap().to_owned();
    let args = |redirect: &str, method: &str, subject: &str| {
        [
            Some(app_id.clone()),
            Some(redirect.to_owned()),
            Some("manage track".to_owned()),
            Some(CHALLENGE.to_owned()),
            Some(method.to_owned()),
            Some("st 1".to_owned()),
            Some(subject.to_owned()),
        ]
    };
    let call = |a: &[Option<String>; 7]| {
        let a: [Option<&str>; 7] = std::array::from_fn(|i| a[i].as_deref());
        authorize(&f, a)
    };

    let url = call(&args(REDIRECT, "S256", "user-42")).unwrap();
    let (base, query) = url.split_once('?').unwrap();
    assert_eq!(base, REDIRECT);
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(params[0].0, "code");
    assert_eq!(params[1], ("state".into(), "st 1".into()));
    let r = f.handle(
        "POST",
        "/oauth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form(&[
            ("grant_type", "authorization_code"),
            ("code", &params[0].1),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &app_id),
            ("client_secret", &app_secret),
        ]),
    );
    assert_eq!(r.status(), 200, "{}", r.body());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let access = r.json()["access_token"].as_str().unwrap().to_owned();

    let info = verify(&f, Some(&format!(" {access} ")));
    assert!(info.active);
    assert_eq!(info.http_status, 200);
    assert_eq!(text(&info.error), "");
    assert_eq!(info.client_type, opc_client_type::OPC_CLIENT_ROOT);
    assert_eq!(text(&info.client_id), app_id);
    assert_eq!(text(&info.organization_id), org);
    assert_eq!(text(&info.client_project_id), "");
    assert_eq!(text(&info.scope), "track manage");
    assert_eq!(text(&info.subject), "user-42");
    assert_eq!(info.expires_at - info.issued_at, 3600);
    let r = f.handle(
        "GET",
        "/manage/projects",
        &[("authorization", &format!("Bearer {access}"))],
        "",
    );
    assert_eq!(r.status(), 200, "{}", r.body());

    // Inactive tokens: the seed's error codes and messages.
    let cc = f.handle(
        "POST",
        "/oauth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &root_id),
            ("client_secret", &root_secret),
        ]),
    );
    let revoked = cc.json()["access_token"].as_str().unwrap().to_owned();
    let r = f.handle(
        "POST",
        "/oauth/revoke",
        &[("content-type", "application/x-www-form-urlencoded")],
        &form(&[
            ("token", &revoked),
            ("client_id", &root_id),
            ("client_secret", &root_secret),
        ]),
    );
    assert_eq!(r.status(), 200);
    let cases = [
        (
            None,
            "missing_api_key",
            "No API key provided in the Authorization header.",
        ),
        (
            Some(""),
            "missing_api_key",
            "No API key provided in the Authorization header.",
        ),
        (
            Some("opat_nope"),
            "invalid_api_key",
            "The API key provided is invalid.",
        ),
        (
            Some(revoked.as_str()),
            "invalid_api_key",
            "The API key provided is invalid.",
        ),
        (
            Some(root_secret.as_str()),
            "invalid_api_key",
            "The API key provided is invalid.",
        ),
    ];
    for (token, error, message) in cases {
        let info = verify(&f, token);
        assert!(!info.active, "{token:?}");
        assert_eq!(info.http_status, 401);
        assert_eq!(
            (text(&info.error), text(&info.message)),
            (error.into(), message.into())
        );
        assert_eq!(info.client_type, opc_client_type::OPC_CLIENT_NONE);
        assert_eq!(text(&info.client_id), "");
    }

    // The app learns of its own mistakes by redirect; a mismatch is never redirected to.
    assert_eq!(
        call(&args(REDIRECT, "plain", "user-42")).unwrap(),
        format!(
            "{REDIRECT}?error=invalid_request&error_description=code_challenge_method+must+be+S256\
             &state=st+1"
        )
    );
    let refusals = [
        (
            args(&format!("{REDIRECT}/"), "S256", "user-42"),
            opc_status::OPC_INVALID_INPUT,
            "redirect_uri is not registered for this client",
        ),
        (
            args(REDIRECT, "S256", " "),
            opc_status::OPC_INVALID_INPUT,
            "subject must be 1 to 255 characters",
        ),
    ];
    for (a, status, message) in refusals {
        assert_eq!(call(&a).unwrap_err(), (status, message.to_owned()));
    }
    let mut unknown = args(REDIRECT, "S256", "user-42");
    unknown[0] = Some("00000000-0000-4000-8000-000000000000".into());
    assert_eq!(call(&unknown).unwrap_err().0, opc_status::OPC_NOT_FOUND);

    // NULL for each required argument, invalid UTF-8 for each argument.
    let names = [
        "client_id",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "state",
        "subject",
    ];
    let good: Vec<CString> = args(REDIRECT, "S256", "user-42")
        .iter()
        .map(|a| c(a.as_deref().unwrap()))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let optional = *name == "scope" || *name == "state";
        for (value, status, message) in [
            (
                ptr::null(),
                opc_status::OPC_NULL_ARGUMENT,
                format!("{name} is NULL"),
            ),
            (
                bad_utf8(),
                opc_status::OPC_INVALID_UTF8,
                format!("{name} is not valid UTF-8"),
            ),
        ] {
            if optional && value.is_null() {
                continue;
            }
            let mut p: Vec<*const c_char> = good.iter().map(|s| s.as_ptr()).collect();
            p[i] = value;
            let mut out = sentinel();
            let got = unsafe {
                opc_authorize(f.store, p[0], p[1], p[2], p[3], p[4], p[5], p[6], &mut out)
            };
            assert_eq!((got, last_error()), (status, message));
            assert_eq!(out, sentinel());
        }
    }
    let p: Vec<*const c_char> = good.iter().map(|s| s.as_ptr()).collect();
    let got = unsafe {
        opc_authorize(
            ptr::null_mut(),
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            p[6],
            &mut sentinel(),
        )
    };
    assert_eq!(
        (got, last_error()),
        (opc_status::OPC_NULL_ARGUMENT, "store is NULL".into())
    );
    let got = unsafe {
        opc_authorize(
            f.store,
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            p[6],
            ptr::null_mut(),
        )
    };
    assert_eq!(
        (got, last_error()),
        (
            opc_status::OPC_NULL_ARGUMENT,
            "out_redirect_url is NULL".into()
        )
    );

    let token = c(&access);
    let mut out = opc_token_info::EMPTY;
    out.http_status = 777;
    for (store, token, status, message) in [
        (
            ptr::null_mut(),
            token.as_ptr(),
            opc_status::OPC_NULL_ARGUMENT,
            "store is NULL",
        ),
        (
            f.store,
            bad_utf8(),
            opc_status::OPC_INVALID_UTF8,
            "token is not valid UTF-8",
        ),
    ] {
        let got = unsafe { opc_token_verify(store, token, &mut out) };
        assert_eq!((got, last_error()), (status, message.to_owned()));
        assert_eq!(out.http_status, 777, "written on failure");
    }
    let got = unsafe { opc_token_verify(f.store, token.as_ptr(), ptr::null_mut()) };
    assert_eq!(
        (got, last_error()),
        (opc_status::OPC_NULL_ARGUMENT, "out_info is NULL".into())
    );
    assert!(!last_error().contains(&access[5..]));
}

// ---------------------------------------------------------------------------------------------
// Resources

type JsonCall = unsafe extern "C" fn(
    *mut opc_store,
    *const c_char,
    *const c_char,
    *mut *mut c_char,
) -> opc_status;

/// Every pointer argument of a `(store, a, b, out_json)` entry point: NULL, then invalid
/// UTF-8 (for `b` unless it is optional), and the out-parameter is never written.
fn check_arguments(f: &Fixture, call: JsonCall, a: (&str, &str), b: (&str, &str, bool)) {
    let (a_name, a_value) = a;
    let (b_name, b_value, b_optional) = b;
    let (av, bv) = (c(a_value), c(b_value));
    let mut cases: Vec<(
        *mut opc_store,
        *const c_char,
        *const c_char,
        opc_status,
        String,
    )> = vec![
        (
            ptr::null_mut(),
            av.as_ptr(),
            bv.as_ptr(),
            opc_status::OPC_NULL_ARGUMENT,
            "store is NULL".into(),
        ),
        (
            f.store,
            ptr::null(),
            bv.as_ptr(),
            opc_status::OPC_NULL_ARGUMENT,
            format!("{a_name} is NULL"),
        ),
        (
            f.store,
            bad_utf8(),
            bv.as_ptr(),
            opc_status::OPC_INVALID_UTF8,
            format!("{a_name} is not valid UTF-8"),
        ),
        (
            f.store,
            av.as_ptr(),
            bad_utf8(),
            opc_status::OPC_INVALID_UTF8,
            format!("{b_name} is not valid UTF-8"),
        ),
    ];
    if !b_optional {
        cases.push((
            f.store,
            av.as_ptr(),
            ptr::null(),
            opc_status::OPC_NULL_ARGUMENT,
            format!("{b_name} is NULL"),
        ));
    }
    for (store, a, b, status, message) in cases {
        let mut out: *mut c_char = sentinel();
        assert_eq!(unsafe { call(store, a, b, &mut out) }, status, "{message}");
        assert_eq!(last_error(), message);
        assert_eq!(out, sentinel(), "{message}: out_json written");
    }
    assert_eq!(
        unsafe { call(f.store, av.as_ptr(), bv.as_ptr(), ptr::null_mut()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(last_error(), "out_json is NULL");
}

#[test]
fn projects_through_c() {
    let f = Fixture::with_options(
        r#"{"argon2":{"m_cost":8,"t_cost":1,"p_cost":1},"deletion_grace_seconds":0}"#,
    );
    let (org, _, _) = f.organization("Acme");
    let created = f
        .create(
            "project",
            &org,
            r#"{"name":"My Project","domain":"HTTPS://Example.com/","types":["app","app"]}"#,
        )
        .unwrap();
    assert_eq!(created["id"], "my-project");
    // Stored as sent, trailing slashes removed; duplicate types removed.
    assert_eq!(created["domain"], "HTTPS://Example.com");
    assert_eq!(created["types"], serde_json::json!(["app"]));
    assert_eq!(created["client"]["secret"].as_str().unwrap().len(), 36);

    let err = f
        .create(
            "project",
            &org,
            r#"{"name":"","cors":["http://"],"types":["tv"]}"#,
        )
        .unwrap_err();
    assert_eq!(err.0, opc_status::OPC_INVALID_INPUT);
    for field in ["name", "cors[0]", "types[0]"] {
        assert!(err.1.contains(field), "{field} not named in {:?}", err.1);
    }
    let err = f.create("project", &org, "[]").unwrap_err();
    assert_eq!(
        err,
        (
            opc_status::OPC_INVALID_INPUT,
            "invalid input: Expected object, received array".into()
        )
    );
    let err = f.create("project", &org, r#"{"name":5}"#).unwrap_err();
    assert_eq!(
        err,
        (
            opc_status::OPC_INVALID_INPUT,
            "invalid input: name: Expected string, received number".into()
        )
    );
    let err = f
        .create("project", "no-such-org", r#"{"name":"X"}"#)
        .unwrap_err();
    assert_eq!(
        err,
        (opc_status::OPC_NOT_FOUND, "Organization not found".into())
    );
    check_arguments(
        &f,
        opc_project_create,
        ("organization_id", &org),
        ("json", r#"{"name":"N"}"#, false),
    );
    check_arguments(
        &f,
        opc_project_get,
        ("organization_id", &org),
        ("project_id", "my-project", false),
    );

    let (o, id) = (c(&org), c("my-project"));
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_project_list(f.store, o.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    let list = json(out);
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "a refused call created a project: {list}"
    );
    assert!(!list.to_string().contains("sec_"));
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe { opc_project_list(ptr::null_mut(), o.as_ptr(), &mut out) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { opc_project_list(f.store, ptr::null(), &mut out) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { opc_project_list(f.store, bad_utf8(), &mut out) },
        opc_status::OPC_INVALID_UTF8
    );
    assert_eq!(
        unsafe { opc_project_list(f.store, o.as_ptr(), ptr::null_mut()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(out, sentinel());

    let patch = c(r#"{"name":"Renamed","crossDomain":true}"#);
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_project_update(f.store, o.as_ptr(), id.as_ptr(), patch.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    let updated = json(out);
    assert_eq!(
        (updated["id"].as_str(), updated["name"].as_str()),
        (Some("my-project"), Some("Renamed"))
    );
    assert_eq!(updated["crossDomain"], true);
    let bad = c(r#"{"domain":"ftp://x"}"#);
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe { opc_project_update(f.store, o.as_ptr(), id.as_ptr(), bad.as_ptr(), &mut out) },
        opc_status::OPC_INVALID_INPUT
    );
    assert!(
        last_error().starts_with("invalid input: domain"),
        "{}",
        last_error()
    );
    for (args, message) in [
        (
            (ptr::null_mut(), o.as_ptr(), id.as_ptr(), patch.as_ptr()),
            "store is NULL",
        ),
        (
            (f.store, ptr::null(), id.as_ptr(), patch.as_ptr()),
            "organization_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), ptr::null(), patch.as_ptr()),
            "project_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), id.as_ptr(), ptr::null()),
            "json is NULL",
        ),
        (
            (f.store, bad_utf8(), id.as_ptr(), patch.as_ptr()),
            "organization_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), bad_utf8(), patch.as_ptr()),
            "project_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), id.as_ptr(), bad_utf8()),
            "json is not valid UTF-8",
        ),
    ] {
        unsafe { opc_project_update(args.0, args.1, args.2, args.3, &mut out) };
        assert_eq!(last_error(), message);
        assert_eq!(out, sentinel());
    }

    let mut count = -1i64;
    assert_eq!(
        unsafe { opc_project_events_increment(f.store, o.as_ptr(), id.as_ptr(), 5, &mut count) },
        opc_status::OPC_OK
    );
    assert_eq!(count, 5);
    unsafe { opc_project_events_increment(f.store, o.as_ptr(), id.as_ptr(), 2, &mut count) };
    assert_eq!(count, 7);
    let mut count = -1i64;
    let other = c("other");
    assert_eq!(
        unsafe { opc_project_events_increment(f.store, o.as_ptr(), other.as_ptr(), 1, &mut count) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(last_error(), "Project not found");
    assert_eq!(
        unsafe {
            opc_project_events_increment(f.store, o.as_ptr(), id.as_ptr(), 1, ptr::null_mut())
        },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { opc_project_events_increment(f.store, bad_utf8(), id.as_ptr(), 1, &mut count) },
        opc_status::OPC_INVALID_UTF8
    );
    assert_eq!(
        unsafe { opc_project_events_increment(f.store, o.as_ptr(), bad_utf8(), 1, &mut count) },
        opc_status::OPC_INVALID_UTF8
    );
    assert_eq!(count, -1);

    // Grace 0: a deleted project is gone at once and purged.
    assert_eq!(
        unsafe { opc_project_delete(f.store, o.as_ptr(), id.as_ptr()) },
        opc_status::OPC_OK
    );
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe { opc_project_get(f.store, o.as_ptr(), id.as_ptr(), &mut out) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(
        unsafe { opc_project_delete(f.store, o.as_ptr(), id.as_ptr()) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(
        unsafe { opc_project_delete(f.store, o.as_ptr(), bad_utf8()) },
        opc_status::OPC_INVALID_UTF8
    );
    assert_eq!(
        unsafe { opc_project_delete(f.store, ptr::null(), id.as_ptr()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    let mut purged = 99usize;
    assert_eq!(
        unsafe { opc_purge(f.store, &mut purged) },
        opc_status::OPC_OK
    );
    assert_eq!(purged, 1);
    assert_eq!(
        unsafe { opc_purge(f.store, &mut purged) },
        opc_status::OPC_OK
    );
    assert_eq!(purged, 0);
    assert_eq!(
        unsafe { opc_purge(f.store, ptr::null_mut()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { opc_purge(ptr::null_mut(), &mut purged) },
        opc_status::OPC_NULL_ARGUMENT
    );
}

#[test]
fn clients_through_c() {
    let f = Fixture::new();
    let (org, root_id, _) = f.organization("Acme");
    f.create("project", &org, r#"{"name":"Web"}"#).unwrap();
    let created = f
        .create(
            "client",
            &org,
            r#"{"name":"Kiosk","projectId":"web","ignoreCorsAndSecret":true}"#,
        )
        .unwrap();
    assert_eq!(created["type"], "write");
    assert_eq!(created["ignoreCorsAndSecret"], true);
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();

    // The flag works: Track without secret or origin.
    let p = authenticate(
        &f,
        opc_family::OPC_FAMILY_TRACK as u32,
        Some(&id),
        None,
        None,
        None,
    );
    assert!(p.allowed);

    let err = f
        .create(
            "client",
            &org,
            r#"{"name":"","type":"admin","ignoreCorsAndSecret":"yes"}"#,
        )
        .unwrap_err();
    assert_eq!(err.0, opc_status::OPC_INVALID_INPUT);
    for field in [
        "name",
        "type",
        "ignoreCorsAndSecret: Expected boolean, received string",
    ] {
        assert!(err.1.contains(field), "{field} not in {:?}", err.1);
    }
    let err = f
        .create("client", &org, r#"{"name":"X","projectId":"elsewhere"}"#)
        .unwrap_err();
    assert_eq!(err.0, opc_status::OPC_INVALID_INPUT);
    assert!(err.1.contains("projectId"), "{}", err.1);
    check_arguments(
        &f,
        opc_client_create,
        ("organization_id", &org),
        ("json", r#"{"name":"N"}"#, false),
    );
    check_arguments(
        &f,
        opc_client_get,
        ("organization_id", &org),
        ("client_id", &id, false),
    );
    check_arguments(
        &f,
        opc_client_list,
        ("organization_id", &org),
        ("project_id", "web", true),
    );

    let (o, i) = (c(&org), c(&id));
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_client_get(f.store, o.as_ptr(), i.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    let got = take(out);
    assert!(
        got.contains("\"name\":\"Kiosk\"") && !got.contains(&secret),
        "{got}"
    );

    for (filter, expected) in [(Some("web"), 2), (None, 3), (Some(""), 3)] {
        let filter = filter.map(c);
        let mut out = ptr::null_mut();
        let fp = filter.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        assert_eq!(
            unsafe { opc_client_list(f.store, o.as_ptr(), fp, &mut out) },
            opc_status::OPC_OK
        );
        let list = take(out);
        assert_eq!(
            serde_json::from_str::<Value>(&list)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            expected
        );
        assert!(!list.contains("sec_"), "a list shows a secret");
    }
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe { opc_client_list(f.store, o.as_ptr(), c"gone".as_ptr(), &mut out) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(out, sentinel());

    let patch =
        c(r#"{"name":"Kiosk 2","type":"write","projectId":"web","ignoreCorsAndSecret":false}"#);
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_client_update(f.store, o.as_ptr(), i.as_ptr(), patch.as_ptr(), &mut out) },
        opc_status::OPC_OK,
        "{}",
        last_error()
    );
    let updated = json(out);
    assert_eq!(updated["name"], "Kiosk 2");
    assert_eq!(updated["ignoreCorsAndSecret"], false);
    let change_type = c(r#"{"type":"root"}"#);
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe {
            opc_client_update(
                f.store,
                o.as_ptr(),
                i.as_ptr(),
                change_type.as_ptr(),
                &mut out,
            )
        },
        opc_status::OPC_INVALID_INPUT
    );
    assert!(last_error().contains("delete the client and create a new one"));
    for (args, message) in [
        (
            (ptr::null_mut(), o.as_ptr(), i.as_ptr(), patch.as_ptr()),
            "store is NULL",
        ),
        (
            (f.store, ptr::null(), i.as_ptr(), patch.as_ptr()),
            "organization_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), ptr::null(), patch.as_ptr()),
            "client_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), i.as_ptr(), ptr::null()),
            "json is NULL",
        ),
        (
            (f.store, bad_utf8(), i.as_ptr(), patch.as_ptr()),
            "organization_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), bad_utf8(), patch.as_ptr()),
            "client_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), i.as_ptr(), bad_utf8()),
            "json is not valid UTF-8",
        ),
    ] {
        unsafe { opc_client_update(args.0, args.1, args.2, args.3, &mut out) };
        assert_eq!(last_error(), message);
        assert_eq!(out, sentinel());
    }

    // Deleting ends access at once; the last root client cannot be deleted.
    assert_eq!(
        unsafe { opc_client_delete(f.store, o.as_ptr(), i.as_ptr()) },
        opc_status::OPC_OK
    );
    let p = authenticate(
        &f,
        opc_family::OPC_FAMILY_TRACK as u32,
        Some(&id),
        Some(&secret),
        None,
        None,
    );
    assert_eq!(p.http_status, 401);
    assert_eq!(
        unsafe { opc_client_delete(f.store, o.as_ptr(), i.as_ptr()) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(last_error(), "Client not found");
    let root = c(&root_id);
    assert_eq!(
        unsafe { opc_client_delete(f.store, o.as_ptr(), root.as_ptr()) },
        opc_status::OPC_CONFLICT
    );
    assert_eq!(
        last_error(),
        "Cannot delete the last root client of the organization"
    );
    assert_eq!(
        unsafe { opc_client_delete(ptr::null_mut(), o.as_ptr(), root.as_ptr()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { opc_client_delete(f.store, bad_utf8(), root.as_ptr()) },
        opc_status::OPC_INVALID_UTF8
    );
    assert_eq!(
        unsafe { opc_client_delete(f.store, o.as_ptr(), ptr::null()) },
        opc_status::OPC_NULL_ARGUMENT
    );
}

#[test]
fn references_through_c() {
    let f = Fixture::new();
    let (org, _, _) = f.organization("Acme");
    f.create("project", &org, r#"{"name":"Web"}"#).unwrap();
    let created = f
        .create(
            "reference",
            &org,
            r#"{"projectId":"web","title":" Launch ","datetime":"2024-01-15"}"#,
        )
        .unwrap();
    assert_eq!(created["title"], " Launch ", "titles are stored as sent");
    assert_eq!(created["date"], "2024-01-15T00:00:00.000Z");
    assert_eq!(created["description"], Value::Null);
    let id = created["id"].as_str().unwrap().to_owned();

    let err = f
        .create(
            "reference",
            &org,
            r#"{"projectId":"web","title":"T","datetime":"yesterday"}"#,
        )
        .unwrap_err();
    assert_eq!(err.0, opc_status::OPC_INVALID_INPUT);
    assert!(err.1.contains("datetime"), "{}", err.1);
    let err = f.create("reference", &org, r#"{"title":"T"}"#).unwrap_err();
    assert_eq!(
        err,
        (
            opc_status::OPC_INVALID_INPUT,
            "invalid input: projectId: Required".into()
        )
    );
    check_arguments(
        &f,
        opc_reference_create,
        ("organization_id", &org),
        ("json", r#"{"projectId":"web","title":"N"}"#, false),
    );
    check_arguments(
        &f,
        opc_reference_get,
        ("organization_id", &org),
        ("reference_id", &id, false),
    );
    check_arguments(
        &f,
        opc_reference_list,
        ("organization_id", &org),
        ("project_id", "web", true),
    );

    let (o, i) = (c(&org), c(&id));
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_reference_list(f.store, o.as_ptr(), ptr::null(), &mut out) },
        opc_status::OPC_OK
    );
    assert_eq!(
        json(out).as_array().unwrap().len(),
        1,
        "a refused call created a reference"
    );

    let patch = c(r#"{"description":"Big day"}"#);
    let mut out = ptr::null_mut();
    assert_eq!(
        unsafe { opc_reference_update(f.store, o.as_ptr(), i.as_ptr(), patch.as_ptr(), &mut out) },
        opc_status::OPC_OK
    );
    assert_eq!(json(out)["description"], "Big day");
    let mut out: *mut c_char = sentinel();
    for (args, message) in [
        (
            (ptr::null_mut(), o.as_ptr(), i.as_ptr(), patch.as_ptr()),
            "store is NULL",
        ),
        (
            (f.store, ptr::null(), i.as_ptr(), patch.as_ptr()),
            "organization_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), ptr::null(), patch.as_ptr()),
            "reference_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), i.as_ptr(), ptr::null()),
            "json is NULL",
        ),
        (
            (f.store, bad_utf8(), i.as_ptr(), patch.as_ptr()),
            "organization_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), bad_utf8(), patch.as_ptr()),
            "reference_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), i.as_ptr(), bad_utf8()),
            "json is not valid UTF-8",
        ),
        (
            (
                f.store,
                o.as_ptr(),
                i.as_ptr(),
                c"{\"title\":\"\"}".as_ptr(),
            ),
            "invalid input: title: String must contain at least 1 character(s)",
        ),
    ] {
        unsafe { opc_reference_update(args.0, args.1, args.2, args.3, &mut out) };
        assert_eq!(last_error(), message);
        assert_eq!(out, sentinel());
    }

    // Another organization sees nothing: the same answer as a missing id.
    let (other, _, _) = f.organization("Other");
    let other = c(&other);
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe { opc_reference_get(f.store, other.as_ptr(), i.as_ptr(), &mut out) },
        opc_status::OPC_NOT_FOUND
    );
    let cross = last_error();
    let unknown = c("6f1d2b5e-8f3a-4c1e-9b7d-2a4c6e8f0a1b");
    assert_eq!(
        unsafe { opc_reference_get(f.store, o.as_ptr(), unknown.as_ptr(), &mut out) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(last_error(), cross);
    assert_eq!(cross, "Reference not found");

    assert_eq!(
        unsafe { opc_reference_delete(f.store, o.as_ptr(), i.as_ptr()) },
        opc_status::OPC_OK
    );
    assert_eq!(
        unsafe { opc_reference_delete(f.store, o.as_ptr(), i.as_ptr()) },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(
        unsafe { opc_reference_delete(ptr::null_mut(), o.as_ptr(), i.as_ptr()) },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert_eq!(
        unsafe { opc_reference_delete(f.store, o.as_ptr(), bad_utf8()) },
        opc_status::OPC_INVALID_UTF8
    );
    assert_eq!(
        unsafe { opc_reference_delete(f.store, ptr::null(), i.as_ptr()) },
        opc_status::OPC_NULL_ARGUMENT
    );
}

#[test]
fn one_store_serves_many_threads() {
    let f = Fixture::new();
    let (org, root_id, root_secret) = f.organization("Acme");
    let store = f.store as usize;
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let (org, root_id, root_secret) = (org.clone(), root_id.clone(), root_secret.clone());
            std::thread::spawn(move || {
                let store = store as *mut opc_store;
                let (o, body) = (c(&org), c(r#"{"name":"Same"}"#));
                let mut ids = Vec::new();
                for _ in 0..3 {
                    let mut out = ptr::null_mut();
                    assert_eq!(
                        unsafe { opc_project_create(store, o.as_ptr(), body.as_ptr(), &mut out) },
                        opc_status::OPC_OK
                    );
                    ids.push(json(out)["id"].as_str().unwrap().to_owned());
                    let mut p = opc_principal::EMPTY;
                    let (i, s) = (c(&root_id), c(&root_secret));
                    let status = unsafe {
                        opc_authenticate(
                            store,
                            0,
                            i.as_ptr(),
                            s.as_ptr(),
                            ptr::null(),
                            ptr::null(),
                            ptr::null(),
                            &mut p,
                        )
                    };
                    assert_eq!(status, opc_status::OPC_OK);
                    assert!(p.allowed, "thread {t}: {}", text(&p.message));
                }
                ids
            })
        })
        .collect();
    let mut all: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 24, "duplicate ids: {all:?}");
}

#[cfg(feature = "test-panic")]
#[test]
fn a_panic_comes_back_as_opc_panic() {
    assert_eq!(opc_test_panic(), opc_status::OPC_PANIC);
    assert_eq!(
        last_error(),
        "opc_test_panic: internal error (a panic was caught at the C boundary); please report it"
    );
    // The library keeps working afterwards.
    let f = Fixture::new();
    f.organization("After");
}

// ---------------------------------------------------------------------------------------------
// Per-call failure details (the _ex variants) and fork awareness

/// Takes an `out_error` result: None for NULL, else the text (freed).
fn take_error(p: *mut c_char) -> Option<String> {
    (!p.is_null()).then(|| take(p))
}

#[test]
fn a_call_on_another_thread_hands_its_own_detail_back() {
    let fx = Fixture::new();
    let (org, _, _) = fx.organization("Acme");
    let store = fx.store as usize;
    // The worker makes failing calls and returns the raw detail pointers; the main thread
    // reads them after the worker has gone on to other calls (as koffi's pool threads do).
    let (missing, invalid, ok, later) = std::thread::spawn(move || {
        let store = store as *mut opc_store;
        let (org, nobody, empty) = (c(&org), c("no-such-org"), c(r#"{"name":""}"#));
        let mut out = ptr::null_mut();
        let mut missing = sentinel();
        let s1 = unsafe { opc_organization_get_ex(store, nobody.as_ptr(), &mut out, &mut missing) };
        let mut invalid = sentinel();
        let s2 = unsafe {
            opc_project_create_ex(store, org.as_ptr(), empty.as_ptr(), &mut out, &mut invalid)
        };
        let mut ok = sentinel();
        let mut list = ptr::null_mut();
        let s3 = unsafe { opc_project_list_ex(store, org.as_ptr(), &mut list, &mut ok) };
        let listed = json(list);
        // A later failure on this thread replaces only its thread-local detail.
        let other = c("another-missing-org");
        unsafe { opc_organization_get(store, other.as_ptr(), &mut out) };
        let later = last_error();
        (
            (s1, missing as usize),
            (s2, invalid as usize),
            (s3, ok as usize, listed),
            later,
        )
    })
    .join()
    .unwrap();
    assert_eq!(missing.0, opc_status::OPC_NOT_FOUND);
    assert_eq!(
        take_error(missing.1 as *mut c_char).as_deref(),
        Some("Organization not found")
    );
    assert_eq!(invalid.0, opc_status::OPC_INVALID_INPUT);
    let detail = take_error(invalid.1 as *mut c_char).expect("a detail");
    assert!(detail.contains("name"), "{detail}");
    assert_eq!(ok.0, opc_status::OPC_OK);
    assert_eq!(ok.1, 0, "out_error is NULL after a success");
    assert_eq!(ok.2, serde_json::json!([]));
    assert_eq!(later, "Organization not found");
    // The main thread's own detail was never touched by the worker.
    assert_eq!(last_error(), "");
}

#[test]
fn ex_variants_match_their_entry_points() {
    let fx = Fixture::new();
    let (org, root_id, root_secret) = fx.organization("Acme");
    let org_c = c(&org);
    // Table: each variant fails the way its entry point does, and the copy equals the
    // thread-local detail right after the call.
    let missing = c("missing");
    type Case<'a> = (
        &'a str,
        Box<dyn Fn(*mut *mut c_char) -> opc_status + 'a>,
        opc_status,
    );
    let cases: Vec<Case> = vec![
        (
            "opc_project_get_ex",
            Box::new(|e| unsafe {
                opc_project_get_ex(
                    fx.store,
                    org_c.as_ptr(),
                    missing.as_ptr(),
                    &mut sentinel(),
                    e,
                )
            }),
            opc_status::OPC_NOT_FOUND,
        ),
        (
            "opc_client_delete_ex",
            Box::new(|e| unsafe {
                opc_client_delete_ex(fx.store, org_c.as_ptr(), missing.as_ptr(), e)
            }),
            opc_status::OPC_NOT_FOUND,
        ),
        (
            "opc_reference_list_ex (NULL store)",
            Box::new(|e| unsafe {
                opc_reference_list_ex(
                    ptr::null_mut(),
                    org_c.as_ptr(),
                    ptr::null(),
                    &mut sentinel(),
                    e,
                )
            }),
            opc_status::OPC_NULL_ARGUMENT,
        ),
        (
            "opc_authenticate_ex (bad family)",
            Box::new(|e| unsafe {
                let mut p = opc_principal::EMPTY;
                opc_authenticate_ex(
                    fx.store,
                    42,
                    ptr::null(),
                    ptr::null(),
                    ptr::null(),
                    ptr::null(),
                    ptr::null(),
                    &mut p,
                    e,
                )
            }),
            opc_status::OPC_INVALID_ARGUMENT,
        ),
        (
            "opc_organization_create_ex (empty name)",
            Box::new(|e| unsafe {
                opc_organization_create_ex(fx.store, c"".as_ptr(), &mut sentinel(), e)
            }),
            opc_status::OPC_INVALID_INPUT,
        ),
    ];
    for (name, call, expected) in &cases {
        let mut error = sentinel();
        let status = call(&mut error);
        assert_eq!(status, *expected, "{name}");
        let thread_local = last_error();
        assert!(!thread_local.is_empty(), "{name}");
        assert_eq!(
            take_error(error).as_deref(),
            Some(thread_local.as_str()),
            "{name}"
        );
        // A NULL out_error is accepted.
        assert_eq!(call(ptr::null_mut()), *expected, "{name}");
    }

    // An allowed authentication: OK, no detail.
    let (id, secret) = (c(&root_id), c(&root_secret));
    let mut p = opc_principal::EMPTY;
    let mut error = sentinel();
    let status = unsafe {
        opc_authenticate_ex(
            fx.store,
            opc_family::OPC_FAMILY_MANAGE as u32,
            id.as_ptr(),
            secret.as_ptr(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            &mut p,
            &mut error,
        )
    };
    assert_eq!(status, opc_status::OPC_OK);
    assert!(p.allowed);
    assert!(error.is_null());

    // opc_store_open_ex: the reason an open fails.
    let path = c(fx.path().to_str().unwrap());
    let bad = c(r#"{"nope":1}"#);
    let mut other = sentinel();
    let mut error = sentinel();
    let status = unsafe { opc_store_open_ex(path.as_ptr(), bad.as_ptr(), &mut other, &mut error) };
    assert_eq!(status, opc_status::OPC_INVALID_OPTIONS);
    assert_eq!(other, sentinel(), "out_store untouched on failure");
    assert!(take_error(error).unwrap().contains("nope"));
}

#[test]
fn every_status_entry_point_that_takes_a_store_has_an_ex_variant() {
    let header = header_text();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut bases = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for part in flat.split("extern \"C\" fn ").skip(1) {
            let name = part.split('(').next().unwrap().to_owned();
            let signature = part.split('{').next().unwrap();
            let takes_store = signature.contains("*mut opc_store") || name == "opc_store_open";
            if signature.contains("-> opc_status") && takes_store && !name.ends_with("_ex") {
                bases.push(name);
            }
        }
    }
    assert!(bases.len() >= 27, "{bases:?}");
    for base in bases {
        assert!(
            header.contains(&format!("{base}_ex(")),
            "{base} has no _ex variant in include/opcore.h"
        );
    }
}

#[test]
fn sqlite_version_is_the_bundled_one() {
    let text = unsafe { CStr::from_ptr(opc_sqlite_version()) }
        .to_str()
        .unwrap();
    assert_eq!(text, rusqlite::version());
    assert!(text.starts_with("3."), "{text}");
}

/// A handle used in a forked child fails with OPC_FORKED; the child's close leaves the
/// parent's connections alone; the parent keeps working.
#[cfg(target_os = "linux")]
#[test]
fn a_handle_used_after_fork_fails_with_opc_forked() {
    let fx = Fixture::new();
    let (org, _, _) = fx.organization("Acme");
    let org_c = c(&org);
    let expected = "this store handle was opened by the parent process and cannot be used \
                    after fork(); open a new handle in this process";
    // SAFETY: the child only calls the library and _exit; glibc's fork handlers keep malloc
    // usable in the child of a multi-threaded parent.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let mut code = 0;
        let mut out = ptr::null_mut();
        let mut error = ptr::null_mut();
        let status =
            unsafe { opc_organization_get_ex(fx.store, org_c.as_ptr(), &mut out, &mut error) };
        if status != opc_status::OPC_FORKED {
            code |= 1;
        }
        if take_error(error).as_deref() != Some(expected) || last_error() != expected {
            code |= 2;
        }
        // Opening a new handle in the child is checked by tests/c/fork.c, single-threaded:
        // here other test threads may hold SQLite's global mutexes at the fork.
        unsafe { opc_store_close(fx.store) };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child status {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "child checks failed (bit mask)"
    );
    // The parent's handle is untouched.
    let mut out = ptr::null_mut();
    let status = unsafe { opc_organization_get(fx.store, org_c.as_ptr(), &mut out) };
    assert_eq!(status, opc_status::OPC_OK, "{}", last_error());
    assert_eq!(json(out)["name"], "Acme");
}

// ---------------------------------------------------------------------------------------------
// Rotation (docs/lifecycle.md)

#[test]
fn client_rotate_issues_a_new_secret_and_ends_earlier_graces() {
    let f = Fixture::new();
    let (org, _, _) = f.organization("Acme");
    let created = f
        .create("client", &org, r#"{"name":"Exporter","type":"read"}"#)
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let first = created["secret"].as_str().unwrap().to_owned();
    let (o, i) = (c(&org), c(&id));
    let rotate = |body: &str| -> Result<Value, (opc_status, String)> {
        let body = c(body);
        let mut out: *mut c_char = sentinel();
        let status =
            unsafe { opc_client_rotate(f.store, o.as_ptr(), i.as_ptr(), body.as_ptr(), &mut out) };
        if status == opc_status::OPC_OK {
            Ok(json(out))
        } else {
            assert_eq!(out, sentinel(), "out_json written on failure");
            Err((status, last_error()))
        }
    };
    let allowed = |secret: &str| {
        let p = authenticate(
            &f,
            opc_family::OPC_FAMILY_EXPORT as u32,
            Some(&id),
            Some(secret),
            None,
            None,
        );
        (p.allowed, p.http_status, text(&p.message))
    };

    let second = rotate(r#"{"graceSeconds":3600}"#).unwrap();
    assert_eq!(second["id"], id.as_str());
    assert!(second["previousSecretExpiresAt"].is_string());
    assert!(second["lastUsedAt"].is_null());
    let second = second["secret"].as_str().unwrap().to_owned();
    assert_ne!(second, first);
    assert!(allowed(&first).0);
    assert!(allowed(&second).0);

    let third = rotate("").unwrap();
    assert!(third["previousSecretExpiresAt"].is_null());
    let third = third["secret"].as_str().unwrap().to_owned();
    for gone in [&first, &second] {
        assert_eq!(
            allowed(gone),
            (false, 401, "Invalid client credentials".to_owned())
        );
    }
    assert!(allowed(&third).0);

    // Refusals: nothing rotated, the out-parameter untouched, no secret in the message.
    for (body, status, message) in [
        (
            r#"{"graceSeconds":-5}"#,
            opc_status::OPC_INVALID_INPUT,
            "graceSeconds: Expected an integer from 0 to 2592000 (seconds)",
        ),
        (
            r#"{"graceSeconds":null}"#,
            opc_status::OPC_INVALID_INPUT,
            "graceSeconds: Expected number, received null",
        ),
        (
            "[]",
            opc_status::OPC_INVALID_INPUT,
            "Expected object, received array",
        ),
    ] {
        let (got, detail) = rotate(body).unwrap_err();
        assert_eq!(got, status, "{body}");
        assert!(detail.contains(message), "{body}: {detail}");
        assert!(!detail.contains("sec_"));
    }
    let missing = c("0b7e0c1e-5a9b-4d43-9c55-8f0e4a1f2b3c");
    let body = c("{}");
    let mut out: *mut c_char = sentinel();
    assert_eq!(
        unsafe {
            opc_client_rotate(
                f.store,
                o.as_ptr(),
                missing.as_ptr(),
                body.as_ptr(),
                &mut out,
            )
        },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(last_error(), "Client not found");
    assert_eq!(out, sentinel());
    let (other_org, _, _) = f.organization("Globex");
    let other = c(&other_org);
    assert_eq!(
        unsafe { opc_client_rotate(f.store, other.as_ptr(), i.as_ptr(), body.as_ptr(), &mut out) },
        opc_status::OPC_NOT_FOUND
    );
    for (args, message) in [
        (
            (ptr::null_mut(), o.as_ptr(), i.as_ptr(), body.as_ptr()),
            "store is NULL",
        ),
        (
            (f.store, ptr::null(), i.as_ptr(), body.as_ptr()),
            "organization_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), ptr::null(), body.as_ptr()),
            "client_id is NULL",
        ),
        (
            (f.store, o.as_ptr(), i.as_ptr(), ptr::null()),
            "json is NULL",
        ),
        (
            (f.store, bad_utf8(), i.as_ptr(), body.as_ptr()),
            "organization_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), bad_utf8(), body.as_ptr()),
            "client_id is not valid UTF-8",
        ),
        (
            (f.store, o.as_ptr(), i.as_ptr(), bad_utf8()),
            "json is not valid UTF-8",
        ),
    ] {
        unsafe { opc_client_rotate(args.0, args.1, args.2, args.3, &mut out) };
        assert_eq!(last_error(), message);
        assert_eq!(out, sentinel());
    }
    assert_eq!(
        unsafe {
            opc_client_rotate(
                f.store,
                o.as_ptr(),
                i.as_ptr(),
                body.as_ptr(),
                ptr::null_mut(),
            )
        },
        opc_status::OPC_NULL_ARGUMENT
    );
    assert!(allowed(&third).0, "no refusal rotated anything");

    // The _ex variant reports its own detail.
    let mut detail = ptr::null_mut();
    assert_eq!(
        unsafe {
            opc_client_rotate_ex(
                f.store,
                o.as_ptr(),
                missing.as_ptr(),
                body.as_ptr(),
                &mut out,
                &mut detail,
            )
        },
        opc_status::OPC_NOT_FOUND
    );
    assert_eq!(take(detail), "Client not found");

    // Expiry through the update call: the right secret gets its own message.
    let past = c(r#"{"expiresAt":"2000-01-01"}"#);
    let mut updated = ptr::null_mut();
    assert_eq!(
        unsafe { opc_client_update(f.store, o.as_ptr(), i.as_ptr(), past.as_ptr(), &mut updated) },
        opc_status::OPC_OK
    );
    assert_eq!(json(updated)["expiresAt"], "2000-01-01T00:00:00.000Z");
    assert_eq!(
        allowed(&third),
        (false, 401, "Client credentials expired".to_owned())
    );
    assert_eq!(
        allowed("sec_0123456789abcdef0123456789abcdef"),
        (false, 401, "Invalid client credentials".to_owned())
    );
}
