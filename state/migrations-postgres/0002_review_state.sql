-- fleetwright state (PostgreSQL), schema 2: what `sync` learns of a pull request
-- besides its state, draft and CI; who was asked to review; and the recipe
-- a branch was made with (to update it when the recipe changes).

ALTER TABLE changesets ADD COLUMN review_state TEXT;   -- approved | changes_requested | pending
ALTER TABLE changesets ADD COLUMN merged_at TEXT;
ALTER TABLE changesets ADD COLUMN closed_at TEXT;
ALTER TABLE changesets ADD COLUMN synced_at TEXT;      -- the last time sync asked the forge
ALTER TABLE changesets ADD COLUMN reviewers TEXT;      -- requested reviewers, `@login` and `team:slug`, space-separated; empty: nobody
ALTER TABLE targets ADD COLUMN recipe_fingerprint TEXT; -- the recipe (and parameters) the pushed branch was made with
