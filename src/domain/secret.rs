//! Client secrets (docs/security.md): generation, redaction, and argon2id hashing and verification.
//!
//! A secret is `sec_` + 32 lowercase hex characters (128 bits from the OS CSPRNG). It is stored
//! only as an argon2id PHC string, beside a 32-bit keyed check value ([`CheckKey`]) that lets a
//! wrong secret be refused without argon2, and shown exactly once, in the response that
//! created it. Why the check value is safe: docs/security.md.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use hmac::{Hmac, Mac};
use rand::TryRngCore;
use serde::{Deserialize, Serialize, Serializer};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::hex::push_hex;

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
/// unknown client id, checked against [`CheckKey::dummy`]) is refused after one HMAC; only a
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
        let computed = self.value(client_id, secret);
        let expected = stored.unwrap_or(self.dummy);
        bool::from(computed.to_be_bytes().ct_eq(&expected.to_be_bytes()))
    }
}

/// argon2id cost parameters. The default is OWASP's: 19 MiB, 2 passes, 1 lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost: u32,
    /// Passes over memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Argon2Params {
            m_cost: 19_456,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl Argon2Params {
    /// Upper bound on `m_cost` (4 GiB). The argon2 crate allows up to 4 TiB, but failing to
    /// allocate aborts the process, which a library linked into a host must not do — whether
    /// the parameters come from options or from a PHC string in the database.
    pub const MAX_M_COST: u32 = 4 * 1024 * 1024;
    /// Upper bound on `t_cost`, so that one verification cannot stall a thread for minutes.
    pub const MAX_T_COST: u32 = 1_000;

    /// Checks the argon2 crate's limits (plus the two bounds above); the message names the
    /// offending field.
    pub fn validate(&self) -> Result<(), String> {
        if self.p_cost < Params::MIN_P_COST || self.p_cost > Params::MAX_P_COST {
            return Err(format!(
                "argon2 p_cost must be between {} and {}, got {}",
                Params::MIN_P_COST,
                Params::MAX_P_COST,
                self.p_cost
            ));
        }
        let min_m = Params::MIN_M_COST.max(8 * self.p_cost);
        if self.m_cost < min_m || self.m_cost > Self::MAX_M_COST {
            return Err(format!(
                "argon2 m_cost must be between {min_m} (8 KiB per lane) and {} KiB, got {}",
                Self::MAX_M_COST,
                self.m_cost
            ));
        }
        if self.t_cost < Params::MIN_T_COST || self.t_cost > Self::MAX_T_COST {
            return Err(format!(
                "argon2 t_cost must be between {} and {}, got {}",
                Params::MIN_T_COST,
                Self::MAX_T_COST,
                self.t_cost
            ));
        }
        self.to_argon2()
            .map(|_| ())
            .map_err(|e| format!("invalid argon2 parameters: {e}"))
    }

    fn to_argon2(self) -> Result<Params, argon2::Error> {
        Params::new(self.m_cost, self.t_cost, self.p_cost, None)
    }
}

/// The result of checking a secret against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    /// The secret is right. `needs_rehash`: the stored hash was made with another algorithm,
    /// version or parameters than the current ones, so the caller should store a fresh hash.
    Valid {
        needs_rehash: bool,
    },
}

/// Hashes and verifies secrets with argon2id, and counts verifications (tests read the count
/// to prove, e.g., that wrong secrets and unknown client ids cost none). At most
/// [`SecretHasher::pool_size`] hashings and verifications run at once (one per core); further
/// callers wait for a turn, so argon2 work can never occupy more than the machine's cores.
pub struct SecretHasher {
    params: Argon2Params,
    argon2: Argon2<'static>,
    verifications: AtomicU64,
    pool: Pool,
    /// A hash of a random secret with the current parameters, verified against for unknown
    /// client ids so they take as long as known ones. Made on first use.
    dummy: OnceLock<Option<String>>,
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretHasher")
            .field("params", &self.params)
            .field("verifications", &self.verifications())
            .finish_non_exhaustive()
    }
}

impl SecretHasher {
    pub fn new(params: Argon2Params) -> Result<SecretHasher, String> {
        params.validate()?;
        let argon2_params = params
            .to_argon2()
            .map_err(|e| format!("invalid argon2 parameters: {e}"))?;
        Ok(SecretHasher {
            params,
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, argon2_params),
            verifications: AtomicU64::new(0),
            pool: Pool::new(
                std::thread::available_parallelism()
                    .map(usize::from)
                    .unwrap_or(1),
            ),
            dummy: OnceLock::new(),
        })
    }

    /// How many argon2 computations may run at once (the number of cores).
    pub fn pool_size(&self) -> usize {
        self.pool.size
    }

    /// The most argon2 computations that have run at once on this hasher.
    #[doc(hidden)]
    pub fn peak_concurrency(&self) -> usize {
        self.pool.peak.load(Ordering::Relaxed)
    }

    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// An argon2id PHC string for `secret`, with a fresh 16-byte salt from the OS CSPRNG.
    pub fn hash(&self, secret: &Secret) -> Result<String, String> {
        let _turn = self.pool.acquire();
        self.hash_bytes(secret.expose().as_bytes())
    }

    fn hash_bytes(&self, secret: &[u8]) -> Result<String, String> {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng
            .try_fill_bytes(&mut salt)
            .map_err(|_| "the operating system's random number generator failed".to_string())?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| format!("salt encoding: {e}"))?;
        self.argon2
            .hash_password(secret, &salt)
            .map(|hash| hash.to_string())
            // The error text comes from argon2 and never contains the password.
            .map_err(|e| format!("hashing failed: {e}"))
    }

    /// Checks `secret` against a stored PHC string, using the parameters recorded in it.
    /// Counts one verification whatever the outcome; a malformed PHC string, or one whose
    /// parameters exceed [`Argon2Params`]' bounds, is `Invalid`.
    pub fn verify(&self, phc: &str, secret: &str) -> Verification {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let _turn = self.pool.acquire();
        let Ok(hash) = PasswordHash::new(phc) else {
            return Verification::Invalid;
        };
        let Ok(stored) = Params::try_from(&hash) else {
            return Verification::Invalid;
        };
        let within_bounds = Argon2Params {
            m_cost: stored.m_cost(),
            t_cost: stored.t_cost(),
            p_cost: stored.p_cost(),
        }
        .validate()
        .is_ok();
        if !within_bounds {
            return Verification::Invalid;
        }
        // `verify_password` takes algorithm, version and parameters from the hash.
        match self.argon2.verify_password(secret.as_bytes(), &hash) {
            Ok(()) => Verification::Valid {
                needs_rehash: self.needs_rehash(&hash, &stored),
            },
            Err(_) => Verification::Invalid,
        }
    }

    fn needs_rehash(&self, hash: &PasswordHash<'_>, stored: &Params) -> bool {
        hash.algorithm != Algorithm::Argon2id.ident()
            || hash.version != Some(Version::V0x13.into())
            || stored.m_cost() != self.params.m_cost
            || stored.t_cost() != self.params.t_cost
            || stored.p_cost() != self.params.p_cost
            || !stored.keyid().is_empty()
            || !stored.data().is_empty()
            || hash.hash.as_ref().map(|o| o.len()) != Some(Params::DEFAULT_OUTPUT_LEN)
            || hash.salt.as_ref().map(|s| s.as_str().len()) != Some(SALT_B64_LEN)
    }

    /// Runs one verification against a hash no secret matches, so an unknown client id costs
    /// the same as a known one. Counts one verification.
    pub fn verify_dummy(&self, secret: &str) {
        let dummy = self.dummy.get_or_init(|| {
            let random = Secret::generate();
            let _turn = self.pool.acquire();
            self.hash_bytes(random.expose().as_bytes()).ok()
        });
        match dummy {
            Some(phc) => {
                let _ = self.verify(phc, secret);
            }
            None => {
                // Hashing failed once (the OS RNG); spend the same work another way.
                self.verifications.fetch_add(1, Ordering::Relaxed);
                let _turn = self.pool.acquire();
                if let Ok(salt) = SaltString::encode_b64(&[0u8; 16]) {
                    let _ = self.argon2.hash_password(secret.as_bytes(), &salt);
                }
            }
        }
    }

    /// How many verifications this hasher has run (including dummy ones).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }
}

/// A 16-byte salt in unpadded B64.
const SALT_B64_LEN: usize = 22;

/// A counting semaphore: the bounded pool of argon2 turns.
struct Pool {
    size: usize,
    busy: Mutex<usize>,
    freed: Condvar,
    /// Turns held right now, and the most ever held at once (for tests).
    running: AtomicUsize,
    peak: AtomicUsize,
}

struct Turn<'a>(&'a Pool);

impl Pool {
    fn new(size: usize) -> Pool {
        Pool {
            size: size.max(1),
            busy: Mutex::new(0),
            freed: Condvar::new(),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    fn acquire(&self) -> Turn<'_> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= self.size {
            busy = self.freed.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy += 1;
        drop(busy);
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Turn(self)
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        let mut busy = self.0.busy.lock().unwrap_or_else(|p| p.into_inner());
        *busy = busy.saturating_sub(1);
        drop(busy);
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const FAST: Argon2Params = Argon2Params {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };

    fn fast() -> SecretHasher {
        SecretHasher::new(FAST).unwrap()
    }

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
    fn params_validation_names_the_field() {
        assert_eq!(Argon2Params::default().validate(), Ok(()));
        assert_eq!(FAST.validate(), Ok(()));
        let cases: &[(Argon2Params, &str)] = &[
            (Argon2Params { m_cost: 7, ..FAST }, "m_cost"),
            (
                Argon2Params {
                    m_cost: 15,
                    t_cost: 1,
                    p_cost: 2,
                },
                "m_cost",
            ),
            (
                Argon2Params {
                    m_cost: u32::MAX,
                    ..FAST
                },
                "m_cost",
            ),
            (Argon2Params { t_cost: 0, ..FAST }, "t_cost"),
            (
                Argon2Params {
                    t_cost: 1_001,
                    ..FAST
                },
                "t_cost",
            ),
            (Argon2Params { p_cost: 0, ..FAST }, "p_cost"),
            (
                Argon2Params {
                    m_cost: u32::MAX,
                    t_cost: 1,
                    p_cost: 0x0100_0000,
                },
                "p_cost",
            ),
        ];
        for (params, field) in cases {
            let err = params.validate().expect_err(field);
            assert!(err.contains(field), "{params:?}: {err}");
            assert!(SecretHasher::new(*params).is_err());
        }
    }

    #[test]
    fn params_deserialize_from_options_json() {
        let p: Argon2Params =
            serde_json::from_str(r#"{"m_cost":8,"t_cost":1,"p_cost":1}"#).unwrap();
        assert_eq!(p, FAST);
        assert_eq!(
            Argon2Params::default(),
            Argon2Params {
                m_cost: 19_456,
                t_cost: 2,
                p_cost: 1
            }
        );
    }

    #[test]
    fn hashes_verify_and_wrong_secrets_do_not() {
        let hasher = fast();
        let secret = Secret::generate();
        let phc = hasher.hash(&secret).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(!phc.contains(&secret.expose()[4..]));
        // Fresh salt each time.
        assert_ne!(phc, hasher.hash(&secret).unwrap());

        assert_eq!(
            hasher.verify(&phc, secret.expose()),
            Verification::Valid {
                needs_rehash: false
            }
        );
        let wrong = Secret::generate();
        assert_eq!(hasher.verify(&phc, wrong.expose()), Verification::Invalid);
        assert_eq!(hasher.verify(&phc, ""), Verification::Invalid);
        let upper = secret.expose().to_uppercase().replacen("SEC_", "sec_", 1);
        assert_eq!(hasher.verify(&phc, &upper), Verification::Invalid);
    }

    #[test]
    fn default_params_hash_and_verify() {
        let hasher = SecretHasher::new(Argon2Params::default()).unwrap();
        let secret = Secret::generate();
        let phc = hasher.hash(&secret).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            hasher.verify(&phc, secret.expose()),
            Verification::Valid {
                needs_rehash: false
            }
        );
    }

    #[test]
    fn hashes_from_other_params_verify_and_ask_for_a_rehash() {
        let old = SecretHasher::new(Argon2Params {
            m_cost: 16,
            t_cost: 2,
            p_cost: 1,
        })
        .unwrap();
        let secret = Secret::generate();
        let phc = old.hash(&secret).unwrap();
        let current = fast();
        assert_eq!(
            current.verify(&phc, secret.expose()),
            Verification::Valid { needs_rehash: true }
        );
        assert_eq!(current.verify(&phc, "sec_00"), Verification::Invalid);

        // Another argon2 variant verifies too, and is upgraded.
        let argon2i = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let phc = argon2i
            .hash_password(secret.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        assert_eq!(
            current.verify(&phc, secret.expose()),
            Verification::Valid { needs_rehash: true }
        );
    }

    #[test]
    fn malformed_or_hostile_hashes_are_invalid() {
        let hasher = fast();
        let huge = "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for phc in [
            "",
            "not a hash",
            "$argon2id$v=19$m=8,t=1,p=1$",
            huge,
            "$bcrypt$x",
        ] {
            assert_eq!(hasher.verify(phc, "sec_00"), Verification::Invalid, "{phc}");
        }
        assert_eq!(hasher.verifications(), 5);
    }

    #[test]
    fn counts_every_verification() {
        let hasher = fast();
        assert_eq!(hasher.verifications(), 0);
        let secret = Secret::generate();
        let phc = hasher.hash(&secret).unwrap();
        assert_eq!(hasher.verifications(), 0, "hashing is not a verification");
        let _ = hasher.verify(&phc, secret.expose());
        let _ = hasher.verify(&phc, "sec_wrong");
        assert_eq!(hasher.verifications(), 2);
        hasher.verify_dummy(secret.expose());
        hasher.verify_dummy("sec_00");
        assert_eq!(hasher.verifications(), 4);
        assert_eq!(hasher.params(), FAST);
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

    #[test]
    fn no_more_argon2_runs_at_once_than_the_pool_allows() {
        let hasher = std::sync::Arc::new(fast());
        let secret = Secret::generate();
        let phc = hasher.hash(&secret).unwrap();
        let threads: Vec<_> = (0..4 * hasher.pool_size() + 2)
            .map(|_| {
                let (h, p, s) = (hasher.clone(), phc.clone(), secret.expose().to_owned());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _ = h.verify(&p, &s);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(hasher.peak_concurrency() >= 1);
        assert!(
            hasher.peak_concurrency() <= hasher.pool_size(),
            "{} > {}",
            hasher.peak_concurrency(),
            hasher.pool_size()
        );
    }

    #[test]
    fn dummy_hash_uses_current_params() {
        let hasher = fast();
        hasher.verify_dummy("sec_00");
        let dummy = hasher.dummy.get().cloned().flatten().expect("dummy hash");
        assert!(dummy.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
    }
}
