//! Pacing: every request to a forge's API (GitHub, GitLab) goes through one
//! [`Pacer`], so that a campaign of hundreds of repositories stays under the
//! forge's limits instead of failing at pull request #11 or dying after 50
//! repositories. The rules below are GitHub's; a forge names its rate-limit
//! headers and the statuses that mean "slow down" in a [`Dialect`]
//! ([`Dialect::GITHUB`], [`Dialect::GITLAB`]), and the machinery is the same.
//!
//! GitHub's rules (see `PRODUCT.md`): at most 80 content-creating requests a
//! minute and 500 an hour, sent one at a time and at least a second apart;
//! over a limit GitHub answers 403 or 429, and then `retry-after` is to be
//! honoured, else `x-ratelimit-reset` when `x-ratelimit-remaining` is 0, else
//! at least a minute with backoff. Sending more while limited prolongs the
//! ban, so a rate-limit answer closes a gate that every request, read or
//! write, waits at.
//!
//! - **Writes** (POST, PATCH, PUT, DELETE) queue on one async mutex, held for
//!   the whole request including its waits and retries: one write at a time,
//!   in arrival order, each at least `min_interval` after the previous one
//!   and never more than `per_minute` in any 60 s or `per_hour` in any hour
//!   (every attempt counts, retries included).
//! - **Reads** are not paced by the write budget but wait at the gate, which
//!   also closes when a response says `x-ratelimit-remaining: 0`.
//! - **Transient failures** (500, 502, 503, 504, timeouts, connection
//!   errors) are retried `max_retries` times with exponential backoff from
//!   `backoff_base`, capped at `backoff_cap`, without jitter: under a
//!   [`ManualClock`](crate::clock::ManualClock) every wait is exact.
//!
//! The pacer knows nothing of GitHub's resources: it sends what it is given
//! through a closure and judges the answer by status and headers.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;

use crate::clock::Clock;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// How fast fleetwright may write to GitHub, and how it retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacingConfig {
    /// The least time between two writes (GitHub asks for 1 s).
    pub min_interval: Duration,
    /// Writes in any 60 s (GitHub's secondary limit is 80).
    pub per_minute: u32,
    /// Writes in any hour (GitHub's secondary limit is 500).
    pub per_hour: u32,
    /// Retries of a request that failed transiently (5xx, timeout,
    /// connection error).
    pub max_retries: u32,
    /// The first backoff after a transient failure; it doubles each retry.
    pub backoff_base: Duration,
    /// The longest backoff after a transient failure.
    pub backoff_cap: Duration,
    /// Rate-limit answers one request may wait out before it gives up.
    pub max_limit_waits: u32,
    /// The first wait on a secondary-limit answer without `retry-after`
    /// (GitHub: "at least one minute"); it doubles each time.
    pub secondary_wait: Duration,
    /// The longest such wait.
    pub secondary_wait_cap: Duration,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            min_interval: Duration::from_secs(1),
            per_minute: 80,
            per_hour: 500,
            max_retries: 4,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
            max_limit_waits: 6,
            secondary_wait: Duration::from_secs(60),
            secondary_wait_cap: Duration::from_secs(15 * 60),
        }
    }
}

impl PacingConfig {
    /// GitHub's own ceiling: 80 writes a minute, 500 an hour, 1 s apart.
    pub const GITHUB: (Duration, u32, u32) = (Duration::from_secs(1), 80, 500);

    /// This pacing, never faster than GitHub allows: for settings people
    /// write, which may only lower the pace. ([`Pacer::new`] takes a config
    /// as given, so that tests against a loopback simulator can go faster.)
    pub fn within_github_limits(mut self) -> Self {
        let (interval, per_minute, per_hour) = Self::GITHUB;
        self.min_interval = self.min_interval.max(interval);
        self.per_minute = self.per_minute.min(per_minute);
        self.per_hour = self.per_hour.min(per_hour);
        self
    }
}

/// How a forge says "slow down": the headers of its rate limit and the
/// statuses of a refusal. Everything else about pacing is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The forge's name, for messages (`GitHub answered 502`).
    pub forge: &'static str,
    /// Requests left in the window (`x-ratelimit-remaining`).
    pub remaining: &'static str,
    /// When the window resets, in Unix seconds (`x-ratelimit-reset`).
    pub reset: &'static str,
    /// Whether a 403 may be a rate limit (GitHub's secondary limits); on
    /// GitLab a 403 is always "not allowed", and only 429 is a limit.
    pub forbidden_may_be_limit: bool,
}

impl Dialect {
    /// GitHub: `x-ratelimit-*`, 403 or 429 over a limit.
    pub const GITHUB: Dialect = Dialect {
        forge: "GitHub",
        remaining: "x-ratelimit-remaining",
        reset: "x-ratelimit-reset",
        forbidden_may_be_limit: true,
    };

    /// GitLab (docs.gitlab.com, "Rate limits"): `RateLimit-Remaining`,
    /// `RateLimit-Reset` (Unix seconds) and `Retry-After` on a 429.
    pub const GITLAB: Dialect = Dialect {
        forge: "GitLab",
        remaining: "ratelimit-remaining",
        reset: "ratelimit-reset",
        forbidden_may_be_limit: false,
    };
}

/// Whether a request spends the write budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
}

impl Kind {
    /// GET and HEAD read; everything else writes.
    pub fn of(method: &http::Method) -> Kind {
        if method == http::Method::GET || method == http::Method::HEAD {
            Kind::Read
        } else {
            Kind::Write
        }
    }
}

/// An answer from GitHub, read whole.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl RawResponse {
    /// A header as text, when present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A request that got no answer (or an answer that is not an HTTP response
/// of the API, such as a failure to mint an installation token).
#[derive(Debug, Clone)]
pub struct SendError {
    /// What went wrong, with no secret in it.
    pub message: String,
    /// GitHub's status, when GitHub answered.
    pub status: Option<u16>,
    /// Whether sending again may help (timeouts, connection errors).
    pub transient: bool,
}

/// One wait in progress, for [`Pacer::status`].
#[derive(Debug, Clone)]
struct Wait {
    id: u64,
    until_unix: u64,
    reason: String,
}

/// The gate every request waits at, and the waits in progress.
#[derive(Debug, Default)]
struct Gate {
    blocked_until: Option<Instant>,
    block_reason: String,
    waits: Vec<Wait>,
    next_id: u64,
}

/// What to do after an attempt.
enum Next {
    Done(Result<RawResponse, SendError>),
    /// Close the gate for everybody for this long, then send again.
    Block(Duration, String),
    /// Wait this long (this request only), then send again.
    Backoff(Duration, String),
}

/// Retries spent by one request.
#[derive(Debug, Default)]
struct Spent {
    transient: u32,
    limits: u32,
}

/// A write budget shared with other processes: every process of one
/// state reserves each write there before it sends it
/// ([`crate::state::State::reserve_write`]), so that N workers together
/// stay within one process's pace. The pacer's own budget still holds
/// within the process.
#[async_trait::async_trait]
pub trait SharedBudget: Send + Sync + std::fmt::Debug {
    /// Reserve one write at `now` within `config`'s interval and counts:
    /// `Ok(Ok(id))` to send now, `Ok(Err(wait))` to ask again after it.
    async fn reserve(
        &self,
        config: &PacingConfig,
        now: std::time::SystemTime,
    ) -> Result<Result<i64, Duration>, String>;
    /// The reserved write `id` was answered (or given up) at `now`.
    async fn answered(&self, id: i64, now: std::time::SystemTime);
}

/// The one queue all requests to one GitHub go through.
#[derive(Debug)]
pub struct Pacer {
    config: PacingConfig,
    dialect: Dialect,
    clock: Arc<dyn Clock>,
    /// When the pacer was made: the first write goes `min_interval` later.
    started: Instant,
    /// Answer times of writes in the last hour; locked for a whole write.
    writes: tokio::sync::Mutex<VecDeque<Instant>>,
    gate: Mutex<Gate>,
    /// The budget shared with other processes, when there is one.
    shared: Option<Arc<dyn SharedBudget>>,
}

impl Pacer {
    /// A pacer for GitHub; budgets of 0 are taken as 1 so that writes stay
    /// possible.
    pub fn new(config: PacingConfig, clock: Arc<dyn Clock>) -> Self {
        Self::with_dialect(config, clock, Dialect::GITHUB)
    }

    /// A pacer for the forge that speaks `dialect`.
    pub fn with_dialect(mut config: PacingConfig, clock: Arc<dyn Clock>, dialect: Dialect) -> Self {
        config.per_minute = config.per_minute.max(1);
        config.per_hour = config.per_hour.max(1);
        let started = clock.now();
        Pacer {
            config,
            dialect,
            clock,
            started,
            writes: tokio::sync::Mutex::new(VecDeque::new()),
            gate: Mutex::new(Gate::default()),
            shared: None,
        }
    }

    /// Reserve every write in `budget` too (shared with other processes).
    pub fn share_budget(mut self, budget: Arc<dyn SharedBudget>) -> Self {
        self.shared = Some(budget);
        self
    }

    /// Wait for the shared budget to grant one write: its id, or the error
    /// that keeps it from answering (the write is then not sent).
    async fn reserve_shared(&self) -> Result<Option<i64>, SendError> {
        let Some(shared) = &self.shared else {
            return Ok(None);
        };
        loop {
            match shared.reserve(&self.config, self.clock.wall()).await {
                Ok(Ok(id)) => return Ok(Some(id)),
                Ok(Err(wait)) => self.clock.sleep(wait).await,
                Err(message) => {
                    return Err(SendError {
                        message: format!(
                            "cannot reserve a write in the budget the campaign's processes share: {message}"
                        ),
                        status: None,
                        transient: false,
                    });
                }
            }
        }
    }

    /// The clock the pacer waits on.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The longest wait in progress, e.g. `waiting until 10:42:07:
    /// secondary rate limit (retry-after 60 s)`; `None` when nothing waits
    /// (the one-second spacing of writes is not reported).
    pub fn status(&self) -> Option<String> {
        let gate = self.gate();
        let wait = gate.waits.iter().max_by_key(|w| w.until_unix)?;
        Some(format!(
            "waiting until {}: {}",
            time_of_day(wait.until_unix),
            wait.reason
        ))
    }

    /// Send a request (built anew by `attempt` for every try) under the
    /// limits: writes one at a time within the budget, every request after
    /// the gate opens, rate-limit answers waited out and transient failures
    /// retried. Returns the last answer, which may still be an error status
    /// for the caller to map.
    pub async fn send<F, Fut>(&self, kind: Kind, attempt: F) -> Result<RawResponse, SendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<RawResponse, SendError>>,
    {
        self.send_with(kind, true, attempt).await
    }

    /// [`Pacer::send`] for a request that must not be sent twice (opening
    /// an issue, which GitHub would open twice): rate-limit refusals are
    /// still waited out and sent again (GitHub did nothing with them), but
    /// a transient failure (5xx, timeout, dropped connection), which may
    /// have taken effect, is returned at once for the caller to look.
    pub async fn send_once<F, Fut>(&self, kind: Kind, attempt: F) -> Result<RawResponse, SendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<RawResponse, SendError>>,
    {
        self.send_with(kind, false, attempt).await
    }

    async fn send_with<F, Fut>(
        &self,
        kind: Kind,
        retry_transient: bool,
        attempt: F,
    ) -> Result<RawResponse, SendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<RawResponse, SendError>>,
    {
        match kind {
            Kind::Write => {
                let mut writes = self.writes.lock().await;
                self.run(Some(&mut writes), retry_transient, attempt).await
            }
            Kind::Read => self.run(None, retry_transient, attempt).await,
        }
    }

    async fn run<F, Fut>(
        &self,
        mut writes: Option<&mut VecDeque<Instant>>,
        retry_transient: bool,
        mut attempt: F,
    ) -> Result<RawResponse, SendError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<RawResponse, SendError>>,
    {
        let mut spent = Spent::default();
        if !retry_transient {
            // No transient retry left to spend.
            spent.transient = self.config.max_retries;
        }
        loop {
            self.wait_for_gate().await;
            let mut reserved = None;
            if let Some(writes) = writes.as_deref_mut() {
                self.wait_for_budget(writes).await;
                // Then the budget of every process of the state.
                reserved = self.reserve_shared().await?;
                // A read may have closed the gate meanwhile; waiting more
                // never breaks the budget.
                self.wait_for_gate().await;
                writes.push_back(self.clock.now());
            }
            let outcome = attempt().await;
            if let Some(last) = writes.as_deref_mut().and_then(|w| w.back_mut()) {
                // Spacing counts from the answer: the next write then
                // reaches GitHub at least `min_interval` after this one did,
                // whatever the network's delays.
                *last = self.clock.now();
            }
            if let (Some(id), Some(shared)) = (reserved, &self.shared) {
                shared.answered(id, self.clock.wall()).await;
            }
            match self.judge(outcome, &mut spent) {
                Next::Done(result) => return result,
                Next::Block(wait, reason) => self.block(wait, reason),
                Next::Backoff(wait, reason) => self.wait(wait, reason).await,
            }
        }
    }

    /// Decide what an attempt's outcome calls for.
    fn judge(&self, outcome: Result<RawResponse, SendError>, spent: &mut Spent) -> Next {
        let response = match outcome {
            Ok(response) => response,
            Err(e) if e.transient && spent.transient < self.config.max_retries => {
                spent.transient += 1;
                return self.backoff(spent.transient, &e.message);
            }
            Err(e) => return Next::Done(Err(e)),
        };
        if let Some((wait, reason)) = self.rate_limit(&response, spent.limits) {
            if spent.limits < self.config.max_limit_waits {
                spent.limits += 1;
                return Next::Block(wait, reason);
            }
            // Given up on this request, but the next one still waits.
            self.block(wait, reason);
            return Next::Done(Ok(response));
        }
        if is_transient_status(response.status) && spent.transient < self.config.max_retries {
            spent.transient += 1;
            return self.backoff(
                spent.transient,
                &format!("{} answered {}", self.dialect.forge, response.status),
            );
        }
        self.note_primary_limit(&response);
        Next::Done(Ok(response))
    }

    fn backoff(&self, retry: u32, what: &str) -> Next {
        let wait = backoff(
            self.config.backoff_base,
            self.config.backoff_cap,
            retry.saturating_sub(1),
        );
        Next::Backoff(
            wait,
            format!(
                "{what}; retry {retry} of {} in {} s",
                self.config.max_retries,
                wait.as_secs()
            ),
        )
    }

    /// How long a rate-limit answer says to wait, and why; `None` when the
    /// answer is not a rate limit (a 403 can also mean "not allowed").
    fn rate_limit(&self, response: &RawResponse, earlier: u32) -> Option<(Duration, String)> {
        let forbidden = response.status == 403 && self.dialect.forbidden_may_be_limit;
        if !forbidden && response.status != 429 {
            return None;
        }
        if let Some(secs) = response
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Some((
                Duration::from_secs(secs),
                format!("secondary rate limit (retry-after {secs} s)"),
            ));
        }
        if response.header(self.dialect.remaining).map(str::trim) == Some("0") {
            let wait = self.until_reset(response).unwrap_or(MINUTE);
            return Some((wait, self.primary_reason()));
        }
        if response.status == 429 || response.body.to_ascii_lowercase().contains("rate limit") {
            let wait = backoff(
                self.config.secondary_wait,
                self.config.secondary_wait_cap,
                earlier,
            );
            return Some((
                wait,
                format!(
                    "secondary rate limit (no retry-after; backing off {} s)",
                    wait.as_secs()
                ),
            ));
        }
        None
    }

    /// The time left until `x-ratelimit-reset`, at least a second (the reset
    /// time has a one-second resolution, and clocks differ).
    fn until_reset(&self, response: &RawResponse) -> Option<Duration> {
        let reset = response
            .header(self.dialect.reset)?
            .trim()
            .parse::<u64>()
            .ok()?;
        let left = reset.saturating_sub(self.clock.unix_now());
        Some(Duration::from_secs(left.max(1)))
    }

    /// A successful answer that spent the last request of the hour closes
    /// the gate until the reset, so that the next request is not refused.
    fn note_primary_limit(&self, response: &RawResponse) {
        if response.header(self.dialect.remaining).map(str::trim) != Some("0") {
            return;
        }
        if let Some(wait) = self.until_reset(response) {
            self.block(wait, self.primary_reason());
        }
    }

    fn primary_reason(&self) -> String {
        format!("primary rate limit ({} 0)", self.dialect.remaining)
    }

    /// Close the gate for everybody until `wait` from now (or later, if it
    /// already closes later).
    fn block(&self, wait: Duration, reason: String) {
        let until = self.clock.now() + wait;
        let mut gate = self.gate();
        if gate.blocked_until.is_none_or(|current| current < until) {
            gate.blocked_until = Some(until);
            gate.block_reason = reason;
        }
    }

    /// Wait until the gate is open; it may close again meanwhile.
    async fn wait_for_gate(&self) {
        loop {
            let (until, reason) = {
                let gate = self.gate();
                match gate.blocked_until {
                    Some(until) => (until, gate.block_reason.clone()),
                    None => return,
                }
            };
            let now = self.clock.now();
            if until <= now {
                return;
            }
            self.wait(until - now, reason).await;
        }
    }

    /// Wait until the next write fits the budget.
    async fn wait_for_budget(&self, writes: &mut VecDeque<Instant>) {
        let now = self.clock.now();
        while writes
            .front()
            .is_some_and(|&sent| now.saturating_duration_since(sent) >= HOUR)
        {
            writes.pop_front();
        }
        let Some((at, reason)) = self.next_slot(writes) else {
            return;
        };
        if at <= now {
            return;
        }
        match reason {
            Some(reason) => self.wait(at - now, reason).await,
            None => self.clock.sleep(at - now).await,
        }
    }

    /// When the next write may go, and why if a budget (not just the
    /// spacing) holds it back.
    fn next_slot(&self, writes: &VecDeque<Instant>) -> Option<(Instant, Option<String>)> {
        // The first write of this process waits `min_interval` too: the
        // previous run's last write may have been a moment ago.
        let last = writes.back().copied().unwrap_or(self.started);
        let mut slot = (last + self.config.min_interval, None);
        let windows = [
            (self.config.per_minute, MINUTE, "minute"),
            (self.config.per_hour, HOUR, "hour"),
        ];
        for (budget, window, name) in windows {
            let budget = budget as usize;
            if writes.len() < budget {
                continue;
            }
            let at = writes[writes.len() - budget] + window;
            if at > slot.0 {
                slot = (at, Some(format!("write budget ({budget} per {name})")));
            }
        }
        Some(slot)
    }

    /// Sleep `d`, reporting it in [`Pacer::status`] meanwhile.
    async fn wait(&self, d: Duration, reason: String) {
        let id = {
            let mut gate = self.gate();
            gate.next_id += 1;
            let id = gate.next_id;
            let until_unix = self.clock.unix_now() + d.as_secs() + u64::from(d.subsec_nanos() > 0);
            gate.waits.push(Wait {
                id,
                until_unix,
                reason,
            });
            id
        };
        self.clock.sleep(d).await;
        self.gate().waits.retain(|w| w.id != id);
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Statuses worth sending again: GitHub's or a proxy's passing trouble.
fn is_transient_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

/// `base * 2^step`, capped.
fn backoff(base: Duration, cap: Duration, step: u32) -> Duration {
    let factor = 1u32.checked_shl(step.min(31)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// `HH:MM:SS` in the local time zone, for the progress line.
fn time_of_day(unix: u64) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(i64::try_from(unix).unwrap_or(i64::MAX)) else {
        return format!("{unix}");
    };
    ts.to_zoned_datetime(jiff::tz::TimeZone::system())
        .strftime("%H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests;
