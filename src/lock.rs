//! One fleetwright at a time per campaign.
//!
//! Commands that change a campaign (launch, advance, run, sync, cancel,
//! scan, local merge/close) hold an exclusive `flock` on
//! `<state folder>/locks/<campaign>.lock` while they work. The lock file
//! says who holds it (pid, start time, command), so that a second process
//! can say clearly who it waits for; the kernel drops the lock when its
//! process ends, however it ends (SIGKILL included), so a crash never
//! leaves a campaign locked. `status`, `report`, `pause` and `resume` need
//! no lock: the first two only read; the others are one transaction each,
//! which checks the status it changes from (a `resume` cannot undo a
//! `cancel`), and a running reconciler reads the status again before it
//! starts each target.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// A held campaign lock; dropping it releases the lock.
#[derive(Debug)]
pub struct CampaignLock {
    file: File,
    path: PathBuf,
}

/// A campaign's lock, held: a `flock` beside a SQLite state, or a
/// PostgreSQL advisory lock ([`crate::state::hold_campaign`]). Dropping it
/// releases it.
#[derive(Debug)]
pub enum Held {
    File(CampaignLock),
    Database(crate::state::CampaignHold),
}

impl Held {
    /// Whether the lock was lost while held: a PostgreSQL holder frozen for
    /// longer than [`crate::state::STALL`] (a `flock` is never lost).
    pub fn lost(&self) -> bool {
        match self {
            Held::File(_) => false,
            Held::Database(hold) => hold.lost(),
        }
    }

    /// Take the lock of `campaign` for the state at `location` without
    /// waiting: a second process gets [`LockError::Held`] at once.
    pub async fn acquire(
        location: &crate::state::Location,
        campaign: &str,
        command: &str,
    ) -> Result<Held, LockError> {
        match location {
            crate::state::Location::Sqlite(path) => {
                CampaignLock::acquire(path, campaign, command).map(Held::File)
            }
            crate::state::Location::Postgres(_) => {
                match crate::state::hold_campaign(location, campaign, command).await {
                    Ok(Ok(hold)) => Ok(Held::Database(hold)),
                    Ok(Err(holder)) => Err(LockError::Held {
                        campaign: campaign.to_string(),
                        holder,
                    }),
                    Err(e) => Err(LockError::Database(e.to_string())),
                }
            }
        }
    }
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("campaign `{campaign}` is locked by another fleetwright ({holder})")]
    Held { campaign: String, holder: String },
    #[error("cannot take the campaign's lock in the state database: {0}")]
    Database(String),
    #[error("cannot use the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CampaignLock {
    /// Take the lock of `campaign` for the state at `state_path`, without
    /// waiting: a second process gets [`LockError::Held`] at once.
    pub fn acquire(state_path: &Path, campaign: &str, command: &str) -> Result<Self, LockError> {
        let dir = state_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("locks");
        let path = dir.join(format!("{campaign}.lock"));
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a file descriptor this function owns.
        let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !taken {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(LockError::Held {
                campaign: campaign.to_string(),
                holder: if holder.is_empty() {
                    "a process that has not said who it is yet".to_string()
                } else {
                    holder.to_string()
                },
            });
        }
        let started = jiff::Timestamp::now()
            .round(jiff::Unit::Second)
            .unwrap_or(jiff::Timestamp::now());
        let who = format!("pid {}, started {started}, `{command}`", std::process::id());
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(who.as_bytes()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(CampaignLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for CampaignLock {
    fn drop(&mut self) {
        // Say nobody holds it, then let go (closing the file releases it too).
        let _ = self.file.set_len(0);
        // SAFETY: the descriptor is still open; unlocking is always sound.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

/// An exclusive `flock` on `path` (created, with its folder, when
/// missing), waiting for whoever holds it; released when the returned file
/// is closed or the process ends.
pub fn exclusive(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    loop {
        // SAFETY: flock on a file descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(file);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_holds_the_lock_until_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("fleetwright.db");
        let first = CampaignLock::acquire(&state, "c", "run c").unwrap();
        // flock locks belong to open files: a second open in the same
        // process conflicts like another process would.
        let err = CampaignLock::acquire(&state, "c", "run c").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(
            text.contains("`run c`") && text.contains("started 20"),
            "{text}"
        );
        // Another campaign is not locked.
        let other = CampaignLock::acquire(&state, "d", "run d").unwrap();
        drop(first);
        CampaignLock::acquire(&state, "c", "run c").unwrap();
        drop(other);
    }
}
