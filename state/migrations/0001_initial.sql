-- fleetwright state, schema 1.
-- Never edit a migration once it has been released: add a new file instead.
-- Plain SQL that SQLite and PostgreSQL both run (TEXT timestamps in RFC 3339, UTC).

CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    file           TEXT    NOT NULL,              -- absolute path of the campaign file
    recipe_id      TEXT    NOT NULL,
    forge          TEXT    NOT NULL,
    status         TEXT    NOT NULL,              -- active | paused | completed | cancelled
    tranche_count  INTEGER NOT NULL,
    tranches_open  INTEGER NOT NULL DEFAULT 0,    -- tranches 0..tranches_open are open
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);

CREATE TABLE targets (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns (id),
    repo            TEXT    NOT NULL,             -- display name, unique in the campaign
    url             TEXT    NOT NULL,             -- what git clones
    component       TEXT    NOT NULL,             -- catalog entity ref
    owner           TEXT    NOT NULL,             -- catalog entity ref of the owner
    tranche         INTEGER NOT NULL,             -- 0-based
    position        INTEGER NOT NULL,             -- order in the plan
    state           TEXT    NOT NULL,             -- see docs/architecture.md, "Target states"
    step            TEXT,                         -- the step that failed, when failed
    reason          TEXT,                         -- why it failed / was declined
    default_branch  TEXT,
    base_commit     TEXT,
    head_commit     TEXT,                         -- the commit fleetwright pushed
    updated_at      TEXT    NOT NULL,
    UNIQUE (campaign_id, repo)
);

CREATE TABLE changesets (
    id          INTEGER PRIMARY KEY,
    target_id   INTEGER NOT NULL UNIQUE REFERENCES targets (id),
    forge       TEXT    NOT NULL,
    branch      TEXT    NOT NULL,
    base        TEXT    NOT NULL,
    number      INTEGER,                          -- NULL until the pull request exists
    url         TEXT,
    pr_state    TEXT,                             -- open | merged | closed
    draft       INTEGER NOT NULL DEFAULT 0,
    ci_state    TEXT,                             -- none | pending | success | failure
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

-- Append-only: every state change of a campaign or target, every intent to
-- cause a forge side effect, and its outcome. Never updated, never deleted.
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    target_id    INTEGER REFERENCES targets (id),
    kind         TEXT    NOT NULL,
    from_state   TEXT,
    to_state     TEXT,
    detail       TEXT,
    at           TEXT    NOT NULL
);
CREATE INDEX events_by_campaign ON events (campaign_id, id);

-- The embedded local forge: its pull requests live here (their branches in
-- the real bare repositories).
CREATE TABLE local_pull_requests (
    id             INTEGER PRIMARY KEY,
    repo_url       TEXT    NOT NULL,
    number         INTEGER NOT NULL,
    title          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    head           TEXT    NOT NULL,
    base           TEXT    NOT NULL,
    head_commit    TEXT    NOT NULL,
    state          TEXT    NOT NULL,              -- open | merged | closed
    draft          INTEGER NOT NULL,
    labels         TEXT    NOT NULL,              -- JSON array
    ci_state       TEXT    NOT NULL,
    merge_commit   TEXT,
    close_comment  TEXT,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    UNIQUE (repo_url, number)
);
CREATE UNIQUE INDEX local_pull_requests_one_open_per_head
    ON local_pull_requests (repo_url, head) WHERE state = 'open';
