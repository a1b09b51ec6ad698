//! The test vectors of `docs/behaviour.md`: every case of every file, against the domain
//! functions.
//!
//! The vectors are committed under `tests/vectors/`. When the upstream copy the project
//! follows is present beside the checkout, the committed copy must be identical to it (so the
//! two cannot drift) and the upstream files are the ones tested.

use std::fs;
use std::path::{Path, PathBuf};

use opcore::domain::validate::{self, PathSegment};
use opcore::domain::{cors, slug};
use serde_json::Value;

const FILES: [&str; 4] = ["cors.json", "domain.json", "slug.json", "datetime.json"];
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors");
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

/// The directory to test against, after checking the committed copy against the shared one.
fn vector_dir() -> PathBuf {
    let shared = Path::new(SHARED);
    if !shared.is_dir() {
        println!("{SHARED} not found: testing the committed copy in {COMMITTED}");
        return PathBuf::from(COMMITTED);
    }
    for file in FILES {
        let ours = fs::read(Path::new(COMMITTED).join(file))
            .unwrap_or_else(|e| panic!("committed copy tests/vectors/{file}: {e}"));
        let theirs =
            fs::read(shared.join(file)).unwrap_or_else(|e| panic!("shared vectors {file}: {e}"));
        assert!(
            ours == theirs,
            "tests/vectors/{file} differs from ../shared/vectors/{file}; copy the shared file"
        );
    }
    shared.to_path_buf()
}

fn load(file: &str) -> Value {
    let path = vector_dir().join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cases<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    let cases = doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("vector key {key:?} is not an array"));
    assert!(!cases.is_empty(), "vector key {key:?} has no cases");
    cases
}

fn str_of(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {v}"))
        .iter()
        .map(|s| str_of(s).to_string())
        .collect()
}

fn key(name: &str) -> PathSegment {
    PathSegment::Key(name.to_string())
}

#[test]
fn slug_vectors() {
    let doc = load("slug.json");
    for case in cases(&doc, "cases") {
        let (name, want) = (str_of(&case[0]), str_of(&case[1]));
        let got = slug::id_base(name, slug::PROJECT_FALLBACK);
        assert_eq!(got, want, "slug of {name:?}");
        assert!(slug::is_valid_id(&got), "{got:?} is not a valid id");
    }
}

#[test]
fn cors_valid_vectors() {
    let doc = load("cors.json");
    for case in cases(&doc, "valid") {
        let (raw, matched, stored) = (str_of(&case[0]), str_of(&case[1]), str_of(&case[2]));
        assert_eq!(
            cors::validate_entry(raw).as_deref(),
            Ok(stored),
            "stored form of cors entry {raw:?}"
        );
        assert_eq!(
            cors::match_form(raw).as_deref(),
            Ok(matched),
            "match form of cors entry {raw:?}"
        );
        // Storing is idempotent, and the match form is the same from the stored form and from
        // itself (rows stored by earlier releases hold the match form).
        assert_eq!(cors::validate_entry(stored).as_deref(), Ok(stored));
        assert_eq!(cors::match_form(stored).as_deref(), Ok(matched));
        assert_eq!(cors::match_form(matched).as_deref(), Ok(matched));
        assert_eq!(
            validate::cors(&[raw.to_string()]),
            Ok(vec![stored.to_string()])
        );
    }
}

#[test]
fn cors_invalid_vectors_name_the_index() {
    let doc = load("cors.json");
    for case in cases(&doc, "invalid") {
        let raw = str_of(case);
        let message = cors::validate_entry(raw).expect_err(raw);
        assert!(message.starts_with("Invalid CORS origin: "), "{message}");
        assert!(cors::match_form(raw).is_err(), "{raw:?}");

        // Placed after a valid entry, the error must point at index 1.
        let list = vec!["https://ok.example".to_string(), raw.to_string()];
        let errors = validate::cors(&list).expect_err(raw);
        assert_eq!(errors.len(), 1, "{raw:?}: {errors:?}");
        assert_eq!(
            errors[0].path,
            vec![key("cors"), PathSegment::Index(1)],
            "{raw:?}"
        );
        assert_eq!(
            serde_json::to_value(&errors[0].path).unwrap(),
            serde_json::json!(["cors", 1])
        );
    }
}

#[test]
fn cors_kept_vectors() {
    let doc = load("cors.json");
    for case in cases(&doc, "kept") {
        let (input, want) = (strings(&case[0]), strings(&case[1]));
        assert_eq!(cors::validate_list(&input), Ok(want.clone()), "{input:?}");
        assert_eq!(validate::cors(&input), Ok(want.clone()), "{input:?}");
        // What is returned stores as itself.
        assert_eq!(validate::cors(&want), Ok(want), "{input:?}");
    }
}

#[test]
fn cors_match_vectors() {
    let doc = load("cors.json");
    for case in cases(&doc, "matches") {
        let (entry, origin) = (str_of(&case[0]), str_of(&case[1]));
        let want = case[2]
            .as_bool()
            .unwrap_or_else(|| panic!("expected a bool in {case}"));
        let stored = validate::cors(&[entry.to_string()]).expect("valid entry");
        let matched = vec![cors::match_form(entry).expect("valid entry")];
        // The entry as stored now, as an earlier release stored it (its match form) and with
        // a mixed-case host all decide the same way.
        let mixed = validate::cors(&[mixed_case_host(entry)]).expect("valid entry");
        for list in [&stored, &matched, &mixed] {
            assert_eq!(
                cors::origin_allowed(list, Some(origin)),
                want,
                "entry {list:?} origin {origin:?}"
            );
        }
    }
}

/// The entry with its scheme and host upper-cased.
fn mixed_case_host(entry: &str) -> String {
    entry.to_ascii_uppercase()
}

#[test]
fn domain_vectors() {
    let doc = load("domain.json");
    for case in cases(&doc, "valid") {
        let input = case[0].as_str();
        let want = case[1].as_str().map(str::to_string);
        assert_eq!(validate::domain(input), Ok(want), "domain {input:?}");
    }
    for case in cases(&doc, "invalid") {
        let input = str_of(case);
        let err = validate::domain(Some(input)).expect_err(input);
        assert_eq!(err.path, vec![key("domain")], "{input:?}");
        assert!(!err.message.is_empty());
    }
}

#[test]
fn datetime_vectors() {
    let doc = load("datetime.json");
    for case in cases(&doc, "valid") {
        let (input, want) = (str_of(&case[0]), str_of(&case[1]));
        let got = validate::datetime(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(got.to_rfc3339(), want, "datetime {input:?}");
        // The returned form is what a client sees as `date`.
        assert_eq!(serde_json::to_value(got).unwrap(), Value::from(want));
    }
    for case in cases(&doc, "invalid") {
        let input = str_of(case);
        let err = validate::datetime(input).expect_err(input);
        assert_eq!(err.path, vec![key("datetime")], "{input:?}");
        assert!(!err.message.is_empty());
    }
}
