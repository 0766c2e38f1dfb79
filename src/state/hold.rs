//! A campaign's lock when the state is in PostgreSQL: one fleetwright at a
//! time may run a campaign's campaign-wide steps (sync, gates, tranches,
//! nudges), wherever it runs.
//!
//! On SQLite that is a `flock` beside the database ([`crate::lock`]);
//! processes on several machines share no folder, so on PostgreSQL it is a
//! session advisory lock, `pg_try_advisory_lock(NAMESPACE, hash(name))`, on
//! a connection of its own that lives as long as the hold. PostgreSQL
//! releases it when that connection ends, however the process ends. The
//! connection's `application_name` says who holds it (pid, host, command),
//! which a second process reads from `pg_stat_activity` to say whom it
//! waits for.
//!
//! A process that freezes while it holds the lock (SIGSTOP, a paused VM, a
//! cut network) keeps its connection open, and PostgreSQL would keep the
//! lock for it forever. So the connection asks the server to end it after
//! [`super::STALL`] of silence (`idle_session_timeout`), and a task pings it
//! every third of that while the hold lives: a frozen holder loses the lock
//! after [`super::STALL`], and a live one never does. A holder that wakes
//! from a freeze finds its hold [lost](CampaignHold::lost) and takes the
//! lock again before it leads again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::{AnyConnection, Connection, Row};

use super::{Location, Result, StateError};

/// The first key of every campaign lock: "flee".
const NAMESPACE: i32 = 0x666c_6565;

/// A held campaign lock on PostgreSQL; dropping it releases the lock.
#[derive(Debug)]
pub struct CampaignHold {
    /// Owns the connection and pings it.
    keeper: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
}

impl CampaignHold {
    /// Whether the connection that held the lock has ended (the server ended
    /// it after a freeze, or the network did): the lock is no longer held.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for CampaignHold {
    fn drop(&mut self) {
        // The connection drops with the task: PostgreSQL releases the lock.
        self.keeper.abort();
    }
}

/// Keep the holding connection alive, and say when it is gone.
fn keep(mut connection: AnyConnection) -> CampaignHold {
    let lost = Arc::new(AtomicBool::new(false));
    let keeper = tokio::spawn({
        let lost = lost.clone();
        async move {
            loop {
                tokio::time::sleep(super::STALL / 3).await;
                if connection.ping().await.is_err() {
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
            }
        }
    });
    CampaignHold { keeper, lost }
}

/// The second key: FNV-1a of the name, stable across versions and
/// machines (two names that collide only wait for each other).
fn key(campaign: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for b in campaign.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash as i32
}

/// Who holds a lock: what fits in `application_name` (63 bytes).
fn who(command: &str) -> String {
    let host = super::hostname();
    let mut who = format!("pid {} on {host}: `{command}`", std::process::id());
    while who.len() > 63 {
        who.pop();
    }
    who
}

/// Take the lock of `campaign` in the PostgreSQL state at `location`
/// without waiting. `Err(holder)` when another process holds it.
pub async fn hold_campaign(
    location: &Location,
    campaign: &str,
    command: &str,
) -> Result<std::result::Result<CampaignHold, String>> {
    Ok(take(location, campaign, command).await?.map(keep))
}

/// Take the lock on a connection of its own, which the server ends after
/// [`super::STALL`] of silence: the connection, or who holds the lock.
pub(super) async fn take(
    location: &Location,
    campaign: &str,
    command: &str,
) -> Result<std::result::Result<AnyConnection, String>> {
    let Location::Postgres(url) = location else {
        return Err(StateError::Unknown(
            "a campaign hold is for a PostgreSQL state".into(),
        ));
    };
    sqlx::any::install_default_drivers();
    let mut connection = AnyConnection::connect(url)
        .await
        .map_err(|source| StateError::Open {
            place: location.to_string(),
            source,
        })?;
    sqlx::query("SELECT set_config('application_name', $1, false)")
        .bind(who(command))
        .execute(&mut connection)
        .await?;
    let taken: bool = sqlx::query("SELECT pg_try_advisory_lock($1, $2) AS taken")
        .bind(NAMESPACE)
        .bind(key(campaign))
        .fetch_one(&mut connection)
        .await?
        .get("taken");
    if taken {
        // Ended by the server after a silence (PostgreSQL 14 and later; an
        // older server keeps a frozen holder's lock until its connection
        // drops).
        if let Err(e) = sqlx::query("SELECT set_config('idle_session_timeout', $1, false)")
            .bind(super::stall_setting())
            .execute(&mut connection)
            .await
        {
            tracing::debug!(error = %e, "the campaign's lock cannot end when its holder freezes");
        }
        return Ok(Ok(connection));
    }
    let holder: Option<String> = sqlx::query(
        "SELECT a.application_name AS holder FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
           AND l.classid = CAST(CAST($1 AS BIGINT) AS OID) AND l.objid = CAST(CAST($2 AS BIGINT) & 4294967295 AS OID)
         LIMIT 1",
    )
    .bind(i64::from(NAMESPACE))
    .bind(i64::from(key(campaign)))
    .fetch_optional(&mut connection)
    .await?
    .map(|r| r.get("holder"));
    Ok(Err(holder.filter(|h| !h.is_empty()).unwrap_or_else(|| {
        "a process that has not said who it is".into()
    })))
}
