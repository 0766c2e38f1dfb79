-- fleetwright state, schema 8: several processes on one campaign.

-- Who works on a target now (`fleetwright worker`, `run`): a lease that
-- expires unless its worker renews it (a heartbeat). A dead worker's lease
-- runs out and another worker takes the target over, still guarded by the
-- target's intent records (no second branch, commit or pull request).
CREATE TABLE leases (
    target_id    INTEGER NOT NULL PRIMARY KEY REFERENCES targets (id),
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    worker       TEXT    NOT NULL,   -- `host:pid` or the worker's --id
    fresh        INTEGER NOT NULL,   -- 1: it may open a pull request (takes a throttle slot)
    taken_at     TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL    -- RFC 3339 UTC; past: free to take over
);
CREATE INDEX leases_by_campaign ON leases (campaign_id, expires_at);

-- Every write sent to a forge's API by any process of this state, for the
-- one write budget they share (GitHub: 80 a minute, 500 an hour, 1 s
-- apart). Rows older than an hour are deleted.
CREATE TABLE forge_writes (
    id       INTEGER PRIMARY KEY,
    forge    TEXT    NOT NULL,       -- the forge's API URL (never with credentials)
    holder   TEXT    NOT NULL,       -- the process that sent it
    at_ms    INTEGER NOT NULL,       -- Unix milliseconds: when it was sent, then when it was answered
    answered INTEGER NOT NULL        -- 0 while in flight
);
CREATE INDEX forge_writes_by_forge ON forge_writes (forge, at_ms);
