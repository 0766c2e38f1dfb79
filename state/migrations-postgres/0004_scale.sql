-- fleetwright state (PostgreSQL), schema 4: a real organisation's size.
--
-- The answers of the GitHub forge's conditional GETs, kept between
-- processes: the next `sync` sends each path's ETag in `If-None-Match`, and
-- an unchanged resource comes back as 304 (free against GitHub's rate
-- limit) and is answered from here. Keyed by the forge's API URL and the
-- path, so two GitHubs never mix; campaigns on one GitHub share what they
-- both read (the same resource). No request header is kept, so no token.
CREATE TABLE forge_answers (
    api_url  TEXT NOT NULL,          -- the forge's API URL as configured (never with credentials)
    path     TEXT NOT NULL,          -- path and query, relative to api_url
    etag     TEXT NOT NULL,
    body     TEXT NOT NULL,          -- the answer, cut to the fields fleetwright reads
    fields   TEXT NOT NULL,          -- those fields (a version reading others ignores the row)
    link     TEXT,                   -- its `Link` header (the next page)
    used_at  TEXT NOT NULL,          -- last time it was sent or confirmed (304); unused for 30 days: deleted
    PRIMARY KEY (api_url, path)
);

-- The throttles count a campaign's opened pull requests by kind.
CREATE INDEX events_by_kind ON events (campaign_id, kind);
