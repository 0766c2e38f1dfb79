-- fleetwright state, schema 3: rollout control (pauses, gates, nudges),
-- tranche names, and scans of what is left to migrate.

ALTER TABLE campaigns ADD COLUMN status_reason TEXT;    -- why it is paused, cancelled or completed
ALTER TABLE campaigns ADD COLUMN gate_note TEXT;        -- the last gate evaluation, in words
-- failing pull requests of the open tranche when the campaign was last
-- resumed: a pause on CI failures comes back only when there are more
ALTER TABLE campaigns ADD COLUMN ci_failures_acknowledged INTEGER NOT NULL DEFAULT 0;

ALTER TABLE changesets ADD COLUMN opened_at TEXT;       -- when the pull request was first recorded open
ALTER TABLE changesets ADD COLUMN nudged_at TEXT;       -- when the stale nudge was posted (at most once)

CREATE TABLE tranches (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    idx          INTEGER NOT NULL,                 -- 0-based
    name         TEXT    NOT NULL,
    spec         TEXT    NOT NULL,                 -- as written: `1`, `25%`, `rest`, `owner: payments`
    opened_at    TEXT,
    PRIMARY KEY (campaign_id, idx)
);

-- `fleetwright scan`: how many places the recipe still matches at a
-- target's default-branch head. Append-only, like events.
CREATE TABLE scans (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    target_id    INTEGER NOT NULL REFERENCES targets (id),
    commit_id    TEXT,                             -- the commit scanned; NULL when the scan failed
    matches      INTEGER,                          -- NULL when the scan failed
    error        TEXT,
    at           TEXT    NOT NULL
);
CREATE INDEX scans_by_campaign ON scans (campaign_id, target_id, id);
