//! Client secrets (docs/security.md): generation, redaction and the keyed check value; their
//! argon2id hashing is in [`super::hashing`].
//!
//! A secret is `sec_` + 32 lowercase hex characters (128 bits from the OS CSPRNG). It is stored
//! only as an argon2id PHC string, beside a 32-bit keyed check value ([`CheckKey`]) that lets a
//! wrong secret be refused without argon2, and shown exactly once, in the response that
//! created it. Why the check value is safe: docs/security.md.

use std::fmt;

use hmac::{Hmac, Mac};
use rand::TryRngCore;
use serde::{Serialize, Serializer};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::hex::push_hex;
// The hasher's items, where hosts have always found them.
pub use super::hashing::{Argon2Params, SecretHasher, Verification};

/// Every secret starts with this.
pub const SECRET_PREFIX: &str = "sec_";

/// Bytes of entropy in a generated secret (RFC 6749 §10.10 asks for at least 128 bits).
const SECRET_BYTES: usize = 16;

/// The longest string [`is_well_formed`] accepts; longer input is refused before any hashing.
pub const MAX_SECRET_LEN: usize = 200;

const REDACTED: &str = "sec_…(redacted)";

/// A client secret. `Debug` and `Display` print `sec_…(redacted)`; the plaintext is zeroized
/// when the value is dropped. There is deliberately no `Clone`: the plaintext is reachable only
/// through [`Secret::expose`] and [`Serialize`].
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// A fresh secret: `sec_` + 32 lowercase hex characters from 16 bytes of the OS CSPRNG.
    ///
    /// # Panics
    /// If the operating system's random number generator fails, which no input can cause;
    /// handing out a guessable secret instead would be worse.
    pub fn generate() -> Secret {
        let mut bytes = Zeroizing::new([0u8; SECRET_BYTES]);
        rand::rngs::OsRng
            .try_fill_bytes(bytes.as_mut())
            .expect("the operating system's random number generator failed");
        // Built in place, at its final capacity, so no unzeroized copy is left behind.
        let mut s = Zeroizing::new(String::with_capacity(
            SECRET_PREFIX.len() + 2 * SECRET_BYTES,
        ));
        s.push_str(SECRET_PREFIX);
        push_hex(&mut s, bytes.as_ref());
        Secret(s)
    }

    /// Wraps a secret received from a caller (e.g. the `openpanel-client-secret` header).
    pub fn from_plaintext(s: String) -> Secret {
        Secret(Zeroizing::new(s))
    }

    /// The plaintext. Never log it or put it in an error.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Serializes the **plaintext**. This exists for one purpose: returning a new secret once, in
/// the response that created it. Never serialize a `Secret` anywhere else.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

/// Whether `s` can be a secret: `sec_` followed by one or more hex digits, at most
/// [`MAX_SECRET_LEN`] characters in all. Hex digits of either case are accepted (generated
/// secrets are lowercase; imported ones may not be); verification itself compares exactly, so
/// `sec_AB` and `sec_ab` are different secrets.
pub fn is_well_formed(s: &str) -> bool {
    s.len() <= MAX_SECRET_LEN
        && s.strip_prefix(SECRET_PREFIX)
            .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Bytes of a store's check key.
pub const CHECK_KEY_BYTES: usize = 32;

/// The key of a store's check values: 32 bits of HMAC-SHA-256, under this key, of the
/// length-delimited client id and secret. Kept beside the hashes so that a wrong secret (and an
/// unknown client id, checked against `CheckKey::dummy`) is refused after one HMAC; only a
/// secret whose check value matches goes on to argon2. A random wrong secret passes with
/// probability 2⁻³², so the check proves nothing about a right one: argon2 still decides.
/// Whoever holds the store file holds the key too, and can test guesses at HMAC speed —
/// harmless for secrets of at least 80 random bits (docs/security.md). `Debug` prints nothing
/// of the key.
#[derive(Clone)]
pub struct CheckKey {
    mac: Hmac<Sha256>,
    /// Compared against for unknown client ids, so they cost exactly what a known id's wrong
    /// secret costs. Random per handle; matching it by chance leads to a dummy argon2 run.
    dummy: u32,
}

impl fmt::Debug for CheckKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckKey(redacted)")
    }
}

impl CheckKey {
    /// A key from its stored bytes; None unless there are exactly [`CHECK_KEY_BYTES`].
    pub fn from_bytes(bytes: &[u8]) -> Option<CheckKey> {
        if bytes.len() != CHECK_KEY_BYTES {
            return None;
        }
        let mac = Hmac::<Sha256>::new_from_slice(bytes).ok()?;
        let mut dummy = [0u8; 4];
        // A failing OS RNG leaves the dummy at 0: still a value no secret is likelier to hit.
        let _ = rand::rngs::OsRng.try_fill_bytes(&mut dummy);
        Some(CheckKey {
            mac,
            dummy: u32::from_be_bytes(dummy),
        })
    }

    /// The check value of `secret` for client `client_id`: the first 32 bits of
    /// HMAC-SHA-256(key, len(id) ‖ id ‖ len(secret) ‖ secret), lengths as 8-byte big-endian.
    pub fn value(&self, client_id: &str, secret: &str) -> u32 {
        let mut mac = self.mac.clone();
        mac.update(&(client_id.len() as u64).to_be_bytes());
        mac.update(client_id.as_bytes());
        mac.update(&(secret.len() as u64).to_be_bytes());
        mac.update(secret.as_bytes());
        let out: Zeroizing<[u8; 32]> = Zeroizing::new(mac.finalize().into_bytes().into());
        u32::from_be_bytes([out[0], out[1], out[2], out[3]])
    }

    /// Whether `secret` may be the secret whose check value is `stored` (None: an unknown
    /// client id, compared against the dummy value). The same work whichever case it is; the
    /// comparison is constant-time.
    pub fn admits(&self, client_id: &str, secret: &str, stored: Option<u32>) -> bool {
        self.matches(self.value(client_id, secret), stored)
    }

    /// Whether a check value computed once by [`CheckKey::value`] matches `stored` (None: the
    /// dummy value of an unknown client id). Constant-time; lets one HMAC be compared against
    /// a client's current and previous secrets (docs/lifecycle.md#rotation).
    pub fn matches(&self, computed: u32, stored: Option<u32>) -> bool {
        let expected = stored.unwrap_or(self.dummy);
        bool::from(computed.to_be_bytes().ct_eq(&expected.to_be_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_secrets_have_the_documented_format() {
        for _ in 0..100 {
            let s = Secret::generate();
            let text = s.expose();
            assert_eq!(text.len(), 36);
            let hex = text.strip_prefix("sec_").expect("prefix");
            assert!(hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
            assert!(is_well_formed(text));
        }
    }

    #[test]
    fn generated_secrets_are_unique() {
        let n = 10_000;
        let seen: HashSet<String> = (0..n)
            .map(|_| Secret::generate().expose().to_string())
            .collect();
        assert_eq!(seen.len(), n);
    }

    #[test]
    fn debug_and_display_never_show_the_plaintext() {
        let s = Secret::generate();
        let hex = &s.expose()[4..];
        for shown in [
            format!("{s:?}"),
            format!("{s}"),
            format!("{s:#?}"),
            format!("{:?}", Some(&s)),
        ] {
            assert!(!shown.contains(hex), "{shown}");
            assert!(shown.contains("sec_…(redacted)"));
        }
        let s = Secret::from_plaintext("sec_abcdef".into());
        assert_eq!(format!("{s:?}"), "sec_…(redacted)");
        assert_eq!(s.expose(), "sec_abcdef");
    }

    #[test]
    fn serializes_the_plaintext_for_the_create_response() {
        let s = Secret::from_plaintext("sec_0123".into());
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"sec_0123\"");
    }

    #[test]
    fn well_formed_secrets() {
        let long_ok = format!("sec_{}", "a".repeat(MAX_SECRET_LEN - 4));
        let too_long = format!("sec_{}", "a".repeat(MAX_SECRET_LEN - 3));
        let cases: &[(&str, bool)] = &[
            ("sec_0123456789abcdef0123456789abcdef", true),
            ("sec_0123456789abcdef0123", true), // the reference system's 20-character secrets
            ("sec_a", true),
            ("sec_ABCDEF", true),
            (&long_ok, true),
            (&too_long, false),
            ("sec_", false),
            ("sec_xyz", false),
            ("sec_ab cd", false),
            ("SEC_abcd", false),
            ("abcd", false),
            ("", false),
            (" sec_abcd", false),
        ];
        for (s, want) in cases {
            assert_eq!(is_well_formed(s), *want, "{s:?}");
        }
    }

    #[test]
    fn check_values_are_keyed_and_length_delimited() {
        let k = CheckKey::from_bytes(&[7u8; 32]).unwrap();
        let other = CheckKey::from_bytes(&[8u8; 32]).unwrap();
        let id = "6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5f";
        let secret = "sec_00112233445566778899aabbccddeeff";
        let v = k.value(id, secret);
        assert_eq!(v, k.value(id, secret));
        assert_ne!(v, other.value(id, secret));
        assert_ne!(k.value("ab", "c"), k.value("a", "bc"));
        assert_ne!(v, k.value("6f1f2d3c-4b5a-4c7d-8e9f-0a1b2c3d4e5e", secret));
        assert!(k.admits(id, secret, Some(v)));
        assert!(!k.admits(id, "sec_00112233445566778899aabbccddeefe", Some(v)));
        assert!(!k.admits(id, secret, Some(v ^ 1)));
        // Unknown ids compare against the random dummy value.
        assert_eq!(k.admits(id, secret, None), v == k.dummy);
        assert!(CheckKey::from_bytes(&[0u8; 31]).is_none());
        assert!(CheckKey::from_bytes(&[0u8; 33]).is_none());
        assert_eq!(format!("{k:?}"), "CheckKey(redacted)");
    }

    #[test]
    fn check_value_matches_a_reference_computation() {
        // HMAC-SHA-256 of 8-byte big-endian lengths and the bytes, first four bytes big-endian.
        let k = CheckKey::from_bytes(&[1u8; 32]).unwrap();
        let mut mac = Hmac::<Sha256>::new_from_slice(&[1u8; 32]).unwrap();
        let mut input = Vec::new();
        input.extend_from_slice(&1u64.to_be_bytes());
        input.extend_from_slice(b"i");
        input.extend_from_slice(&5u64.to_be_bytes());
        input.extend_from_slice(b"sec_a");
        mac.update(&input);
        let out = mac.finalize().into_bytes();
        assert_eq!(
            k.value("i", "sec_a"),
            u32::from_be_bytes([out[0], out[1], out[2], out[3]])
        );
    }
}
