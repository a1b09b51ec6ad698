//! CORS entries and project domains: storing is idempotent (a stored value stores as itself),
//! only trailing slashes are removed, the match form is idempotent and agrees between an entry
//! and its stored form, errors never repeat the input, and an origin entry matches the origin
//! it spells.

#![no_main]

use libfuzzer_sys::fuzz_target;
use opcore::domain::cors::{match_form, origin_allowed, validate_entry, validate_list};
use opcore::domain::validate;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // One entry.
    match validate_entry(&text) {
        Ok(stored) => {
            assert_eq!(
                validate_entry(&stored).as_deref(),
                Ok(stored.as_str()),
                "storing {text:?} twice differs from once"
            );
            assert_eq!(stored, text.trim_end_matches('/'), "{text:?} rewritten");
            let matched = match_form(&text).expect("a valid entry has a match form");
            assert_eq!(match_form(&stored).as_ref(), Ok(&matched));
            assert_eq!(match_form(&matched).as_ref(), Ok(&matched));
            assert!(
                matched.bytes().all(|b| b.is_ascii_graphic()),
                "match form {matched:?} is not printable ASCII"
            );
            // An origin entry (scheme, no wildcard) lets exactly that origin in.
            if matched.contains("://") && !matched.contains('*') {
                let cors = [stored.clone()];
                assert!(
                    origin_allowed(&cors, Some(&matched)),
                    "{stored:?} does not match its own origin"
                );
            }
        }
        Err(message) => {
            assert!(match_form(&text).is_err(), "{text:?}");
            assert!(message.starts_with("Invalid CORS origin: "), "{message}");
            // Errors name the entry by its index and never repeat it: their length does not
            // depend on the input.
            assert!(message.len() <= 120, "{message}");
        }
    }

    // As an Origin header against a few lists: never panics, never lets `null` or nothing in.
    for cors in [&["*".to_string()][..], &["*.example.com".to_string()][..]] {
        let _ = origin_allowed(cors, Some(&text));
        assert!(!origin_allowed(cors, None));
        assert!(!origin_allowed(cors, Some("null")));
    }

    // A list, one entry per line: kept in order, entry for entry, and stores as itself.
    let items: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if let Ok(list) = validate_list(&items) {
        assert_eq!(list.len(), items.len(), "entries merged");
        assert_eq!(validate_list(&list).as_ref(), Ok(&list), "list not idempotent");
        assert_eq!(validate::cors(&list).as_ref().ok(), Some(&list));
    }

    // A project domain.
    match validate::domain(Some(&text)) {
        Ok(Some(normalized)) => {
            assert_eq!(normalized, text.trim_end_matches('/'), "{text:?} rewritten");
            assert_eq!(
                validate::domain(Some(&normalized))
                    .ok()
                    .flatten()
                    .as_deref(),
                Some(normalized.as_str()),
                "storing the domain {text:?} twice differs from once"
            );
            assert!(
                normalized.to_ascii_lowercase().starts_with("http://")
                    || normalized.to_ascii_lowercase().starts_with("https://"),
                "{normalized:?}"
            );
            assert!(
                !normalized.ends_with('/'),
                "{normalized:?} keeps a trailing slash"
            );
        }
        Ok(None) => assert!(text.is_empty(), "{text:?} read as no domain"),
        Err(e) => assert_eq!(e.to_string().split(':').next(), Some("domain")),
    }
});
