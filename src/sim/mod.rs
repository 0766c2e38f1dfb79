//! Loopback servers for tests and the demo: a GitHub REST simulator, a
//! Backstage catalog simulator and a real git smart-HTTP server.
//!
//! They live in the library (not under `#[cfg(test)]`) so integration tests
//! and the demo can start them too. Each binds `127.0.0.1` on a port the OS
//! chooses, serves on a tokio task of the current runtime, and stops when
//! its handle is dropped (or, to wait for the end, `stop().await`).
//!
//! - [`GithubSim`]: GitHub's REST v3 for what fleetwright uses (repos, pull
//!   requests, labels, reviewers, reviews, checks, statuses, contents), with
//!   GitHub's JSON shapes, primary and secondary rate limits, ETags and
//!   injectable faults. Its time comes from a [`SimClock`], which the client
//!   under test can share.
//! - [`gitlab::GitlabSim`]: GitLab's REST v4 for what fleetwright uses
//!   (merge requests, notes, approvals, pipelines, issues, users, group
//!   members), with GitLab's rate-limit headers and 429s on demand.
//! - [`GitHttpServer`]: `git http-backend` behind HTTP Basic auth, over a
//!   folder of bare repositories, recording every request's headers.
//! - [`backstage::BackstageSim`]: Backstage's catalog query API
//!   (`/api/catalog/entities/by-query`) with real cursor paging, filters,
//!   fields and a bearer token.
//! - [`sshd::SshServer`]: the system's OpenSSH server on a free loopback
//!   port (it cannot take port 0), serving bare repositories by absolute
//!   path, and [`sshd::SshAgent`]; both killed when dropped.
//! - [`postgres::PgServer`]: the system's PostgreSQL in a throw-away cluster
//!   in a temp folder, on a free loopback port, with fresh databases on
//!   demand; stopped when dropped, or (the shared one) when the test
//!   process ends.

pub mod backstage;
pub mod git_http;
pub mod github;
pub mod gitlab;
mod net;
pub mod postgres;
pub mod report_fleet;
pub mod sshd;
#[cfg(test)]
mod test_http;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

use crate::clock::{Clock, ManualClock, SystemClock};

pub use git_http::{GitHttpServer, RecordedRequest};
pub use github::{
    CheckRunState, Fault, GithubSim, Limits, PullState, SimComment, SimOptions, SimPull, SimReview,
    Stats, WriteRecord,
};

/// The simulator's time: the real clock, or a [`ManualClock`] shared with
/// the client under test.
///
/// With a manual clock, requests that arrive without the clock being
/// advanced happen at the same instant, exactly as the secondary limits
/// see them; the client's pacing should sleep on the same clock
/// (`sim.clock().shared()`), which moves it.
#[derive(Debug, Clone)]
pub enum SimClock {
    /// Wall time; hour-long limits take an hour.
    Real(SystemClock),
    /// Frozen time that moves on `advance` and on `sleep`.
    Manual(ManualClock),
}

impl SimClock {
    /// The real clock.
    pub fn real() -> Self {
        SimClock::Real(SystemClock)
    }

    /// A new manual clock, frozen at the present.
    pub fn manual() -> Self {
        SimClock::Manual(ManualClock::new())
    }

    /// Moves a manual clock forward.
    ///
    /// # Panics
    ///
    /// On the real clock: a test that advances real time is mistaken.
    pub fn advance(&self, duration: Duration) {
        match self {
            SimClock::Manual(clock) => clock.advance(duration),
            SimClock::Real(_) => panic!("SimClock::advance on the real clock"),
        }
    }

    /// This clock as the `Arc<dyn Clock>` pacing code takes; clones share
    /// the same time.
    pub fn shared(&self) -> Arc<dyn Clock> {
        Arc::new(self.clone())
    }
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock::real()
    }
}

#[async_trait]
impl Clock for SimClock {
    fn now(&self) -> Instant {
        match self {
            SimClock::Real(clock) => clock.now(),
            SimClock::Manual(clock) => clock.now(),
        }
    }

    fn wall(&self) -> SystemTime {
        match self {
            SimClock::Real(clock) => clock.wall(),
            SimClock::Manual(clock) => clock.wall(),
        }
    }

    async fn sleep(&self, duration: Duration) {
        match self {
            SimClock::Real(clock) => clock.sleep(duration).await,
            SimClock::Manual(clock) => clock.sleep(duration).await,
        }
    }
}
