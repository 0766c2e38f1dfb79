//! The answers of a forge's conditional GETs, kept between processes
//! (`forge_answers`, schema 4).
//!
//! The GitHub forge sends the last `ETag` of each path in `If-None-Match`;
//! an unchanged resource comes back as 304, which costs nothing against
//! GitHub's rate limit, and is answered from the row kept here. Rows are
//! keyed by the forge's API URL and the path, so two forges never mix. What
//! is kept is the answer's `ETag`, its body (cut by the forge to the fields
//! it reads) and its `Link` header: never a request header, so never a
//! token. The table is bounded: the rows of a pull request that is no
//! longer open are deleted ([`State::forget_forge_answers`]), and so are
//! rows unused for [`ANSWER_TTL_DAYS`] days ([`State::prune_forge_answers`]).

use sqlx::Row;

use super::{Result, State, format_time, parse_time};

/// Rows of `forge_answers` not used for this many days are deleted.
pub const ANSWER_TTL_DAYS: i64 = 30;

/// `used_at` is refreshed at most this often (a 304 within a day of the
/// last refresh writes nothing).
const TOUCH_EVERY_HOURS: i64 = 24;

/// One kept answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeAnswer {
    pub etag: String,
    pub body: String,
    /// The fields `body` was cut to (comma-separated; empty: all of them).
    pub fields: String,
    /// The `Link` header, when the answer had one.
    pub link: Option<String>,
}

impl State {
    /// The kept answer for `path` on the forge at `api_url`. A 304 to its
    /// ETag means it still holds; [`State::confirm_forge_answer`] then
    /// keeps it from being pruned.
    pub async fn forge_answer(&self, api_url: &str, path: &str) -> Result<Option<ForgeAnswer>> {
        let row = sqlx::query(
            "SELECT etag, body, fields, link FROM forge_answers WHERE api_url = $1 AND path = $2",
        )
        .bind(api_url)
        .bind(path)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| ForgeAnswer {
            etag: r.get("etag"),
            body: r.get("body"),
            fields: r.get("fields"),
            link: r.get("link"),
        }))
    }

    /// Keep (or replace) the answer for `path` on the forge at `api_url`.
    pub async fn remember_forge_answer(
        &self,
        api_url: &str,
        path: &str,
        answer: &ForgeAnswer,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO forge_answers (api_url, path, etag, body, fields, link, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (api_url, path) DO UPDATE SET etag = excluded.etag, body = excluded.body,
                 fields = excluded.fields, link = excluded.link, used_at = excluded.used_at",
        )
        .bind(api_url)
        .bind(path)
        .bind(&answer.etag)
        .bind(&answer.body)
        .bind(&answer.fields)
        .bind(&answer.link)
        .bind(self.stamp())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The forge confirmed the kept answer (a 304): mark it used, at most
    /// once a day (so a sync of unchanged pull requests writes nothing).
    pub async fn confirm_forge_answer(&self, api_url: &str, path: &str) -> Result<()> {
        let now = self.now();
        let Ok(fresh) = now.checked_sub(jiff::SignedDuration::from_hours(TOUCH_EVERY_HOURS)) else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE forge_answers SET used_at = $1 WHERE api_url = $2 AND path = $3 AND used_at < $4",
        )
        .bind(format_time(now))
        .bind(api_url)
        .bind(path)
        .bind(format_time(fresh))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Delete the kept answers of `prefix` and of every path under it
    /// (`prefix/...` and `prefix?...`): a pull request that is no longer
    /// open (`/repos/o/r/pulls/7` takes its reviews with it) or a commit
    /// whose CI is no longer asked about. Returns how many were deleted.
    pub async fn forget_forge_answers(&self, api_url: &str, prefix: &str) -> Result<u64> {
        let mut tx = self.write().await?;
        let mut deleted = sqlx::query("DELETE FROM forge_answers WHERE api_url = $1 AND path = $2")
            .bind(api_url)
            .bind(prefix)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Two ranges of the primary key: `prefix/` up to `prefix0` ('0'
        // follows '/'), and `prefix?` up to `prefix@` ('@' follows '?').
        for (from, to) in [('/', '0'), ('?', '@')] {
            deleted += sqlx::query(
                "DELETE FROM forge_answers WHERE api_url = $1 AND path >= $2 AND path < $3",
            )
            .bind(api_url)
            .bind(format!("{prefix}{from}"))
            .bind(format!("{prefix}{to}"))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Delete every kept answer not used for [`ANSWER_TTL_DAYS`] days (by
    /// the state's clock). Returns how many were deleted.
    pub async fn prune_forge_answers(&self) -> Result<u64> {
        let Ok(cutoff) = self
            .now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * ANSWER_TTL_DAYS))
        else {
            return Ok(0);
        };
        Ok(sqlx::query("DELETE FROM forge_answers WHERE used_at < $1")
            .bind(format_time(cutoff))
            .execute(&self.writer)
            .await?
            .rows_affected())
    }

    /// How many answers are kept, and when the oldest was last used (for
    /// tests and `--json` diagnostics).
    pub async fn forge_answer_count(&self) -> Result<(i64, Option<jiff::Timestamp>)> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(used_at) AS oldest FROM forge_answers")
            .fetch_one(&self.pool)
            .await?;
        let oldest: Option<String> = row.get("oldest");
        Ok((row.get("n"), oldest.as_deref().and_then(parse_time)))
    }
}
