//! Shared rate limits in Redis (option `rate_limit_url`, feature `redis`; docs/scale-out.md).
//!
//! Every decision is one atomic call of a Lua function (`FCALL`; the library is loaded with
//! `FUNCTION LOAD` when a connection is made, and again if Redis lost it). A Redis without
//! functions (before 7.0) or one that refuses `FUNCTION LOAD` (an ACL) gets the same code as a
//! script (`EVALSHA`), which Redis runs about 2 µs slower per call. Either way it runs the
//! bucketed sliding window of docs/rate-limiting.md — the same counters, the same idle reset and
//! the same `remaining` / `reset` / `retry-after` arithmetic as [`super::ratelimit`] — on a key
//! shared by every node: `<prefix>:<family>:<client id>` for the per-family limits,
//! `<prefix>:tier-hour:<client id>` and `<prefix>:tier-burst:<client id>` for the tiers. Because
//! the whole decision runs inside Redis, no window of the node set admits more than the limit.
//!
//! Time is Redis's own (`TIME` inside the script), so the nodes' clocks may disagree without
//! widening any window. Each key expires once it has been idle for a whole window (and at most
//! two buckets more; docs/scale-out.md).
//!
//! No request waits on Redis for long: connecting (with the handshake) and each response are
//! bounded by [`CONNECT_TIMEOUT`] and [`RESPONSE_TIMEOUT`]. After a connection failure no new
//! attempt is made for [`RETRY_INTERVAL`]; in between, and whenever Redis fails, the decision is
//! the option `rate_limit_on_outage`'s: `closed` refuses (429 with `retry-after`), `open` lets
//! this node's own limiter decide.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::tier::BURST_WINDOW_SECONDS;
use crate::error::Error;
use crate::options::{OnOutage, RateLimit, RateLimitUrl};

use super::limiter::{Limiter, LocalLimiter, Rule};
use super::ratelimit::{Decision, Quota, BUCKETS};

/// The longest a connection attempt (TCP connect and handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(250);
/// The longest a decision waits for Redis's answer once its script is sent.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
/// After a connection failure, how long decisions use the outage rule without trying Redis.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 64;

/// The decision code, run as a function's body (`KEYS` and `ARGV` its parameters) or as a
/// script (the globals of that name). KEYS[1] is the family's (or tier's hourly, or Enterprise's burst) key,
/// KEYS[2] the tier's burst key. ARGV: now in ms ("" = Redis `TIME`), mode (`w`: one window,
/// `b`: one window reported as the burst too, `t`: hourly and burst), then limit and window
/// in ms of each key, then the number of buckets. Returns
/// `{allowed, limit, remaining, reset_s, retry_after_s or -1}` in mode `w`, and those followed
/// by `has_burst, b_limit, b_remaining, b_reset_s` in the others.
const CORE: &str = r#"
local BUCKETS = tonumber(ARGV[#ARGV])
local SLOTS = BUCKETS + 1
local NEVER = -1e18
local floor = math.floor
local now
local ttl_extra = 0
if ARGV[1] == '' then
  -- Before Redis 5 a script reading TIME must ask for its effects to be replicated; from 7.0
  -- (which sets REDIS_VERSION_NUM) that is always so and the call a no-op.
  if not redis.REDIS_VERSION_NUM and redis.replicate_commands then
    pcall(redis.replicate_commands)
  end
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
  -- Caller time may run slower than Redis's expiry clock: keep the keys longer.
  ttl_extra = 600000
end

local function ceil_seconds(ms)
  if ms < 0 then ms = 0 end
  return floor((ms + 999) / 1000)
end

-- A window is stored as one MessagePack array: newest slot, last admission (ms), then the
-- SLOTS counters (Redis's built-in cmsgpack: C-speed, no string formatting in Lua). Returns
-- the array and whether it is new (no usable value stored).
local function load(key)
  local raw = redis.call('GET', key)
  if raw then
    local ok, v = pcall(cmsgpack.unpack, raw)
    if ok and type(v) == 'table' and #v == SLOTS + 2 then return v, false end
  end
  local v = { 0, NEVER }
  for i = 3, SLOTS + 2 do v[i] = 0 end
  return v, true
end

-- A window's counters matter until its last admission plus a window. On Redis's clock the
-- first save in each bucket (`fresh`) sets the expiry to that bucket's end plus a window and a
-- bucket, and later saves in the same bucket keep it (KEEPTTL, Redis 6.0+; every Redis that
-- sets REDIS_VERSION_NUM has it): setting an expiry costs Redis more than the rest of a SET.
local keep_ttl = ttl_extra == 0 and redis.REDIS_VERSION_NUM ~= nil
local function save(key, v, window_ms, fresh)
  if keep_ttl and not fresh then
    redis.call('SET', key, cmsgpack.pack(v), 'KEEPTTL')
    return
  end
  local bucket_ms = floor((window_ms + BUCKETS - 1) / BUCKETS)
  local ttl = window_ms + bucket_ms + ttl_extra
  if keep_ttl then ttl = (v[1] + 2) * bucket_ms + window_ms - now end
  redis.call('SET', key, cmsgpack.pack(v), 'PX', ttl)
end

-- docs/rate-limiting.md; the same steps as RateLimiter::decide. Returns allowed, remaining,
-- reset (s), retry-after (s, or -1 when allowed) and whether the window entered a new bucket
-- (or is new), i.e. whether its next save must set the expiry.
local function decide(v, new, limit, window_ms, count)
  local bucket_ms = floor((window_ms + BUCKETS - 1) / BUCKETS)
  local slot = floor(now / bucket_ms)
  local newest = v[1]
  local fresh = new or slot > newest
  if new then newest = slot end
  if slot > newest then
    local steps = slot - newest
    if steps > SLOTS then steps = SLOTS end
    for i = 1, steps do v[3 + (newest + i) % SLOTS] = 0 end
    newest = slot
  end
  v[1] = newest
  local used = 0
  if now - v[2] >= window_ms then
    for i = 3, SLOTS + 2 do v[i] = 0 end
  else
    for i = 3, SLOTS + 2 do used = used + v[i] end
  end
  local allowed = used < limit
  if allowed and count then
    local i = 3 + slot % SLOTS
    v[i] = v[i] + 1
    v[2] = now
    used = used + 1
  end
  local idle_reset = v[2] + window_ms - now
  local reset_ms = 0
  for i = 0, SLOTS - 1 do
    local s = newest - i
    if v[3 + s % SLOTS] > 0 then
      reset_ms = (s + SLOTS) * bucket_ms - now
      if idle_reset < reset_ms then reset_ms = idle_reset end
      break
    end
  end
  local retry = -1
  if not allowed then
    local left = used
    local at = 0
    for i = 0, SLOTS - 1 do
      local s = newest - (SLOTS - 1) + i
      if left < limit then break end
      left = left - v[3 + s % SLOTS]
      at = (s + SLOTS) * bucket_ms - now
    end
    if idle_reset < at then at = idle_reset end
    retry = ceil_seconds(at)
    if retry < 1 then retry = 1 end
  end
  local remaining = limit - used
  if remaining < 0 then remaining = 0 end
  return allowed, remaining, ceil_seconds(reset_ms), retry, fresh
end

-- The same steps as RateLimiter::refund.
local function refund(v, window_ms)
  local bucket_ms = floor((window_ms + BUCKETS - 1) / BUCKETS)
  local slot = floor(now / bucket_ms)
  local newest = v[1]
  if slot <= newest and newest - slot < SLOTS then
    local i = 3 + slot % SLOTS
    if v[i] > 0 then v[i] = v[i] - 1 end
  end
end

local mode = ARGV[2]
local limit1, window1 = tonumber(ARGV[3]), tonumber(ARGV[4])
local v1, new1 = load(KEYS[1])
local allowed1, remaining1, reset1, retry1, fresh1 = decide(v1, new1, limit1, window1, true)
if allowed1 then save(KEYS[1], v1, window1, fresh1) end
local admitted = allowed1 and 1 or 0
if mode == 'w' then return { admitted, limit1, remaining1, reset1, retry1 } end
if mode == 'b' then
  return { admitted, limit1, remaining1, reset1, retry1, 1, limit1, remaining1, reset1 }
end

-- A tier: hourly quota (KEYS[1]) and burst window (KEYS[2]); refused by one, counted by neither.
local limit2, window2 = tonumber(ARGV[5]), tonumber(ARGV[6])
local v2, new2 = load(KEYS[2])
if not allowed1 then
  local _, remaining2, reset2 = decide(v2, new2, limit2, window2, false)
  return { 0, limit1, remaining1, reset1, retry1, 1, limit2, remaining2, reset2 }
end
local allowed2, remaining2, reset2, retry2, fresh2 = decide(v2, new2, limit2, window2, true)
if allowed2 then
  save(KEYS[2], v2, window2, fresh2)
  return { 1, limit1, remaining1, reset1, retry1, 1, limit2, remaining2, reset2 }
end
refund(v1, window1)
save(KEYS[1], v1, window1, fresh1)
local remaining = remaining1 + 1
if remaining > limit1 then remaining = limit1 end
return { 0, limit1, remaining, reset1, retry2, 1, limit2, remaining2, reset2 }
"#;

/// How decisions are sent: [`CALL_UNKNOWN`] until a connection has tried `FUNCTION LOAD`.
const CALL_UNKNOWN: u8 = 0;
/// `FCALL` of the loaded library's function.
const CALL_FUNCTION: u8 = 1;
/// `EVALSHA` of [`CORE`] as a script: Redis has no functions or refused to load them.
const CALL_SCRIPT: u8 = 2;

/// The shared limiter: a Redis client, a few idle connections, and this node's own limiter for
/// `rate_limit_on_outage = "open"`.
pub(crate) struct SharedLimiter {
    client: redis::Client,
    script: redis::Script,
    /// The function's (and its library's) name, `opcore_ratelimit_` and the first 16 hex
    /// digits of the SHA-1 of [`CORE`]: every version of the code has a name of its own, so
    /// nodes of different versions sharing one Redis never replace each other's.
    function: String,
    /// `#!lua name=…` and the `redis.register_function` call wrapping [`CORE`].
    library: String,
    /// [`CALL_UNKNOWN`], [`CALL_FUNCTION`] or [`CALL_SCRIPT`].
    call: AtomicU8,
    prefix: String,
    on_outage: OnOutage,
    idle: Mutex<Vec<redis::Connection>>,
    /// When (ns since `epoch`) connecting may be tried again after a failure; 0: at once.
    retry_at_ns: AtomicU64,
    epoch: Instant,
    fallback: LocalLimiter,
}

/// Why a decision could not be made in Redis.
#[derive(Debug)]
pub(crate) struct Unavailable;

impl SharedLimiter {
    pub(crate) fn new(
        url: &RateLimitUrl,
        prefix: &str,
        on_outage: OnOutage,
    ) -> crate::Result<SharedLimiter> {
        let client = redis::Client::open(url.as_str()).map_err(|e| {
            Error::Options(format!(
                "rate_limit_url {} is not a usable Redis URL: {:?}",
                url.redacted(),
                e.kind()
            ))
        })?;
        let script = redis::Script::new(CORE);
        let function = format!("opcore_ratelimit_{}", &script.get_hash()[..16]);
        let library = format!(
            "#!lua name={function}\nredis.register_function('{function}', \
             function(KEYS, ARGV)\n{CORE}\nend)\n"
        );
        Ok(SharedLimiter {
            client,
            script,
            function,
            library,
            call: AtomicU8::new(CALL_UNKNOWN),
            prefix: prefix.to_owned(),
            on_outage,
            idle: Mutex::new(Vec::new()),
            retry_at_ns: AtomicU64::new(0),
            epoch: Instant::now(),
            fallback: LocalLimiter::default(),
        })
    }

    /// One decision in Redis; `now_ms` None uses Redis's clock (what every node does), Some
    /// the given time (tests compare the script with the per-process limiter step by step).
    pub(crate) fn try_decide(
        &self,
        client_id: &str,
        rule: Rule,
        now_ms: Option<i64>,
    ) -> Result<Decision, Unavailable> {
        let elapsed = |s: &Self| u64::try_from(s.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => {
                if elapsed(self) < self.retry_at_ns.load(Ordering::Relaxed) {
                    return Err(Unavailable);
                }
                match self.connect() {
                    Ok(conn) => conn,
                    Err(_) => {
                        self.back_off();
                        return Err(Unavailable);
                    }
                }
            }
        };
        let now = now_ms.map(|t| t.to_string()).unwrap_or_default();
        let mut keys: Vec<String> = Vec::with_capacity(2);
        let mut args: Vec<String> = Vec::with_capacity(7);
        let limit_args = |args: &mut Vec<String>, limit: RateLimit| {
            args.push(limit.limit.to_string());
            args.push((u64::from(limit.window_seconds.max(1)) * 1000).to_string());
        };
        args.push(now);
        match rule {
            Rule::Family(family, limit) => {
                keys.push(self.key(family.as_str(), client_id));
                args.push("w".into());
                limit_args(&mut args, limit);
            }
            Rule::Tier(tier) => match Rule::hour_limit(tier) {
                None => {
                    keys.push(self.key("tier-burst", client_id));
                    args.push("b".into());
                    limit_args(&mut args, Rule::burst_limit(tier));
                }
                Some(hour) => {
                    keys.push(self.key("tier-hour", client_id));
                    keys.push(self.key("tier-burst", client_id));
                    args.push("t".into());
                    limit_args(&mut args, hour);
                    limit_args(&mut args, Rule::burst_limit(tier));
                }
            },
        }
        args.push(BUCKETS.to_string());
        match self.call(&mut conn, &keys, &args) {
            // Mode `w` answers five values, the others nine (see CORE).
            Ok(v) if v.len() == if args[1] == "w" { 5 } else { 9 } => {
                let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < MAX_IDLE {
                    idle.push(conn);
                }
                drop(idle);
                Ok(decision_of(&v))
            }
            // A failed or timed-out connection may still deliver a late answer: never reused.
            Ok(_) => Err(Unavailable),
            Err(e) => {
                if e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                {
                    self.back_off();
                }
                Err(Unavailable)
            }
        }
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let mut conn = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        conn.set_read_timeout(Some(RESPONSE_TIMEOUT))?;
        conn.set_write_timeout(Some(RESPONSE_TIMEOUT))?;
        if self.call.load(Ordering::Relaxed) != CALL_SCRIPT {
            self.load_library(&mut conn)?;
        }
        Ok(conn)
    }

    /// `FUNCTION LOAD` of the library (present already counts as loaded). A Redis that answers
    /// with an error (no `FUNCTION` command before 7.0, or an ACL refusing it) switches this
    /// limiter to the script for good; a connection failure is returned.
    fn load_library(&self, conn: &mut redis::Connection) -> redis::RedisResult<()> {
        match redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg(&self.library)
            .query::<String>(conn)
        {
            Ok(_) => self.call.store(CALL_FUNCTION, Ordering::Relaxed),
            Err(e) if e.detail().is_some_and(|d| d.contains("already exists")) => {
                self.call.store(CALL_FUNCTION, Ordering::Relaxed)
            }
            Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
                return Err(e)
            }
            Err(_) => self.call.store(CALL_SCRIPT, Ordering::Relaxed),
        }
        Ok(())
    }

    /// One decision's round trip: `FCALL` (after loading the library again if Redis lost it,
    /// e.g. restarted without persistence or `FUNCTION FLUSH`ed), or `EVALSHA` (the script is
    /// loaded by `redis::Script` when Redis does not know it).
    fn call(
        &self,
        conn: &mut redis::Connection,
        keys: &[String],
        args: &[String],
    ) -> redis::RedisResult<Vec<i64>> {
        if self.call.load(Ordering::Relaxed) == CALL_FUNCTION {
            let fcall = || {
                let mut cmd = redis::cmd("FCALL");
                cmd.arg(&self.function).arg(keys.len()).arg(keys).arg(args);
                cmd
            };
            return match fcall().query(conn) {
                Err(e) if e.detail().is_some_and(|d| d.contains("Function not found")) => {
                    self.load_library(conn)?;
                    if self.call.load(Ordering::Relaxed) == CALL_FUNCTION {
                        fcall().query(conn)
                    } else {
                        self.call(conn, keys, args)
                    }
                }
                other => other,
            };
        }
        let mut invocation = self.script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        invocation.invoke(conn)
    }

    /// After a connection failure: no attempt for [`RETRY_INTERVAL`], and the idle
    /// connections (to the same failed server) are dropped.
    fn back_off(&self) {
        let at = self.epoch.elapsed() + RETRY_INTERVAL;
        self.retry_at_ns.store(
            u64::try_from(at.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub(crate) fn key(&self, kind: &str, client_id: &str) -> String {
        format!("{}:{kind}:{client_id}", self.prefix)
    }

    /// The decision while Redis cannot be reached (docs/scale-out.md).
    fn outage(&self, client_id: &Arc<str>, rule: Rule, now_ms: i64) -> Decision {
        match self.on_outage {
            OnOutage::Open => self.fallback.decide(client_id, rule, now_ms),
            OnOutage::Closed => closed(rule),
        }
    }
}

impl Limiter for SharedLimiter {
    fn decide(&self, client_id: &Arc<str>, rule: Rule, now_ms: i64) -> Decision {
        self.try_decide(client_id, rule, None)
            .unwrap_or_else(|Unavailable| self.outage(client_id, rule, now_ms))
    }
}

fn decision_of(v: &[i64]) -> Decision {
    let u32_of = |x: i64| u32::try_from(x.max(0)).unwrap_or(u32::MAX);
    let u64_of = |x: i64| u64::try_from(x.max(0)).unwrap_or(0);
    Decision {
        allowed: v[0] == 1,
        limit: u32_of(v[1]),
        remaining: u32_of(v[2]),
        reset_seconds: u64_of(v[3]),
        retry_after_seconds: (v[4] >= 0).then(|| u64_of(v[4])),
        burst: (v.get(5) == Some(&1)).then(|| Quota {
            limit: u32_of(v[6]),
            remaining: u32_of(v[7]),
            reset_seconds: u64_of(v[8]),
        }),
    }
}

/// `rate_limit_on_outage = "closed"`: refused, nothing left, try again after the retry
/// interval (rounded up to a second); the quota is reported full again a window later.
fn closed(rule: Rule) -> Decision {
    let retry = Some(RETRY_INTERVAL.as_secs().max(1));
    match rule {
        Rule::Family(_, limit) => Decision {
            allowed: false,
            limit: limit.limit,
            remaining: 0,
            reset_seconds: u64::from(limit.window_seconds),
            retry_after_seconds: retry,
            burst: None,
        },
        Rule::Tier(tier) => {
            let burst = Rule::burst_limit(tier);
            let main = Rule::hour_limit(tier).unwrap_or(burst);
            Decision {
                allowed: false,
                limit: main.limit,
                remaining: 0,
                reset_seconds: u64::from(main.window_seconds),
                retry_after_seconds: retry,
                burst: Some(Quota {
                    limit: burst.limit,
                    remaining: 0,
                    reset_seconds: u64::from(BURST_WINDOW_SECONDS),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The script against the per-process limiter, decision by decision, on a real Redis
    //! (`OPCORE_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).
    use super::*;
    use crate::domain::access::Family;
    use crate::domain::tier::Tier;
    use proptest::prelude::*;
    use std::sync::atomic::AtomicUsize;

    fn redis_url() -> String {
        std::env::var("OPCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// A limiter on the test Redis under a prefix of its own, and that prefix.
    fn limiter() -> (SharedLimiter, String) {
        static N: AtomicUsize = AtomicUsize::new(0);
        let prefix = format!(
            "opcore-test:unit:{}:{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let url = redis_url();
        let shared = SharedLimiter::new(&RateLimitUrl::new(&url), &prefix, OnOutage::Closed)
            .unwrap_or_else(|e| panic!("{e}"));
        let answer = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        if let Err(e) = answer {
            panic!("the test Redis at {url} does not answer (set OPCORE_TEST_REDIS_URL): {e}");
        }
        (shared, prefix)
    }

    /// Deletes every key under `prefix`; returns how many there were.
    fn remove_keys(prefix: &str) -> usize {
        let mut conn = redis::Client::open(redis_url().as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query(&mut conn)
            .unwrap();
        if !keys.is_empty() {
            redis::cmd("DEL").arg(&keys).query::<()>(&mut conn).unwrap();
        }
        keys.len()
    }

    /// Runs the same requests through both limiters at the same times; every decision
    /// (allowed, limit, remaining, reset, retry-after, burst) must be equal.
    fn compare(rule: Rule, gaps: &[i64]) -> Result<usize, TestCaseError> {
        compare_as(rule, gaps, CALL_UNKNOWN)
    }

    /// [`compare`], with decisions sent as `call` says (`CALL_UNKNOWN`: as a node would).
    fn compare_as(rule: Rule, gaps: &[i64], call: u8) -> Result<usize, TestCaseError> {
        let (shared, prefix) = limiter();
        shared.call.store(call, Ordering::Relaxed);
        let local = LocalLimiter::default();
        let id: Arc<str> = "0b6f1f7e-9d3c-4e0a-8a57-2f1c3d4e5f60".into();
        let mut now = 1_764_800_000_000i64;
        let mut admitted = 0;
        for (i, g) in gaps.iter().enumerate() {
            now += g;
            let expected = local.decide(&id, rule, now);
            let got = shared
                .try_decide(&id, rule, Some(now))
                .map_err(|_| TestCaseError::fail(format!("Redis at {} failed", redis_url())))?;
            prop_assert_eq!(got, expected, "request {} at {}", i, now);
            admitted += usize::from(got.allowed);
        }
        prop_assert!(remove_keys(&prefix) > 0);
        Ok(admitted)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn the_script_decides_as_the_local_limiter(
            limit in 1u32..30,
            window in 1u32..5,
            gaps in proptest::collection::vec(0i64..400, 1..300),
        ) {
            compare(Rule::Family(Family::Export, RateLimit::new(limit, window)), &gaps)?;
        }

        #[test]
        fn the_code_sent_as_a_script_decides_as_the_local_limiter(
            limit in 1u32..30,
            window in 1u32..5,
            gaps in proptest::collection::vec(0i64..400, 1..300),
        ) {
            // A Redis without functions (or refusing FUNCTION LOAD) gets EVALSHA.
            let rule = Rule::Family(Family::Export, RateLimit::new(limit, window));
            compare_as(rule, &gaps, CALL_SCRIPT)?;
        }
    }

    #[test]
    fn decisions_are_function_calls_and_a_lost_library_is_loaded_again() {
        let (shared, prefix) = limiter();
        let id: Arc<str> = "0b6f1f7e-9d3c-4e0a-8a57-2f1c3d4e5f63".into();
        let rule = Rule::Family(Family::Insights, RateLimit::new(3, 10));
        assert_eq!(shared.decide(&id, rule, 0).remaining, 2);
        assert_eq!(shared.call.load(Ordering::Relaxed), CALL_FUNCTION);
        assert!(shared.function.starts_with("opcore_ratelimit_"));
        let mut conn = redis::Client::open(redis_url().as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        let listed = |conn: &mut redis::Connection| {
            redis::cmd("FUNCTION")
                .arg("LIST")
                .arg("LIBRARYNAME")
                .arg(&shared.function)
                .query::<Vec<redis::Value>>(conn)
                .unwrap()
                .len()
        };
        assert_eq!(listed(&mut conn), 1);
        // Lost (as after a restart without persistence): the next decision loads it again
        // and counts on the same window.
        redis::cmd("FUNCTION")
            .arg("DELETE")
            .arg(&shared.function)
            .query::<()>(&mut conn)
            .unwrap();
        assert_eq!(listed(&mut conn), 0);
        let d = shared.decide(&id, rule, 0);
        assert!(d.allowed);
        assert_eq!(d.remaining, 1);
        assert_eq!(listed(&mut conn), 1);
        assert_eq!(shared.call.load(Ordering::Relaxed), CALL_FUNCTION);
        assert_eq!(remove_keys(&prefix), 1);
    }

    #[test]
    fn tiers_decide_as_the_local_limiter_through_burst_refunds_and_the_hourly_quota() {
        // Free: bursts refused (and refunded from the hourly quota), then the hourly quota used
        // up over ~7 minutes of requests every 100 ms. Pro and Enterprise: a full burst at
        // once, refused for the next 4.2 s, then one request every 3 s of which the five
        // after the window has passed are admitted.
        let steady = vec![100i64; 4_500];
        let admitted = compare(Rule::Tier(Tier::Free), &steady).unwrap();
        assert_eq!(admitted, 1_000);
        let mut bursty = vec![0i64; 1_200];
        bursty.extend(std::iter::repeat_n(7, 600));
        bursty.extend(std::iter::repeat_n(3_000, 6));
        assert_eq!(compare(Rule::Tier(Tier::Pro), &bursty).unwrap(), 200 + 5);
        assert_eq!(
            compare(Rule::Tier(Tier::Enterprise), &bursty).unwrap(),
            1_000 + 5
        );
    }

    #[test]
    fn keys_are_prefix_family_client_and_expire_after_an_idle_window() {
        // 20 per 10 s: buckets of 500 ms. The first admission in a bucket sets the expiry to
        // that bucket's end plus the window and a bucket (more than 10.5 s, at most 11 s from
        // then); later ones in the same bucket keep it; the first in a later bucket moves it.
        let (shared, prefix) = limiter();
        let id: Arc<str> = "0b6f1f7e-9d3c-4e0a-8a57-2f1c3d4e5f61".into();
        let rule = Rule::Family(Family::Manage, RateLimit::new(20, 10));
        let mut conn = redis::Client::open(redis_url().as_str())
            .unwrap()
            .get_connection()
            .unwrap();
        // Start early in a bucket of Redis's clock, so the first two calls share one.
        let (_, micros): (i64, i64) = redis::cmd("TIME").query(&mut conn).unwrap();
        let into_bucket = (micros / 1000) % 500;
        if into_bucket > 200 {
            std::thread::sleep(Duration::from_millis(
                u64::try_from(510 - into_bucket).unwrap(),
            ));
        }
        let key = format!("{prefix}:manage:{id}");
        let mut pttl = || -> i64 { redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap() };
        let d = shared.decide(&id, rule, 0);
        assert!(d.allowed);
        assert_eq!((d.limit, d.remaining, d.reset_seconds), (20, 19, 10));
        // At most about 200 ms into the bucket: more than 10.7 s left.
        let first = pttl();
        assert!((10_700..=11_000).contains(&first), "{key}: ttl {first}");
        assert_eq!(shared.decide(&id, rule, 0).remaining, 18);
        let same_bucket = pttl();
        assert!(
            (10_000..=first).contains(&same_bucket),
            "{key}: ttl {same_bucket} after {first}"
        );
        std::thread::sleep(Duration::from_millis(600));
        assert!(pttl() < 10_500);
        assert_eq!(shared.decide(&id, rule, 0).remaining, 17);
        let next_bucket = pttl();
        assert!(
            (10_450..=11_000).contains(&next_bucket),
            "{key}: ttl {next_bucket}"
        );
        assert_eq!(remove_keys(&prefix), 1);
    }

    #[test]
    fn an_unreachable_redis_is_an_outage_decided_at_once() {
        // A port nothing listens on: refused at connect.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = RateLimitUrl::new(format!("redis://127.0.0.1:{port}"));
        let id: Arc<str> = "0b6f1f7e-9d3c-4e0a-8a57-2f1c3d4e5f62".into();
        let rule = Rule::Family(Family::Manage, RateLimit::new(2, 10));
        let closed = SharedLimiter::new(&url, "p", OnOutage::Closed).unwrap();
        let d = closed.decide(&id, rule, 0);
        assert_eq!(
            d,
            Decision {
                allowed: false,
                limit: 2,
                remaining: 0,
                reset_seconds: 10,
                retry_after_seconds: Some(1),
                burst: None
            }
        );
        let open = SharedLimiter::new(&url, "p", OnOutage::Open).unwrap();
        // Open: this node's own limiter decides.
        assert!(open.decide(&id, rule, 0).allowed);
        assert_eq!(open.decide(&id, rule, 0).remaining, 0);
        assert!(!open.decide(&id, rule, 0).allowed);
        let t = closed.decide(&id, Rule::Tier(Tier::Pro), 0);
        assert_eq!(
            (
                t.allowed,
                t.limit,
                t.reset_seconds,
                t.burst.map(|b| b.limit)
            ),
            (false, 10_000, 3600, Some(200))
        );
    }
}
