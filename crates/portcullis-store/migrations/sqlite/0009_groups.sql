-- Groups (SPEC §7): named sets of users. The group `admin` always exists and
-- replaces the `users.is_admin` flag: every administrator becomes a member of it.
-- Sessions, authorization codes and token families remember whether their sign-in
-- used a second factor (a TOTP or recovery code, or a passkey).
CREATE TABLE access_groups (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_name TEXT NOT NULL REFERENCES access_groups (name) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, group_name)
);
CREATE INDEX group_members_group_name ON group_members (group_name);

INSERT INTO access_groups (name, description, created_at)
VALUES ('admin', 'Administrators', CAST(strftime('%s', 'now') AS INTEGER));
INSERT INTO group_members (group_name, user_id, added_at)
SELECT 'admin', id, updated_at FROM users WHERE is_admin;
ALTER TABLE users DROP COLUMN is_admin;

ALTER TABLE sessions ADD COLUMN two_factor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE oauth_codes ADD COLUMN two_factor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_families ADD COLUMN two_factor INTEGER NOT NULL DEFAULT 0;
