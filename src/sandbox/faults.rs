//! Fault injection and call accounting: per-operation token-bucket rate limits (answered with
//! the service's own throttle error), latency (the time an answer takes, its work included), a
//! share (or every Nth) of 5xx answers, and "did the work, then dropped the connection". Draws
//! are deterministic for a given seed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::SandboxError;
use super::state::splitmix;

/// Fault configuration: a default rule and per-operation rules (keyed by operation name, e.g.
/// `CreateGrant`, or `Service.Operation`, e.g. `LicenseManager.CreateGrant`). Loadable from TOML
/// or JSON; see `docs/emulator.md`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Seed of the deterministic draws for `*_share` rules.
    pub seed: u64,
    /// Applies to every operation without its own rule.
    pub default: FaultRule,
    /// Per-operation rules (they replace the default rule for that operation).
    pub operations: BTreeMap<String, FaultRule>,
}

/// What to inject for one operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    /// Token-bucket refill rate in requests per second; absent = unlimited.
    pub rate_per_second: Option<f64>,
    /// Bucket size (default: 1, or the rate rounded up).
    pub burst: Option<u32>,
    /// Throttle every Nth call (deterministic, independent of time).
    pub throttle_every: Option<u64>,
    /// How long an answer takes from the request's arrival, the emulator's work included (done
    /// in the last few milliseconds of it), in milliseconds.
    pub latency_ms: u64,
    /// Share (0.0-1.0) of calls answered with the service's 5xx error, without doing the work.
    pub error_5xx_share: f64,
    /// Every Nth call is answered with a 5xx, without doing the work.
    pub error_5xx_every: Option<u64>,
    /// Share of calls that do the work, then drop the connection without a response.
    pub drop_after_work_share: f64,
    /// Every Nth call does the work, then drops the connection.
    pub drop_after_work_every: Option<u64>,
    /// Inject faults (throttle, 5xx, drop) at most this many times for the operation.
    pub max_injections: Option<u64>,
}

impl Faults {
    /// Reads faults from a `.toml` or `.json` file.
    pub fn load(path: &Path) -> Result<Faults, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let parse_error = |message: String| SandboxError::Parse {
            path: path.to_path_buf(),
            message,
        };
        if path
            .extension()
            .is_some_and(|extension| extension == "json")
        {
            serde_json::from_str(&text).map_err(|error| parse_error(error.to_string()))
        } else {
            toml::from_str(&text).map_err(|error| parse_error(error.to_string()))
        }
    }

    /// No faults at all.
    pub fn none() -> Faults {
        Faults::default()
    }

    fn rule(&self, service: &str, operation: &str) -> &FaultRule {
        self.operations
            .get(&format!("{service}.{operation}"))
            .or_else(|| self.operations.get(operation))
            .unwrap_or(&self.default)
    }
}

/// What the server must do with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Answer normally.
    Serve,
    /// Answer the service's throttle error without doing the work.
    Throttle,
    /// Answer the service's 5xx error without doing the work.
    ServerError,
    /// Do the work, then drop the connection.
    DropAfterWork,
}

/// Calls counted for one operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationStats {
    /// Every call that reached the operation.
    pub calls: u64,
    /// Answered successfully.
    pub ok: u64,
    /// Answered with a service error (4xx, not throttling).
    pub client_errors: u64,
    /// Answered with the throttle error.
    pub throttled: u64,
    /// Answered with an injected 5xx.
    pub server_errors: u64,
    /// Work done, connection dropped.
    pub dropped: u64,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The faults plus their running state (buckets, counters, random draws).
pub(crate) struct FaultEngine {
    pub(crate) faults: Faults,
    buckets: BTreeMap<String, Bucket>,
    counters: BTreeMap<String, u64>,
    injections: BTreeMap<String, u64>,
    random: u64,
    pub(crate) stats: BTreeMap<String, OperationStats>,
}

impl FaultEngine {
    pub(crate) fn new(faults: Faults) -> FaultEngine {
        let random = faults.seed;
        FaultEngine {
            faults,
            buckets: BTreeMap::new(),
            counters: BTreeMap::new(),
            injections: BTreeMap::new(),
            random,
            stats: BTreeMap::new(),
        }
    }

    /// Replaces the faults (counters and buckets restart; stats are kept).
    pub(crate) fn replace(&mut self, faults: Faults) {
        self.random = faults.seed;
        self.faults = faults;
        self.buckets.clear();
        self.counters.clear();
        self.injections.clear();
    }

    fn draw(&mut self) -> f64 {
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        (splitmix(self.random) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Decides the fate of one call and its latency.
    pub(crate) fn judge(&mut self, service: &str, operation: &str) -> (Verdict, Duration) {
        let key = format!("{service}.{operation}");
        let limit = self.faults.rule(service, operation).max_injections;
        let (verdict, latency) = self.draw_verdict(service, operation);
        if verdict == Verdict::Serve {
            return (verdict, latency);
        }
        let injected = self.injections.entry(key).or_insert(0);
        if limit.is_some_and(|limit| *injected >= limit) {
            return (Verdict::Serve, latency);
        }
        *injected += 1;
        (verdict, latency)
    }

    fn draw_verdict(&mut self, service: &str, operation: &str) -> (Verdict, Duration) {
        let key = format!("{service}.{operation}");
        self.stats.entry(key.clone()).or_default().calls += 1;
        let rule = self.faults.rule(service, operation).clone();
        let count = {
            let counter = self.counters.entry(key.clone()).or_insert(0);
            *counter += 1;
            *counter
        };
        let latency = Duration::from_millis(rule.latency_ms);
        let every = |n: Option<u64>| n.is_some_and(|n| n > 0 && count % n == 0);
        if every(rule.throttle_every) || !self.take_token(&key, &rule) {
            return (Verdict::Throttle, latency);
        }
        if every(rule.error_5xx_every)
            || (rule.error_5xx_share > 0.0 && self.draw() < rule.error_5xx_share)
        {
            return (Verdict::ServerError, latency);
        }
        if every(rule.drop_after_work_every)
            || (rule.drop_after_work_share > 0.0 && self.draw() < rule.drop_after_work_share)
        {
            return (Verdict::DropAfterWork, latency);
        }
        (Verdict::Serve, latency)
    }

    fn take_token(&mut self, key: &str, rule: &FaultRule) -> bool {
        let Some(rate) = rule.rate_per_second else {
            return true;
        };
        let capacity = f64::from(
            rule.burst
                .unwrap_or_else(|| rate.ceil().max(1.0) as u32)
                .max(1),
        );
        let now = Instant::now();
        let bucket = self.buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Records how a call was answered.
    pub(crate) fn record(&mut self, service: &str, operation: &str, outcome: Outcome) {
        let stats = self
            .stats
            .entry(format!("{service}.{operation}"))
            .or_default();
        match outcome {
            Outcome::Ok => stats.ok += 1,
            Outcome::ClientError => stats.client_errors += 1,
            Outcome::Throttled => stats.throttled += 1,
            Outcome::ServerError => stats.server_errors += 1,
            Outcome::Dropped => stats.dropped += 1,
        }
    }
}

/// How one call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    ClientError,
    Throttled,
    ServerError,
    Dropped,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_and_buckets() {
        let mut faults = Faults::default();
        faults.operations.insert(
            "CreateGrant".into(),
            FaultRule {
                drop_after_work_every: Some(2),
                ..FaultRule::default()
            },
        );
        faults.operations.insert(
            "ListAccounts".into(),
            FaultRule {
                rate_per_second: Some(0.001),
                burst: Some(2),
                ..FaultRule::default()
            },
        );
        let mut engine = FaultEngine::new(faults);
        assert_eq!(
            engine.judge("LicenseManager", "CreateGrant").0,
            Verdict::Serve
        );
        assert_eq!(
            engine.judge("LicenseManager", "CreateGrant").0,
            Verdict::DropAfterWork
        );
        assert_eq!(
            engine.judge("Organizations", "ListAccounts").0,
            Verdict::Serve
        );
        assert_eq!(
            engine.judge("Organizations", "ListAccounts").0,
            Verdict::Serve
        );
        assert_eq!(
            engine.judge("Organizations", "ListAccounts").0,
            Verdict::Throttle
        );
        assert_eq!(engine.stats["Organizations.ListAccounts"].calls, 3);
    }

    #[test]
    fn loads_toml() {
        let faults: Faults = toml::from_str(
            "seed = 7\n[default]\nlatency_ms = 1\n[operations.CreateGrant]\nerror_5xx_share = 0.5\n",
        )
        .unwrap();
        assert_eq!(faults.seed, 7);
        assert_eq!(faults.operations["CreateGrant"].error_5xx_share, 0.5);
    }
}
