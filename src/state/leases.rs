//! Leases: which process works on a target now (table `leases`, schema 8).
//!
//! Every process that prepares and publishes targets (`run`, `worker`)
//! takes a target's lease before it starts on it and gives it back when it
//! ends. A lease expires [`LEASE_SECS`] after it was taken or last renewed;
//! the process renews its leases (a heartbeat) while it works, so only a
//! dead or frozen process loses them, and then another takes the target
//! over. Taking over is safe because every step of a target is guarded by
//! its intent records (the branch, commit and pull request a resumed
//! target finds instead of making again).
//!
//! Taking a lease is one transaction that looks at candidates in plan
//! order: on PostgreSQL their rows are read `FOR UPDATE SKIP LOCKED`, so
//! workers taking leases at once never wait for each other and never take
//! the same target; on SQLite the transaction holds the database's one
//! write lock, which is the same guarantee. A candidate is taken only when
//! nobody else holds it and its row is unchanged since the caller read it
//! (`updated_at`): a target another worker finished meanwhile is not done
//! twice.
//!
//! A lease of a process of this machine that no longer runs is free at
//! once (lease holders are named `what@host:pid`): a `run` killed by a
//! person and started again goes on where it stopped, and only a process
//! on another machine waits out the expiry.
//!
//! Lease times are the machine's wall clock (not the state's clock, which a
//! rehearsal may freeze): workers on several machines need clocks in sync
//! to well under a lease (NTP does).

use std::time::{Duration, SystemTime};

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Result, State, TargetRow, format_time};

/// How long a lease holds without a heartbeat.
pub const LEASE_SECS: u64 = 300;

/// A lease taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub target_id: i64,
    /// Whether the target may open a pull request (it takes a throttle
    /// slot while it is leased).
    pub fresh: bool,
}

/// This machine's name (empty when it cannot be read), read once: every
/// lease row a worker looks at is checked against it.
pub fn hostname() -> String {
    static HOSTNAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOSTNAME
        .get_or_init(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// Whether `worker` (`what@host:pid`) names a process of this machine
/// that no longer runs.
fn dead_here(worker: &str) -> bool {
    let Some((_, at)) = worker.rsplit_once('@') else {
        return false;
    };
    let Some((host, pid)) = at.rsplit_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if host != hostname().as_str() || pid <= 0 || pid as u32 == std::process::id() {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    (unsafe { libc::kill(pid, 0) }) != 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// Now, plus `ahead`, as the state stores times.
fn wall(ahead: Duration) -> String {
    let at = SystemTime::now() + ahead;
    format_time(jiff::Timestamp::try_from(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH))
}

impl State {
    /// Take the lease of the first of `candidates` (in the order given,
    /// with whether each may open a pull request) that nobody else holds
    /// and that is unchanged since it was read, for `worker`, for `ttl`.
    /// `None`: every candidate is held by someone else or has moved on.
    pub async fn lease_first(
        &self,
        worker: &str,
        candidates: &[(&TargetRow, bool)],
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        // A few at a time: the first free one is usually among them, and
        // rows locked for a moment by another worker taking a lease (which
        // this one skips) are few.
        for chunk in candidates.chunks(8) {
            if let Some(lease) = self.lease_chunk(worker, chunk, ttl).await? {
                return Ok(Some(lease));
            }
        }
        Ok(None)
    }

    async fn lease_chunk(
        &self,
        worker: &str,
        chunk: &[(&TargetRow, bool)],
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let ids = chunk
            .iter()
            .map(|(t, _)| t.id.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let now = wall(Duration::ZERO);
        let mut tx = self.begin_locking_rows().await?;
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE OF t SKIP LOCKED",
        };
        // Only integers and constant text are formatted into the query.
        // First the candidates' rows, locked (on PostgreSQL, those another
        // worker is taking are skipped); then, in a statement of its own,
        // their leases: in PostgreSQL's READ COMMITTED each statement sees
        // what was committed before it began, and a lease committed while
        // the first statement waited is seen by the second, which runs with
        // the rows locked (a join in the first would read the leases as
        // they were when it began, and take a target twice).
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.id AS id, t.updated_at AS updated_at FROM targets t WHERE t.id IN ({ids}) {lock}"
        )))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }
        let locked = rows
            .iter()
            .map(|r| r.get::<i64, _>("id").to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let held: std::collections::HashSet<i64> = sqlx::query(AssertSqlSafe(format!(
            "SELECT target_id, worker, expires_at FROM leases WHERE target_id IN ({locked})"
        )))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .filter(|r| {
            let holder: String = r.get("worker");
            let expires: String = r.get("expires_at");
            !(expires < now || holder == worker || dead_here(&holder))
        })
        .map(|r| r.get::<i64, _>("target_id"))
        .collect();
        let free: std::collections::HashMap<i64, String> = rows
            .iter()
            .map(|r| (r.get::<i64, _>("id"), r.get::<String, _>("updated_at")))
            .filter(|(id, _)| !held.contains(id))
            .collect();
        let Some((target, fresh)) = chunk
            .iter()
            .find(|(t, _)| free.get(&t.id).is_some_and(|u| *u == t.updated_at))
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO leases (target_id, campaign_id, worker, fresh, taken_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (target_id) DO UPDATE SET worker = excluded.worker, fresh = excluded.fresh,
                 taken_at = excluded.taken_at, expires_at = excluded.expires_at",
        )
        .bind(target.id)
        .bind(target.campaign_id)
        .bind(worker)
        .bind(i64::from(*fresh))
        .bind(&now)
        .bind(wall(ttl))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Lease {
            target_id: target.id,
            fresh: *fresh,
        }))
    }

    /// Renew every lease `worker` holds, for `ttl` from now (the
    /// heartbeat). How many it holds.
    pub async fn renew_leases(&self, worker: &str, ttl: Duration) -> Result<u64> {
        Ok(
            sqlx::query("UPDATE leases SET expires_at = $1 WHERE worker = $2")
                .bind(wall(ttl))
                .bind(worker)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }

    /// Give a lease back.
    pub async fn release_lease(&self, worker: &str, target_id: i64) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE target_id = $1 AND worker = $2")
            .bind(target_id)
            .bind(worker)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The leases of a campaign that hold now: (target, worker, fresh);
    /// not those of a process of this machine that no longer runs.
    pub async fn live_leases(&self, campaign_id: i64) -> Result<Vec<(i64, String, bool)>> {
        let rows = sqlx::query(
            "SELECT target_id, worker, fresh FROM leases WHERE campaign_id = $1 AND expires_at >= $2",
        )
        .bind(campaign_id)
        .bind(wall(Duration::ZERO))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get::<i64, _>("target_id"),
                    r.get::<String, _>("worker"),
                    r.get::<i64, _>("fresh") != 0,
                )
            })
            .filter(|(_, worker, _)| !dead_here(worker))
            .collect())
    }
}
