//! The clone cache's accounting: how much disk each clone takes, which
//! campaigns of a state use it, when it was last used, and which clones a
//! prune removes and in what order.
//!
//! Why it exists: at thousands of repositories the cache
//! ([`crate::git::Workspace`]) grows to gigabytes, and a person needs to
//! see what holds the space and free what no running campaign needs. The
//! clones are found on disk (`Workspace::clones`); which campaign uses one
//! comes from the state's targets, matched by folder name
//! (`Workspace::clone_dir`). A clone no campaign of this state names is
//! *unclaimed* (another state may use it: only its age prunes it).
//! Nothing here removes a file or prints: the command layer does both.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// The version of the JSON shapes below; bumped on an incompatible change.
pub const SCHEMA: u32 = 1;

/// A campaign of the state and the clone folders its targets use.
#[derive(Debug, Clone)]
pub struct CampaignUse {
    pub name: String,
    pub status: crate::state::CampaignStatus,
    /// Clone folder names ([`crate::git::Workspace::clone_dir`]).
    pub folders: Vec<String>,
}

impl CampaignUse {
    /// Completed or cancelled: it will not fetch its repositories again.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// One clone on disk, as measured.
#[derive(Debug, Clone)]
pub struct Measured {
    pub folder: String,
    pub url: Option<String>,
    pub last_used: Option<SystemTime>,
    pub bytes: u64,
}

/// What `fleetwright cache --json` and `cache list --json` print.
#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    pub schema: u32,
    /// The folder holding the clones.
    pub cache: String,
    /// Disk use of every clone, in bytes (a clone used by two campaigns
    /// counts once).
    pub total_bytes: u64,
    /// Every clone, least recently used first.
    pub clones: Vec<CloneEntry>,
    /// Every campaign of the state, by name, with what its clones take.
    pub campaigns: Vec<CampaignEntry>,
    /// The clones no campaign of the state names.
    pub unclaimed: Usage,
}

/// One clone of [`CacheReport`].
#[derive(Debug, Clone, Serialize)]
pub struct CloneEntry {
    /// Its folder in the cache: the repository's name and a hash of its URL.
    pub folder: String,
    /// The URL it clones (credentials and query values redacted).
    pub url: Option<String>,
    /// Disk use in bytes (allocated blocks, as `du` counts).
    pub bytes: u64,
    /// The last sync that used it, RFC 3339 UTC.
    pub last_used: Option<String>,
    /// The campaigns of the state whose targets use it.
    pub campaigns: Vec<String>,
    /// Every one of those campaigns is completed or cancelled (false when
    /// there are none).
    pub finished_only: bool,
    #[serde(skip)]
    pub last_used_at: Option<SystemTime>,
}

/// One campaign of [`CacheReport`].
#[derive(Debug, Clone, Serialize)]
pub struct CampaignEntry {
    pub name: String,
    pub status: String,
    /// Clones of its targets present in the cache.
    pub clones: usize,
    pub bytes: u64,
    /// The newest last use among them.
    pub last_used: Option<String>,
}

/// A number of clones and their bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Usage {
    pub clones: usize,
    pub bytes: u64,
}

impl CacheReport {
    /// The report of the clones `found` in `cache`, with the campaigns of
    /// the state. Pure.
    pub fn build(cache: &Path, found: Vec<Measured>, campaigns: &[CampaignUse]) -> CacheReport {
        let mut users: BTreeMap<&str, Vec<&CampaignUse>> = BTreeMap::new();
        for campaign in campaigns {
            for folder in &campaign.folders {
                let list = users.entry(folder.as_str()).or_default();
                if !list.iter().any(|c| c.name == campaign.name) {
                    list.push(campaign);
                }
            }
        }
        let mut clones: Vec<CloneEntry> = found
            .into_iter()
            .map(|m| {
                let using = users.get(m.folder.as_str()).cloned().unwrap_or_default();
                CloneEntry {
                    campaigns: using.iter().map(|c| c.name.clone()).collect(),
                    finished_only: !using.is_empty() && using.iter().all(|c| c.is_finished()),
                    last_used: m.last_used.map(rfc3339),
                    last_used_at: m.last_used,
                    folder: m.folder,
                    url: m.url,
                    bytes: m.bytes,
                }
            })
            .collect();
        clones.sort_by(|a, b| {
            a.last_used_at
                .cmp(&b.last_used_at)
                .then_with(|| a.folder.cmp(&b.folder))
        });
        let mut entries: Vec<CampaignEntry> = campaigns
            .iter()
            .map(|c| {
                let mine: Vec<&CloneEntry> = clones
                    .iter()
                    .filter(|e| e.campaigns.contains(&c.name))
                    .collect();
                CampaignEntry {
                    name: c.name.clone(),
                    status: c.status.to_string(),
                    clones: mine.len(),
                    bytes: mine.iter().map(|e| e.bytes).sum(),
                    last_used: mine
                        .iter()
                        .filter_map(|e| e.last_used_at)
                        .max()
                        .map(rfc3339),
                }
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let unclaimed =
            clones
                .iter()
                .filter(|e| e.campaigns.is_empty())
                .fold(Usage::default(), |u, e| Usage {
                    clones: u.clones + 1,
                    bytes: u.bytes + e.bytes,
                });
        CacheReport {
            schema: SCHEMA,
            cache: cache.display().to_string(),
            total_bytes: clones.iter().map(|e| e.bytes).sum(),
            clones,
            campaigns: entries,
            unclaimed,
        }
    }
}

/// Which clones `cache prune` removes: those matching every rule given.
#[derive(Debug, Clone, Default)]
pub struct PruneRule {
    /// Not used for at least this long.
    pub older_than: Option<Duration>,
    /// Used by this campaign and no other of the state.
    pub campaign: Option<String>,
    /// Used only by completed or cancelled campaigns.
    pub finished: bool,
}

impl PruneRule {
    /// True when no rule is given (a prune of everything is not a default).
    pub fn is_empty(&self) -> bool {
        self.older_than.is_none() && self.campaign.is_none() && !self.finished
    }

    /// The clones of `report` to remove, each with why, in the order to
    /// remove them: the clones of finished campaigns first, then the least
    /// recently used.
    pub fn select<'a>(
        &self,
        report: &'a CacheReport,
        now: SystemTime,
    ) -> Vec<(&'a CloneEntry, String)> {
        let mut chosen: Vec<(&CloneEntry, String)> = report
            .clones
            .iter()
            .filter_map(|clone| self.why(clone, now).map(|why| (clone, why)))
            .collect();
        // Stable: within each group, the report's least-recently-used order.
        chosen.sort_by_key(|(clone, _)| !clone.finished_only);
        chosen
    }

    fn why(&self, clone: &CloneEntry, now: SystemTime) -> Option<String> {
        let mut reasons = Vec::new();
        if let Some(age) = self.older_than {
            // A clone whose last use is unknown is as old as can be.
            let idle = clone.last_used_at.map_or(Duration::MAX, |at| {
                now.duration_since(at).unwrap_or_default()
            });
            if idle < age {
                return None;
            }
            reasons.push(format!("unused for {}", age_text(idle)));
        }
        if let Some(name) = &self.campaign {
            if clone.campaigns != [name.clone()] {
                return None;
            }
            reasons.push(format!("used only by {name}"));
        }
        if self.finished {
            if !clone.finished_only {
                return None;
            }
            reasons.push(format!(
                "used only by finished campaigns ({})",
                clone.campaigns.join(", ")
            ));
        }
        Some(reasons.join("; "))
    }
}

/// What `cache prune --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub schema: u32,
    pub cache: String,
    /// Nothing was removed; `removed` says what would have been.
    pub dry_run: bool,
    pub removed: Vec<Pruned>,
    /// Clones the rules chose that a running process holds: left alone.
    pub in_use: Vec<Pruned>,
    /// Bytes the removed clones took.
    pub freed_bytes: u64,
}

/// One clone of [`PruneReport`].
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    pub folder: String,
    pub url: Option<String>,
    pub bytes: u64,
    /// Why the rules chose it.
    pub why: String,
}

/// A prune age as people write it: `30d`, `2w`, `12h`, `90m`, `45s`.
pub fn parse_age(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an age such as 30d, 2w, 12h or 90m"))?;
    let seconds = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3_600),
        "d" => n.checked_mul(86_400),
        "w" => n.checked_mul(604_800),
        "" => return Err(format!("`{text}` needs a unit: s, m, h, d or w (30d)")),
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use s, m, h, d or w"
            ));
        }
    }
    .ok_or_else(|| format!("`{text}` is too long"))?;
    Ok(Duration::from_secs(seconds))
}

/// `3 days`, `5 hours`, `12 minutes`, `40 seconds`.
pub fn age_text(age: Duration) -> String {
    let s = age.as_secs();
    let (n, unit) = match s {
        _ if age == Duration::MAX => return "ever".into(),
        0..60 => (s, "second"),
        60..3_600 => (s / 60, "minute"),
        3_600..86_400 => (s / 3_600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The disk `path` takes: allocated blocks of every file and folder under
/// it, symlinks not followed (what `du` counts). Unreadable parts count 0.
pub fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&dir) else {
            continue;
        };
        total += meta.blocks() * 512;
        if !meta.is_dir() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => stack.push(entry.path()),
                Ok(_) => {
                    if let Ok(meta) = entry.metadata() {
                        total += meta.blocks() * 512;
                    }
                }
                Err(_) => {}
            }
        }
    }
    total
}

fn rfc3339(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at)
        .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn at(days_ago: u64, now: SystemTime) -> Option<SystemTime> {
        Some(now - Duration::from_secs(days_ago * DAY))
    }

    fn report(now: SystemTime) -> CacheReport {
        let clone = |folder: &str, days_ago, bytes| Measured {
            folder: folder.into(),
            url: Some(format!("https://git.example.com/acme/{folder}.git")),
            last_used: at(days_ago, now),
            bytes,
        };
        let found = vec![
            clone("api-1", 2, 100),
            clone("web-2", 40, 200),
            clone("old-3", 90, 400),
            clone("both-4", 60, 800),
            clone("stray-5", 100, 1_600),
        ];
        let campaigns = [
            CampaignUse {
                name: "logging".into(),
                status: crate::state::CampaignStatus::Active,
                folders: vec!["api-1".into(), "web-2".into(), "both-4".into()],
            },
            CampaignUse {
                name: "java17".into(),
                status: crate::state::CampaignStatus::Completed,
                folders: vec!["old-3".into(), "both-4".into(), "gone-6".into()],
            },
        ];
        CacheReport::build(Path::new("/c/repos"), found, &campaigns)
    }

    fn folders(chosen: &[(&CloneEntry, String)]) -> Vec<String> {
        chosen.iter().map(|(c, _)| c.folder.clone()).collect()
    }

    #[test]
    fn disk_use_is_counted_per_campaign_and_once_in_total() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 * DAY);
        let r = report(now);
        assert_eq!(r.total_bytes, 3_100);
        let order: Vec<&str> = r.clones.iter().map(|c| c.folder.as_str()).collect();
        assert_eq!(order, ["stray-5", "old-3", "both-4", "web-2", "api-1"]);
        let logging = &r.campaigns[1];
        assert_eq!(
            (logging.name.as_str(), logging.clones, logging.bytes),
            ("logging", 3, 1_100)
        );
        let java = &r.campaigns[0];
        assert_eq!(
            (java.name.as_str(), java.clones, java.bytes),
            ("java17", 2, 1_200)
        );
        assert_eq!(java.last_used.as_deref(), Some("1972-07-29T00:00:00Z"));
        assert_eq!(
            r.unclaimed,
            Usage {
                clones: 1,
                bytes: 1_600
            }
        );
    }

    #[test]
    fn a_prune_takes_what_every_rule_given_allows_finished_campaigns_first() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 * DAY);
        let r = report(now);
        let rule = |older: Option<u64>, campaign: Option<&str>, finished| PruneRule {
            older_than: older.map(|d| Duration::from_secs(d * DAY)),
            campaign: campaign.map(String::from),
            finished,
        };
        // By age: the finished campaign's clone first, then the oldest.
        assert_eq!(
            folders(&rule(Some(30), None, false).select(&r, now)),
            ["old-3", "stray-5", "both-4", "web-2"]
        );
        // A clone another campaign uses is not "only" this one's.
        assert_eq!(
            folders(&rule(None, Some("java17"), false).select(&r, now)),
            ["old-3"]
        );
        assert_eq!(
            folders(&rule(None, Some("logging"), false).select(&r, now)),
            ["web-2", "api-1"]
        );
        // Finished only: both-4 is also used by an active campaign; the
        // stray clone is no campaign's.
        let finished = rule(None, None, true).select(&r, now);
        assert_eq!(folders(&finished), ["old-3"]);
        assert_eq!(finished[0].1, "used only by finished campaigns (java17)");
        // Rules combine: old and the logging campaign's only.
        let both = rule(Some(30), Some("logging"), false).select(&r, now);
        assert_eq!(folders(&both), ["web-2"]);
        assert_eq!(both[0].1, "unused for 40 days; used only by logging");
        assert!(rule(None, None, false).is_empty());
    }

    #[test]
    fn ages_read_as_written() {
        assert_eq!(parse_age("30d"), Ok(Duration::from_secs(30 * DAY)));
        assert_eq!(parse_age("2w"), Ok(Duration::from_secs(14 * DAY)));
        assert_eq!(parse_age(" 12h "), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        assert!(parse_age("30").unwrap_err().contains("needs a unit"));
        assert!(parse_age("3y").unwrap_err().contains("unknown unit `y`"));
        assert!(parse_age("d").is_err());
        assert_eq!(age_text(Duration::from_secs(DAY)), "1 day");
        assert_eq!(age_text(Duration::from_secs(90)), "1 minute");
    }

    #[test]
    fn disk_use_counts_files_and_not_what_a_symlink_points_at() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("elsewhere.bin");
        std::fs::write(&big, vec![7u8; 1 << 20]).unwrap();
        let clone = dir.path().join("clone");
        std::fs::create_dir_all(clone.join("sub")).unwrap();
        std::fs::write(clone.join("sub/a.txt"), vec![1u8; 64 << 10]).unwrap();
        std::os::unix::fs::symlink(&big, clone.join("link")).unwrap();
        let used = disk_usage(&clone);
        assert!((64 << 10..1 << 20).contains(&used), "{used}");
    }
}
