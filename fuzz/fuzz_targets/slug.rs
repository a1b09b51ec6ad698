//! Project ids: the id base of any name, and that base with any suffix, is always a valid id
//! (`[a-z0-9-]`, no leading or trailing `-`) of at most 64 characters, and the suffix is kept.

#![no_main]

use libfuzzer_sys::fuzz_target;
use opcore::domain::slug::{id_base, is_valid_id, with_suffix, MAX_ID_LEN, PROJECT_FALLBACK};

fuzz_target!(|data: &[u8]| {
    let (n, name) = match data.split_first_chunk::<8>() {
        Some((n, rest)) => (u64::from_le_bytes(*n), rest),
        None => (2, data),
    };
    let name = String::from_utf8_lossy(name);

    let base = id_base(&name, PROJECT_FALLBACK);
    assert!(
        is_valid_id(&base),
        "base {base:?} of {name:?} is not a valid id"
    );
    assert!(base.len() <= MAX_ID_LEN);
    assert!(!base.contains("--"), "base {base:?} has a doubled '-'");
    assert_eq!(id_base(&base, PROJECT_FALLBACK), base, "the base of a base differs");

    let id = with_suffix(&base, n);
    assert!(is_valid_id(&id), "{id:?} is not a valid id");
    assert!(id.len() <= MAX_ID_LEN);
    assert!(id.ends_with(&format!("-{n}")), "{id:?} lost its suffix {n}");
    assert!(!id.contains("--"), "{id:?} has a doubled '-'");

    // Any string as a base (the store only passes valid ones): still a valid id.
    let raw = with_suffix(&name, n);
    assert!(raw.len() <= MAX_ID_LEN, "{raw:?} is too long");
    assert!(raw.ends_with(&format!("-{n}")));
    if is_valid_id(&name) {
        assert!(is_valid_id(&raw), "{raw:?} from the valid id {name:?}");
    }
});
