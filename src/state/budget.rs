//! One forge write budget for every process of a state (table
//! `forge_writes`, schema 8).
//!
//! Each process paces its own writes ([`crate::forge::pacing`]); workers
//! on one campaign must together stay within what one process may send
//! (GitHub: one write at a time, a second apart, 80 a minute, 500 an
//! hour). Before each write a process reserves it here; the reservation
//! is granted when no other write is in flight, the last one was answered
//! at least the interval ago, and the minute's and the hour's counts leave
//! room; otherwise the answer is how long to wait. When the answer comes,
//! the write is marked answered at that time, which is what the next
//! interval counts from. A reservation never answered (its process died)
//! stops blocking after [`IN_FLIGHT_MS`].
//!
//! The reservation is one write transaction (serialised on both
//! databases), with the machine's wall clock in Unix milliseconds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Row;

use super::{Result, State};

/// A write in flight longer than this is taken as dead (its process
/// died): the next one may go.
const IN_FLIGHT_MS: i64 = 120_000;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Send now; mark it answered with this id.
    Granted(i64),
    /// Ask again after this long.
    Wait(Duration),
}

/// Unix milliseconds of `t`.
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The limits a reservation keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub min_interval: Duration,
    pub per_minute: u32,
    pub per_hour: u32,
}

/// When the next write may go, given the writes of the last hour (their
/// times, oldest first, and whether each was answered) at `now`: `None`
/// when now, else the time to wait for. The one rule of the shared
/// budget; pure, for the tests.
pub fn next_write_at(writes: &[(i64, bool)], now: i64, limits: Limits) -> Option<i64> {
    let in_flight = writes
        .iter()
        .any(|(at, answered)| !answered && now - at < IN_FLIGHT_MS);
    if in_flight {
        return Some(now + 50);
    }
    let interval = i64::try_from(limits.min_interval.as_millis()).unwrap_or(i64::MAX);
    let mut earliest = writes.last().map_or(i64::MIN, |(at, _)| at + interval);
    let window = |span: i64, limit: u32| {
        let times: Vec<i64> = writes
            .iter()
            .map(|(at, _)| *at)
            .filter(|at| now - at < span)
            .collect();
        let limit = limit.max(1) as usize;
        // The write that must leave the window before another may go.
        (times.len() >= limit).then(|| times[times.len() - limit] + span)
    };
    if let Some(at) = window(MINUTE_MS, limits.per_minute) {
        earliest = earliest.max(at);
    }
    if let Some(at) = window(HOUR_MS, limits.per_hour) {
        earliest = earliest.max(at);
    }
    (earliest > now).then_some(earliest)
}

impl State {
    /// Reserve one write to the forge at `forge` (its API URL) for
    /// `holder` under `limits`, at `now`.
    pub async fn reserve_write(
        &self,
        forge: &str,
        holder: &str,
        limits: Limits,
        now: SystemTime,
    ) -> Result<Reservation> {
        let now = unix_ms(now);
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM forge_writes WHERE forge = $1 AND at_ms < $2")
            .bind(forge)
            .bind(now - HOUR_MS)
            .execute(&mut *tx)
            .await?;
        let writes: Vec<(i64, bool)> = sqlx::query(
            "SELECT at_ms, answered FROM forge_writes WHERE forge = $1 ORDER BY at_ms, id",
        )
        .bind(forge)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| (r.get::<i64, _>("at_ms"), r.get::<i64, _>("answered") != 0))
        .collect();
        if let Some(at) = next_write_at(&writes, now, limits) {
            tx.rollback().await?;
            return Ok(Reservation::Wait(Duration::from_millis(
                u64::try_from(at - now).unwrap_or(0),
            )));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO forge_writes (forge, holder, at_ms, answered) VALUES ($1, $2, $3, 0) RETURNING id",
        )
        .bind(forge)
        .bind(holder)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .get("id");
        tx.commit().await?;
        Ok(Reservation::Granted(id))
    }

    /// The reserved write `id` was answered at `now` (or given up).
    pub async fn write_answered(&self, id: i64, now: SystemTime) -> Result<()> {
        sqlx::query("UPDATE forge_writes SET at_ms = $1, answered = 1 WHERE id = $2")
            .bind(unix_ms(now))
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GITHUB: Limits = Limits {
        min_interval: Duration::from_secs(1),
        per_minute: 80,
        per_hour: 500,
    };

    #[test]
    fn a_write_waits_for_the_interval_after_the_last_answer() {
        assert_eq!(next_write_at(&[], 10_000, GITHUB), None);
        assert_eq!(
            next_write_at(&[(9_500, true)], 10_000, GITHUB),
            Some(10_500)
        );
        assert_eq!(next_write_at(&[(9_000, true)], 10_000, GITHUB), None);
    }

    #[test]
    fn a_write_in_flight_holds_the_next_until_it_is_answered_or_dead() {
        assert!(next_write_at(&[(5_000, false)], 10_000, GITHUB).is_some());
        assert_eq!(
            next_write_at(&[(5_000, false)], 5_000 + IN_FLIGHT_MS + 1_000, GITHUB),
            None
        );
    }

    #[test]
    fn the_minute_and_the_hour_are_counted_over_sliding_windows() {
        let limits = Limits {
            min_interval: Duration::ZERO,
            per_minute: 3,
            per_hour: 5,
        };
        let writes = [(1_000, true), (2_000, true), (3_000, true)];
        // The fourth waits until the first leaves the minute.
        assert_eq!(next_write_at(&writes, 4_000, limits), Some(61_000));
        assert_eq!(next_write_at(&writes, 61_000, limits), None);
        let writes = [
            (1_000, true),
            (2_000, true),
            (70_000, true),
            (71_000, true),
            (140_000, true),
        ];
        // Five in the hour: the sixth waits for the first to leave it.
        assert_eq!(next_write_at(&writes, 200_000, limits), Some(3_601_000));
    }
}

/// The budget of [`crate::forge::pacing::SharedBudget`] kept in a state,
/// for the forge at one API URL, reserved by one process.
#[derive(Debug, Clone)]
pub struct StateBudget {
    state: State,
    forge: String,
    holder: String,
}

impl StateBudget {
    /// `forge`: the API URL (never with credentials); `holder`: who
    /// reserves (this process).
    pub fn new(state: State, forge: &str, holder: &str) -> Self {
        StateBudget {
            state,
            forge: crate::urls::redact(forge).into_owned(),
            holder: holder.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl crate::forge::pacing::SharedBudget for StateBudget {
    async fn reserve(
        &self,
        config: &crate::forge::pacing::PacingConfig,
        now: SystemTime,
    ) -> std::result::Result<std::result::Result<i64, Duration>, String> {
        let limits = Limits {
            min_interval: config.min_interval,
            per_minute: config.per_minute,
            per_hour: config.per_hour,
        };
        match self
            .state
            .reserve_write(&self.forge, &self.holder, limits, now)
            .await
        {
            Ok(Reservation::Granted(id)) => Ok(Ok(id)),
            Ok(Reservation::Wait(wait)) => Ok(Err(wait)),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn answered(&self, id: i64, now: SystemTime) {
        if let Err(e) = self.state.write_answered(id, now).await {
            tracing::warn!("cannot record a write's answer in the shared budget: {e}");
        }
    }
}
