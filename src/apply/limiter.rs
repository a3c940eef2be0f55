//! A client-side adaptive rate limiter: a token bucket whose rate follows AIMD (additive
//! increase, multiplicative decrease), the way TCP finds a link's capacity.
//!
//! Every call waits in [`RateLimiter::acquire`] first and reports back with
//! [`RateLimiter::on_success`] or [`RateLimiter::on_throttle`]. Until the first throttle the rate
//! doubles every second of successful traffic (TCP's slow start: each success adds one call per
//! second), so a large apply reaches the service's limit in seconds; after it, successes raise the
//! rate by a fixed number of calls per second for every second of traffic, up to a ceiling, and a
//! throttle multiplies it by the decrease factor, down to a floor. The rate thus settles in a sawtooth just under whatever License
//! Manager allows this account today, instead of the SDK's retries hammering a throttled API
//! from many tasks at once.
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
    /// The rate never drops below this, however often the service throttles.
    pub floor: f64,
    /// The rate never rises above this, however well things go.
    pub ceiling: f64,
    /// Calls per second added for each second of successful calls (each success adds
    /// `additive_increase / rate`).
    pub additive_increase: f64,
    /// What a throttle multiplies the rate by (0.7: a shallower sawtooth than TCP's one half, so
    /// the average stays nearer the limit).
    pub decrease_factor: f64,
    /// How many calls may go at once after a quiet spell (the bucket's capacity, at least 1).
    pub burst: f64,
    /// Throttles within this long after a decrease are one congestion event, not several: the
    /// calls that were already in flight when the first throttle came back would otherwise
    /// halve the rate again and again.
    pub cooldown: Duration,
}

impl Default for LimiterConfig {
    /// 10 calls per second to start, slow start up to the first throttle, then between 1 and 100,
    /// +1 per second of success, times 0.7 on a throttle, no bursts, one decrease per second.
    fn default() -> Self {
        Self {
            initial_rate: 10.0,
            floor: 1.0,
            ceiling: 100.0,
            additive_increase: 1.0,
            decrease_factor: 0.7,
            burst: 1.0,
            cooldown: Duration::from_secs(1),
        }
    }
}

impl LimiterConfig {
    /// The configuration made consistent: a positive floor, `floor <= initial <= ceiling`, a
    /// decrease factor in (0, 1), a burst of at least one call. Nonsense values fall back to the
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
        let decrease_factor = if self.decrease_factor.is_finite()
            && self.decrease_factor > 0.0
            && self.decrease_factor < 1.0
        {
            self.decrease_factor
        } else {
            defaults.decrease_factor
        };
        let additive_increase = if self.additive_increase.is_finite() {
            self.additive_increase.max(0.0)
        } else {
            defaults.additive_increase
        };
        Self {
            initial_rate,
            floor,
            ceiling,
            additive_increase,
            decrease_factor,
            burst: positive(self.burst, 1.0).max(1.0),
            cooldown: self.cooldown,
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
    /// Until the first throttle: each success adds a whole call per second.
    slow_start: bool,
}

impl Aimd {
    /// A limiter at its initial rate with a full bucket, at time `now`.
    pub fn new(config: LimiterConfig, now: Duration) -> Self {
        let config = config.sanitized();
        Self {
            rate: config.initial_rate,
            tokens: config.burst,
            refilled_at: now,
            decreased_at: None,
            slow_start: true,
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
            let wait = Duration::from_secs_f64((1.0 - self.tokens) / self.rate);
            Err(wait.max(Duration::from_micros(1)))
        }
    }

    /// A call went through: the rate grows by one call per second in slow start, by
    /// `additive_increase / rate` after it, up to the ceiling.
    pub fn on_success(&mut self, now: Duration) {
        self.refill(now);
        let step = if self.slow_start {
            1.0
        } else {
            self.config.additive_increase / self.rate
        };
        self.rate = (self.rate + step).min(self.config.ceiling);
    }

    /// A call was throttled: the rate is multiplied by `decrease_factor` (at most once per
    /// cooldown), down to the floor, and the bucket is emptied so the service gets a breather.
    pub fn on_throttle(&mut self, now: Duration) {
        self.refill(now);
        self.tokens = self.tokens.min(0.0);
        self.slow_start = false;
        if self
            .decreased_at
            .is_some_and(|at| now.saturating_sub(at) < self.config.cooldown)
        {
            return;
        }
        self.rate = (self.rate * self.config.decrease_factor).max(self.config.floor);
        self.decreased_at = Some(now);
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

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
    }
}

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
        Self { state, clock }
    }

    /// Waits until the next call may go. Waiters re-check after their sleep, so a rate that fell
    /// meanwhile is honoured.
    pub async fn acquire(&self) {
        loop {
            let now = self.clock.now();
            let wait = match self.lock().try_acquire(now) {
                Ok(()) => return,
                Err(wait) => wait,
            };
            self.clock.sleep(wait).await;
        }
    }

    /// The call succeeded.
    pub fn on_success(&self) {
        let now = self.clock.now();
        self.lock().on_success(now);
    }

    /// The call was throttled (`AwsErrorKind::Throttled`).
    pub fn on_throttle(&self) {
        let now = self.clock.now();
        self.lock().on_throttle(now);
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
                        limiter.on_success(*now);
                    } else {
                        window.throttled += 1;
                        limiter.on_throttle(*now);
                    }
                    window.max_rate = window.max_rate.max(limiter.rate());
                }
            }
        }
        window
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
        assert!(
            f64::from(settled.throttled) < 0.02 * f64::from(settled.sent),
            "{} of {} calls throttled",
            settled.throttled,
            settled.sent
        );
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
        // Then the throttling stops: the rate climbs back, 1/s per second, to the ceiling.
        let mut generous = Server::new(1_000.0, 1_000.0);
        let calm = drive(&mut limiter, &mut generous, &mut now, seconds(120));
        assert_eq!(calm.throttled, 0);
        assert!(limiter.rate() > 40.0, "{}", limiter.rate());
        drive(&mut limiter, &mut generous, &mut now, seconds(240));
        assert_eq!(limiter.rate(), 100.0);
    }

    #[test]
    fn throttles_halve_the_rate_once_per_cooldown_and_never_below_the_floor() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        limiter.on_throttle(seconds(1));
        assert!((limiter.rate() - 7.0).abs() < 1e-9, "{}", limiter.rate());
        // The calls in flight when the first throttle came back are the same congestion event.
        limiter.on_throttle(seconds(1) + Duration::from_millis(300));
        assert!((limiter.rate() - 7.0).abs() < 1e-9, "{}", limiter.rate());
        for second in 3..20 {
            limiter.on_throttle(seconds(second));
        }
        assert_eq!(limiter.rate(), 1.0);
        // After a throttle the bucket is empty: the next call waits a full interval.
        assert_eq!(limiter.try_acquire(seconds(19)), Err(seconds(1)));
        assert_eq!(limiter.try_acquire(seconds(20)), Ok(()));
    }

    #[test]
    fn slow_start_doubles_then_each_second_of_success_adds_the_additive_increase() {
        let mut limiter = Aimd::new(LimiterConfig::default(), Duration::ZERO);
        for _ in 0..10 {
            limiter.on_success(Duration::ZERO);
        }
        assert!((limiter.rate() - 20.0).abs() < 1e-9, "{}", limiter.rate());
        limiter.on_throttle(Duration::ZERO);
        assert!((limiter.rate() - 14.0).abs() < 1e-9, "{}", limiter.rate());
        for _ in 0..14 {
            limiter.on_success(Duration::ZERO);
        }
        assert!((limiter.rate() - 15.0).abs() < 0.05, "{}", limiter.rate());
    }

    #[test]
    fn nonsense_configuration_is_made_safe() {
        let limiter = Aimd::new(
            LimiterConfig {
                initial_rate: 0.0,
                floor: -1.0,
                ceiling: f64::NAN,
                additive_increase: f64::INFINITY,
                decrease_factor: 2.0,
                burst: 0.0,
                cooldown: Duration::ZERO,
            },
            Duration::ZERO,
        );
        let config = limiter.config();
        assert_eq!(
            (config.floor, config.ceiling, config.initial_rate),
            (1.0, 100.0, 10.0)
        );
        assert_eq!((config.decrease_factor, config.burst), (0.7, 1.0));
        assert_eq!(config.additive_increase, 1.0);
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
        for _ in 0..11 {
            limiter.acquire().await;
            limiter.on_success();
        }
        // The first call takes the full bucket; the next ten come 100 ms apart (the ceiling).
        let elapsed = limiter.clock.now();
        assert!((elapsed.as_secs_f64() - 1.0).abs() < 1e-6, "{elapsed:?}");
        limiter.on_throttle();
        assert!((limiter.rate() - 7.0).abs() < 1e-9, "{}", limiter.rate());
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
