//! Checks HTTP exchanges against the committed `openapi.json`, so the document and the Manage
//! API cannot drift apart: the route, the method and the status must be documented, the body
//! must match the documented schema (`$ref`s resolved, formats checked), the headers the
//! document marks required must be present and well-formed, and no header may appear that the
//! document does not declare for that response.
//!
//! Requests that the API accepted are checked against the documented request body too, so the
//! document cannot be stricter than the API.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::{Draft, Validator};
use opcore::manage::Response;
use serde_json::{json, Value};

/// The committed document (the same bytes `manage::OPENAPI_JSON` serves).
pub const OPENAPI_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

/// Headers that carry no API meaning of their own and are not declared per response.
const TRANSPORT_HEADERS: [&str; 1] = ["content-type"];

pub struct OpenApi {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

/// Where a request landed in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A documented path template, e.g. `/projects/{id}`, and whether it has this method.
    Path { template: String, has_method: bool },
    /// A path that matches no template (or lies outside every server prefix).
    Unmatched,
}

impl OpenApi {
    /// The committed document, parsed once per test binary.
    pub fn global() -> &'static OpenApi {
        static DOC: OnceLock<OpenApi> = OnceLock::new();
        DOC.get_or_init(|| {
            let text = std::fs::read_to_string(OPENAPI_PATH)
                .unwrap_or_else(|e| panic!("{OPENAPI_PATH}: {e}"));
            OpenApi::from_value(
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{OPENAPI_PATH}: {e}")),
            )
        })
    }

    pub fn from_value(doc: Value) -> OpenApi {
        OpenApi {
            doc,
            validators: Mutex::new(HashMap::new()),
        }
    }

    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The base paths the API is served under (`servers[].url`).
    pub fn prefixes(&self) -> Vec<String> {
        self.doc["servers"]
            .as_array()
            .map(|servers| {
                servers
                    .iter()
                    .filter_map(|s| s["url"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The base paths one documented path is served under: its own `servers` when it has
    /// them (a server `/` is the root), otherwise the document's.
    pub fn prefixes_of(&self, template: &str) -> Vec<String> {
        match self.paths()[template]["servers"].as_array() {
            Some(servers) => servers
                .iter()
                .filter_map(|s| s["url"].as_str())
                .map(|u| u.strip_suffix('/').unwrap_or(u).to_owned())
                .collect(),
            None => self.prefixes(),
        }
    }

    fn paths(&self) -> &serde_json::Map<String, Value> {
        self.doc["paths"]
            .as_object()
            .expect("the document has a `paths` object")
    }

    /// Which documented path `target` (path and optional query) is, the way the API routes it:
    /// after a server prefix, with one optional trailing slash.
    pub fn locate(&self, method: &str, target: &str) -> Target {
        let path = target.split_once('?').map_or(target, |(p, _)| p);
        for (template, item) in self.paths() {
            for prefix in self.prefixes_of(template) {
                let Some(rest) = path.strip_prefix(prefix.as_str()) else {
                    continue;
                };
                if !rest.is_empty() && !rest.starts_with('/') {
                    continue;
                }
                let rest = rest.strip_suffix('/').unwrap_or(rest);
                if template_matches(template, rest) {
                    return Target::Path {
                        template: template.clone(),
                        has_method: item.get(operation_key(method)).is_some(),
                    };
                }
            }
        }
        Target::Unmatched
    }

    /// Resolves a local `$ref` (`#/components/...`) chain; returns the value and its pointer.
    fn resolve<'a>(&'a self, value: &'a Value, pointer: String) -> (&'a Value, String) {
        let mut value = value;
        let mut pointer = pointer;
        for _ in 0..16 {
            let Some(r) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let p = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("only local $refs are supported, got {r}"));
            value = self
                .doc
                .pointer(p)
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
            pointer = p.to_owned();
        }
        (value, pointer)
    }

    /// The Response Object documented for this exchange and its JSON pointer.
    fn response_object(
        &self,
        method: &str,
        target: &str,
        status: u16,
    ) -> Result<(&Value, String), String> {
        match self.locate(method, target) {
            Target::Unmatched => {
                let r = &self.doc["x-unmatched-route"];
                Ok(self.resolve(r, "/x-unmatched-route".into()))
            }
            Target::Path {
                has_method: false, ..
            } => {
                let r = &self.doc["x-method-not-allowed"];
                Ok(self.resolve(r, "/x-method-not-allowed".into()))
            }
            Target::Path { template, .. } => {
                let m = operation_key(method);
                let responses = &self.paths()[&template][&m]["responses"];
                let code = status.to_string();
                let range = format!("{}XX", status / 100);
                for key in [code.as_str(), range.as_str(), "default"] {
                    if let Some(r) = responses.get(key) {
                        let pointer =
                            format!("/paths/{}/{m}/responses/{key}", escape_pointer(&template));
                        return Ok(self.resolve(r, pointer));
                    }
                }
                Err(format!(
                    "status {status} is not documented for {} {template}",
                    method.to_ascii_uppercase()
                ))
            }
        }
    }

    /// Every problem with this exchange; empty when it matches the document.
    pub fn problems(&self, method: &str, target: &str, response: &Response) -> Vec<String> {
        let (object, pointer) = match self.response_object(method, target, response.status) {
            Ok(found) => found,
            Err(e) => return vec![e],
        };
        let mut problems = Vec::new();
        if let Target::Unmatched
        | Target::Path {
            has_method: false, ..
        } = self.locate(method, target)
        {
            // The extension responses stand for one status each.
            let expected = match self.locate(method, target) {
                Target::Unmatched => 404,
                _ => 405,
            };
            if response.status != expected {
                problems.push(format!(
                    "undocumented route or method must answer {expected}, got {}",
                    response.status
                ));
            }
        }
        problems.extend(self.header_problems(object, &pointer, response));
        problems.extend(self.allow_problems(method, target, response));
        match object.get("content") {
            None => {
                if !response.body.is_empty() {
                    problems.push("the document declares no body, but there is one".into());
                }
            }
            Some(content) => {
                if response.header("content-type") != Some("application/json") {
                    problems.push(format!(
                        "content-type is {:?}, expected application/json",
                        response.header("content-type")
                    ));
                }
                if content.get("application/json").is_none() {
                    problems.push("the document declares no application/json body".into());
                    return problems;
                }
                // A HEAD response carries GET's headers without its body.
                if method == "HEAD" {
                    if !response.body.is_empty() {
                        problems.push("a HEAD response has a body".into());
                    }
                    return problems;
                }
                let schema_pointer = format!("{pointer}/content/application~1json/schema");
                match serde_json::from_slice::<Value>(&response.body) {
                    Ok(body) => problems.extend(self.schema_problems(&schema_pointer, &body)),
                    Err(e) => problems.push(format!("the body is not JSON: {e}")),
                }
            }
        }
        problems
    }

    /// Problems of a request body the API accepted, against the documented request body.
    pub fn request_problems(&self, method: &str, target: &str, body: &Value) -> Vec<String> {
        let Target::Path {
            template,
            has_method: true,
        } = self.locate(method, target)
        else {
            return vec!["the request was accepted on an undocumented route".into()];
        };
        let m = operation_key(method);
        let operation = &self.paths()[&template][&m];
        let Some(request) = operation.get("requestBody") else {
            return vec![format!(
                "{} {template} accepted a body but documents none",
                method.to_ascii_uppercase()
            )];
        };
        let pointer = format!("/paths/{}/{m}/requestBody", escape_pointer(&template));
        let (_, pointer) = self.resolve(request, pointer);
        self.schema_problems(&format!("{pointer}/content/application~1json/schema"), body)
    }

    /// Validates `instance` against the schema at `pointer` (a JSON pointer into the document).
    pub fn schema_problems(&self, pointer: &str, instance: &Value) -> Vec<String> {
        let validator = self.validator(pointer);
        validator
            .iter_errors(instance)
            .map(|e| format!("schema {pointer}: at {:?}: {e}", e.instance_path().as_str()))
            .collect()
    }

    /// A validator for the schema at `pointer`: the whole document is the root resource, so
    /// its `#/components/...` references resolve, and the root's `$ref` selects the schema.
    fn validator(&self, pointer: &str) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        assert!(
            self.doc.pointer(pointer).is_some(),
            "no schema at {pointer} in the document"
        );
        let mut root = self.doc.clone();
        root["$ref"] = json!(format!("#{}", fragment(pointer)));
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("schema at {pointer} does not compile: {e}"));
        let validator = Arc::new(validator);
        cache.insert(pointer.to_owned(), validator.clone());
        validator
    }

    fn header_problems(&self, object: &Value, pointer: &str, response: &Response) -> Vec<String> {
        let mut problems = Vec::new();
        let empty = serde_json::Map::new();
        let declared = object
            .get("headers")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (name, header) in declared {
            let header_pointer = format!("{pointer}/headers/{}", escape_pointer(name));
            let (header, header_pointer) = self.resolve(header, header_pointer);
            let required = header["required"].as_bool().unwrap_or(false);
            match response.header(name) {
                None if required => problems.push(format!("required header {name} is missing")),
                None => {}
                Some(value) => {
                    let instance = match header["schema"]["type"].as_str() {
                        Some("integer") => match value.parse::<i64>() {
                            Ok(n) => json!(n),
                            Err(_) => {
                                problems
                                    .push(format!("header {name}: {value:?} is not an integer"));
                                continue;
                            }
                        },
                        _ => json!(value),
                    };
                    problems.extend(
                        self.schema_problems(&format!("{header_pointer}/schema"), &instance)
                            .into_iter()
                            .map(|p| format!("header {name}: {p}")),
                    );
                }
            }
        }
        let mut seen = BTreeSet::new();
        for (name, _) in &response.headers {
            let lower = name.to_ascii_lowercase();
            if !seen.insert(lower.clone()) {
                problems.push(format!("header {lower} appears twice"));
            }
            if TRANSPORT_HEADERS.contains(&lower.as_str()) {
                continue;
            }
            if !declared.keys().any(|k| k.eq_ignore_ascii_case(&lower)) {
                problems.push(format!(
                    "header {lower} is sent but not documented for status {}",
                    response.status
                ));
            }
        }
        problems
    }

    /// A 405's `allow` header must list exactly the methods the document gives the path.
    fn allow_problems(&self, method: &str, target: &str, response: &Response) -> Vec<String> {
        let Target::Path {
            template,
            has_method: false,
        } = self.locate(method, target)
        else {
            return Vec::new();
        };
        let mut documented: BTreeSet<String> = self.paths()[&template]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| {
                [
                    "get", "put", "post", "delete", "options", "head", "patch", "trace",
                ]
                .contains(&k.as_str())
            })
            .map(|(k, _)| k.to_ascii_uppercase())
            .collect();
        // HEAD is answered wherever GET is (docs/server.md), without its own entry.
        if documented.contains("GET") {
            documented.insert("HEAD".to_owned());
        }
        let sent: BTreeSet<String> = response
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        if sent == documented {
            Vec::new()
        } else {
            vec![format!(
                "allow header {sent:?} differs from the documented methods {documented:?} of {template}"
            )]
        }
    }
}

/// `/projects/{id}` matches `/projects/abc` (one non-empty segment per parameter).
fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') && t.ends_with('}') {
                !p.is_empty()
            } else {
                t == p
            }
        })
}

/// A JSON pointer as a URI fragment (RFC 6901 §6): characters a URI may not hold are
/// percent-encoded.
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for c in pointer.chars() {
        match c {
            '%' | '{' | '}' | ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '|' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// RFC 6901 escaping of one reference token.
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The document's key for a request method. Methods are case-sensitive (RFC 9110), so only
/// the upper-case spelling names a documented operation; HEAD is answered wherever GET is
/// (docs/server.md) and is checked against GET's entry.
fn operation_key(method: &str) -> String {
    if method == "HEAD" {
        "get".to_owned()
    } else if method.bytes().all(|b| b.is_ascii_uppercase()) {
        method.to_ascii_lowercase()
    } else {
        // No document key is spelled like this: the method is undocumented.
        format!("x-not-a-method-{method}")
    }
}
