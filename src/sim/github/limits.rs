//! GitHub's primary and secondary REST rate limits, on the simulator's
//! clock.
//!
//! Primary: `primary_per_hour` requests per hourly window; the window
//! starts with the simulator and a new one starts at its reset. Secondary,
//! for content-creating requests only: at most `per_minute` in any 60 s,
//! `per_hour` in any hour, and none closer than `min_interval` to the one
//! before. Only writes that were let through count towards the secondary
//! windows.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// The limits the simulator enforces; [`Limits::github`] (the default) is
/// what GitHub documents for a user token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Content-creating requests allowed in any 60 s.
    pub per_minute: u32,
    /// Content-creating requests allowed in any hour.
    pub per_hour: u32,
    /// Smallest gap between two content-creating requests (zero: none).
    pub min_interval: Duration,
    /// Requests per hourly window (`x-ratelimit-limit`).
    pub primary_per_hour: u32,
}

impl Limits {
    /// 80 writes a minute, 500 an hour, one a second, 5,000 requests an
    /// hour.
    pub fn github() -> Self {
        Limits {
            per_minute: 80,
            per_hour: 500,
            min_interval: Duration::from_secs(1),
            primary_per_hour: 5000,
        }
    }

    /// Limits nothing will reach: for tests about something else.
    pub fn unlimited() -> Self {
        Limits {
            per_minute: u32::MAX,
            per_hour: u32::MAX,
            min_interval: Duration::ZERO,
            primary_per_hour: u32::MAX,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::github()
    }
}

/// The primary limit as the `x-ratelimit-*` headers state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Primary {
    pub limit: u32,
    pub used: u32,
    pub remaining: u32,
    /// Epoch seconds when the window resets.
    pub reset: u64,
}

/// Why a write was refused: wait this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RetryAfter(pub u64);

#[derive(Debug)]
pub(super) struct RateLimiter {
    limits: Limits,
    /// Accepted writes of the last hour, oldest first.
    writes: VecDeque<Instant>,
    window_start: Instant,
    window_reset: SystemTime,
    used: u32,
}

impl RateLimiter {
    pub fn new(limits: Limits, now: Instant, wall: SystemTime) -> Self {
        RateLimiter {
            limits,
            writes: VecDeque::new(),
            window_start: now,
            window_reset: wall + HOUR,
            used: 0,
        }
    }

    /// The primary window at `now`, starting a new one if it reset.
    pub fn primary(&mut self, now: Instant, wall: SystemTime) -> Primary {
        if now.duration_since(self.window_start) >= HOUR {
            self.window_start = now;
            self.window_reset = wall + HOUR;
            self.used = 0;
        }
        let limit = self.limits.primary_per_hour;
        Primary {
            limit,
            used: self.used,
            remaining: limit.saturating_sub(self.used),
            reset: epoch_seconds(self.window_reset),
        }
    }

    /// Counts one request against the primary window.
    pub fn count(&mut self) {
        self.used = self
            .used
            .saturating_add(1)
            .min(self.limits.primary_per_hour);
    }

    /// Whether a write at `now` is within the secondary limits; if so it
    /// is recorded.
    pub fn admit_write(&mut self, now: Instant) -> Result<(), RetryAfter> {
        while self
            .writes
            .front()
            .is_some_and(|t| now.duration_since(*t) >= HOUR)
        {
            self.writes.pop_front();
        }
        self.check_interval(now)?;
        self.check_window(now, MINUTE, self.limits.per_minute)?;
        self.check_window(now, HOUR, self.limits.per_hour)?;
        self.writes.push_back(now);
        Ok(())
    }

    fn check_interval(&self, now: Instant) -> Result<(), RetryAfter> {
        let Some(last) = self.writes.back() else {
            return Ok(());
        };
        let gap = now.duration_since(*last);
        if gap < self.limits.min_interval {
            return Err(RetryAfter(ceil_seconds(self.limits.min_interval - gap)));
        }
        Ok(())
    }

    /// Refuses when `limit` writes already happened within `window` of now;
    /// the wait is until the oldest of them leaves the window.
    fn check_window(&self, now: Instant, window: Duration, limit: u32) -> Result<(), RetryAfter> {
        let inside: Vec<&Instant> = self
            .writes
            .iter()
            .filter(|t| now.duration_since(**t) < window)
            .collect();
        if inside.len() < usize::try_from(limit).unwrap_or(usize::MAX) {
            return Ok(());
        }
        let oldest = inside[0];
        Err(RetryAfter(ceil_seconds(
            window - now.duration_since(*oldest),
        )))
    }
}

/// Whole seconds, rounded up, at least one (a `retry-after: 0` invites a
/// tight loop).
fn ceil_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// Seconds since the Unix epoch (0 before it).
pub(super) fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(limits: Limits) -> (RateLimiter, Instant) {
        let now = Instant::now();
        (RateLimiter::new(limits, now, SystemTime::now()), now)
    }

    #[test]
    fn writes_closer_than_the_interval_wait_out_the_rest() {
        let (mut rl, t0) = limiter(Limits::github());
        assert_eq!(rl.admit_write(t0), Ok(()));
        assert_eq!(rl.admit_write(t0), Err(RetryAfter(1)));
        let limits = Limits {
            min_interval: Duration::from_secs(3),
            ..Limits::github()
        };
        let (mut rl, t0) = limiter(limits);
        rl.admit_write(t0).unwrap();
        let t = t0 + Duration::from_millis(500);
        assert_eq!(rl.admit_write(t), Err(RetryAfter(3)));
        assert_eq!(rl.admit_write(t0 + Duration::from_secs(3)), Ok(()));
    }

    #[test]
    fn the_81st_write_in_a_minute_is_refused_until_the_first_leaves() {
        // One a second never fills a minute.
        let (mut rl, t0) = limiter(Limits::github());
        for i in 0..120 {
            assert_eq!(rl.admit_write(t0 + Duration::from_secs(i)), Ok(()));
        }
        let (mut rl, t0) = limiter(Limits {
            min_interval: Duration::ZERO,
            ..Limits::github()
        });
        for _ in 0..80 {
            rl.admit_write(t0).unwrap();
        }
        let t = t0 + Duration::from_secs(10);
        assert_eq!(rl.admit_write(t), Err(RetryAfter(50)));
        assert_eq!(rl.admit_write(t0 + MINUTE), Ok(()));
    }

    #[test]
    fn the_501st_write_in_an_hour_is_refused() {
        let (mut rl, t0) = limiter(Limits::github());
        let mut t = t0;
        for _ in 0..500 {
            rl.admit_write(t).unwrap();
            t += Duration::from_secs(7); // 500 × 7 s = 58 min 20 s
        }
        assert_eq!(rl.admit_write(t), Err(RetryAfter(100)));
        assert_eq!(rl.admit_write(t0 + HOUR), Ok(()));
    }

    #[test]
    fn the_primary_window_counts_down_and_resets_after_an_hour() {
        let wall = SystemTime::now();
        let t0 = Instant::now();
        let limits = Limits {
            primary_per_hour: 2,
            ..Limits::github()
        };
        let mut rl = RateLimiter::new(limits, t0, wall);
        let first = rl.primary(t0, wall);
        assert_eq!((first.limit, first.used, first.remaining), (2, 0, 2));
        assert_eq!(first.reset, epoch_seconds(wall) + 3600);
        rl.count();
        rl.count();
        rl.count();
        assert_eq!(rl.primary(t0, wall).remaining, 0);
        assert_eq!(rl.primary(t0, wall).used, 2);
        let later = rl.primary(t0 + HOUR, wall + HOUR);
        assert_eq!((later.used, later.remaining), (0, 2));
        assert_eq!(later.reset, epoch_seconds(wall) + 7200);
    }
}
