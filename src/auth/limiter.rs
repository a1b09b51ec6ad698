//! Where rate-limit decisions are made: the small interface [`Limiter`] and its
//! implementations. [`LocalLimiter`] keeps the counters in this process (limits are per node,
//! docs/rate-limiting.md); with option `rate_limit_url` (feature `redis`) the shared limiter of
//! [`super::shared`] keeps them in Redis, so the limits hold across every node using it
//! (docs/scale-out.md). [`Limiters`] picks one at open and dispatches statically.

use std::sync::Arc;

use crate::domain::access::Family;
use crate::domain::tier::{Tier, BURST_WINDOW_SECONDS, HOUR_SECONDS};
use crate::options::RateLimit;

use super::ratelimit::{Decision, RateLimiter};

/// Which limit a request counts against: its family's, or its client's tier (which replaces
/// the per-family limits, docs/oauth.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    Family(Family, RateLimit),
    Tier(Tier),
}

impl Rule {
    /// The tier's burst window.
    pub(crate) fn burst_limit(tier: Tier) -> RateLimit {
        RateLimit::new(tier.burst_limit(), BURST_WINDOW_SECONDS)
    }

    /// The tier's hourly quota (None: unlimited).
    pub(crate) fn hour_limit(tier: Tier) -> Option<RateLimit> {
        tier.hourly_limit()
            .map(|hourly| RateLimit::new(hourly, HOUR_SECONDS))
    }
}

/// Decides, and on success counts, one request of `client_id` under `rule` at `now_ms` (the
/// caller's clock; an implementation may keep its own, see docs/scale-out.md).
pub(crate) trait Limiter {
    fn decide(&self, client_id: &Arc<str>, rule: Rule, now_ms: i64) -> Decision;
}

/// The limiter of one process: one [`RateLimiter`] per family, and the tiers' hourly quota and
/// burst window, per client across families.
#[derive(Default)]
pub(crate) struct LocalLimiter {
    /// Indexed by `Family as usize`, keyed by client id: the key is the cached entry's own
    /// `Arc<str>`, so a decision clones nothing.
    families: [RateLimiter<Arc<str>>; Family::ALL.len()],
    hourly: RateLimiter<Arc<str>>,
    burst: RateLimiter<Arc<str>>,
}

impl Limiter for LocalLimiter {
    #[inline]
    fn decide(&self, client_id: &Arc<str>, rule: Rule, now_ms: i64) -> Decision {
        match rule {
            Rule::Family(family, limit) => {
                self.families[family as usize].check(client_id, limit, now_ms)
            }
            Rule::Tier(tier) => self.tier(client_id, tier, now_ms),
        }
    }
}

impl LocalLimiter {
    /// A tiered client is admitted only if both its hourly quota and its burst window (at most
    /// `burst` requests in any 10 s) have room; a request refused by one is counted by neither.
    /// The decision's own fields describe the hourly quota (the burst window for Enterprise,
    /// which has no hourly limit); `burst` describes the burst window.
    fn tier(&self, client_id: &Arc<str>, tier: Tier, now: i64) -> Decision {
        let burst_limit = Rule::burst_limit(tier);
        let Some(hour_limit) = Rule::hour_limit(tier) else {
            let b = self.burst.check(client_id, burst_limit, now);
            return Decision {
                burst: Some(b.quota()),
                ..b
            };
        };
        let h = self.hourly.check(client_id, hour_limit, now);
        if !h.allowed {
            let b = self.burst.peek(client_id, burst_limit, now);
            return Decision {
                burst: Some(b.quota()),
                ..h
            };
        }
        let b = self.burst.check(client_id, burst_limit, now);
        if b.allowed {
            return Decision {
                burst: Some(b.quota()),
                ..h
            };
        }
        self.hourly.refund(client_id, hour_limit, now);
        Decision {
            allowed: false,
            remaining: h.remaining.saturating_add(1).min(h.limit),
            retry_after_seconds: b.retry_after_seconds,
            burst: Some(b.quota()),
            ..h
        }
    }
}

/// The limiter a store handle uses, chosen at open: an enum rather than a trait object, so the
/// per-process path stays one predictable branch away from [`LocalLimiter`].
pub(crate) enum Limiters {
    Local(LocalLimiter),
    #[cfg(feature = "redis")]
    Shared(Box<super::shared::SharedLimiter>),
}

impl Limiters {
    /// From the options: the shared limiter when `rate_limit_url` is set (its URL was checked
    /// by `Options::validate`), else the per-process one.
    pub(crate) fn from_options(options: &crate::Options) -> crate::Result<Limiters> {
        match &options.rate_limit_url {
            None => Ok(Limiters::Local(LocalLimiter::default())),
            #[cfg(feature = "redis")]
            Some(url) => Ok(Limiters::Shared(Box::new(
                super::shared::SharedLimiter::new(
                    url,
                    &options.rate_limit_key_prefix,
                    options.rate_limit_on_outage,
                )?,
            ))),
            #[cfg(not(feature = "redis"))]
            Some(_) => Err(crate::options::redis_not_built()),
        }
    }

    /// Whether a decision may wait on the network (the shared limiter).
    pub(crate) fn is_shared(&self) -> bool {
        !matches!(self, Limiters::Local(_))
    }
}

impl Limiter for Limiters {
    #[inline]
    fn decide(&self, client_id: &Arc<str>, rule: Rule, now_ms: i64) -> Decision {
        match self {
            Limiters::Local(local) => local.decide(client_id, rule, now_ms),
            #[cfg(feature = "redis")]
            Limiters::Shared(shared) => shared.decide(client_id, rule, now_ms),
        }
    }
}
