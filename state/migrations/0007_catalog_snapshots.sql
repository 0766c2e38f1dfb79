-- fleetwright state, schema 7: snapshots of a live catalog.
--
-- A campaign whose catalog is a live Backstage works from what was read
-- when it was launched, not from whatever the catalog says at each run, so
-- that a gate, an owner or a reviewer does not move because someone edited
-- the catalog mid-campaign. Each row is one reading: the entities (cut to
-- the fields fleetwright reads) as one compact JSON object a line. Never a
-- token. `plan` compares the live catalog with the newest row.
CREATE TABLE catalog_snapshots (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
    source       TEXT    NOT NULL,   -- the Backstage base URL read
    taken_at     TEXT    NOT NULL,
    entity_count INTEGER NOT NULL,
    entities     TEXT    NOT NULL    -- one compact JSON entity a line
);

CREATE INDEX catalog_snapshots_by_campaign ON catalog_snapshots (campaign_id, id);
