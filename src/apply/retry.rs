//! Whether to retry a failed AWS call, and after how long: one pure decision, separate from the
//! loop that sleeps and calls again (smithy-rs separates its classifiers the same way).
//!
//! The grant writes (and their reads) go out through a License Manager client whose SDK retries
//! are off (`aws::config`, `license_manager_bare`), so this decision is the only retry they
//! get: throttling, transient failures and concurrent modifications are retried with backoff
//! (each throttle also slows the operation's limiter), a stale grant version is re-read, and
//! nothing else is retried at all.

use std::time::Duration;

use crate::aws::error::{AwsError, AwsErrorKind};
use crate::aws::grants::may_be_stale_version;

/// How persistent apply is with one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts of one call in all, the first included; after that the change fails.
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles with every attempt.
    pub base_delay: Duration,
    /// The backoff ceiling never exceeds this.
    pub max_delay: Duration,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Call again, the same request, after this long.
    Retry {
        /// The (jittered) wait before the next attempt.
        after: Duration,
    },
    /// The grant's version moved under us: read the grant again (GetGrant or ListDistributedGrants)
    /// and repeat the call with its current version, at once.
    RereadAndRetry,
    /// Stop: the change fails with this error.
    GiveUp(GiveUpReason),
}

/// Why a failed call is not tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// Retrying cannot help (access denied, invalid, not found, configuration, unknown errors).
    NotRetryable,
    /// It could have helped, but the attempts ran out.
    AttemptsExhausted,
}

/// The random source of the jitter: a number in `[0, 1)`. Injected so tests are deterministic.
pub trait Random {
    /// A uniformly distributed number in `[0, 1)`.
    fn unit(&mut self) -> f64;
}

impl<F: FnMut() -> f64> Random for F {
    fn unit(&mut self) -> f64 {
        self()
    }
}

/// The random source apply uses: `fastrand`, seeded from the operating system.
#[derive(Debug, Clone, Default)]
pub struct SystemRandom(fastrand::Rng);

impl Random for SystemRandom {
    fn unit(&mut self) -> f64 {
        self.0.f64()
    }
}

/// The decision after attempt number `attempt` (1 for the first) failed with `error`.
///
/// Throttling, transient failures and concurrent modifications are retried with exponential
/// backoff and full jitter (a wait drawn uniformly from zero to `min(max_delay, base_delay *
/// 2^(attempt-1))`), which spreads the retries of many concurrent changes instead of
/// synchronising them. A stale grant version is re-read and retried. Everything else (access
/// denied, invalid, not found, configuration, unknown) fails the change at once: repeating the
/// same request cannot succeed, and a person has to act.
pub fn decide(
    error: &AwsError,
    attempt: u32,
    policy: &RetryPolicy,
    random: &mut impl Random,
) -> Decision {
    let retryable = match error.kind {
        AwsErrorKind::Throttled | AwsErrorKind::Transient => Retryable::Backoff,
        AwsErrorKind::Conflict if error.is_code("ConcurrentModificationException") => {
            Retryable::Backoff
        }
        _ if may_be_stale_version(error) => Retryable::Reread,
        AwsErrorKind::AccessDenied
        | AwsErrorKind::NotFound
        | AwsErrorKind::Conflict
        | AwsErrorKind::Invalid
        | AwsErrorKind::Configuration
        | AwsErrorKind::Other => return Decision::GiveUp(GiveUpReason::NotRetryable),
    };
    if attempt >= policy.max_attempts {
        return Decision::GiveUp(GiveUpReason::AttemptsExhausted);
    }
    match retryable {
        Retryable::Reread => Decision::RereadAndRetry,
        Retryable::Backoff => Decision::Retry {
            after: full_jitter(backoff_ceiling(attempt, policy), random),
        },
    }
}

enum Retryable {
    Backoff,
    Reread,
}

/// `min(max_delay, base_delay * 2^(attempt-1))`, without overflowing for large attempts.
pub fn backoff_ceiling(attempt: u32, policy: &RetryPolicy) -> Duration {
    let doublings = attempt.saturating_sub(1).min(31);
    policy
        .base_delay
        .checked_mul(1u32 << doublings)
        .map_or(policy.max_delay, |delay| delay.min(policy.max_delay))
}

fn full_jitter(ceiling: Duration, random: &mut impl Random) -> Duration {
    let unit = random.unit();
    // A source outside [0, 1) is a bug in the source; clamping keeps the wait within the ceiling.
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    ceiling.mul_f64(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: AwsErrorKind, operation: &'static str, code: &str, message: &str) -> AwsError {
        AwsError {
            service: "license-manager",
            operation,
            code: Some(code.to_owned()),
            message: message.to_owned(),
            request_id: Some("req-1".to_owned()),
            kind,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        }
    }

    fn half() -> impl Random {
        || 0.5
    }

    #[test]
    fn throttling_is_retried_with_exponential_backoff_and_full_jitter() {
        let throttled = error(
            AwsErrorKind::Throttled,
            "CreateGrant",
            "RateLimitExceededException",
            "Rate exceeded",
        );
        let waits: Vec<Decision> = (1..=4)
            .map(|attempt| decide(&throttled, attempt, &policy(), &mut half()))
            .collect();
        assert_eq!(
            waits,
            vec![
                Decision::Retry {
                    after: Duration::from_millis(50)
                },
                Decision::Retry {
                    after: Duration::from_millis(100)
                },
                Decision::Retry {
                    after: Duration::from_millis(200)
                },
                Decision::Retry {
                    after: Duration::from_millis(400)
                },
            ]
        );
        // Full jitter: the wait spans zero to the ceiling.
        assert_eq!(
            decide(&throttled, 3, &policy(), &mut || 0.0),
            Decision::Retry {
                after: Duration::ZERO
            }
        );
        let Decision::Retry { after } = decide(&throttled, 3, &policy(), &mut || 0.999_999) else {
            panic!("a retry");
        };
        assert!(after < Duration::from_millis(400) && after > Duration::from_millis(399));
    }

    #[test]
    fn the_backoff_is_capped_and_never_overflows() {
        let policy = RetryPolicy {
            max_attempts: u32::MAX,
            ..policy()
        };
        assert_eq!(backoff_ceiling(5, &policy), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(1_000, &policy), Duration::from_secs(1));
        assert_eq!(backoff_ceiling(0, &policy), Duration::from_millis(100));
        let transient = error(AwsErrorKind::Transient, "CreateGrant", "x", "");
        assert_eq!(
            decide(&transient, 4_000_000, &policy, &mut || 1.0),
            Decision::Retry {
                after: Duration::from_secs(1)
            }
        );
        // A broken random source cannot push the wait past the ceiling.
        assert_eq!(
            decide(&transient, 1, &policy, &mut || f64::NAN),
            Decision::Retry {
                after: Duration::ZERO
            }
        );
        assert_eq!(
            decide(&transient, 1, &policy, &mut || 7.0),
            Decision::Retry {
                after: Duration::from_millis(100)
            }
        );
    }

    #[test]
    fn transient_failures_are_retried() {
        let mut transport = error(
            AwsErrorKind::Transient,
            "CreateGrantVersion",
            "",
            "could not reach the service: connection reset",
        );
        transport.code = None;
        assert!(matches!(
            decide(&transport, 1, &policy(), &mut half()),
            Decision::Retry { .. }
        ));
        let server = error(
            AwsErrorKind::Transient,
            "DeleteGrant",
            "ServiceException",
            "",
        );
        assert!(matches!(
            decide(&server, 2, &policy(), &mut half()),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn retries_stop_when_the_attempts_run_out() {
        let throttled = error(AwsErrorKind::Throttled, "CreateGrant", "Throttling", "");
        assert_eq!(
            decide(&throttled, 5, &policy(), &mut half()),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
        assert_eq!(
            decide(&throttled, 6, &policy(), &mut half()),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
    }

    #[test]
    fn access_denied_invalid_not_found_and_unknown_errors_are_never_retried() {
        for (kind, code) in [
            (AwsErrorKind::AccessDenied, "AccessDeniedException"),
            (AwsErrorKind::Invalid, "ValidationException"),
            (AwsErrorKind::NotFound, "ResourceNotFoundException"),
            (AwsErrorKind::Configuration, "NoCredentials"),
            (AwsErrorKind::Other, "SomethingNew"),
            (AwsErrorKind::Conflict, "ConflictException"),
        ] {
            let failed = error(kind, "CreateGrant", code, "no");
            assert_eq!(
                decide(&failed, 1, &policy(), &mut half()),
                Decision::GiveUp(GiveUpReason::NotRetryable),
                "{code}"
            );
        }
    }

    #[test]
    fn a_stale_grant_version_is_reread_and_retried() {
        // What License Manager (and the sandbox) answer to DeleteGrant with an old Version.
        let stale = error(
            AwsErrorKind::Invalid,
            "DeleteGrant",
            "ValidationException",
            "The version provided doesn't match the latest version (3) of grant `arn:aws:license-manager::1:grant:g-1`",
        );
        assert_eq!(
            decide(&stale, 1, &policy(), &mut half()),
            Decision::RereadAndRetry
        );
        let stale_source = error(
            AwsErrorKind::Conflict,
            "CreateGrantVersion",
            "ConflictException",
            "The source version provided doesn't match the latest version (2)",
        );
        assert_eq!(
            decide(&stale_source, 2, &policy(), &mut half()),
            Decision::RereadAndRetry
        );
        // Re-reading is bounded like any retry.
        assert_eq!(
            decide(&stale, 5, &policy(), &mut half()),
            Decision::GiveUp(GiveUpReason::AttemptsExhausted)
        );
        // Any wording: the code on a versioned call is what counts (the caller re-reads and
        // compares versions before repeating the call).
        let reworded = error(
            AwsErrorKind::Invalid,
            "CreateGrantVersion",
            "ValidationException",
            "Grant version mismatch: expected version 4, got 3",
        );
        assert_eq!(
            decide(&reworded, 1, &policy(), &mut half()),
            Decision::RereadAndRetry
        );
        // The same words from an operation without versions are an ordinary validation error.
        let other = error(
            AwsErrorKind::Invalid,
            "CreateGrant",
            "ValidationException",
            "The version provided doesn't match",
        );
        assert_eq!(
            decide(&other, 1, &policy(), &mut half()),
            Decision::GiveUp(GiveUpReason::NotRetryable)
        );
    }

    #[test]
    fn concurrent_modification_is_retried_with_backoff() {
        let busy = error(
            AwsErrorKind::Conflict,
            "CreateGrantVersion",
            "ConcurrentModificationException",
            "",
        );
        assert!(matches!(
            decide(&busy, 1, &policy(), &mut half()),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn the_system_random_source_stays_in_range() {
        let mut random = SystemRandom::default();
        assert!((0..1_000).all(|_| (0.0..1.0).contains(&random.unit())));
    }
}
