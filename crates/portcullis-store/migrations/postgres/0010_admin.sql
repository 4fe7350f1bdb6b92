-- Administration (SPEC §8): who made a change (the administrator, or `cli`), when
-- each user last signed in, the id an imported user had in its old application
-- (§9), and the indexes the admin listings page with.
ALTER TABLE events ADD COLUMN actor_id TEXT;
ALTER TABLE users ADD COLUMN last_sign_in_at BIGINT;
ALTER TABLE users ADD COLUMN external_id TEXT;

-- The email-prefix search is a range of email_canonical, which needs byte
-- order: under a linguistic collation (en_US.UTF-8, say) the addresses starting
-- with a prefix are not one range. "C" compares bytes, as SQLite does; equality
-- (and so uniqueness) is byte equality either way. The index on it is rebuilt;
-- the table is not rewritten.
ALTER TABLE users ALTER COLUMN email_canonical TYPE TEXT COLLATE "C";

-- Users newest first, keyset-paged on (created_at, id), walked backwards.
CREATE INDEX users_created_at_id ON users (created_at, id);

-- The prefix range read from the index alone, with the key of each row (an
-- index-only scan), so only the newest page's rows are then looked up. The
-- planner takes this or the backward walk above (keeping the addresses in
-- range), whichever reads less for the prefix at hand.
CREATE INDEX users_email_created ON users (email_canonical, created_at, id);

-- The security log filtered by kind, newest (highest id) first. By user it is
-- events_user_id (user_id, id).
CREATE INDEX events_kind_id ON events (kind, id);
