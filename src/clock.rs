//! Time, injectable: the GitHub pacer waits minutes and hours under GitHub's
//! limits, and its tests must not.
//!
//! [`SystemClock`] is the real one. [`ManualClock`] is an offset over a base
//! instant, shared by its clones: `sleep` moves the offset forward at once, so
//! a test of an hour-long budget runs in milliseconds and is deterministic.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

/// A source of time and of waiting.
#[async_trait]
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// A monotonic instant, for measuring waits.
    fn now(&self) -> Instant;
    /// Wall-clock seconds since the Unix epoch, for GitHub's reset times.
    fn unix_now(&self) -> u64;
    /// Wait `d`.
    async fn sleep(&self, d: Duration);
}

/// The real clock: `Instant::now`, `SystemTime::now`, `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// A clock that only moves when someone sleeps on it (or [`advance`]s it).
///
/// Clones share the offset. A sleep moves time forward by its whole length
/// at once; two tasks sleeping "at the same time" therefore move it by the
/// sum of their waits, which only ever makes waits look longer, never
/// shorter: a test that time is at least so much stays sound.
///
/// [`advance`]: ManualClock::advance
#[derive(Debug, Clone)]
pub struct ManualClock {
    base: Instant,
    base_unix: u64,
    offset: Arc<Mutex<Duration>>,
}

impl ManualClock {
    /// A clock whose wall time starts at `base_unix` seconds.
    pub fn new(base_unix: u64) -> Self {
        ManualClock {
            base: Instant::now(),
            base_unix,
            offset: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    /// How far the clock has moved since it was made.
    pub fn elapsed(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Move time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += d;
    }
}

impl Default for ManualClock {
    /// Starts at 2024-01-01T00:00:00Z, a fixed and readable wall time.
    fn default() -> Self {
        ManualClock::new(1_704_067_200)
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + self.elapsed()
    }

    fn unix_now(&self) -> u64 {
        self.base_unix + self.elapsed().as_secs()
    }

    async fn sleep(&self, d: Duration) {
        self.advance(d);
        // Let other tasks see the new time, as a real sleep would.
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_sleep_moves_time_at_once() {
        let clock = ManualClock::new(100);
        let start = clock.now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert_eq!(clock.now() - start, Duration::from_secs(3600));
        assert_eq!(clock.unix_now(), 3700);
        let shared = clock.clone();
        shared.advance(Duration::from_secs(5));
        assert_eq!(clock.elapsed(), Duration::from_secs(3605));
    }
}
