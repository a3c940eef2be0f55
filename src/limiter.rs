//! A client-side adaptive rate limiter: a token bucket whose rate finds a service's limit and
//! stays just under it, the way TCP finds a link's capacity. Both `aws/pacing.rs` (every read)
//! and `apply/executor.rs` (the grant writes) point down to it; it knows neither.
//!
//! Every call waits in [`RateLimiter::acquire`] and reports back with
//! [`RateLimiter::on_success`] or [`RateLimiter::on_throttle`]. The rate moves in three regimes:
//!
//! - **Slow start**, until the first throttle: each success adds two calls per second, so the rate
//!   doubles every half second and a large job reaches the service's limit in seconds.
//! - **Recovery**: that throttle remembers the rate it happened at (the limit, near enough) and
//!   multiplies the rate by the decrease factor; successes then bring it back, as fast as in slow
//!   start, to a share of the remembered rate just under it.
//! - **Settled**: from there every throttle takes a small share off the rate and every success adds
//!   a sliver, sized so that the rate rests where a set small share of calls is throttled (one in a
//!   hundred). A limit that does not move is then used as closely as the network's jitter allows:
//!   the throttles that remain are the ones jitter causes, and cutting the rate by a fifth for each
//!   of them (as TCP would) costs more than the throttle itself. A throttle that follows the last
//!   within a few successes is congestion (the limit fell): the rate is cut by the decrease factor
//!   again. Throttles of calls sent before the last counted throttle was answered are one event (a
//!   stall that delayed the calls in flight together) and move the rate once. A call sent with
//!   nobody waiting for tokens does not make the rate grow, nor, once settled, fall. A throttle is
//!   remembered as the rate it came at; well past that rate, or after a quiet spell with no
//!   throttle at all, the limit has moved and slow start resumes.
//!
//! A fixed limit is thus met with a rate within a few percent of it and about one call in a
//! hundred throttled, instead of the SDK's retries hammering a throttled API from many tasks at
//! once.
//!
//! The arithmetic lives in [`Aimd`], a plain value driven by an explicit time, so the tests
//! simulate minutes of traffic against a simulated server in microseconds. [`RateLimiter`] wraps it
//! for concurrent async callers, with an injected [`Clock`].

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How the limiter starts and how it adapts. Rates are calls per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterConfig {
    /// The rate of the first calls.
    pub initial_rate: f64,
    /// What each success adds to the rate in slow start and in recovery, in calls per second.
    pub increase: f64,
    /// The rate never drops below this, however often the service throttles.
    pub floor: f64,
    /// The rate never rises above this, however well things go.
    pub ceiling: f64,
    /// What the first throttle (after slow start) multiplies the rate by.
    pub decrease_factor: f64,
    /// After that throttle, the rate returns quickly to this share of the rate the throttle came
    /// at.
    pub recovery: f64,
    /// Once settled, the share of the rate each throttle takes off.
    pub settled_decrease: f64,
    /// Once settled, the share of calls the rate rests at having throttled: each success adds
    /// what balances `settled_decrease` at that share.
    pub throttled_share: f64,
    /// Once settled, a throttle that comes within this many successes of the last one is
    /// congestion, not jitter: the rate is multiplied by `decrease_factor` again.
    pub congestion_within: u32,
    /// Past this multiple of the remembered throttle rate, the limit has moved: the rate is
    /// forgotten and slow start resumes.
    pub forget_above: f64,
    /// A success (with calls waiting) this long after the last throttle says the limit has moved
    /// too.
    pub forget_after: Duration,
    /// How many calls may go at once after a quiet spell (the bucket's capacity, at least 1).
    pub burst: f64,
}

impl Default for LimiterConfig {
    /// 10 calls per second to start, two more per success in slow start up to the first throttle,
    /// then between 1 and 100: times 0.8 on that throttle (once per round trip), back to 95% of the
    /// throttle's rate, then settled at one call in a hundred throttled, 2% off per throttle (times
    /// 0.8 again for a throttle within 5 successes of the last); slow start again past 1.1 times
    /// the last throttle's rate or after 20 s without one; no bursts. Chosen by simulating a token
    /// bucket with no burst and the jitter the emulator's scale benchmark showed (about 0.9 ms from
    /// the limiter to the server's check, 3% of calls 1.5 to 9 ms late; see docs/performance.md):
    /// about 94% of a limit of 20/s served, 1% of calls throttled, where the first rules (a fifth
    /// off per throttle, creeping back by 1% a second) served 93.2%.
    fn default() -> Self {
        Self {
            initial_rate: 10.0,
            increase: 2.0,
            floor: 1.0,
            ceiling: 100.0,
            decrease_factor: 0.8,
            recovery: 0.95,
            settled_decrease: 0.02,
            throttled_share: 0.01,
            congestion_within: 5,
            forget_above: 1.1,
            forget_after: Duration::from_secs(20),
            burst: 1.0,
        }
    }
}

impl LimiterConfig {
    /// The configuration made consistent: a positive floor, `floor <= initial <= ceiling`, a
    /// decrease factor, a recovery share, a settled decrease and a throttled share in (0, 1), a
    /// time to forget that is not zero, a burst of at least one call. Nonsense values fall back to the
    /// defaults' rather than producing a limiter that never lets a call through.
    fn sanitized(self) -> Self {
        let defaults = Self::default();
        let positive = |value: f64, fallback: f64| {
            if value.is_finite() && value > 0.0 {
                value
            } else {
                fallback
            }
        };
        let floor = positive(self.floor, defaults.floor);
        let ceiling = positive(self.ceiling, defaults.ceiling).max(floor);
        let initial_rate = positive(self.initial_rate, defaults.initial_rate).clamp(floor, ceiling);
        let share = |value: f64, fallback: f64| {
            if value.is_finite() && value > 0.0 && value < 1.0 {
                value
            } else {
                fallback
            }
        };
        let forget_above = if self.forget_above.is_finite() && self.forget_above > 1.0 {
            self.forget_above
        } else {
            defaults.forget_above
        };
        let forget_after = if self.forget_after.is_zero() {
            defaults.forget_after
        } else {
            self.forget_after
        };
        Self {
            initial_rate,
            increase: positive(self.increase, defaults.increase),
            floor,
            ceiling,
            decrease_factor: share(self.decrease_factor, defaults.decrease_factor),
            recovery: share(self.recovery, defaults.recovery),
            settled_decrease: share(self.settled_decrease, defaults.settled_decrease),
            throttled_share: share(self.throttled_share, defaults.throttled_share),
            congestion_within: self.congestion_within,
            forget_above,
            forget_after,
            burst: positive(self.burst, 1.0).max(1.0),
        }
    }
}

/// The limiter's state as a value: a token bucket refilled at an adaptive rate. Times are
/// durations since any fixed origin the caller chooses, and must not go backwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Aimd {
    config: LimiterConfig,
    rate: f64,
    tokens: f64,
    refilled_at: Duration,
    decreased_at: Option<Duration>,
    /// The rate the last throttle came at; `None` in slow start.
    throttled_at_rate: Option<f64>,
    /// When the last throttle that moved the rate was answered (the limiter's creation before
    /// any): a call sent before that and throttled after it is the same event (a stall that
    /// delayed several calls in flight together), and moves the rate no further.
    throttled_at: Duration,
    /// Successes since the last throttle (counted as for the rate's growth).
    successes: u32,
    /// When a caller last found no token. A rate nobody waits for is not what limits the calls,
    /// and successes then say nothing about the service's limit: the rate does not grow.
    wanted_at: Duration,
}

/// When the limiter let a call go: outcomes of calls sent before the last decrease say nothing
/// about the decreased rate, and are not counted (TCP's one decrease per round trip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sent(pub Duration);

impl Aimd {
    /// A limiter at its initial rate with a full bucket, at time `now`.
    pub fn new(config: LimiterConfig, now: Duration) -> Self {
        let config = config.sanitized();
        Self {
            rate: config.initial_rate,
            tokens: config.burst,
            refilled_at: now,
            decreased_at: None,
            throttled_at_rate: None,
            throttled_at: now,
            successes: 0,
            // A limiter is made for a first call: assume demand.
            wanted_at: now,
            config,
        }
    }

    /// The current rate, in calls per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The configuration in force (after sanitizing).
    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// Takes a token if there is one (`Ok`), or says how long until there will be (`Err`).
    pub fn try_acquire(&mut self, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        // A token short by a rounding error is a token: after waiting exactly the computed time,
        // floating point may leave the bucket at 0.999..., and a zero-length wait would spin.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            self.wanted_at = now;
            let wait = Duration::from_secs_f64((1.0 - self.tokens) / self.rate);
            Err(wait.max(Duration::from_micros(1)))
        }
    }

    /// A call sent at `sent` went through: the rate grows by `increase` in slow start and in
    /// recovery, and once settled by `settled_decrease * throttled_share / (1 -
    /// throttled_share)` of itself (what balances the throttles at that share), up to the
    /// ceiling. It does not grow for a call sent before the last decrease, nor while nobody
    /// waits for tokens: the calls then come slower than the rate allows, and a rate that grew
    /// unused would let a later cluster of calls out too fast.
    pub fn on_success(&mut self, now: Duration, sent: Duration) {
        self.refill(now);
        if self.before_decrease(sent) {
            return;
        }
        self.successes = self.successes.saturating_add(1);
        if !self.wanted_around(sent) {
            return;
        }
        let config = self.config;
        if now.saturating_sub(self.throttled_at) > config.forget_after {
            self.throttled_at_rate = None;
        }
        self.rate = match self.throttled_at_rate {
            None => self.rate + config.increase,
            Some(limit) if self.rate < config.recovery * limit => {
                self.rate + (config.recovery * limit - self.rate).min(config.increase)
            }
            Some(_) => {
                let share = config.throttled_share;
                self.rate * (1.0 + config.settled_decrease * share / (1.0 - share))
            }
        }
        .min(config.ceiling);
        if self
            .throttled_at_rate
            .is_some_and(|limit| self.rate > config.forget_above * limit)
        {
            self.throttled_at_rate = None;
        }
    }

    /// A call sent at `sent` was throttled: the bucket is emptied so the service gets a breather,
    /// and unless the call went out before the last counted throttle was answered (the same event,
    /// already answered) or, settled, with nobody waiting, the rate is remembered and cut:
    /// multiplied by `decrease_factor` in slow start and for a throttle within `congestion_within`
    /// successes of the last (a decrease, which the calls already under way do not cut again),
    /// otherwise (settled) by `1 - settled_decrease`; never below the floor.
    pub fn on_throttle(&mut self, now: Duration, sent: Duration) {
        self.refill(now);
        self.tokens = self.tokens.min(0.0);
        if sent < self.throttled_at {
            return;
        }
        let congested =
            self.throttled_at_rate.is_none() || self.successes < self.config.congestion_within;
        if !congested && !self.wanted_around(sent) {
            // Settled, and the call went out with nobody waiting: the rate did not send it, and
            // (as its successes do not make it grow) its throttle does not cut it.
            self.successes = 0;
            return;
        }
        let factor = if congested {
            self.decreased_at = Some(now);
            self.config.decrease_factor
        } else {
            1.0 - self.config.settled_decrease
        };
        self.throttled_at = now;
        self.successes = 0;
        self.throttled_at_rate = Some(self.rate);
        self.rate = (self.rate * factor).max(self.config.floor);
    }

    /// Whether callers waited for tokens around the time a call was sent (within two intervals
    /// before it, or since): whether the rate, not the callers' demand, decided when calls went.
    fn wanted_around(&self, sent: Duration) -> bool {
        sent.saturating_sub(self.wanted_at) <= Duration::from_secs_f64(2.0 / self.rate)
    }

    fn before_decrease(&self, sent: Duration) -> bool {
        self.decreased_at.is_some_and(|at| sent < at)
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.config.burst);
        self.refilled_at = self.refilled_at.max(now);
    }
}

/// Where the limiter gets the time and how it waits: injected so tests can run on virtual time.
pub trait Clock: Send + Sync {
    /// Time since a fixed origin; never goes backwards.
    fn now(&self) -> Duration;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send;
}

/// The real clock: `tokio::time` (which `tokio::time::pause` also controls).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Tokio's timer fires on whole milliseconds, about a millisecond late on average: against
    /// a limit of 20 calls/s with no burst that is 2% of every interval lost (a bucket with no
    /// burst forgets the time a call comes late). So the timer is set a millisecond short and
    /// the rest is waited by yielding until the moment has come (`std::time::Instant`: under
    /// tokio's paused clock this ends too, after a real millisecond at most).
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        let deadline = std::time::Instant::now() + duration;
        async move {
            if let Some(coarse) = duration.checked_sub(TIMER_GRAIN) {
                tokio::time::sleep(coarse).await;
            }
            while std::time::Instant::now() < deadline {
                tokio::task::yield_now().await;
            }
        }
    }
}

/// How late tokio's timer may fire.
const TIMER_GRAIN: Duration = Duration::from_millis(1);

/// Virtual time for tests and benchmarks: `sleep` returns at once after moving the clock on.
/// Meant for one caller at a time (concurrent sleepers would each move it on).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Mutex<Duration>,
}

impl ManualClock {
    /// Moves the clock on by `duration`.
    pub fn advance(&self, duration: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += duration;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        self.advance(duration);
        std::future::ready(())
    }
}

/// The adaptive limiter shared by every task of an apply (share it with an `Arc`).
#[derive(Debug)]
pub struct RateLimiter<C: Clock = TokioClock> {
    state: Mutex<Aimd>,
    clock: C,
    /// Waiters queue here, first come first served; only the first of them watches the clock.
    queue: tokio::sync::Mutex<()>,
}

impl RateLimiter<TokioClock> {
    /// A limiter on the real clock.
    pub fn new(config: LimiterConfig) -> Self {
        Self::with_clock(config, TokioClock::default())
    }
}

impl<C: Clock> RateLimiter<C> {
    /// A limiter on the given clock.
    pub fn with_clock(config: LimiterConfig, clock: C) -> Self {
        let state = Mutex::new(Aimd::new(config, clock.now()));
        Self {
            state,
            clock,
            queue: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits until the next call may go, and says when that was. Callers go in the order they
    /// came (however many wait, none starves); the first re-checks after its sleep, so a rate
    /// that fell meanwhile is honoured.
    pub async fn acquire(&self) -> Sent {
        let _first = self.queue.lock().await;
        loop {
            let now = self.clock.now();
            let wait = match self.lock().try_acquire(now) {
                Ok(()) => return Sent(now),
                Err(wait) => wait,
            };
            self.clock.sleep(wait).await;
        }
    }

    /// The call let through at `sent` succeeded.
    pub fn on_success(&self, sent: Sent) {
        let now = self.clock.now();
        self.lock().on_success(now, sent.0);
    }

    /// The call let through at `sent` was throttled (`AwsErrorKind::Throttled`).
    pub fn on_throttle(&self, sent: Sent) {
        let now = self.clock.now();
        self.lock().on_throttle(now, sent.0);
    }

    /// The current rate, for progress reports.
    pub fn rate(&self) -> f64 {
        self.lock().rate()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Aimd> {
        // The state is a few numbers, consistent after every method; a panic elsewhere while the
        // lock was held cannot leave it half-updated.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A service's own token bucket: `limit` calls per second, `capacity` at once.
    struct Server {
        limit: f64,
        capacity: f64,
        tokens: f64,
        at: Duration,
    }

    impl Server {
        fn new(limit: f64, capacity: f64) -> Self {
            Self {
                limit,
                capacity,
                tokens: capacity,
                at: Duration::ZERO,
            }
        }

        /// Whether a call at `now` is served (`true`) or throttled.
        fn call(&mut self, now: Duration) -> bool {
            let elapsed = now.saturating_sub(self.at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * self.limit).min(self.capacity);
            self.at = now;
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    #[derive(Debug, Default)]
    struct Window {
        sent: u32,
        throttled: u32,
        max_rate: f64,
    }

    impl Window {
        /// Fails unless fewer than `share` of the calls sent were throttled.
        fn assert_throttled_below(&self, share: f64) {
            assert!(
                f64::from(self.throttled) < share * f64::from(self.sent),
                "{} of {} calls throttled",
                self.throttled,
                self.sent
            );
        }
    }

    /// One client sending as fast as the limiter allows until `until`, against `server`.
    fn drive(
        limiter: &mut Aimd,
        server: &mut Server,
        now: &mut Duration,
        until: Duration,
    ) -> Window {
        let mut window = Window::default();
        while *now < until {
            match limiter.try_acquire(*now) {
                Err(wait) => *now += wait,
                Ok(()) => {
                    window.sent += 1;
                    if server.call(*now) {
                        limiter.on_success(*now, *now);
                    } else {
                        window.throttled += 1;
                        limiter.on_throttle(*now, *now);
                    }
                    window.max_rate = window.max_rate.max(limiter.rate());
                }
            }
        }
        window
    }

    /// The next value of a fixed pseudo-random sequence (Knuth's MMIX linear congruential step):
    /// the simulations' jitter, the same on every run.
    fn next_random(seed: u64) -> u64 {
        seed.wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407)
    }

    fn seconds(value: u64) -> Duration {
        Duration::from_secs(value)
    }

    #[test]
    fn the_rate_settles_below_the_servers_limit() {
        let config = LimiterConfig {
            initial_rate: 5.0,
            ..LimiterConfig::default()
        };
        let mut limiter = Aimd::new(config, Duration::ZERO);
        let mut server = Server::new(20.0, 20.0);
        let mut now = Duration::ZERO;
        drive(&mut limiter, &mut server, &mut now, seconds(120));
        let settled = drive(&mut limiter, &mut server, &mut now, seconds(600));
        let sent_rate = f64::from(settled.sent) / 480.0;
        let served_rate = f64::from(settled.sent - settled.throttled) / 480.0;
        assert!(sent_rate <= 20.5, "sent {sent_rate:.2}/s");
        assert!(
            served_rate > 0.8 * 20.0,
            "the limiter should use most of the capacity: {served_rate:.2}/s"
        );
        settled.assert_throttled_below(0.02);
    }

    #[test]
    fn the_rate_never_exceeds_the_ceiling() {
        let config = LimiterConfig {
            initial_rate: 5.0,
            ceiling: 8.0,
            ..LimiterConfig::default()
        };
        let mut limiter = Aimd::new(config, Duration::ZERO);
        let mut server = Server::new(1_000.0, 1_000.0);
        let mut now = Duration::ZERO;
        let window = drive(&mut limiter, &mut server, &mut now, seconds(300));
        assert_eq!(window.throttled, 0);
        assert!(window.max_rate <= 8.0, "{}", window.max_rate);
        assert_eq!(limiter.rate(), 8.0);
        // And the calls really went at most at the ceiling (plus the one-call burst).
        assert!(
            f64::from(window.sent) <= 8.0 * 300.0 + 1.0,
            "{}",
            window.sent
        );
    }

    #[test]
    fn the_rate_recovers_when_throttling_stops() {
        let config = LimiterConfig {
            initial_rate: 40.0,
            ..LimiterConfig::default()
        };
        let mut limiter = Aimd::new(config, Duration::ZERO);
        let mut now = Duration::ZERO;
        // A minute of a service that allows only 2 calls per second.
        let mut stingy = Server::new(2.0, 2.0);
        let storm = drive(&mut limiter, &mut stingy, &mut now, seconds(60));
        assert!(storm.throttled > 0);
        assert!(limiter.rate() < 4.0, "{}", limiter.rate());
        // Then the throttling stops: after 20 s without a throttle slow start resumes and
        // takes the rate to the ceiling.
        let mut generous = Server::new(1_000.0, 1_000.0);
        let calm = drive(&mut limiter, &mut generous, &mut now, seconds(120));
        assert_eq!(calm.throttled, 0);
        assert!(limiter.rate() > 40.0, "{}", limiter.rate());
        drive(&mut limiter, &mut generous, &mut now, seconds(240));
        assert_eq!(limiter.rate(), 100.0);
    }

    #[test]
    fn throttles_cut_the_rate_once_per_round_trip_and_never_below_the_floor() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        limiter.on_throttle(seconds(1), seconds(1));
        assert!((limiter.rate() - 8.0).abs() < 1e-9, "{}", limiter.rate());
        // Calls sent before that decrease and throttled after it are the same congestion event.
        let late = seconds(1) + Duration::from_millis(300);
        limiter.on_throttle(late, Duration::from_millis(900));
        assert!((limiter.rate() - 8.0).abs() < 1e-9, "{}", limiter.rate());
        // A call sent after the decrease and throttled anyway: the rate is still too high.
        limiter.on_throttle(late, Duration::from_millis(1_100));
        assert!((limiter.rate() - 6.4).abs() < 1e-9, "{}", limiter.rate());
        for second in 3..20 {
            limiter.on_throttle(seconds(second), seconds(second));
        }
        assert_eq!(limiter.rate(), 1.0);
        // After a throttle the bucket is empty: the next call waits a full interval.
        assert_eq!(limiter.try_acquire(seconds(19)), Err(seconds(1)));
        assert_eq!(limiter.try_acquire(seconds(20)), Ok(()));
    }

    #[test]
    fn slow_start_doubles_recovery_returns_near_the_throttle_rate_then_the_rate_settles() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        // Two calls per second per success.
        for _ in 0..5 {
            limiter.on_success(Duration::ZERO, Duration::ZERO);
        }
        assert!((limiter.rate() - 20.0).abs() < 1e-9, "{}", limiter.rate());
        let throttled = Duration::from_millis(10);
        limiter.on_throttle(throttled, throttled);
        assert!((limiter.rate() - 16.0).abs() < 1e-9, "{}", limiter.rate());
        // Answers to calls sent before the decrease do not make the rate grow.
        let answered = Duration::from_millis(20);
        assert!(limiter.try_acquire(answered).is_err());
        limiter.on_success(answered, Duration::from_millis(5));
        assert!((limiter.rate() - 16.0).abs() < 1e-9, "{}", limiter.rate());
        // Recovery: two calls per second per success, up to 95% of the rate the throttle came at
        // (callers waiting: there is demand).
        let after = seconds(1);
        assert!(limiter.try_acquire(after).is_ok());
        assert!(limiter.try_acquire(after).is_err());
        limiter.on_success(after, after);
        assert!((limiter.rate() - 18.0).abs() < 1e-9, "{}", limiter.rate());
        limiter.on_success(after, after);
        assert!((limiter.rate() - 19.0).abs() < 1e-9, "{}", limiter.rate());
        // Settled: each success adds 2% x 1/99 of the rate (a hundred calls, one throttled,
        // leave it where it was).
        let step: f64 = 1.0 + 0.02 * 0.01 / 0.99;
        for _ in 0..19 {
            limiter.on_success(after, after);
        }
        let settled = 19.0 * step.powi(19);
        assert!(
            (limiter.rate() - settled).abs() < 1e-9,
            "{}",
            limiter.rate()
        );
        // A throttle then takes 2% off, and is not a new decrease: calls already under way
        // still count.
        limiter.on_throttle(after, after);
        assert!((limiter.rate() - 0.98 * settled).abs() < 1e-9);
        limiter.on_success(after, Duration::from_millis(900));
        assert!((limiter.rate() - 0.98 * settled * step).abs() < 1e-9);
        // Another within five successes of it is congestion: times 0.8 again.
        let good = 0.98 * settled * step;
        limiter.on_throttle(after, after);
        assert!((limiter.rate() - 0.8 * good).abs() < 1e-9);
        // Throttles of calls sent before that throttle was answered are the same stall: the
        // rate does not move.
        let later = after + Duration::from_millis(50);
        limiter.on_throttle(later, Duration::from_millis(990));
        assert!((limiter.rate() - 0.8 * good).abs() < 1e-9);
        // Recovery after congestion returns to 95% of the rate it came at, two calls per second
        // per success.
        limiter.on_success(later, later);
        assert!((limiter.rate() - (0.8 * good + 2.0)).abs() < 1e-9);
        limiter.on_success(later, later);
        let recovered = 0.95 * good;
        assert!((limiter.rate() - recovered).abs() < 1e-9);
        // and settles from there.
        limiter.on_success(later, later);
        assert!(
            (limiter.rate() - recovered * step).abs() < 1e-9,
            "{} {}",
            limiter.rate(),
            recovered
        );
    }

    #[test]
    fn a_settled_rate_is_not_cut_by_throttles_of_calls_nobody_waited_for() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        limiter.on_throttle(Duration::ZERO, Duration::ZERO);
        // Recover to 9.5 and settle (callers waiting at one second).
        let busy = seconds(1);
        while limiter.try_acquire(busy).is_ok() {}
        for _ in 0..10 {
            limiter.on_success(busy, busy);
        }
        let settled = limiter.rate();
        assert!(settled > 9.5 && settled < 9.6, "{settled}");
        // Ten seconds later a lone call (nobody waited: it took a refilled token) is throttled:
        // the rate did not send it, so the rate stays.
        let lone = seconds(11);
        assert!(limiter.try_acquire(lone).is_ok());
        limiter.on_throttle(lone + Duration::from_millis(40), lone);
        assert_eq!(limiter.rate(), settled);
        // With callers waiting, five successes on (the lone throttle still counts as a throttle
        // for congestion), a throttle takes 2% off.
        let queued = seconds(12);
        while limiter.try_acquire(queued).is_ok() {}
        for _ in 0..5 {
            limiter.on_success(queued, queued);
        }
        let before = limiter.rate();
        limiter.on_throttle(queued + Duration::from_millis(40), queued);
        assert!(
            (limiter.rate() - 0.98 * before).abs() < 1e-9,
            "{}",
            limiter.rate()
        );
    }

    #[test]
    fn after_a_quiet_spell_slow_start_resumes() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        limiter.on_throttle(Duration::ZERO, Duration::ZERO);
        // Remembered 10, now 8: recovery to 9.5 at up to two calls per second per success.
        let demand = |limiter: &mut Aimd, at: Duration| {
            while limiter.try_acquire(at).is_ok() {}
        };
        demand(&mut limiter, seconds(1));
        limiter.on_success(seconds(1), seconds(1));
        assert!((limiter.rate() - 9.5).abs() < 1e-9, "{}", limiter.rate());
        // Nineteen seconds on without a throttle: still settled, a sliver per success.
        demand(&mut limiter, seconds(19));
        limiter.on_success(seconds(19), seconds(19));
        assert!(limiter.rate() - 9.5 < 0.01, "{}", limiter.rate());
        // Past twenty: the limit has moved, two calls per second per success again.
        demand(&mut limiter, seconds(21));
        let before = limiter.rate();
        limiter.on_success(seconds(21), seconds(21));
        assert!(
            (limiter.rate() - before - 2.0).abs() < 1e-9,
            "{}",
            limiter.rate()
        );
    }

    #[test]
    fn past_the_remembered_rate_slow_start_resumes() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        limiter.on_throttle(Duration::ZERO, Duration::ZERO);
        // Remembered 10, now 8; recovery to 9.5, then 0.02% per success (settled) up to 11,
        // all within the same second.
        let after = seconds(1);
        assert!(limiter.try_acquire(after).is_ok());
        assert!(limiter.try_acquire(after).is_err());
        let mut successes = 0;
        while limiter.rate() <= 11.0 {
            limiter.on_success(after, after);
            successes += 1;
            assert!(successes < 1_000, "stuck at {}", limiter.rate());
        }
        // Slow start again: each success adds two calls per second.
        let before = limiter.rate();
        limiter.on_success(after, after);
        assert!((limiter.rate() - before - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_jittery_limit_without_burst_is_mostly_used_and_rarely_throttled() {
        // The benchmark's conditions: a token bucket of 10 calls/s with no burst, each call
        // arriving up to 3 ms late (a fixed pseudo-random sequence).
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        let mut server = Server::new(10.0, 1.0);
        let mut now = Duration::ZERO;
        let (mut sent, mut throttled) = (0_u32, 0_u32);
        let mut seed: u64 = 7;
        while now < seconds(300) {
            match limiter.try_acquire(now) {
                Err(wait) => now += wait,
                Ok(()) => {
                    seed = next_random(seed);
                    let late = Duration::from_micros((seed >> 33) % 3_000);
                    sent += 1;
                    if server.call(now + late) {
                        limiter.on_success(now, now);
                    } else {
                        throttled += 1;
                        limiter.on_throttle(now, now);
                    }
                }
            }
        }
        let served = f64::from(sent - throttled) / 300.0;
        assert!(served > 9.0, "served {served:.2}/s of 10");
        assert!(
            f64::from(throttled) < 0.04 * f64::from(sent),
            "{throttled} of {sent} calls throttled"
        );
    }

    /// How late calls reached the emulator's rate check after the limiter let them go, in the
    /// scale benchmark at 20 calls/s (microseconds; the midpoints of 50 equal shares, so the
    /// last two are the 3% of calls 1.5 to 9 ms late): the jitter a limit with no burst
    /// punishes, since a late call pushes the next one's slot and a late call followed by a
    /// punctual one arrives too soon.
    const MEASURED_DELAYS_US: [u64; 50] = [
        414, 475, 539, 577, 616, 637, 670, 688, 708, 728, 739, 753, 767, 779, 796, 807, 815, 828,
        839, 848, 858, 865, 875, 883, 892, 902, 912, 924, 932, 940, 948, 960, 969, 977, 985, 993,
        1003, 1014, 1028, 1039, 1056, 1068, 1083, 1103, 1124, 1146, 1188, 1275, 1980, 2775,
    ];

    /// Many tasks sending as fast as the limiter allows until `until`, each call reaching
    /// `server` a measured delay after it was let go and answered 40 ms later.
    fn drive_measured(
        limiter: &mut Aimd,
        server: &mut Server,
        now: &mut Duration,
        until: Duration,
    ) -> Window {
        let latency = Duration::from_millis(40);
        let mut answers = std::collections::VecDeque::new();
        let mut window = Window::default();
        let mut seed: u64 = 11;
        while *now < until {
            while let Some(&(at, sent, served)) = answers.front() {
                if at > *now {
                    break;
                }
                answers.pop_front();
                if served {
                    limiter.on_success(at, sent);
                } else {
                    limiter.on_throttle(at, sent);
                }
            }
            match limiter.try_acquire(*now) {
                Err(wait) => *now += wait,
                Ok(()) => {
                    seed = next_random(seed);
                    let delay = MEASURED_DELAYS_US[((seed >> 33) % 50) as usize];
                    let arrival = *now + Duration::from_micros(delay);
                    let served = server.call(arrival);
                    window.sent += 1;
                    window.throttled += u32::from(!served);
                    answers.push_back((arrival + latency, *now, served));
                }
            }
        }
        window
    }

    #[test]
    fn the_benchmarks_jitter_costs_a_few_percent_of_a_limit_without_burst() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        let mut server = Server::new(20.0, 1.0);
        let mut now = Duration::ZERO;
        let window = drive_measured(&mut limiter, &mut server, &mut now, seconds(300));
        let served = f64::from(window.sent - window.throttled) / 300.0;
        // 94.5% (a fixed rate could do at best 95.5% here: 1.6 ms of margin, 1.5% of calls
        // throttled); the previous rules (a fifth off per throttle, creeping back) served 93.2%.
        assert!(served > 0.94 * 20.0, "served {served:.2}/s of 20");
        window.assert_throttled_below(0.025);
    }

    /// A chain of pages (each call needs the previous answer, as ListAccounts' tokens do) for
    /// `until`: each call reaches `server` a measured delay after it was let go and is answered
    /// 45 ms later; a throttled page is retried after a backoff of up to 100 ms (the SDK's
    /// first).
    fn drive_chain(limiter: &mut Aimd, server: &mut Server, seed: u64, until: Duration) -> Window {
        let mut window = Window::default();
        let (mut now, mut seed) = (Duration::ZERO, seed);
        while now < until {
            match limiter.try_acquire(now) {
                Err(wait) => now += wait,
                Ok(()) => {
                    seed = next_random(seed);
                    let arrival = now
                        + Duration::from_micros(MEASURED_DELAYS_US[((seed >> 33) % 50) as usize]);
                    let served = server.call(arrival);
                    let sent = now;
                    now = arrival + Duration::from_millis(45);
                    window.sent += 1;
                    if served {
                        limiter.on_success(now, sent);
                    } else {
                        window.throttled += 1;
                        limiter.on_throttle(now, sent);
                        now += Duration::from_micros((seed >> 40) % 100_000);
                    }
                }
            }
        }
        window
    }

    #[test]
    fn a_chain_of_pages_overshoots_only_at_the_start() {
        // Ten runs of 50 s of a chain against 10 pages/s (the benchmark's ListAccounts): slow
        // start overshoots, then recovery returns to 95% of each throttle's rate until the rate
        // settles. Returning to 98% after congestion instead took more throttles to come down
        // from the overshoot (13 a run, 94.1% served, in the same harness).
        let (mut served, mut throttled) = (0, 0);
        for run in 0..10 {
            let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
            let mut server = Server::new(10.0, 1.0);
            let window = drive_chain(&mut limiter, &mut server, run * 7 + 1, seconds(50));
            served += window.sent - window.throttled;
            throttled += window.throttled;
        }
        let share = f64::from(served) / (10.0 * 50.0 * 10.0);
        assert!(share > 0.95, "served {share:.4} of the limit");
        assert!(throttled < 110, "{throttled} throttled in 10 runs");
    }

    #[test]
    fn a_limit_that_falls_is_followed_within_seconds() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        let mut now = Duration::ZERO;
        let mut twenty = Server::new(20.0, 1.0);
        drive_measured(&mut limiter, &mut twenty, &mut now, seconds(60));
        assert!(limiter.rate() > 18.0, "{}", limiter.rate());
        // The limit halves: throttles come close together, each such one cuts a fifth.
        let mut ten = Server::new(10.0, 1.0);
        ten.at = now;
        let fall = drive_measured(&mut limiter, &mut ten, &mut now, seconds(63));
        assert!(limiter.rate() < 10.5, "{}", limiter.rate());
        assert!(fall.throttled < 20, "{} throttled", fall.throttled);
    }

    #[test]
    fn a_rate_nobody_waits_for_does_not_grow() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        // Five calls a second against a rate of ten: each finds a token, none waits.
        let mut now = seconds(2);
        for _ in 0..100 {
            assert_eq!(limiter.try_acquire(now), Ok(()));
            limiter.on_success(now, now);
            now += Duration::from_millis(200);
        }
        assert!((limiter.rate() - 10.0).abs() < 1e-9, "{}", limiter.rate());
        // Demand beyond the rate: callers wait, and the rate grows again.
        assert!(limiter.try_acquire(now).is_ok());
        assert!(limiter.try_acquire(now).is_err());
        limiter.on_success(now, now);
        assert!(limiter.rate() > 10.0, "{}", limiter.rate());
    }

    #[test]
    fn nonsense_configuration_is_made_safe() {
        let limiter = Aimd::new(
            LimiterConfig {
                initial_rate: 0.0,
                increase: -2.0,
                floor: -1.0,
                ceiling: f64::NAN,
                decrease_factor: 2.0,
                recovery: f64::NAN,
                settled_decrease: f64::INFINITY,
                throttled_share: -0.5,
                congestion_within: 5,
                forget_above: 0.5,
                forget_after: Duration::ZERO,
                burst: 0.0,
            },
            Duration::ZERO,
        );
        let config = limiter.config();
        assert_eq!(
            (config.floor, config.ceiling, config.initial_rate),
            (1.0, 100.0, 10.0)
        );
        assert_eq!((config.decrease_factor, config.burst), (0.8, 1.0));
        assert_eq!(config.increase, 2.0);
        assert_eq!(
            (config.settled_decrease, config.throttled_share),
            (0.02, 0.01)
        );
        assert_eq!(
            (config.recovery, config.forget_above, config.forget_after),
            (0.95, 1.1, seconds(20))
        );
    }

    #[tokio::test]
    async fn acquire_paces_calls_on_virtual_time() {
        let limiter = RateLimiter::with_clock(
            LimiterConfig {
                initial_rate: 10.0,
                ceiling: 10.0,
                ..LimiterConfig::default()
            },
            ManualClock::default(),
        );
        let mut sent = Sent(Duration::ZERO);
        for _ in 0..11 {
            sent = limiter.acquire().await;
            limiter.on_success(sent);
        }
        // The first call takes the full bucket; the next ten come 100 ms apart (the ceiling).
        let elapsed = limiter.clock.now();
        assert!((elapsed.as_secs_f64() - 1.0).abs() < 1e-6, "{elapsed:?}");
        assert_eq!(sent, Sent(elapsed));
        limiter.on_throttle(sent);
        assert!((limiter.rate() - 8.0).abs() < 1e-9, "{}", limiter.rate());
    }

    #[tokio::test]
    async fn concurrent_tasks_share_one_rate() {
        let limiter = Arc::new(RateLimiter::new(LimiterConfig {
            initial_rate: 200.0,
            ceiling: 200.0,
            ..LimiterConfig::default()
        }));
        let started = tokio::time::Instant::now();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    for _ in 0..5 {
                        limiter.acquire().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        // 40 calls at 200/s with a one-call burst: at least 39 intervals of 5 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(190),
            "{:?}",
            started.elapsed()
        );
    }
}
