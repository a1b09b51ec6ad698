//! PKCE (RFC 7636) with the `S256` method, the only one opcore accepts (`plain` would let a
//! code intercepted together with its challenge be redeemed).

use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only accepted `code_challenge_method` (case-sensitive, as RFC 7636 §4.3 defines it).
pub const S256: &str = "S256";

/// Length of an S256 challenge: base64url without padding of 32 bytes.
pub const CHALLENGE_LEN: usize = 43;

/// Whether `v` is a valid `code_verifier`: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(is_unreserved)
}

/// Whether `c` can be an S256 `code_challenge`: 43 base64url characters.
pub fn challenge_well_formed(c: &str) -> bool {
    c.len() == CHALLENGE_LEN
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `BASE64URL(SHA256(verifier))` without padding.
///
/// ```
/// // RFC 7636, Appendix B.
/// assert_eq!(
///     opcore::domain::pkce::s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
///     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// );
/// ```
pub fn s256(verifier: &str) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is well-formed and hashes to `challenge`, compared in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    if !verifier_well_formed(verifier) {
        return false;
    }
    bool::from(s256(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(s256(RFC_VERIFIER), RFC_CHALLENGE);
        assert!(challenge_well_formed(RFC_CHALLENGE));
        assert!(verify_s256(RFC_VERIFIER, RFC_CHALLENGE));
    }

    #[test]
    fn verifier_rules() {
        let table: &[(&str, bool)] = &[
            (RFC_VERIFIER, true),
            (&"a".repeat(43), true),
            (&"a".repeat(128), true),
            (&"a".repeat(42), false),
            (&"a".repeat(129), false),
            ("abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEFG", true),
            ("abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEF+", false),
            ("abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEF ", false),
            ("abcdefghijklmnopqrstuvwxyz0123456789-._~ABCDEFé", false),
        ];
        for &(v, ok) in table {
            assert_eq!(verifier_well_formed(v), ok, "{v}");
        }
    }

    #[test]
    fn challenge_rules_and_mismatches() {
        assert!(!challenge_well_formed(&RFC_CHALLENGE[..42]));
        assert!(!challenge_well_formed(&format!(
            "{}=",
            &RFC_CHALLENGE[..42]
        )));
        assert!(!challenge_well_formed(&format!("{RFC_CHALLENGE}A")));
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK";
        assert!(!verify_s256(other, RFC_CHALLENGE));
        // The challenge itself is not a verifier for itself.
        assert!(!verify_s256(RFC_CHALLENGE, RFC_CHALLENGE));
        // A malformed verifier never verifies, even against its own hash.
        let short = "abc";
        assert!(!verify_s256(short, &s256(short)));
    }
}
