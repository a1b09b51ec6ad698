//! Helpers shared by the store and auth integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use opcore::domain::secret::Argon2Params;
use opcore::{Bootstrap, ManualClock, Options, Store, Synchronous, Timestamp};

/// argon2 at its cheapest, so tests spend their time on behaviour, not hashing.
pub const FAST_ARGON2: Argon2Params = Argon2Params {
    m_cost: 8,
    t_cost: 1,
    p_cost: 1,
};

pub const T0: Timestamp = Timestamp(1_705_314_600_000); // 2024-01-15T10:30:00.000Z

pub fn options(clock: &ManualClock) -> Options {
    Options {
        argon2: FAST_ARGON2,
        clock: Arc::new(clock.clone()),
        ..Options::default()
    }
}

/// A store on a fresh temporary file with a manual clock and cheap argon2, and no organization
/// yet (`tests/common/`'s `Env` adds one, with its root client, for the Manage API tests).
pub struct StoreEnv {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub store: Store,
}

impl StoreEnv {
    pub fn new() -> StoreEnv {
        StoreEnv::with(|_| {})
    }

    pub fn with(tweak: impl FnOnce(&mut Options)) -> StoreEnv {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new(T0);
        let mut opts = options(&clock);
        tweak(&mut opts);
        let store = Store::open(dir.path().join("opcore.db"), opts).expect("open store");
        StoreEnv { dir, clock, store }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("opcore.db")
    }

    pub fn reopen(&self) -> Store {
        Store::open(self.path(), options(&self.clock)).expect("reopen store")
    }

    pub fn org(&self, name: &str) -> Bootstrap {
        self.store.create_organization(name).expect("bootstrap")
    }
}

pub fn fast_normal_options() -> Options {
    Options {
        argon2: FAST_ARGON2,
        synchronous: Synchronous::Normal,
        ..Options::default()
    }
}
