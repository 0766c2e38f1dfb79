-- fleetwright state (PostgreSQL), schema 5: recipe-exact pull requests.
--
-- Whether a pull request's branch holds exactly the recipe's change: its
-- tree is the recipe (of `exact_fingerprint`) applied to the branch's base
-- commit. Checked for the branch head `exact_head`; a sync checks again
-- only when the head or the recipe changed.
ALTER TABLE changesets ADD COLUMN exact_head TEXT;
ALTER TABLE changesets ADD COLUMN exact_fingerprint TEXT;
ALTER TABLE changesets ADD COLUMN recipe_exact BIGINT;   -- 1 exact, 0 not, NULL never checked
