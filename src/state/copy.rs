//! Copy a whole state into another (`fleetwright state migrate --to`):
//! a campaign's SQLite file into PostgreSQL when it outgrows one machine
//! (or back).
//!
//! The target must be empty (no campaign): nothing is merged. Both states
//! are at the same schema (each was brought up to date when opened), so
//! every table is copied column by column, in an order that keeps the
//! foreign keys, in one transaction of the target; then PostgreSQL's
//! identity sequences are moved past the copied ids, and each table's rows
//! are counted on both sides. The source is only read.
//!
//! Leases and the forge write budget are not copied: they describe the
//! processes of the moment, and no process may work on the source while
//! it is copied.

use sqlx::{AssertSqlSafe, Row};

use super::{Backend, Result, State, StateError, Tx};

/// Every table of the state that is copied, parents first.
pub const TABLES: &[&str] = &[
    "campaigns",
    "tranches",
    "targets",
    "changesets",
    "events",
    "scans",
    "tracking_issues",
    "catalog_snapshots",
    "local_pull_requests",
    "local_issues",
    "forge_answers",
];

/// Tables of the schema that are deliberately not copied.
pub const NOT_COPIED: &[&str] = &["leases", "forge_writes"];

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target state {0} already holds campaigns: a state is copied only into an empty one"
    )]
    NotEmpty(String),
    #[error("table {table}: {source_rows} rows in the source, {target_rows} in the copy")]
    Count {
        table: String,
        source_rows: i64,
        target_rows: i64,
    },
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::State(StateError::Query(e))
    }
}

/// What was copied: each table and its rows.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Copied {
    pub tables: Vec<(String, i64)>,
}

/// A column, and whether it holds integers (else text).
pub(super) struct Column {
    pub(super) name: String,
    pub(super) integer: bool,
}

/// At most this many values in one INSERT (PostgreSQL takes 65,535
/// parameters; SQLite 32,766).
const MAX_PARAMS: usize = 30_000;

/// Rows read from the source at once.
const PAGE: usize = 2_000;

impl State {
    /// The tables of the schema (but sqlx's own), sorted.
    pub async fn tables(&self) -> Result<Vec<String>> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_%' ESCAPE '\\'
                 ORDER BY name"
            }
        };
        Ok(sqlx::query(sql)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect())
    }

    /// The columns of `table`, in order, with whether each holds integers.
    pub(super) async fn columns(&self, table: &str) -> Result<Vec<Column>> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
            Backend::Postgres => {
                "SELECT CAST(column_name AS TEXT) AS name, CAST(data_type AS TEXT) AS type FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
            }
        };
        Ok(sqlx::query(sql)
            .bind(table)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Column {
                name: r.get("name"),
                integer: r
                    .get::<String, _>("type")
                    .to_ascii_uppercase()
                    .contains("INT"),
            })
            .collect())
    }

    /// Rows of `table`.
    pub async fn count_rows(&self, table: &str) -> Result<i64> {
        Self::check_table(table)?;
        Ok(
            sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) AS n FROM {table}")))
                .fetch_one(&self.pool)
                .await?
                .get("n"),
        )
    }

    fn check_table(table: &str) -> Result<()> {
        if TABLES.contains(&table) || NOT_COPIED.contains(&table) {
            Ok(())
        } else {
            Err(StateError::Unknown(format!("table `{table}`")))
        }
    }

    /// Copy every campaign, target, event... of this state into `to`,
    /// which must hold none. `progress` hears of each table copied.
    pub async fn copy_into(
        &self,
        to: &State,
        mut progress: impl FnMut(&str, i64),
    ) -> Result<Copied, CopyError> {
        if to.count_rows("campaigns").await? > 0 {
            return Err(CopyError::NotEmpty(to.location().to_string()));
        }
        let mut tx = to.write().await?;
        let mut copied = Copied::default();
        for table in TABLES {
            let columns = self.columns(table).await?;
            let n = self.copy_table(table, &columns, &mut tx).await?;
            progress(table, n);
            copied.tables.push((table.to_string(), n));
        }
        if to.backend() == Backend::Postgres {
            for table in TABLES {
                let has_id = to.columns(table).await?.iter().any(|c| c.name == "id");
                if has_id {
                    sqlx::query(AssertSqlSafe(format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        for (table, n) in &copied.tables {
            let there = to.count_rows(table).await?;
            if there != *n {
                return Err(CopyError::Count {
                    table: table.clone(),
                    source_rows: *n,
                    target_rows: there,
                });
            }
        }
        Ok(copied)
    }

    async fn copy_table(
        &self,
        table: &str,
        columns: &[Column],
        tx: &mut Tx<'static>,
    ) -> Result<i64> {
        let names = columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        // A page at a time, in a stable order: a state's event log or its
        // catalog snapshots need not fit in memory at once.
        let order = if columns.iter().any(|c| c.name == "id") {
            "id".to_string()
        } else {
            names.clone()
        };
        let per_insert = (MAX_PARAMS / columns.len().max(1)).max(1);
        let mut copied = 0usize;
        loop {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {names} FROM {table} ORDER BY {order} LIMIT {PAGE} OFFSET {copied}"
            )))
            .fetch_all(&self.pool)
            .await?;
            for batch in rows.chunks(per_insert) {
                Self::insert_rows(table, &names, columns, batch, tx).await?;
            }
            copied += rows.len();
            if rows.len() < PAGE {
                return Ok(copied as i64);
            }
        }
    }

    /// Insert `batch` (rows of `columns`) into `table` in one statement.
    async fn insert_rows(
        table: &str,
        names: &str,
        columns: &[Column],
        batch: &[sqlx::any::AnyRow],
        tx: &mut Tx<'static>,
    ) -> Result<()> {
        let mut values = Vec::with_capacity(batch.len());
        let mut n = 0;
        for _ in batch {
            let row = (0..columns.len())
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect::<Vec<_>>()
                .join(", ");
            values.push(format!("({row})"));
        }
        let sql = format!("INSERT INTO {table} ({names}) VALUES {}", values.join(", "));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in batch {
            for (i, column) in columns.iter().enumerate() {
                query = if column.integer {
                    query.bind(row.try_get::<Option<i64>, _>(i)?)
                } else {
                    query.bind(row.try_get::<Option<String>, _>(i)?)
                };
            }
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }
}
