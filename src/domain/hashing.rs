//! argon2id hashing and verification of client secrets (docs/security.md) on a bounded pool of
//! turns, so no more argon2 runs at once than the pool allows. Pure CPU work: no I/O.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};

use super::secret::Secret;

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

    const FAST: Argon2Params = Argon2Params {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    };

    fn fast() -> SecretHasher {
        SecretHasher::new(FAST).unwrap()
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
