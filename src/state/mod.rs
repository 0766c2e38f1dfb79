//! The state: every campaign, target, changeset and event, in SQLite (the
//! embedded default: one file, nothing to run) or in PostgreSQL (for a
//! campaign that several processes or machines work on), chosen by the
//! state's [`Location`].
//!
//! This module is the only place that speaks SQL. The engine talks to one
//! type, [`State`], over sqlx's `Any` driver: every query is one text both
//! databases run (`$1` placeholders, `RETURNING`, `ON CONFLICT`, TEXT times
//! in RFC 3339, integers for booleans), and the schema is two sets of
//! migrations kept in lock-step by a test (`state/migrations` for SQLite,
//! `state/migrations-postgres` for PostgreSQL: same versions, same tables
//! and columns). Writes that belong together happen in one transaction, and
//! every state change of a target appends a row to the `events` log in that
//! same transaction, so the current state can always be explained from the
//! log. Write transactions are serialised on both: SQLite's `BEGIN
//! IMMEDIATE` takes its one write lock; on PostgreSQL each write
//! transaction takes one advisory transaction lock first, so a transaction
//! that reads before it writes sees what the one before it wrote, exactly
//! as on SQLite.

mod answers;
pub mod budget;
pub mod copy;
mod hold;
mod leases;
mod types;

pub use answers::{ANSWER_TTL_DAYS, ForgeAnswer};
pub use budget::{Reservation, StateBudget};
pub use copy::{Copied, CopyError};
pub use hold::{CampaignHold, hold_campaign};
pub use leases::{LEASE_SECS, Lease, hostname};

use crate::urls::{redact, redact_text};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};

use crate::clock::{Clock, SystemClock};
use std::sync::Arc;

pub use types::*;

/// Where a state lives, as `--state` / `FLEETWRIGHT_STATE` say it: a
/// `postgres://` (or `postgresql://`) URL is a PostgreSQL database, anything
/// else the path of a SQLite file.
///
/// A URL may hold a password: `Display` and `Debug` show it redacted, and
/// nothing else of this type is printed.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// What `--state` said.
    pub fn parse(given: &std::ffi::OsStr) -> Location {
        match given.to_str() {
            Some(url) if Self::is_postgres_url(url) => Location::Postgres(url.to_string()),
            _ => Location::Sqlite(PathBuf::from(given)),
        }
    }

    fn is_postgres_url(s: &str) -> bool {
        let lower = s.get(..13).unwrap_or(s).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    /// The SQLite file, when it is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }

    /// The folder beside a SQLite file (its locks, a default clone cache);
    /// `None` for PostgreSQL.
    pub fn folder(&self) -> Option<&Path> {
        self.sqlite_path().map(|p| {
            p.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
        })
    }

    /// Whether the state already exists (a SQLite file on disk; a
    /// PostgreSQL database is taken to exist).
    pub fn exists(&self) -> bool {
        match self {
            Location::Sqlite(path) => path.exists(),
            Location::Postgres(_) => true,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "Sqlite({path:?})"),
            Location::Postgres(url) => write!(f, "Postgres({:?})", redact(url)),
        }
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::parse(path.as_os_str())
    }
}

impl From<&str> for Location {
    fn from(given: &str) -> Location {
        Location::parse(given.as_ref())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::parse(path.as_os_str())
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::parse(path.as_os_str())
    }
}

impl Default for Location {
    /// Nowhere yet (the command line resolves it).
    fn default() -> Location {
        Location::Sqlite(PathBuf::new())
    }
}

/// Which database a state is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Errors of the state database.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state database {place}: {source}")]
    Open { place: String, source: sqlx::Error },
    #[error("cannot prepare the state database {place}: {source}")]
    Migrate {
        place: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("cannot create the state folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("the state holds a value this version does not know: {0}")]
    Unknown(String),
    #[error("campaign `{0}` is already recorded in the state")]
    CampaignExists(String),
    /// Someone else changed it first (another process).
    #[error("{0}")]
    Conflict(String),
}

type Result<T, E = StateError> = std::result::Result<T, E>;

/// A write transaction.
type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./state/migrations");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./state/migrations-postgres");

/// The advisory lock every PostgreSQL write transaction takes first
/// (`pg_advisory_xact_lock`): "fleetwri" in ASCII.
const WRITE_LOCK: i64 = 0x666c_6565_7477_7269;

/// How long a PostgreSQL session of fleetwright may stay silent before the
/// server ends it, releasing what it holds: inside a transaction
/// (`idle_in_transaction_session_timeout`, every connection) and, for the
/// connection that holds a campaign's lock, outside one too
/// (`idle_session_timeout`, kept alive by pings every third of it). A
/// process frozen (SIGSTOP, a VM paused, a network cut) while it held the
/// write lock, some rows locked for a lease, or the campaign's lock would
/// otherwise stop every other worker for as long as it stays frozen. No
/// transaction of fleetwright waits on anything but the database between
/// its statements, so a live process never comes near this.
pub const STALL: Duration = Duration::from_secs(20);

/// [`STALL`] as a PostgreSQL setting's value.
pub(crate) fn stall_setting() -> String {
    format!("{}ms", STALL.as_millis())
}

/// The state database. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct State {
    /// Reads.
    pool: AnyPool,
    /// Writes: one connection (see [`State::open_with_clock`]).
    writer: AnyPool,
    location: Location,
    clock: Arc<dyn Clock>,
}

/// A time as the state stores it: RFC 3339 in UTC, to the microsecond.
pub fn format_time(t: jiff::Timestamp) -> String {
    format!("{t:.6}")
}

/// A time the state stored (`None` when it is not one).
pub fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    s.parse().ok()
}

/// The URL sqlx's `Any` driver opens a SQLite file by (created when
/// missing): every byte of the path but the unreserved ones
/// percent-encoded, so that `?`, `#` and `%` in a folder name stay part of
/// the path.
fn sqlite_url(path: &Path) -> Result<String, String> {
    let path = std::path::absolute(path).map_err(|e| e.to_string())?;
    let Some(text) = path.to_str() else {
        return Err(format!(
            "the path {} is not UTF-8, which the database driver needs",
            path.display()
        ));
    };
    let mut url = String::from("sqlite://");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    Ok(url)
}

/// The password in a database URL's userinfo, if any.
fn url_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

impl State {
    /// Open (or create) the state at `location` and bring its schema up to
    /// date: a SQLite file in WAL mode with a busy timeout, or a
    /// PostgreSQL database.
    pub async fn open(location: impl Into<Location>) -> Result<State> {
        Self::open_with_clock(location, Arc::new(SystemClock)).await
    }

    /// [`State::open`], with the clock that stamps every row (a demo or a
    /// test runs weeks of a campaign in a second).
    pub async fn open_with_clock(
        location: impl Into<Location>,
        clock: Arc<dyn Clock>,
    ) -> Result<State> {
        sqlx::any::install_default_drivers();
        let location = location.into();
        let place = location.to_string();
        let failed = |source| StateError::Open {
            place: place.clone(),
            source,
        };
        let (url, lock) = match &location {
            Location::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| StateError::Folder {
                        path: parent.to_path_buf(),
                        source,
                    })?;
                }
                let url =
                    sqlite_url(path).map_err(|e| failed(sqlx::Error::Configuration(e.into())))?;
                // Two first runs on a fresh state would both create the
                // tables ("table campaigns already exists"), and both switch
                // the new file to WAL, which SQLite answers with "database
                // is locked" without waiting: opening (creating, WAL,
                // migrations) runs under an exclusive flock, released when
                // the file closes (or the process dies). A separate file:
                // closing any descriptor of the database itself would drop
                // SQLite's own POSIX locks.
                let lock_path = location
                    .folder()
                    .unwrap_or(Path::new("."))
                    .join("locks")
                    // A dot first: no campaign's lock (`locks/<name>.lock`, a
                    // name starts with a letter or digit) can be this file.
                    .join(".migrations.lock");
                let lock = tokio::task::spawn_blocking({
                    let lock_path = lock_path.clone();
                    move || crate::lock::exclusive(&lock_path)
                })
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))
                .and_then(|r| r)
                .map_err(|source| StateError::Folder {
                    path: lock_path,
                    source,
                })?;
                (url, Some(lock))
            }
            Location::Postgres(url) => {
                // Its password is a secret: scrubbed from every text shown
                // or stored, like a forge token.
                if let Some(password) = url_password(url) {
                    crate::secret::remember(password);
                    // As the driver sends it, `%40` being `@`.
                    if let Some(decoded) = crate::urls::percent_decode(password) {
                        crate::secret::remember(&decoded);
                    }
                }
                (url.clone(), None)
            }
        };
        let options: AnyConnectOptions = url.parse().map_err(&failed)?;
        let backend = location.backend();
        if backend == Backend::Postgres {
            // A database that cannot be reached is said at once (a pool
            // would retry until its acquire timeout).
            use sqlx::ConnectOptions;
            match tokio::time::timeout(Duration::from_secs(15), options.connect()).await {
                Ok(Ok(connection)) => {
                    let _ = sqlx::Connection::close(connection).await;
                }
                Ok(Err(e)) => return Err(failed(e)),
                Err(_) => {
                    return Err(failed(sqlx::Error::Configuration(
                        "no answer within 15 s".into(),
                    )));
                }
            }
        }
        let open = |connections| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(Duration::from_secs(60))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        match backend {
                            Backend::Sqlite => {
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                     PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON;",
                                )
                                .await?;
                            }
                            Backend::Postgres => {
                                sqlx::query(
                                    "SELECT set_config('idle_in_transaction_session_timeout', $1, false)",
                                )
                                .bind(stall_setting())
                                .execute(&mut *conn)
                                .await?;
                            }
                        }
                        Ok(())
                    })
                })
                .connect_with(options.clone())
        };
        let pool = open(4).await.map_err(&failed)?;
        let migrated = match backend {
            Backend::Sqlite => SQLITE.run(&pool).await,
            Backend::Postgres => {
                // Several workers starting at once: one migrates, the
                // others wait for it (sqlx takes an advisory lock).
                POSTGRES.run(&pool).await
            }
        };
        drop(lock);
        migrated.map_err(|source| StateError::Migrate {
            place: place.clone(),
            source,
        })?;
        // SQLite has one writer at a time: writes of this process queue
        // for one connection (a task waits its turn) instead of finding the
        // database locked and sleeping in SQLite's busy handler. PostgreSQL
        // serialises write transactions with an advisory lock; one
        // connection a process is enough there too.
        let writer = open(1).await.map_err(&failed)?;
        Ok(State {
            pool,
            writer,
            location,
            clock,
        })
    }

    /// Now, by the state's clock.
    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::try_from(self.clock.wall()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// The state's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    fn stamp(&self) -> String {
        format_time(self.now())
    }

    /// Begin a write transaction. SQLite: `BEGIN IMMEDIATE` takes the write
    /// lock up front, so that a transaction that reads before it writes
    /// waits for other writers (busy timeout) instead of failing with a
    /// stale snapshot. PostgreSQL: the advisory lock [`WRITE_LOCK`], held
    /// to the end of the transaction, does the same across processes.
    async fn write(&self) -> Result<Tx<'static>> {
        let mut tx = self.begin_locking_rows().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// Begin a write transaction that, on PostgreSQL, serialises with the
    /// others only through the rows its statements lock (leases: `FOR
    /// UPDATE SKIP LOCKED`); on SQLite it is [`State::write`]'s.
    async fn begin_locking_rows(&self) -> Result<Tx<'static>> {
        Ok(match self.backend() {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }

    /// Where the state lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Which database holds it.
    pub fn backend(&self) -> Backend {
        self.location.backend()
    }

    /// Close the pool (on SQLite, checkpointing the WAL).
    pub async fn close(self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    // ----- campaigns -------------------------------------------------------

    /// The campaign named `name`, if it was launched.
    pub async fn campaign(&self, name: &str) -> Result<Option<CampaignRow>> {
        Ok(sqlx::query_as("SELECT * FROM campaigns WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Names of every recorded campaign, oldest first.
    pub async fn campaign_names(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT name FROM campaigns ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<String, _>("name")).collect())
    }

    /// Record a new campaign and its planned targets (all `pending`), in one
    /// transaction.
    pub async fn create_campaign(
        &self,
        campaign: &NewCampaign,
        targets: &[NewTarget],
    ) -> Result<CampaignRow> {
        self.create_campaign_with_snapshot(campaign, targets, None)
            .await
    }

    /// [`State::create_campaign`], and the snapshot of the live catalog the
    /// plan was made from, in the same transaction.
    pub async fn create_campaign_with_snapshot(
        &self,
        campaign: &NewCampaign,
        targets: &[NewTarget],
        snapshot: Option<&NewSnapshot<'_>>,
    ) -> Result<CampaignRow> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        let exists = sqlx::query("SELECT id FROM campaigns WHERE name = $1")
            .bind(&campaign.name)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StateError::CampaignExists(campaign.name.clone()));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO campaigns (name, file, recipe_id, forge, status, tranche_count, tranches_open, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'active', $5, 0, $6, $7) RETURNING id",
        )
        .bind(&campaign.name)
        .bind(&campaign.file)
        .bind(&campaign.recipe_id)
        .bind(&campaign.forge)
        .bind(campaign.tranche_count)
        .bind(&at)
        .bind(&at)
        .fetch_one(&mut *tx)
        .await?
        .get("id");
        insert_event(
            &mut tx,
            id,
            None,
            "campaign_created",
            None,
            Some("active"),
            Some(&campaign.file),
            &at,
        )
        .await?;
        for (idx, t) in campaign.tranches.iter().enumerate() {
            sqlx::query(
                "INSERT INTO tranches (campaign_id, idx, name, spec) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(idx as i64)
            .bind(&t.name)
            .bind(&t.spec)
            .execute(&mut *tx)
            .await?;
        }
        for t in targets {
            let target_id: i64 = sqlx::query(
                "INSERT INTO targets (campaign_id, repo, url, component, owner, tranche, position, state, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
            )
            .bind(id)
            .bind(&t.repo)
            // What git clones, as the catalog gave it (which refuses
            // credentials in it): redacted only where it is shown.
            .bind(&t.url)
            .bind(&t.component)
            .bind(&t.owner)
            .bind(t.tranche)
            .bind(t.position)
            .bind(&at)
            .fetch_one(&mut *tx)
            .await?
            .get("id");
            let detail = format!("tranche {}", t.tranche + 1);
            insert_event(
                &mut tx,
                id,
                Some(target_id),
                "target_planned",
                None,
                Some("pending"),
                Some(&detail),
                &at,
            )
            .await?;
        }
        if let Some(snapshot) = snapshot {
            insert_snapshot(&mut tx, id, snapshot, &at).await?;
        }
        tx.commit().await?;
        self.campaign(&campaign.name)
            .await?
            .ok_or_else(|| StateError::Unknown(format!("campaign {} vanished", campaign.name)))
    }

    /// Record another snapshot of a campaign's live catalog.
    pub async fn record_catalog_snapshot(
        &self,
        campaign: &CampaignRow,
        snapshot: &NewSnapshot<'_>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        insert_snapshot(&mut tx, campaign.id, snapshot, &at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest snapshot of a campaign's live catalog, if any.
    pub async fn latest_catalog_snapshot(
        &self,
        campaign: &CampaignRow,
    ) -> Result<Option<CatalogSnapshotRow>> {
        Ok(sqlx::query_as(
            "SELECT id, source, taken_at, entity_count, entities FROM catalog_snapshots
             WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(campaign.id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// How many snapshots a campaign has.
    pub async fn catalog_snapshot_count(&self, campaign: &CampaignRow) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM catalog_snapshots WHERE campaign_id = $1")
                .bind(campaign.id)
                .fetch_one(&self.pool)
                .await?
                .get("n"),
        )
    }

    /// Open tranches `0..upto`: their `pending` targets become `queued`.
    /// Opening is recorded before any target of the tranche is touched, so an
    /// interrupted run leaves `queued` targets that the next run picks up.
    pub async fn open_tranches(&self, campaign: &CampaignRow, upto: i64) -> Result<CampaignRow> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        let current: i64 = sqlx::query("SELECT tranches_open FROM campaigns WHERE id = $1")
            .bind(campaign.id)
            .fetch_one(&mut *tx)
            .await?
            .get("tranches_open");
        let upto = upto.min(campaign.tranche_count);
        if upto > current {
            sqlx::query("UPDATE campaigns SET tranches_open = $1, updated_at = $2, ci_failures_acknowledged = 0 WHERE id = $3")
                .bind(upto)
                .bind(&at)
                .bind(campaign.id)
                .execute(&mut *tx)
                .await?;
            for tranche in current..upto {
                sqlx::query(
                    "UPDATE tranches SET opened_at = $1 WHERE campaign_id = $2 AND idx = $3",
                )
                .bind(&at)
                .bind(campaign.id)
                .bind(tranche)
                .execute(&mut *tx)
                .await?;
                let detail = format!("tranche {}", tranche + 1);
                insert_event(
                    &mut tx,
                    campaign.id,
                    None,
                    "tranche_opened",
                    None,
                    None,
                    Some(&detail),
                    &at,
                )
                .await?;
            }
        }
        let pending = sqlx::query(
            "SELECT id FROM targets WHERE campaign_id = $1 AND tranche < $2 AND state = 'pending' ORDER BY position",
        )
        .bind(campaign.id)
        .bind(upto)
        .fetch_all(&mut *tx)
        .await?;
        for row in pending {
            let target_id: i64 = row.get("id");
            sqlx::query("UPDATE targets SET state = 'queued', updated_at = $1 WHERE id = $2")
                .bind(&at)
                .bind(target_id)
                .execute(&mut *tx)
                .await?;
            insert_event(
                &mut tx,
                campaign.id,
                Some(target_id),
                "state",
                Some("pending"),
                Some("queued"),
                None,
                &at,
            )
            .await?;
        }
        tx.commit().await?;
        self.campaign(&campaign.name)
            .await?
            .ok_or_else(|| StateError::Unknown(format!("campaign {} vanished", campaign.name)))
    }

    // ----- targets ---------------------------------------------------------

    /// Every target of a campaign, in plan order, with its changeset.
    pub async fn targets(&self, campaign_id: i64) -> Result<Vec<TargetRow>> {
        self.targets_matching(campaign_id, &TargetFilter::default(), None)
            .await
    }

    /// The targets of a campaign that `filter` holds, in plan order, at
    /// most `limit` of them (`None`: all). The filtering and the limit are
    /// SQL's: a listing of 50 out of 10,000 reads 50 rows.
    pub async fn targets_matching(
        &self,
        campaign_id: i64,
        filter: &TargetFilter,
        limit: Option<usize>,
    ) -> Result<Vec<TargetRow>> {
        let limit = limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        // Only constant text is formatted into the query.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{TARGET_SELECT} WHERE t.campaign_id = $1 {TARGET_FILTER} ORDER BY t.position LIMIT $5"
        )))
        .bind(campaign_id)
        .bind(filter.state.map(TargetState::as_str))
        .bind(&filter.owner)
        .bind(filter.tranche)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(TargetRow::from_row).collect()
    }

    /// How many targets of a campaign `filter` holds, by state (only the
    /// states that occur).
    pub async fn target_counts(
        &self,
        campaign_id: i64,
        filter: &TargetFilter,
    ) -> Result<std::collections::BTreeMap<TargetState, usize>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.state AS state, COUNT(*) AS n FROM targets t WHERE t.campaign_id = $1 {TARGET_FILTER} GROUP BY t.state"
        )))
        .bind(campaign_id)
        .bind(filter.state.map(TargetState::as_str))
        .bind(&filter.owner)
        .bind(filter.tranche)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.get("state");
                let n: i64 = r.get("n");
                Ok((state.parse()?, usize::try_from(n).unwrap_or(0)))
            })
            .collect()
    }

    /// One target by id.
    pub async fn target(&self, target_id: i64) -> Result<TargetRow> {
        let row = sqlx::query(AssertSqlSafe(format!("{TARGET_SELECT} WHERE t.id = $1")))
            .bind(target_id)
            .fetch_one(&self.pool)
            .await?;
        TargetRow::from_row(&row)
    }

    /// Move a target to `to`, with what the move learned, and log it.
    pub async fn transition(
        &self,
        target: &TargetRow,
        to: TargetState,
        change: &Transition,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        transition_in(&mut tx, target, to, change, &at).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Append an event that records an intent or an outcome (e.g. "about to
    /// push", "pull request opened") without changing the target's state.
    pub async fn record_event(&self, target: &TargetRow, kind: &str, detail: &str) -> Result<()> {
        let mut tx = self.write().await?;
        insert_event(
            &mut tx,
            target.campaign_id,
            Some(target.id),
            kind,
            None,
            None,
            Some(detail),
            &self.stamp(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every event of a campaign, oldest first.
    pub async fn events(&self, campaign_id: i64) -> Result<Vec<EventRow>> {
        Ok(
            sqlx::query_as("SELECT id, target_id, kind, from_state, to_state, detail, at FROM events WHERE campaign_id = $1 ORDER BY id")
                .bind(campaign_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    // ----- changesets ------------------------------------------------------

    /// Create the target's changeset (its branch) if it has none yet.
    pub async fn ensure_changeset(
        &self,
        target: &TargetRow,
        forge: &str,
        branch: &str,
        base: &str,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        upsert_changeset(&mut tx, target, forge, branch, base, &self.stamp()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// [`State::ensure_changeset`] and an event (`kind`, `detail`) in one
    /// transaction: the branch a pull request is about to be opened from,
    /// or was found with.
    pub async fn ensure_changeset_with_event(
        &self,
        target: &TargetRow,
        forge: &str,
        branch: &str,
        base: &str,
        (kind, detail): (&str, &str),
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        upsert_changeset(&mut tx, target, forge, branch, base, &at).await?;
        insert_event(
            &mut tx,
            target.campaign_id,
            Some(target.id),
            kind,
            None,
            None,
            Some(detail),
            &at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record what the forge says of the target's pull request and move
    /// the target to the state `decide` makes of it as recorded now (the
    /// row read inside the transaction, the pull request already in it),
    /// in one transaction; with `opened`, the event that it was opened and
    /// who was asked to review it too. The state the target is in after.
    pub async fn record_pull_request_and_state(
        &self,
        target: &TargetRow,
        pr: &PullRequestRecord,
        opened: Option<Opened<'_>>,
        decide: impl FnOnce(&TargetRow) -> Option<(TargetState, Transition)>,
    ) -> Result<TargetState> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        if let Some(opened) = opened {
            insert_event(
                &mut tx,
                target.campaign_id,
                Some(target.id),
                "pull_request_opened",
                None,
                None,
                Some(opened.detail),
                &at,
            )
            .await?;
            set_reviewers(&mut tx, target, opened.reviewers, &at).await?;
        }
        update_changeset_pr(&mut tx, target, pr, &at).await?;
        let row = sqlx::query(AssertSqlSafe(format!("{TARGET_SELECT} WHERE t.id = $1")))
            .bind(target.id)
            .fetch_one(&mut *tx)
            .await?;
        let current = TargetRow::from_row(&row)?;
        let state = match decide(&current) {
            Some((to, change)) => {
                transition_in(&mut tx, &current, to, &change, &at).await?;
                to
            }
            None => current.state,
        };
        tx.commit().await?;
        Ok(state)
    }

    /// Record who was asked to review the target's pull request (`@login`,
    /// `team:slug`, space-separated; empty: nobody).
    pub async fn record_reviewers(&self, target: &TargetRow, reviewers: &str) -> Result<()> {
        let mut tx = self.write().await?;
        set_reviewers(&mut tx, target, reviewers, &self.stamp()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record what the forge says of the target's pull request.
    pub async fn record_pull_request(
        &self,
        target: &TargetRow,
        pr: &PullRequestRecord,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        update_changeset_pr(&mut tx, target, pr, &self.stamp()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record what a sync learned of many pull requests, in one
    /// transaction: each changeset, and each target whose state the forge
    /// moved (`to`, when it differs from the state recorded now).
    pub async fn record_synced(&self, synced: &[Synced<'_>]) -> Result<()> {
        if synced.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        let at = self.stamp();
        for s in synced {
            update_changeset_pr(&mut tx, s.target, &s.record, &at).await?;
            if let Some((to, change)) = &s.to {
                let current: String = sqlx::query("SELECT state FROM targets WHERE id = $1")
                    .bind(s.target.id)
                    .fetch_one(&mut *tx)
                    .await?
                    .get("state");
                if current != to.as_str() {
                    transition_in(&mut tx, s.target, *to, change, &at).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    // ----- the local forge's pull requests ----------------------------------

    /// The newest local pull request of `repo_url` whose head is `head`.
    pub async fn local_pr_for_head(
        &self,
        repo_url: &str,
        head: &str,
    ) -> Result<Option<LocalPullRequest>> {
        let row = sqlx::query(
            "SELECT * FROM local_pull_requests WHERE repo_url = $1 AND head = $2 ORDER BY number DESC LIMIT 1",
        )
        .bind(repo_url)
        .bind(head)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| LocalPullRequest::from_row(&r)).transpose()
    }

    /// The local pull request `number` of `repo_url`.
    pub async fn local_pr(&self, repo_url: &str, number: i64) -> Result<Option<LocalPullRequest>> {
        let row =
            sqlx::query("SELECT * FROM local_pull_requests WHERE repo_url = $1 AND number = $2")
                .bind(repo_url)
                .bind(number)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| LocalPullRequest::from_row(&r)).transpose()
    }

    /// Insert a local pull request with the next number of its repository.
    /// The unique index on open heads makes a second open PR for the same
    /// branch impossible, whatever the caller does.
    pub async fn insert_local_pr(&self, pr: &NewLocalPullRequest) -> Result<LocalPullRequest> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        let number: i64 = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM local_pull_requests WHERE repo_url = $1",
        )
        .bind(&pr.repo_url)
        .fetch_one(&mut *tx)
        .await?
        .get("next");
        sqlx::query(
            "INSERT INTO local_pull_requests
                (repo_url, number, title, body, head, base, head_commit, state, draft, labels, ci_state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, 'none', $10, $11)",
        )
        .bind(&pr.repo_url)
        .bind(number)
        .bind(&pr.title)
        .bind(&pr.body)
        .bind(&pr.head)
        .bind(&pr.base)
        .bind(&pr.head_commit)
        .bind(i64::from(pr.draft))
        .bind(serde_json::to_string(&pr.labels).unwrap_or_else(|_| "[]".into()))
        .bind(&at)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.local_pr(&pr.repo_url, number)
            .await?
            .ok_or_else(|| StateError::Unknown("local pull request vanished".into()))
    }

    /// Mark a local pull request merged (with its merge commit) or closed.
    pub async fn set_local_pr_state(
        &self,
        repo_url: &str,
        number: i64,
        state: PrState,
        merge_commit: Option<&str>,
        comment: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE local_pull_requests SET state = $1, merge_commit = COALESCE($2, merge_commit),
                close_comment = COALESCE($3, close_comment), updated_at = $4
             WHERE repo_url = $5 AND number = $6",
        )
        .bind(state.as_str())
        .bind(merge_commit)
        .bind(comment)
        .bind(self.stamp())
        .bind(repo_url)
        .bind(number)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Change a local pull request: its labels, its title and body, or its
    /// CI state (what a CI system would report; `fleetwright local ci` and
    /// the demo's app teams set it).
    pub async fn update_local_pr(
        &self,
        repo_url: &str,
        number: i64,
        change: LocalPrChange<'_>,
    ) -> Result<()> {
        let query = match change {
            LocalPrChange::Labels(labels) => sqlx::query(
                "UPDATE local_pull_requests SET labels = $1, updated_at = $2 WHERE repo_url = $3 AND number = $4",
            )
            .bind(serde_json::to_string(labels).unwrap_or_else(|_| "[]".into())),
            LocalPrChange::Text { title, body } => sqlx::query(
                "UPDATE local_pull_requests SET title = $1, body = $2, updated_at = $3 WHERE repo_url = $4 AND number = $5",
            )
            .bind(title)
            .bind(body),
            LocalPrChange::Ci(ci) => sqlx::query(
                "UPDATE local_pull_requests SET ci_state = $1, updated_at = $2 WHERE repo_url = $3 AND number = $4",
            )
            .bind(ci),
        };
        query
            .bind(self.stamp())
            .bind(repo_url)
            .bind(number)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // ----- the tracking issue ------------------------------------------------

    /// The tracking issue recorded for a campaign, if any.
    pub async fn tracking_issue(&self, campaign_id: i64) -> Result<Option<TrackingIssueRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM tracking_issues WHERE campaign_id = $1")
                .bind(campaign_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Remember a campaign's tracking issue (replacing what was recorded).
    pub async fn record_tracking_issue(
        &self,
        campaign_id: i64,
        issue: &TrackingIssueRecord<'_>,
    ) -> Result<()> {
        let at = self.stamp();
        let published = issue.published.then_some(at.as_str());
        sqlx::query(
            "INSERT INTO tracking_issues
                (campaign_id, repository, number, url, state, body_hash, published_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (campaign_id) DO UPDATE SET
                repository = excluded.repository, number = excluded.number, url = excluded.url,
                state = excluded.state, body_hash = excluded.body_hash,
                published_at = COALESCE(excluded.published_at, tracking_issues.published_at),
                updated_at = excluded.updated_at",
        )
        .bind(campaign_id)
        .bind(issue.repository)
        .bind(issue.number)
        .bind(issue.url)
        .bind(issue.state)
        .bind(issue.body_hash)
        .bind(published)
        .bind(&at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    // ----- the local forge's issues -------------------------------------------

    /// Every local issue of `repo_url`, by number.
    pub async fn local_issues(&self, repo_url: &str) -> Result<Vec<LocalIssue>> {
        let rows = sqlx::query("SELECT * FROM local_issues WHERE repo_url = $1 ORDER BY number")
            .bind(repo_url)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(LocalIssue::from_row).collect()
    }

    /// The local issue `number` of `repo_url`.
    pub async fn local_issue(&self, repo_url: &str, number: i64) -> Result<Option<LocalIssue>> {
        let row = sqlx::query("SELECT * FROM local_issues WHERE repo_url = $1 AND number = $2")
            .bind(repo_url)
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| LocalIssue::from_row(&r)).transpose()
    }

    /// Open a local issue with the next number of its repository.
    pub async fn insert_local_issue(
        &self,
        repo_url: &str,
        title: &str,
        body: &str,
        labels: &[String],
    ) -> Result<LocalIssue> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        let number: i64 = sqlx::query(
            "SELECT COALESCE(MAX(number), 0) + 1 AS next FROM local_issues WHERE repo_url = $1",
        )
        .bind(repo_url)
        .fetch_one(&mut *tx)
        .await?
        .get("next");
        sqlx::query(
            "INSERT INTO local_issues (repo_url, number, title, body, labels, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7)",
        )
        .bind(repo_url)
        .bind(number)
        .bind(title)
        .bind(body)
        .bind(serde_json::to_string(labels).unwrap_or_else(|_| "[]".into()))
        .bind(&at)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.local_issue(repo_url, number)
            .await?
            .ok_or_else(|| StateError::Unknown("local issue vanished".into()))
    }

    /// Replace a local issue's title and body (its state stays).
    pub async fn update_local_issue(
        &self,
        repo_url: &str,
        number: i64,
        title: &str,
        body: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE local_issues SET title = $1, body = $2, updated_at = $3 WHERE repo_url = $4 AND number = $5",
        )
        .bind(title)
        .bind(body)
        .bind(self.stamp())
        .bind(repo_url)
        .bind(number)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Close or reopen a local issue, as a person would.
    pub async fn set_local_issue_state(
        &self,
        repo_url: &str,
        number: i64,
        state: IssueState,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE local_issues SET state = $1, updated_at = $2 WHERE repo_url = $3 AND number = $4",
        )
        .bind(state)
        .bind(self.stamp())
        .bind(repo_url)
        .bind(number)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    // ----- rollout ---------------------------------------------------------

    /// The tranches of a campaign, in order (empty for a campaign recorded
    /// before schema 3).
    pub async fn tranches(&self, campaign_id: i64) -> Result<Vec<TrancheRow>> {
        Ok(sqlx::query_as(
            "SELECT idx, name, spec, opened_at FROM tranches WHERE campaign_id = $1 ORDER BY idx",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// A campaign's status as it is now (`None`: no such campaign).
    pub async fn campaign_status(&self, campaign_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query("SELECT status FROM campaigns WHERE id = $1")
            .bind(campaign_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get("status")))
    }

    /// Set a campaign's status (`active`, `paused`, `completed`,
    /// `cancelled`) with why, and log it as `kind` (`paused`, `resumed`...),
    /// but only from one of the statuses `from` (checked in the same
    /// transaction: a `resume` racing a `cancel` cannot undo it).
    /// `acknowledged`: the failing pull requests a resume accepts.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_campaign_status(
        &self,
        campaign: &CampaignRow,
        from_any_of: &[CampaignStatus],
        status: CampaignStatus,
        reason: Option<&str>,
        kind: &str,
        acknowledged: Option<i64>,
    ) -> Result<CampaignRow> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        let from: CampaignStatus = sqlx::query("SELECT status FROM campaigns WHERE id = $1")
            .bind(campaign.id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("status")?;
        if !from_any_of.contains(&from) {
            return Err(StateError::Conflict(format!(
                "campaign `{}` is {from}: it cannot become {status}",
                campaign.name
            )));
        }
        sqlx::query(
            "UPDATE campaigns SET status = $1, status_reason = $2, updated_at = $3,
                 ci_failures_acknowledged = COALESCE($4, ci_failures_acknowledged)
             WHERE id = $5",
        )
        .bind(status)
        .bind(reason.map(|r| redact_text(r).into_owned()))
        .bind(&at)
        .bind(acknowledged)
        .bind(campaign.id)
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            campaign.id,
            None,
            kind,
            Some(from.as_str()),
            Some(status.as_str()),
            reason,
            &at,
        )
        .await?;
        tx.commit().await?;
        self.campaign(&campaign.name)
            .await?
            .ok_or_else(|| StateError::Unknown(format!("campaign {} vanished", campaign.name)))
    }

    /// Record the last gate evaluation, in words (not an event: it is
    /// re-evaluated on every run).
    pub async fn set_gate_note(&self, campaign: &CampaignRow, note: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE campaigns SET gate_note = $1 WHERE id = $2")
            .bind(note)
            .bind(campaign.id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Append an event about the campaign itself (`gate_passed`,
    /// `tranche_forced`...).
    pub async fn record_campaign_event(
        &self,
        campaign: &CampaignRow,
        kind: &str,
        detail: &str,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        insert_event(
            &mut tx,
            campaign.id,
            None,
            kind,
            None,
            None,
            Some(detail),
            &self.stamp(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record whether the branch of `target`'s pull request is
    /// recipe-exact at `check.head` (and, when that changed, an event that
    /// says so: `recipe_exact` or `not_recipe_exact`, with `detail`).
    pub async fn record_recipe_exact(
        &self,
        target: &TargetRow,
        check: &RecipeExact,
        detail: &str,
    ) -> Result<()> {
        let before = target
            .changeset
            .as_ref()
            .and_then(|c| c.recipe_exact.as_ref())
            .map(|e| e.exact);
        let mut tx = self.write().await?;
        let at = self.stamp();
        sqlx::query(
            "UPDATE changesets SET exact_head = $1, exact_fingerprint = $2, recipe_exact = $3 WHERE target_id = $4",
        )
        .bind(&check.head)
        .bind(&check.fingerprint)
        .bind(i64::from(check.exact))
        .bind(target.id)
        .execute(&mut *tx)
        .await?;
        if before != Some(check.exact) {
            let kind = if check.exact {
                "recipe_exact"
            } else {
                "not_recipe_exact"
            };
            insert_event(
                &mut tx,
                target.campaign_id,
                Some(target.id),
                kind,
                None,
                None,
                Some(detail),
                &at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Record that the stale nudge of `target` is being posted. Recorded
    /// before the comment is attempted: a nudge is posted at most once, even
    /// when the process dies in between.
    pub async fn mark_nudged(&self, target: &TargetRow, detail: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let at = self.stamp();
        sqlx::query("UPDATE changesets SET nudged_at = $1 WHERE target_id = $2")
            .bind(&at)
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
        insert_event(
            &mut tx,
            target.campaign_id,
            Some(target.id),
            "nudge_intended",
            None,
            None,
            Some(detail),
            &at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record that the forge refused the nudge of `target` (nothing was
    /// posted): the next run may try again.
    pub async fn clear_nudged(&self, target: &TargetRow, detail: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE changesets SET nudged_at = NULL WHERE target_id = $1")
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
        insert_event(
            &mut tx,
            target.campaign_id,
            Some(target.id),
            "nudge_failed",
            None,
            None,
            Some(detail),
            &self.stamp(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many pull requests the campaign opened at or after `since`.
    pub async fn opened_since(&self, campaign_id: i64, since: jiff::Timestamp) -> Result<usize> {
        let rows = sqlx::query(
            "SELECT at FROM events WHERE campaign_id = $1 AND kind = 'pull_request_opened'",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .filter_map(|r| parse_time(&r.get::<String, _>("at")))
            .filter(|t| *t >= since)
            .count())
    }

    /// Record what a scan found at a target's default-branch head.
    pub async fn record_scan(&self, target: &TargetRow, scan: &NewScan) -> Result<()> {
        sqlx::query(
            "INSERT INTO scans (campaign_id, target_id, commit_id, matches, error, at, scan_key, files, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(target.campaign_id)
        .bind(target.id)
        .bind(&scan.commit)
        .bind(scan.matches)
        .bind(&scan.error)
        .bind(self.stamp())
        .bind(&scan.key)
        .bind(scan.files)
        .bind(&scan.note)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The newest scan of each target of a campaign that has one.
    pub async fn latest_scans(
        &self,
        campaign_id: i64,
    ) -> Result<std::collections::HashMap<i64, ScanRow>> {
        let rows: Vec<ScanRow> = sqlx::query_as(
            "SELECT target_id, commit_id, matches, error, at, scan_key, files, note FROM scans
             WHERE id IN (SELECT MAX(id) FROM scans WHERE campaign_id = $1 GROUP BY target_id)",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.target_id, r)).collect())
    }

    /// Every scan of a campaign, oldest first.
    pub async fn scans(&self, campaign_id: i64) -> Result<Vec<ScanRow>> {
        Ok(sqlx::query_as(
            "SELECT target_id, commit_id, matches, error, at, scan_key, files, note FROM scans WHERE campaign_id = $1 ORDER BY id",
        )
        .bind(campaign_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The state of every target of a campaign as the event log tells it,
    /// as of `until` (`None`: now). Reports are computed from this, so a
    /// burndown can be drawn for any past day; a test checks that at the
    /// end it equals the `targets` table.
    pub async fn replay(
        &self,
        campaign_id: i64,
        until: Option<jiff::Timestamp>,
    ) -> Result<std::collections::BTreeMap<i64, TargetState>> {
        let events = self.events(campaign_id).await?;
        replay(&events, until)
    }

    /// Check the database: SQLite's `PRAGMA integrity_check` (`ok` when
    /// sound); on PostgreSQL, which checks itself, `ok` when it answers.
    pub async fn integrity_check(&self) -> Result<String> {
        match self.backend() {
            Backend::Sqlite => {
                let row = sqlx::query("PRAGMA integrity_check")
                    .fetch_one(&self.pool)
                    .await?;
                Ok(row.get::<String, _>(0))
            }
            Backend::Postgres => {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok("ok".into())
            }
        }
    }
}

/// Replay `events` (oldest first) up to `until`: each target's state.
pub fn replay(
    events: &[EventRow],
    until: Option<jiff::Timestamp>,
) -> Result<std::collections::BTreeMap<i64, TargetState>> {
    Replayer::new(events)
        .advance(until)
        .iter()
        .map(|(target, state)| Ok((*target, state.parse()?)))
        .collect()
}

/// The event log replayed forward in time, one cut-off after another (the
/// report's burndown asks for the end of each day, in one pass over the
/// log). The one rule: events in log order, up to the first one after the
/// cut-off; a target's state is the `to_state` of its last state event.
#[derive(Debug)]
pub struct Replayer<'a> {
    events: &'a [EventRow],
    next: usize,
    states: std::collections::BTreeMap<i64, &'a str>,
    /// How many targets are in each state, kept as the log is read (a
    /// burndown asks for them every day without going over every target).
    counts: std::collections::BTreeMap<&'a str, usize>,
}

impl<'a> Replayer<'a> {
    /// `events`: a campaign's log, oldest first.
    pub fn new(events: &'a [EventRow]) -> Self {
        Replayer {
            events,
            next: 0,
            states: std::collections::BTreeMap::new(),
            counts: std::collections::BTreeMap::new(),
        }
    }

    /// Each target's state (as stored) as of `until` (`None`: the end of
    /// the log). Cut-offs must not go back in time.
    pub fn advance(
        &mut self,
        until: Option<jiff::Timestamp>,
    ) -> &std::collections::BTreeMap<i64, &'a str> {
        while let Some(e) = self.events.get(self.next) {
            if let Some(until) = until
                && parse_time(&e.at).is_some_and(|at| at > until)
            {
                break;
            }
            if let (Some(target), Some(to)) = (e.target_id, e.to_state.as_deref()) {
                if let Some(from) = self.states.insert(target, to)
                    && let Some(n) = self.counts.get_mut(from)
                {
                    *n -= 1;
                }
                *self.counts.entry(to).or_default() += 1;
            }
            self.next += 1;
        }
        &self.states
    }

    /// How many targets are in each state (as stored) at the last cut-off;
    /// states no target is in any more count 0.
    pub fn counts(&self) -> &std::collections::BTreeMap<&'a str, usize> {
        &self.counts
    }
}

/// The conditions of a [`TargetFilter`], bound as `$2`..`$4` after the
/// campaign as `$1` (`NULL`: any).
const TARGET_FILTER: &str = "AND ($2 IS NULL OR t.state = $2) AND ($3 IS NULL OR t.owner = $3) AND ($4 IS NULL OR t.tranche = $4)";

const TARGET_SELECT: &str =
    "SELECT t.*, c.branch AS cs_branch, c.base AS cs_base, c.number AS cs_number,
        c.url AS cs_url, c.pr_state AS cs_pr_state, c.draft AS cs_draft, c.ci_state AS cs_ci_state, c.review_state AS cs_review_state, c.reviewers AS cs_reviewers,
        c.opened_at AS cs_opened_at, c.nudged_at AS cs_nudged_at, c.merged_at AS cs_merged_at,
        c.exact_head AS cs_exact_head, c.exact_fingerprint AS cs_exact_fingerprint, c.recipe_exact AS cs_recipe_exact
    FROM targets t LEFT JOIN changesets c ON c.target_id = t.id";

/// [`State::transition`] inside a transaction: the target's state (read
/// here, in the transaction) becomes `to`, and the move is logged.
async fn upsert_changeset(
    tx: &mut Tx<'_>,
    target: &TargetRow,
    forge: &str,
    branch: &str,
    base: &str,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO changesets (target_id, forge, branch, base, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (target_id) DO UPDATE SET branch = excluded.branch, base = excluded.base, updated_at = excluded.updated_at",
    )
    .bind(target.id)
    .bind(forge)
    .bind(branch)
    .bind(base)
    .bind(at)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn set_reviewers(
    tx: &mut Tx<'_>,
    target: &TargetRow,
    reviewers: &str,
    at: &str,
) -> Result<()> {
    sqlx::query("UPDATE changesets SET reviewers = $1, updated_at = $2 WHERE target_id = $3")
        .bind(reviewers)
        .bind(at)
        .bind(target.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn transition_in(
    tx: &mut Tx<'_>,
    target: &TargetRow,
    to: TargetState,
    change: &Transition,
    at: &str,
) -> Result<()> {
    let from: String = sqlx::query("SELECT state FROM targets WHERE id = $1")
        .bind(target.id)
        .fetch_one(&mut **tx)
        .await?
        .get("state");
    let keeps_reason = matches!(
        to,
        TargetState::Failed
            | TargetState::Declined
            | TargetState::NotApplicable
            | TargetState::NeedsAttention
            | TargetState::VerifyFailed
            | TargetState::OptedOut
    );
    let (step, reason) = if keeps_reason {
        (
            change.step.map(|s| s.as_str().to_string()),
            change.reason.clone(),
        )
    } else {
        (None, None)
    };
    sqlx::query(
        "UPDATE targets SET state = $1, step = $2, reason = $3,
                default_branch = COALESCE($4, default_branch),
                base_commit = COALESCE($5, base_commit),
                head_commit = COALESCE($6, head_commit),
                recipe_fingerprint = COALESCE($7, recipe_fingerprint),
                updated_at = $8
             WHERE id = $9",
    )
    .bind(to.as_str())
    .bind(&step)
    .bind(reason.as_deref().map(|r| redact_text(r).into_owned()))
    .bind(&change.default_branch)
    .bind(&change.base_commit)
    .bind(&change.head_commit)
    .bind(&change.recipe_fingerprint)
    .bind(at)
    .bind(target.id)
    .execute(&mut **tx)
    .await?;
    let detail = match (&change.step, &change.reason) {
        (Some(step), Some(reason)) => Some(format!("{}: {reason}", step.as_str())),
        (None, Some(reason)) => Some(reason.clone()),
        _ => change.head_commit.as_ref().map(|c| format!("commit {c}")),
    };
    insert_event(
        tx,
        target.campaign_id,
        Some(target.id),
        "state",
        Some(&from),
        Some(to.as_str()),
        detail.as_deref(),
        at,
    )
    .await?;
    Ok(())
}

/// Record what the forge says of a target's pull request.
async fn update_changeset_pr(
    tx: &mut Tx<'_>,
    target: &TargetRow,
    pr: &PullRequestRecord,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE changesets SET number = $1, url = $2, pr_state = $3, draft = $4, ci_state = $5,
             review_state = COALESCE($6, review_state), merged_at = COALESCE($7, merged_at),
             closed_at = COALESCE($8, closed_at), updated_at = $9, synced_at = $10,
             opened_at = COALESCE(opened_at, $11)
         WHERE target_id = $12",
    )
    .bind(pr.number)
    .bind(redact(&pr.url).into_owned())
    .bind(pr.state.as_str())
    .bind(i64::from(pr.draft))
    .bind(pr.ci_state)
    .bind(pr.review_state)
    .bind(&pr.merged_at)
    .bind(&pr.closed_at)
    .bind(at)
    .bind(at)
    .bind(at)
    .bind(target.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert_event(
    tx: &mut Tx<'_>,
    campaign_id: i64,
    target_id: Option<i64>,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    detail: Option<&str>,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO events (campaign_id, target_id, kind, from_state, to_state, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(campaign_id)
    .bind(target_id)
    .bind(kind)
    .bind(from)
    .bind(to)
    .bind(detail.map(|d| redact_text(d).into_owned()))
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl FromStr for TargetState {
    type Err = StateError;
    fn from_str(s: &str) -> Result<Self> {
        TargetState::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| StateError::Unknown(format!("target state `{s}`")))
    }
}

#[cfg(test)]
mod tests;

async fn insert_snapshot(
    tx: &mut Tx<'static>,
    campaign_id: i64,
    snapshot: &NewSnapshot<'_>,
    at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO catalog_snapshots (campaign_id, source, taken_at, entity_count, entities)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(campaign_id)
    .bind(snapshot.source)
    .bind(at)
    .bind(snapshot.entity_count)
    .bind(snapshot.entities)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
