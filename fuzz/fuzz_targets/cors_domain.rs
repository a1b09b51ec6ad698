//! CORS entries and project domains: normalizing is idempotent (normalizing a normalized value
//! gives it back unchanged), a normalized value always validates, errors never repeat the input,
//! and an origin entry matches the origin it spells.

#![no_main]

use libfuzzer_sys::fuzz_target;
use opcore::domain::cors::{normalize_entry, normalize_list, origin_allowed};
use opcore::domain::validate;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // One entry.
    match normalize_entry(&text) {
        Ok(normalized) => {
            assert_eq!(
                normalize_entry(&normalized).as_deref(),
                Ok(normalized.as_str()),
                "normalizing {text:?} twice differs from once"
            );
            assert!(!normalized.is_empty());
            assert!(
                normalized.bytes().all(|b| b.is_ascii_graphic()),
                "normalized entry {normalized:?} is not printable ASCII"
            );
            // An origin entry (scheme, no wildcard) lets exactly that origin in.
            if normalized.contains("://") && !normalized.contains('*') {
                let cors = [normalized.clone()];
                assert!(
                    origin_allowed(&cors, Some(&normalized)),
                    "{normalized:?} does not match itself"
                );
            }
        }
        Err(message) => {
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

    // A list, one entry per line: the normalized list normalizes to itself.
    let items: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if let Ok(list) = normalize_list(&items) {
        assert_eq!(
            normalize_list(&list).as_ref(),
            Ok(&list),
            "list not idempotent"
        );
        let distinct: std::collections::HashSet<_> = list.iter().collect();
        assert_eq!(distinct.len(), list.len(), "duplicates after normalizing");
        assert_eq!(validate::cors(&list).as_ref().ok(), Some(&list));
    }

    // A project domain.
    match validate::domain(Some(&text)) {
        Ok(Some(normalized)) => {
            assert_eq!(
                validate::domain(Some(&normalized))
                    .ok()
                    .flatten()
                    .as_deref(),
                Some(normalized.as_str()),
                "normalizing the domain {text:?} twice differs from once"
            );
            assert!(
                normalized.starts_with("http://") || normalized.starts_with("https://"),
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
