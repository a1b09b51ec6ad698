//! Turning a JSON request body into the store's inputs, with zod-like type errors
//! (`Expected string, received number`, `Required`) for every offending field.

use serde_json::{Map, Value};

use crate::domain::model::ClientType;
use crate::domain::tier::Tier;
use crate::domain::validate::{self, FieldError};
use crate::store::{
    ClientChanges, NewClient, NewProject, NewReference, Problems, ProjectChanges, ReferenceChanges,
};

/// Parses a body that must be a JSON object. An empty body is an empty object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, Vec<FieldError>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(vec![root_error(format!(
            "Expected object, received {}",
            kind(&other)
        ))]),
        Err(e) => Err(vec![root_error(format!("Malformed JSON: {e}"))]),
    }
}

fn root_error(message: String) -> FieldError {
    FieldError {
        path: Vec::new(),
        message,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Reads fields off a body object, collecting every type error.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Fields {
            map,
            errors: Vec::new(),
        }
    }

    fn mismatch(&mut self, field: &str, expected: &str, got: &Value) {
        self.errors.push(FieldError::new(
            field,
            format!("Expected {expected}, received {}", kind(got)),
        ));
    }

    /// A required string; `Required` when absent.
    pub fn required_string(&mut self, field: &str) -> String {
        match self.map.get(field) {
            None => {
                self.errors.push(FieldError::new(field, "Required"));
                String::new()
            }
            Some(_) => self.string(field).unwrap_or_default(),
        }
    }

    /// An optional string (absent → None; null is a type error).
    pub fn string(&mut self, field: &str) -> Option<String> {
        match self.map.get(field)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.mismatch(field, "string", other);
                None
            }
        }
    }

    /// An optional, nullable string: absent → None, null → Some(None).
    pub fn nullable_string(&mut self, field: &str) -> Option<Option<String>> {
        match self.map.get(field)? {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            other => {
                self.mismatch(field, "string", other);
                None
            }
        }
    }

    pub fn bool(&mut self, field: &str) -> Option<bool> {
        match self.map.get(field)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.mismatch(field, "boolean", other);
                None
            }
        }
    }

    /// An optional array of strings; each non-string element is reported at its index.
    pub fn string_array(&mut self, field: &str) -> Option<Vec<String>> {
        match self.map.get(field)? {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.errors.push(FieldError::at_index(
                            field,
                            i,
                            format!("Expected string, received {}", kind(other)),
                        )),
                    }
                }
                Some(out)
            }
            other => {
                self.mismatch(field, "array", other);
                None
            }
        }
    }

    pub fn client_type(&mut self, field: &str) -> Option<ClientType> {
        let s = self.string(field)?;
        validate::client_type(&s)
            .map_err(|e| self.errors.push(e))
            .ok()
    }

    /// An optional, nullable tier: absent → None, null → Some(None).
    pub fn tier(&mut self, field: &str) -> Option<Option<Tier>> {
        match self.nullable_string(field)? {
            None => Some(None),
            Some(s) => validate::tier(&s)
                .map_err(|e| self.errors.push(e))
                .ok()
                .map(Some),
        }
    }

    /// A reference's `datetime`, also accepted under the name `date` (clients echo the
    /// response's field name). Both present must name the same instant; otherwise the
    /// request is refused rather than one of them silently winning (see
    /// `docs/behaviour.md#dates`).
    pub fn datetime(&mut self) -> Option<String> {
        let datetime = self.string("datetime");
        let Some(date) = self.string("date") else {
            return datetime;
        };
        let alias = validate::datetime_field("date", &date);
        match (&datetime, alias) {
            (_, Err(e)) => {
                self.errors.push(e);
                datetime
            }
            (None, Ok(_)) => Some(date),
            (Some(d), Ok(instant)) => {
                if validate::datetime(d).is_ok_and(|t| t != instant) {
                    self.errors.push(FieldError::new(
                        "date",
                        "date is another name for datetime and names a different instant; \
                         send only one of them",
                    ));
                }
                datetime
            }
        }
    }

    /// The input, or every problem: type errors first, then the rule errors of the fields
    /// that had the right type.
    pub fn finish<T: Problems>(self, value: T) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            return Ok(value);
        }
        let mut errors = self.errors;
        for e in value.problems() {
            if !errors.iter().any(|t| t.path.first() == e.path.first()) {
                errors.push(e);
            }
        }
        Err(errors)
    }
}

pub fn new_project(map: &Map<String, Value>) -> Result<NewProject, Vec<FieldError>> {
    let mut f = Fields::new(map);
    let input = NewProject {
        name: f.required_string("name"),
        domain: f.nullable_string("domain").flatten(),
        cors: f.string_array("cors").unwrap_or_default(),
        cross_domain: f.bool("crossDomain").unwrap_or(false),
        types: f.string_array("types").unwrap_or_default(),
    };
    f.finish(input)
}

pub fn project_changes(map: &Map<String, Value>) -> Result<ProjectChanges, Vec<FieldError>> {
    let mut f = Fields::new(map);
    let input = ProjectChanges {
        name: f.string("name"),
        domain: f.nullable_string("domain"),
        cors: f.string_array("cors"),
        cross_domain: f.bool("crossDomain"),
        allow_unsafe_revenue_tracking: f.bool("allowUnsafeRevenueTracking"),
    };
    f.finish(input)
}

pub fn new_client(map: &Map<String, Value>) -> Result<NewClient, Vec<FieldError>> {
    let mut f = Fields::new(map);
    let input = NewClient {
        name: f.required_string("name"),
        project_id: f.nullable_string("projectId").flatten(),
        client_type: f.client_type("type").unwrap_or(ClientType::Write),
        ignore_cors_and_secret: false,
        redirect_uris: f.string_array("redirectUris").unwrap_or_default(),
        tier: f.tier("tier").flatten(),
        expires_at: f.nullable_string("expiresAt").flatten(),
    };
    f.finish(input)
}

pub fn client_changes(map: &Map<String, Value>) -> Result<ClientChanges, Vec<FieldError>> {
    let mut f = Fields::new(map);
    let input = ClientChanges {
        name: f.string("name"),
        client_type: f.client_type("type"),
        project_id: f.nullable_string("projectId"),
        ignore_cors_and_secret: None,
        redirect_uris: f.string_array("redirectUris"),
        tier: f.tier("tier"),
        expires_at: f.nullable_string("expiresAt"),
    };
    f.finish(input)
}

/// The body of `POST /clients/{id}/rotate`: `graceSeconds`, an integer from 0 to
/// [`crate::store::MAX_GRACE_SECONDS`], default 0 (docs/lifecycle.md#rotation).
pub fn grace_seconds(map: &Map<String, Value>) -> Result<u64, Vec<FieldError>> {
    match map.get("graceSeconds") {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|g| *g <= crate::store::MAX_GRACE_SECONDS)
            .ok_or_else(|| vec![crate::store::inputs::grace_seconds_error()]),
        Some(other) => Err(vec![FieldError::new(
            "graceSeconds",
            format!("Expected number, received {}", kind(other)),
        )]),
    }
}

/// The field only the Rust and C APIs accept, never the Manage API (docs/c-api.md).
const IGNORE_CORS_AND_SECRET: &str = "ignoreCorsAndSecret";

/// A client to create from the Rust or C API: the body of `POST /manage/clients` plus
/// `"ignoreCorsAndSecret"` (boolean, default false), which the Manage API does not accept.
pub fn new_client_trusted(map: &Map<String, Value>) -> Result<NewClient, Vec<FieldError>> {
    let mut extra = Fields::new(map);
    let ignore = extra.bool(IGNORE_CORS_AND_SECRET);
    let mut input = with_extra(new_client(map), extra.errors)?;
    input.ignore_cors_and_secret = ignore.unwrap_or(false);
    Ok(input)
}

/// Client changes from the Rust or C API: the body of `PATCH /manage/clients/{id}` plus
/// `"ignoreCorsAndSecret"` (boolean), which the Manage API does not accept.
pub fn client_changes_trusted(map: &Map<String, Value>) -> Result<ClientChanges, Vec<FieldError>> {
    let mut extra = Fields::new(map);
    let ignore = extra.bool(IGNORE_CORS_AND_SECRET);
    let mut changes = with_extra(client_changes(map), extra.errors)?;
    changes.ignore_cors_and_secret = ignore;
    Ok(changes)
}

/// Merges the type errors of the extra fields with the Manage API body's own errors.
fn with_extra<T>(
    parsed: Result<T, Vec<FieldError>>,
    extra: Vec<FieldError>,
) -> Result<T, Vec<FieldError>> {
    match parsed {
        Ok(value) if extra.is_empty() => Ok(value),
        Ok(_) => Err(extra),
        Err(mut errors) => {
            errors.extend(extra);
            Err(errors)
        }
    }
}

pub fn new_reference(map: &Map<String, Value>) -> Result<NewReference, Vec<FieldError>> {
    let mut f = Fields::new(map);
    let input = NewReference {
        project_id: f.required_string("projectId"),
        title: f.required_string("title"),
        description: f.nullable_string("description").flatten(),
        datetime: f.datetime(),
    };
    f.finish(input)
}

pub fn reference_changes(map: &Map<String, Value>) -> Result<ReferenceChanges, Vec<FieldError>> {
    let mut f = Fields::new(map);
    let input = ReferenceChanges {
        title: f.string("title"),
        description: f.nullable_string("description"),
        datetime: f.datetime(),
    };
    f.finish(input)
}
