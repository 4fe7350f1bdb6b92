-- Administration (SPEC §8): who made a change (the administrator, or `cli`), when
-- each user last signed in, the id an imported user had in its old application
-- (§9), and the indexes the admin listings page with.
ALTER TABLE events ADD COLUMN actor_id TEXT;
ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER;
ALTER TABLE users ADD COLUMN external_id TEXT;

-- Users newest first, keyset-paged on (created_at, id), walked backwards.
CREATE INDEX users_created_at_id ON users (created_at, id);

-- The email-prefix search: the addresses starting with a prefix are one range of
-- email_canonical (SQLite compares text byte by byte, and UTF-8 byte order is
-- code point order). The range is read from this index alone, with the key
-- of each row, so only the newest page's rows are then looked up: a one-letter
-- prefix of a million users costs a few tens of milliseconds, not a sort of
-- whole rows.
CREATE INDEX users_email_created ON users (email_canonical, created_at, id);

-- The security log filtered by kind, newest (highest id) first. By user it is
-- events_user_id (user_id, id).
CREATE INDEX events_kind_id ON events (kind, id);
