-- fleetwright state (PostgreSQL), schema 6: the campaign's tracking issue.
--
-- `report.issue` in a campaign file names a repository where one issue
-- carries the campaign's Markdown report, created once and then edited in
-- place (`report --publish-issue`, and `run` at its end). This table is
-- where it is and what was last published there: a run whose report did
-- not change sends nothing. Lost, the issue is found again on the forge by
-- its label (`fleetwright/tracking`) and the marker in its body.
CREATE TABLE tracking_issues (
    campaign_id  BIGINT PRIMARY KEY REFERENCES campaigns(id),
    repository   TEXT    NOT NULL,   -- owner/name on GitHub; a bare repository's path on the local forge
    number       BIGINT NOT NULL,
    url          TEXT    NOT NULL,
    state        TEXT    NOT NULL,   -- open | closed, as last seen
    body_hash    TEXT,               -- fingerprint of the title and body last published; NULL: found, not published
    published_at TEXT,               -- when fleetwright last published there
    updated_at   TEXT    NOT NULL
);

-- The local forge's issues: on the local forge the issue is this row.
-- Numbered per repository from 1 (apart from its pull requests' numbers).
CREATE TABLE local_issues (
    repo_url    TEXT    NOT NULL,
    number      BIGINT NOT NULL,
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    labels      TEXT    NOT NULL,   -- JSON array
    state       TEXT    NOT NULL,   -- open | closed
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (repo_url, number)
);
