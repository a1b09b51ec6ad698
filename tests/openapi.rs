//! The OpenAPI document: what is served is the committed file; it is a valid OpenAPI 3.1
//! document; it lists exactly the routes and methods the API answers; and the checker that
//! every Manage test runs its responses through really rejects responses that drifted.
//!
//! `tests/openapi/oas-3.1-schema-2022-10-07.json` is the OpenAPI Initiative's published JSON
//! Schema for OpenAPI 3.1 documents (id `https://spec.openapis.org/oas/3.1/schema/2022-10-07`,
//! Apache-2.0), committed so the test runs offline.

mod common;

use common::openapi::{escape_pointer, OpenApi, Target, OPENAPI_PATH};
use common::{Env, T0_TEXT};
use opcore::manage::{self, Request, Response};
use serde_json::{json, Value};

const OAS_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/openapi/oas-3.1-schema-2022-10-07.json"
);

fn file_bytes() -> Vec<u8> {
    std::fs::read(OPENAPI_PATH).expect("openapi.json")
}

#[test]
fn the_served_document_is_the_committed_file() {
    let env = Env::new();
    assert_eq!(manage::OPENAPI_JSON.as_bytes(), file_bytes().as_slice());
    for target in [
        "/manage/openapi.json",
        "/api/manage/openapi.json",
        "/manage/openapi.json?x=1",
    ] {
        // No credentials at all.
        let r = env.raw("GET", target, &[], b"");
        assert_eq!(r.status, 200, "{target}");
        assert_eq!(r.raw.body, file_bytes(), "{target}");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.raw.header("x-ratelimit-limit"), None);
    }
    // Wrong credentials do not matter either: the document is public.
    let r = env.raw(
        "GET",
        "/manage/openapi.json",
        &[
            ("openpanel-client-id", "nope"),
            ("openpanel-client-secret", "x"),
        ],
        b"",
    );
    assert_eq!(r.status, 200);
    let r = env.raw("POST", "/manage/openapi.json", &[], b"{}");
    r.assert_error(
        405,
        "Method Not Allowed",
        "Method POST is not allowed on this route",
    );
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
}

#[test]
fn the_document_is_openapi_3_1_json() {
    let doc: Value = serde_json::from_slice(&file_bytes()).expect("valid JSON");
    let version = doc["openapi"].as_str().expect("openapi version string");
    assert!(version.starts_with("3.1."), "openapi {version}");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["jsonSchemaDialect"],
        "https://json-schema.org/draft/2020-12/schema"
    );

    let oas: Value =
        serde_json::from_str(&std::fs::read_to_string(OAS_SCHEMA).expect("OAS schema"))
            .expect("OAS schema JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&oas)
        .expect("the OAS 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid OpenAPI 3.1 document:\n{}",
        errors.join("\n")
    );
    // The meta-schema check itself bites: a broken copy is refused.
    let mut broken = doc.clone();
    broken["paths"]["/projects"]["get"]["responses"]["200"] = json!({"content": {}});
    assert!(
        !validator.is_valid(&broken),
        "a response without description passed"
    );
}

/// Every Schema Object is a valid JSON Schema 2020-12 schema and every `$ref` resolves.
#[test]
fn every_schema_is_valid_and_every_ref_resolves() {
    let api = OpenApi::global();
    let doc = api.doc();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(schemas.len() > 20);
    for (name, schema) in schemas {
        assert!(
            jsonschema::draft202012::meta::is_valid(schema),
            "components/schemas/{name} is not a valid 2020-12 schema"
        );
        // Compiles with every reference resolved.
        assert!(api
            .schema_problems(&format!("/components/schemas/{name}"), &json!(null))
            .iter()
            .all(|p| !p.contains("does not compile")));
    }
    fn walk(doc: &Value, v: &Value, at: &str, refs: &mut usize) {
        match v {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{at}: {r}"));
                    assert!(doc.pointer(pointer).is_some(), "{at}: dangling $ref {r}");
                    *refs += 1;
                }
                for (k, child) in map {
                    walk(doc, child, &format!("{at}/{}", escape_pointer(k)), refs);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(doc, child, &format!("{at}/{i}"), refs);
                }
            }
            _ => {}
        }
    }
    let mut refs = 0;
    walk(doc, doc, "", &mut refs);
    assert!(refs > 100, "only {refs} $refs");
}

#[test]
fn security_is_the_two_client_headers_or_a_bearer_token() {
    let doc = OpenApi::global().doc();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["clientId"],
        json!({"type": "apiKey", "in": "header", "name": "openpanel-client-id",
               "description": schemes["clientId"]["description"]})
    );
    assert_eq!(schemes["clientSecret"]["type"], "apiKey");
    assert_eq!(schemes["clientSecret"]["in"], "header");
    assert_eq!(schemes["clientSecret"]["name"], "openpanel-client-secret");
    assert_eq!(schemes["bearerAuth"]["type"], "http");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(
        doc["security"],
        json!([{"clientId": [], "clientSecret": []}, {"bearerAuth": []}])
    );
    assert_eq!(
        doc["paths"]["/openapi.json"]["get"]["security"],
        json!([]),
        "the document itself is public"
    );
    let servers: Vec<&str> = doc["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(servers, ["/manage", "/api/manage"]);
}

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// The document's paths and methods are exactly what the router serves, under both prefixes:
/// each documented operation answers (401 without credentials, 200 for the public document),
/// every other method on a documented path is a 405, and other paths are 404s.
#[test]
fn the_document_lists_exactly_the_served_routes() {
    let env = Env::new();
    let api = OpenApi::global();
    let paths = api.doc()["paths"].as_object().unwrap().clone();
    let mut operations = 0;
    for (template, item) in &paths {
        for prefix in api.prefixes_of(template) {
            let concrete = template.replace("{id}", "some-id");
            for method in METHODS {
                let target = format!("{prefix}{concrete}");
                let r = env.raw(method, &target, &[], b"");
                if method == "HEAD" && item.get("get").is_some() {
                    // HEAD is answered wherever GET is, with GET's status and no body.
                    let get = env.raw("GET", &target, &[], b"");
                    assert_eq!(r.status, get.status, "HEAD {target}");
                    assert!(r.body.is_null(), "HEAD {target} has a body");
                    continue;
                }
                let documented = item.get(method.to_ascii_lowercase()).is_some();
                match (documented, template.as_str()) {
                    (true, "/openapi.json") => assert_eq!(r.status, 200),
                    // The test store has no issuer option.
                    (true, "/.well-known/oauth-authorization-server") => r.assert_error(
                        404,
                        "Not Found",
                        "No OAuth authorization server metadata: the store has no issuer option",
                    ),
                    (true, _) => {
                        operations += 1;
                        r.assert_error(401, "Unauthorized", common::INVALID_CREDENTIALS);
                    }
                    (false, _) => {
                        assert_eq!(r.status, 405, "{method} {target}");
                        // A HEAD response has no body (a route without GET refuses HEAD).
                        let message = (method != "HEAD")
                            .then(|| format!("Method {method} is not allowed on this route"));
                        assert_eq!(r.body["message"].as_str(), message.as_deref());
                    }
                }
            }
        }
    }
    assert_eq!(
        operations,
        2 * 17,
        "17 Manage operations under two prefixes"
    );
    for target in [
        "/",
        "/manage",
        "/manage/",
        "/manage/unknown",
        "/manage/projects/a/b",
        "/manage/projects//",
        "/manageprojects",
        "/api/projects",
        "/api/manage/clients/x/y",
        "/MANAGE/projects",
        "/manage/openapi.json/x",
        "/manage/audit/x",
        "/manage/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known",
    ] {
        for method in ["GET", "POST", "BREW"] {
            let r = env.raw(method, target, &[], b"");
            r.assert_error(404, "Not Found", "Route not found");
            assert_eq!(api.locate(method, target), Target::Unmatched, "{target}");
        }
    }
}

fn response(status: u16, headers: &[(&str, &str)], body: Value) -> Response {
    let mut all = vec![("content-type".to_owned(), "application/json".to_owned())];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    Response {
        status,
        headers: all,
        body: serde_json::to_vec(&body).unwrap(),
        internal_error: None,
    }
}

const RATE: [(&str, &str); 3] = [
    ("x-ratelimit-limit", "20"),
    ("x-ratelimit-remaining", "19"),
    ("x-ratelimit-reset", "1"),
];

const CHALLENGE: (&str, &str) = ("www-authenticate", "Bearer realm=\"opcore\"");

fn metadata() -> Value {
    let methods = json!(["client_secret_basic", "client_secret_post"]);
    json!({
        "issuer": "https://auth.example.com",
        "token_endpoint": "https://auth.example.com/oauth/token",
        "revocation_endpoint": "https://auth.example.com/oauth/revoke",
        "introspection_endpoint": "https://auth.example.com/oauth/introspect",
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": methods,
        "scopes_supported": ["track", "export", "insights", "manage"],
    })
}

fn project() -> Value {
    json!({
        "id": "my-project", "name": "My Project", "organizationId": "acme",
        "domain": "https://example.com", "cors": ["https://example.com"], "crossDomain": false,
        "allowUnsafeRevenueTracking": false, "filters": [], "types": ["website"],
        "eventsCount": 0, "createdAt": T0_TEXT, "updatedAt": T0_TEXT, "deleteAt": null
    })
}

fn client() -> Value {
    json!({
        "id": "fa0c2780-55f2-4d9e-bea0-da2e02c7b1a9", "name": "First client", "type": "write",
        "projectId": "my-project", "organizationId": "acme", "ignoreCorsAndSecret": false,
        "redirectUris": [], "tier": null, "expiresAt": null, "lastUsedAt": null,
        "createdAt": T0_TEXT, "updatedAt": T0_TEXT
    })
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

/// The checker is only worth something if it fails on drift: each of these responses differs
/// from the document in one way, and each must be reported.
#[test]
fn the_checker_rejects_drift() {
    let api = OpenApi::global();
    let secret = "sec_0123456789abcdef0123456789abcdef";
    let good: Vec<(&str, &str, Response)> = vec![
        (
            "GET",
            "/manage/projects",
            response(200, &RATE, json!({"data": [project()]})),
        ),
        (
            "GET",
            "/api/manage/projects/my-project/",
            response(200, &RATE, json!({"data": project()})),
        ),
        (
            "GET",
            "/manage/clients/x",
            response(200, &RATE, json!({"data": client()})),
        ),
        (
            "POST",
            "/manage/clients",
            response(
                200,
                &RATE,
                json!({"data": with(client(), "secret", json!(secret))}),
            ),
        ),
        (
            "POST",
            "/manage/projects",
            response(
                200,
                &RATE,
                json!({"data": with(project(), "client", json!({"id": client()["id"], "secret": secret}))}),
            ),
        ),
        (
            "DELETE",
            "/manage/references/x",
            response(200, &RATE, json!({"success": true})),
        ),
        (
            "PATCH",
            "/manage/projects/x",
            response(
                400,
                &RATE,
                json!({"error": "Bad Request", "message": "Invalid request body", "details": [{"path": ["cors", 1], "message": "bad"}, {"path": [], "message": "Expected object, received array"}]}),
            ),
        ),
        (
            "DELETE",
            "/manage/clients/x",
            response(
                400,
                &RATE,
                json!({"error": "Bad Request", "message": "Cannot delete the last root client of the organization"}),
            ),
        ),
        (
            "GET",
            "/manage/projects",
            response(
                401,
                &[CHALLENGE],
                json!({"error": "Unauthorized", "message": "Invalid client credentials"}),
            ),
        ),
        (
            "GET",
            "/manage/projects",
            response(
                401,
                &[(
                    "www-authenticate",
                    "Bearer realm=\"opcore\", error=\"invalid_token\"",
                )],
                json!({"error": "invalid_api_key", "message": "The API key provided is invalid."}),
            ),
        ),
        (
            "GET",
            "/.well-known/oauth-authorization-server",
            response(200, &[], metadata()),
        ),
        (
            "GET",
            "/.well-known/oauth-authorization-server",
            response(
                200,
                &[],
                with(
                    metadata(),
                    "authorization_endpoint",
                    json!("https://app.example.com/consent"),
                ),
            ),
        ),
        (
            "GET",
            "/.well-known/oauth-authorization-server",
            response(
                404,
                &[],
                json!({"error": "Not Found", "message": "No OAuth authorization server metadata: the store has no issuer option"}),
            ),
        ),
        (
            "GET",
            "/manage/nope",
            response(
                404,
                &[],
                json!({"error": "Not Found", "message": "Route not found"}),
            ),
        ),
        (
            "PUT",
            "/manage/projects",
            response(
                405,
                &[("allow", "GET, HEAD, POST")],
                json!({"error": "Method Not Allowed", "message": "Method PUT is not allowed on this route"}),
            ),
        ),
        (
            "GET",
            "/manage/projects",
            response(
                429,
                &[("retry-after", "3")],
                json!({"error": "Too Many Requests", "message": "Rate limit exceeded"}),
            ),
        ),
        (
            "GET",
            "/manage/projects",
            response(
                500,
                &[],
                json!({"error": "Internal Server Error", "message": "Internal server error"}),
            ),
        ),
    ];
    for (method, target, r) in &good {
        let problems = api.problems(method, target, r);
        assert!(problems.is_empty(), "{method} {target}: {problems:?}");
    }

    let bad: Vec<(&str, &str, &str, Response)> = vec![
        (
            "401 without a challenge",
            "GET",
            "/manage/projects",
            response(
                401,
                &[],
                json!({"error": "Unauthorized", "message": "Invalid client credentials"}),
            ),
        ),
        (
            "401 with another realm",
            "GET",
            "/manage/projects",
            response(
                401,
                &[("www-authenticate", "Basic realm=\"opcore\"")],
                json!({"error": "Unauthorized", "message": "Invalid client credentials"}),
            ),
        ),
        (
            "metadata without scopes_supported",
            "GET",
            "/.well-known/oauth-authorization-server",
            response(200, &[], without(metadata(), "scopes_supported")),
        ),
        (
            "metadata with a plain PKCE method",
            "GET",
            "/.well-known/oauth-authorization-server",
            response(
                200,
                &[],
                with(
                    metadata(),
                    "code_challenge_methods_supported",
                    json!(["plain", "S256"]),
                ),
            ),
        ),
        (
            "metadata issuer with a trailing slash",
            "GET",
            "/.well-known/oauth-authorization-server",
            response(
                200,
                &[],
                with(metadata(), "issuer", json!("https://auth.example.com/")),
            ),
        ),
        (
            "metadata with an unknown field",
            "GET",
            "/.well-known/oauth-authorization-server",
            response(
                200,
                &[],
                with(metadata(), "jwks_uri", json!("https://x.example/j")),
            ),
        ),
        (
            "extra field",
            "GET",
            "/manage/projects/p",
            response(
                200,
                &RATE,
                json!({"data": with(project(), "extra", json!(1))}),
            ),
        ),
        (
            "missing field",
            "GET",
            "/manage/projects/p",
            response(200, &RATE, json!({"data": without(project(), "deleteAt")})),
        ),
        (
            "timestamp without ms",
            "GET",
            "/manage/projects/p",
            response(
                200,
                &RATE,
                json!({"data": with(project(), "createdAt", json!("2024-01-15T10:30:00Z"))}),
            ),
        ),
        (
            "timestamp with offset",
            "GET",
            "/manage/projects/p",
            response(
                200,
                &RATE,
                json!({"data": with(project(), "updatedAt", json!("2024-01-15T10:30:00.000+00:00"))}),
            ),
        ),
        (
            "secret in a read",
            "GET",
            "/manage/clients/c",
            response(
                200,
                &RATE,
                json!({"data": with(client(), "secret", json!(secret))}),
            ),
        ),
        (
            "short secret",
            "POST",
            "/manage/clients",
            response(
                200,
                &RATE,
                json!({"data": with(client(), "secret", json!("sec_b2521ca283bf903b46b3"))}),
            ),
        ),
        (
            "uppercase uuid",
            "GET",
            "/manage/clients/c",
            response(
                200,
                &RATE,
                json!({"data": with(client(), "id", json!("FA0C2780-55F2-4D9E-BEA0-DA2E02C7B1A9"))}),
            ),
        ),
        (
            "unknown client type",
            "GET",
            "/manage/clients/c",
            response(
                200,
                &RATE,
                json!({"data": with(client(), "type", json!("admin"))}),
            ),
        ),
        (
            "list not wrapped",
            "GET",
            "/manage/projects",
            response(200, &RATE, json!([project()])),
        ),
        (
            "no rate headers on 200",
            "GET",
            "/manage/projects",
            response(200, &[], json!({"data": []})),
        ),
        (
            "non-numeric rate header",
            "GET",
            "/manage/projects",
            response(
                200,
                &[RATE[0], RATE[1], ("x-ratelimit-reset", "soon")],
                json!({"data": []}),
            ),
        ),
        (
            "undocumented header",
            "GET",
            "/manage/projects",
            response(
                200,
                &[RATE[0], RATE[1], RATE[2], ("x-powered-by", "x")],
                json!({"data": []}),
            ),
        ),
        (
            "retry-after on 200",
            "GET",
            "/manage/projects",
            response(
                200,
                &[RATE[0], RATE[1], RATE[2], ("retry-after", "1")],
                json!({"data": []}),
            ),
        ),
        (
            "undocumented status",
            "GET",
            "/manage/projects",
            response(418, &RATE, json!({"error": "I'm a teapot", "message": "x"})),
        ),
        (
            "404 on a list route",
            "GET",
            "/manage/projects",
            response(
                404,
                &RATE,
                json!({"error": "Not Found", "message": "Project not found"}),
            ),
        ),
        (
            "wrong not-found message",
            "GET",
            "/manage/clients/c",
            response(
                404,
                &RATE,
                json!({"error": "Not Found", "message": "Project not found"}),
            ),
        ),
        (
            "400 without details",
            "POST",
            "/manage/projects",
            response(
                400,
                &RATE,
                json!({"error": "Bad Request", "message": "Invalid request body"}),
            ),
        ),
        (
            "detail path of objects",
            "POST",
            "/manage/projects",
            response(
                400,
                &RATE,
                json!({"error": "Bad Request", "message": "Invalid request body", "details": [{"path": [{"k": 1}], "message": "x"}]}),
            ),
        ),
        (
            "unknown 401 message",
            "GET",
            "/manage/projects",
            response(
                401,
                &[CHALLENGE],
                json!({"error": "Unauthorized", "message": "Who are you?"}),
            ),
        ),
        (
            "429 without retry-after",
            "GET",
            "/manage/projects",
            response(
                429,
                &RATE,
                json!({"error": "Too Many Requests", "message": "Rate limit exceeded"}),
            ),
        ),
        (
            "500 leaking",
            "GET",
            "/manage/projects",
            response(
                500,
                &[],
                json!({"error": "Internal Server Error", "message": "no such table: projects"}),
            ),
        ),
        (
            "405 with a wrong allow",
            "PUT",
            "/manage/projects/x",
            response(
                405,
                &[("allow", "GET, POST")],
                json!({"error": "Method Not Allowed", "message": "Method PUT is not allowed on this route"}),
            ),
        ),
        (
            "405 on a documented method",
            "GET",
            "/manage/projects",
            response(
                405,
                &[("allow", "GET, POST")],
                json!({"error": "Method Not Allowed", "message": "Method GET is not allowed on this route"}),
            ),
        ),
        (
            "unmatched route answering 200",
            "GET",
            "/manage/nope",
            response(200, &RATE, json!({"data": []})),
        ),
        (
            "success false",
            "DELETE",
            "/manage/projects/p",
            response(200, &RATE, json!({"success": false})),
        ),
        (
            "not JSON",
            "GET",
            "/manage/projects",
            Response {
                status: 200,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("x-ratelimit-limit".into(), "1".into()),
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), "1".into()),
                ],
                body: b"{".to_vec(),
                internal_error: None,
            },
        ),
        (
            "wrong content-type",
            "GET",
            "/manage/projects",
            Response {
                status: 200,
                headers: vec![
                    ("content-type".into(), "text/plain".into()),
                    ("x-ratelimit-limit".into(), "1".into()),
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), "1".into()),
                ],
                body: b"{\"data\":[]}".to_vec(),
                internal_error: None,
            },
        ),
    ];
    for (what, method, target, r) in &bad {
        assert!(
            !api.problems(method, target, r).is_empty(),
            "the checker accepted: {what}"
        );
    }

    // Request bodies the API accepted are checked too.
    assert!(api
        .request_problems(
            "POST",
            "/manage/projects",
            &json!({"name": "x", "unknown": 1})
        )
        .is_empty());
    assert!(!api
        .request_problems("POST", "/manage/projects", &json!({"domain": null}))
        .is_empty());
    assert!(!api
        .request_problems(
            "POST",
            "/manage/clients",
            &json!({"name": "x", "type": "admin"})
        )
        .is_empty());
}

/// A request straight through `manage::handle`, bypassing the harness, agrees with the
/// checker too (the harness is not hiding anything).
#[test]
fn a_raw_exchange_matches() {
    let env = Env::new();
    let headers = [
        ("openpanel-client-id", env.root.id.as_str()),
        ("openpanel-client-secret", env.root.secret.as_str()),
    ];
    let r = manage::handle(
        &env.store,
        &Request {
            method: "GET",
            target: "/manage/projects",
            headers: &headers,
            body: b"",
            source: None,
        },
    );
    assert_eq!(r.status, 200);
    assert!(OpenApi::global()
        .problems("GET", "/manage/projects", &r)
        .is_empty());
}

/// The PostgreSQL backend's outage answer (docs/scale-out.md#outages) and the connection cap's
/// answer (docs/server.md#limits) are documented on every Manage operation, and nothing else
/// passes for them.
#[test]
fn every_manage_operation_documents_the_503s() {
    let api = OpenApi::global();
    let storage = json!({"error": "Service Unavailable", "message": "Storage unavailable"});
    let crowded = json!({
        "error": "Service Unavailable",
        "message": "Too many connections from this address or in all"
    });
    for (method, target) in [
        ("GET", "/manage/projects"),
        ("POST", "/manage/projects"),
        ("DELETE", "/manage/clients/x"),
        ("POST", "/manage/clients/x/rotate"),
        ("GET", "/manage/audit"),
        ("PATCH", "/manage/references/r"),
    ] {
        for body in [&storage, &crowded] {
            let problems = api.problems(method, target, &response(503, &[], body.clone()));
            assert!(problems.is_empty(), "{method} {target}: {problems:?}");
        }
        let wrong = json!({"error": "Service Unavailable", "message": "database down at 10.0.0.5"});
        assert!(
            !api.problems(method, target, &response(503, &[], wrong))
                .is_empty(),
            "{method} {target}: an undocumented 503 message passed"
        );
    }
    let paths = api.doc()["paths"].as_object().unwrap();
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let Some(responses) = op.get("responses") else {
                continue;
            };
            if path.starts_with("/manage/") && responses.get("500").is_some() {
                assert!(
                    responses.get("503").is_some(),
                    "{method} {path} documents 500 but not 503"
                );
            }
        }
    }
}
