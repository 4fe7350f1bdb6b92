-- Security changes, counted: every committed change to what a node's hot cache of
-- sessions and token families depends on (portcullis-core, sessions/hot.rs) bumps
-- `security_changes.counter`, whoever made it — the server, the CLI, SQL by
-- hand. The server reads the counter every 100 ms and empties its cache when it
-- moved (the PostgreSQL migration of the same number notifies instead). Not
-- counted: a new session, the once-a-minute `last_seen_at` touch, a refresh
-- token's rotation, a sign-in's `last_sign_in_at`.
CREATE TABLE security_changes (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL
);
INSERT INTO security_changes (id, counter) VALUES (1, 0);

CREATE TRIGGER sessions_removed AFTER DELETE ON sessions
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;
CREATE TRIGGER sessions_changed AFTER UPDATE ON sessions
WHEN OLD.user_id IS NOT NEW.user_id
  OR OLD.mfa_pending IS NOT NEW.mfa_pending
  OR OLD.two_factor IS NOT NEW.two_factor
  OR OLD.expires_at IS NOT NEW.expires_at
  OR OLD.idle_timeout_secs IS NOT NEW.idle_timeout_secs
  OR OLD.authenticated_at IS NOT NEW.authenticated_at
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;

CREATE TRIGGER users_removed AFTER DELETE ON users
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;
CREATE TRIGGER users_changed AFTER UPDATE ON users
WHEN OLD.email IS NOT NEW.email
  OR OLD.email_verified IS NOT NEW.email_verified
  OR OLD.disabled IS NOT NEW.disabled
  OR OLD.mfa_enabled IS NOT NEW.mfa_enabled
  OR OLD.password_hash IS NOT NEW.password_hash
  OR OLD.password_changed_at IS NOT NEW.password_changed_at
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;

CREATE TRIGGER token_families_removed AFTER DELETE ON token_families
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;
CREATE TRIGGER token_families_changed AFTER UPDATE ON token_families
WHEN OLD.user_id IS NOT NEW.user_id
  OR OLD.client_id IS NOT NEW.client_id
  OR OLD.scope IS NOT NEW.scope
  OR OLD.auth_time IS NOT NEW.auth_time
  OR OLD.two_factor IS NOT NEW.two_factor
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;

CREATE TRIGGER group_members_added AFTER INSERT ON group_members
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;
CREATE TRIGGER group_members_changed AFTER UPDATE ON group_members
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;
CREATE TRIGGER group_members_removed AFTER DELETE ON group_members
BEGIN
    UPDATE security_changes SET counter = counter + 1;
END;
