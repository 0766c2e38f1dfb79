//! Time as something that can be passed in.
//!
//! Anything that waits on GitHub's clock (the write pacing, `retry-after`,
//! `x-ratelimit-reset`) takes a [`Clock`] instead of calling
//! `Instant::now()` and `tokio::time::sleep` itself, so that a test can run
//! an hour of rate limits in milliseconds. [`SystemClock`] is the real one;
//! [`ManualClock`] is a shared, frozen clock that moves only when a test
//! advances it or when something sleeps on it. The GitHub simulator and the
//! client under test share one `ManualClock`, so they agree on what time it
//! is.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

/// A source of "now" and a way to wait.
///
/// Object-safe (`Arc<dyn Clock>`), so pacing code can hold either
/// implementation without being generic.
#[async_trait]
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic now: for windows, intervals and deadlines.
    fn now(&self) -> Instant;

    /// Wall-clock now: for epoch seconds such as `x-ratelimit-reset` and for
    /// timestamps shown to people.
    fn wall(&self) -> SystemTime;

    /// Waits `duration` of this clock's time.
    async fn sleep(&self, duration: Duration);

    /// Seconds since the Unix epoch, now (for `x-ratelimit-reset`).
    fn unix_now(&self) -> u64 {
        self.wall()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// The real clock: `Instant::now`, `SystemTime::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A frozen clock that moves only when told to; clones share one time.
///
/// `now()` is a base `Instant` plus an offset held in an atomic, so every
/// clone (the simulator's and the client's) sees the same time. `sleep`
/// does not wait: it moves the shared time forward to the end of the sleep
/// (never backwards, so two tasks sleeping one second at the same moment
/// end one second later, not two) and yields once to the runtime.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Debug)]
struct ManualInner {
    base: Instant,
    wall_base: SystemTime,
    /// Nanoseconds since `base`; a `u64` lasts 584 years.
    offset_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock frozen at the real time of its creation.
    pub fn new() -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                base: Instant::now(),
                wall_base: SystemTime::now(),
                offset_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// A clock frozen at `wall` (a demo or a test that plays weeks).
    pub fn starting_at(wall: SystemTime) -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                base: Instant::now(),
                wall_base: wall,
                offset_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Moves the shared time forward by `duration`.
    pub fn advance(&self, duration: Duration) {
        self.inner
            .offset_nanos
            .fetch_add(nanos(duration), Ordering::SeqCst);
    }

    /// How far this clock has moved since it was created.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.inner.offset_nanos.load(Ordering::SeqCst))
    }

    /// Moves the shared time to `elapsed` since creation, unless it is
    /// already later.
    fn advance_to(&self, elapsed: Duration) {
        self.inner
            .offset_nanos
            .fetch_max(nanos(elapsed), Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.inner.base + self.elapsed()
    }

    fn wall(&self) -> SystemTime {
        self.inner.wall_base + self.elapsed()
    }

    async fn sleep(&self, duration: Duration) {
        self.advance_to(self.elapsed() + duration);
        tokio::task::yield_now().await;
    }
}

/// A duration in nanoseconds, saturating (no test sleeps 584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_frozen_until_advanced_and_shared_by_clones() {
        let clock = ManualClock::new();
        let other = clock.clone();
        let start = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), start);
        other.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - start, Duration::from_secs(90));
        assert_eq!(clock.elapsed(), Duration::from_secs(90));
        let wall = clock.wall().duration_since(other.wall());
        assert_eq!(wall.unwrap(), Duration::ZERO);
    }

    #[tokio::test]
    async fn manual_sleep_moves_time_at_once_and_never_backwards() {
        let clock = ManualClock::new();
        let started = std::time::Instant::now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(clock.elapsed(), Duration::from_secs(3600));
        // Two sleepers starting together end together.
        let (a, b) = (clock.clone(), clock.clone());
        let at = a.elapsed();
        a.advance_to(at + Duration::from_secs(1));
        b.advance_to(at + Duration::from_secs(1));
        assert_eq!(clock.elapsed(), Duration::from_secs(3601));
    }

    #[tokio::test]
    async fn system_clock_really_sleeps() {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let before = clock.now();
        clock.sleep(Duration::from_millis(20)).await;
        assert!(clock.now() - before >= Duration::from_millis(20));
    }
}
