//! Project and organization ids (docs/behaviour.md): the slug of a name, at most [`MAX_ID_LEN`]
//! characters, with a `-{n}` suffix when the base is already taken.
//!
//! Choosing *which* `n` to use is the store's job (it keeps a per-base counter so the cost does
//! not grow with the number of ids sharing a base); this module only builds the strings.

/// The longest id, suffix included.
pub const MAX_ID_LEN: usize = 64;

/// The base of a project whose name's slug is empty (`"!!!"`, `"---"`).
pub const PROJECT_FALLBACK: &str = "project";

/// The base of an organization whose name's slug is empty.
pub const ORGANIZATION_FALLBACK: &str = "organization";

/// The base [`with_suffix`] falls back to should its base be empty.
const FALLBACK_BASE: &str = PROJECT_FALLBACK;

/// The id base for a project's or an organization's name: trimmed, slugified by the `slug`
/// crate (lowercase ASCII, words joined by `-`, transliterated), cut to at most [`MAX_ID_LEN`]
/// characters at a word boundary; `fallback` ([`PROJECT_FALLBACK`],
/// [`ORGANIZATION_FALLBACK`]) when nothing is left.
///
/// A cut always happens at the last `-` that keeps the result within the limit; only when the
/// first word alone is longer than the limit is it cut inside the word.
///
/// ```
/// use opcore::domain::slug::{id_base, ORGANIZATION_FALLBACK, PROJECT_FALLBACK};
/// assert_eq!(id_base("My Project", PROJECT_FALLBACK), "my-project");
/// assert_eq!(id_base("Привет мир", PROJECT_FALLBACK), "privet-mir");
/// assert_eq!(id_base("!!!", PROJECT_FALLBACK), "project");
/// assert_eq!(id_base("!!!", ORGANIZATION_FALLBACK), "organization");
/// ```
pub fn id_base(name: &str, fallback: &str) -> String {
    let slug = slug::slugify(name.trim());
    let cut = cut_at_word(&slug, MAX_ID_LEN);
    if cut.is_empty() {
        fallback.to_string()
    } else {
        cut.to_string()
    }
}

/// The id `{base}-{n}`, shortening `base` (at a `-` when possible) so the whole id fits in
/// [`MAX_ID_LEN`] characters. The result never has a leading, trailing or doubled `-` when
/// `base` is a valid id.
///
/// ```
/// use opcore::domain::slug::with_suffix;
/// assert_eq!(with_suffix("my-project", 2), "my-project-2");
/// ```
pub fn with_suffix(base: &str, n: u64) -> String {
    let suffix = format!("-{n}");
    // A u64 suffix is at most 21 characters, so there is always room for a base.
    let room = MAX_ID_LEN - suffix.len();
    let mut base = cut_at_word(base.trim_matches('-'), room);
    if base.is_empty() {
        base = FALLBACK_BASE;
    }
    format!("{base}{suffix}")
}

/// Whether `s` has the shape of a generated id: 1 to [`MAX_ID_LEN`] characters of `[a-z0-9-]`,
/// not starting or ending with `-`.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// The longest prefix of `s` of at most `max` bytes that ends at a word boundary, or a hard cut
/// at `max` when the first word alone is longer. Never ends with `-`.
fn cut_at_word(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s.trim_end_matches('-');
    }
    // Slugs are ASCII; step back to a char boundary anyway so no input can make this panic.
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let head = &s[..end];
    let cut = if s[end..].starts_with('-') {
        // The word ends exactly at the limit.
        head
    } else {
        match head.rfind('-') {
            Some(i) if i > 0 => &head[..i],
            _ => head,
        }
    };
    cut.trim_end_matches('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bases_from_names() {
        let long_word = "a".repeat(100);
        let cases: &[(&str, &str)] = &[
            ("My Project", "my-project"),
            ("My New Project", "my-new-project"),
            ("Привет мир", "privet-mir"),
            ("🚀", "rocket"),
            ("!!!", "project"),
            ("---", "project"),
            ("", "project"),
            ("   ", "project"),
            ("a&b", "a-b"),
            ("foo_bar", "foo-bar"),
            ("ß straße", "ss-strasse"),
            ("Shop-2024", "shop-2024"),
            ("   Spaces   ", "spaces"),
            (&long_word, &long_word[..64]),
        ];
        for (name, want) in cases {
            assert_eq!(id_base(name, PROJECT_FALLBACK), *want, "name {name:?}");
        }
    }

    #[test]
    fn truncates_at_the_last_word_boundary() {
        // 13 four-letter words joined by '-' are exactly 64 characters.
        let name = "word ".repeat(50);
        let want = ["word"; 13].join("-");
        assert_eq!(want.len(), 64);
        assert_eq!(id_base(&name, PROJECT_FALLBACK), want);

        // A word ending exactly at the limit is kept whole.
        let name = format!("{} tail", "b".repeat(64));
        assert_eq!(id_base(&name, PROJECT_FALLBACK), "b".repeat(64));

        // A word crossing the limit is dropped.
        let name = format!("{} {}", "c".repeat(60), "d".repeat(10));
        assert_eq!(id_base(&name, PROJECT_FALLBACK), "c".repeat(60));

        // A short first word followed by a very long one keeps only the first word.
        let name = format!("a {}", "e".repeat(100));
        assert_eq!(id_base(&name, PROJECT_FALLBACK), "a");
    }

    #[test]
    fn suffixes() {
        let base64 = ["word"; 13].join("-");
        let hard = "x".repeat(64);
        let cases: Vec<(&str, u64, String)> = vec![
            ("my-project", 1, "my-project-1".into()),
            ("my-project", 42, "my-project-42".into()),
            ("project", u64::MAX, format!("project-{}", u64::MAX)),
            // Shortened at a word boundary: "-1" needs 2 characters, so the last word goes.
            (&base64, 1, format!("{}-1", ["word"; 12].join("-"))),
            // No boundary: hard cut.
            (&hard, 7, format!("{}-7", "x".repeat(62))),
            (&hard, u64::MAX, format!("{}-{}", "x".repeat(43), u64::MAX)),
        ];
        for (base, n, want) in cases {
            let got = with_suffix(base, n);
            assert_eq!(got, want, "base {base:?} n {n}");
            assert!(got.len() <= MAX_ID_LEN);
            assert!(is_valid_id(&got), "{got:?}");
        }
    }

    #[test]
    fn valid_ids() {
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        let cases: &[(&str, bool)] = &[
            ("my-project", true),
            ("a", true),
            ("0", true),
            ("my-project-12", true),
            (&long, true),
            (&too_long, false),
            ("", false),
            ("-a", false),
            ("a-", false),
            ("-", false),
            ("My-project", false),
            ("my_project", false),
            ("my project", false),
            ("prоject", false), // Cyrillic 'о'
        ];
        for (s, want) in cases {
            assert_eq!(is_valid_id(s), *want, "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn any_name_gives_valid_ids(name in any::<String>(), n in any::<u64>()) {
            let base = id_base(&name, PROJECT_FALLBACK);
            prop_assert!(is_valid_id(&base), "base {:?}", base);
            let id = with_suffix(&base, n);
            prop_assert!(is_valid_id(&id), "id {:?}", id);
            let want_end = format!("-{n}");
            prop_assert!(id.ends_with(&want_end));
        }

        #[test]
        fn wordy_names_give_valid_ids(
            name in "([a-zA-Z0-9]{1,70}[ _!-]{1,3}){0,12}",
            n in any::<u64>(),
        ) {
            let base = id_base(&name, PROJECT_FALLBACK);
            prop_assert!(is_valid_id(&base), "base {:?}", base);
            // The base is a prefix of the full slug, cut at a word boundary or at 64.
            let full = slug::slugify(name.trim());
            prop_assert!(full.starts_with(&base) || base == FALLBACK_BASE);
            if full.len() > base.len() && base != FALLBACK_BASE {
                let next = full.as_bytes()[base.len()];
                prop_assert!(next == b'-' || base.len() == MAX_ID_LEN);
            }
            let id = with_suffix(&base, n);
            prop_assert!(is_valid_id(&id), "id {:?}", id);
        }
    }
}
