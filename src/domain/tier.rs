//! Rate-limit tiers (the table in docs/oauth.md): a client with a tier is limited per client, across all
//! API families, by an hourly quota and a burst window instead of the per-family limits of docs/security.md.
//!
//! | tier | requests per hour | burst: requests in any 10 s |
//! |---|---|---|
//! | free | 1,000 | 50 |
//! | pro | 10,000 | 200 |
//! | enterprise | unlimited | 1,000 |

use serde::{Deserialize, Serialize};

/// The length of the burst window, in seconds.
pub const BURST_WINDOW_SECONDS: u32 = 10;
/// The length of the hourly window, in seconds.
pub const HOUR_SECONDS: u32 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Pro,
    Enterprise,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Pro, Tier::Enterprise];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Requests per hour; None is unlimited.
    pub fn hourly_limit(self) -> Option<u32> {
        match self {
            Tier::Free => Some(1_000),
            Tier::Pro => Some(10_000),
            Tier::Enterprise => None,
        }
    }

    /// Requests in any window of [`BURST_WINDOW_SECONDS`].
    pub fn burst_limit(self) -> u32 {
        match self {
            Tier::Free => 50,
            Tier::Pro => 200,
            Tier::Enterprise => 1_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_table() {
        let table = [
            (Tier::Free, "free", Some(1_000), 50),
            (Tier::Pro, "pro", Some(10_000), 200),
            (Tier::Enterprise, "enterprise", None, 1_000),
        ];
        for (tier, name, hourly, burst) in table {
            assert_eq!(tier.as_str(), name);
            assert_eq!(Tier::parse(name), Some(tier));
            assert_eq!(tier.hourly_limit(), hourly);
            assert_eq!(tier.burst_limit(), burst);
        }
        assert_eq!(Tier::parse("Free"), None);
    }
}
