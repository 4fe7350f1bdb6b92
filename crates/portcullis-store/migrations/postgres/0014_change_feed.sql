-- Security changes announced to every node: `LISTEN portcullis_security`. A node's
-- hot cache of sessions and token families (portcullis-core, sessions/hot.rs)
-- forgets everything as soon as one arrives, so a change made anywhere — another
-- node, the CLI, SQL by hand — holds on every node at once. PostgreSQL sends a
-- notification only when its transaction commits (never for a rolled-back change)
-- and folds identical ones within a transaction. Only what a cached credential
-- depends on notifies: not a new session, not the once-a-minute `last_seen_at`
-- touch, not a refresh token's rotation, not a sign-in's `last_sign_in_at`.
CREATE FUNCTION portcullis_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('portcullis_security', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER sessions_removed AFTER DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER sessions_changed AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.mfa_pending IS DISTINCT FROM NEW.mfa_pending
          OR OLD.two_factor IS DISTINCT FROM NEW.two_factor
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.idle_timeout_secs IS DISTINCT FROM NEW.idle_timeout_secs
          OR OLD.authenticated_at IS DISTINCT FROM NEW.authenticated_at)
    EXECUTE FUNCTION portcullis_notify_change();

CREATE TRIGGER users_removed AFTER DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER users_changed AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.email IS DISTINCT FROM NEW.email
          OR OLD.email_verified IS DISTINCT FROM NEW.email_verified
          OR OLD.disabled IS DISTINCT FROM NEW.disabled
          OR OLD.mfa_enabled IS DISTINCT FROM NEW.mfa_enabled
          OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
          OR OLD.password_changed_at IS DISTINCT FROM NEW.password_changed_at)
    EXECUTE FUNCTION portcullis_notify_change();

CREATE TRIGGER token_families_removed AFTER DELETE OR TRUNCATE ON token_families
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_notify_change();
CREATE TRIGGER token_families_changed AFTER UPDATE ON token_families FOR EACH ROW
    WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.client_id IS DISTINCT FROM NEW.client_id
          OR OLD.scope IS DISTINCT FROM NEW.scope
          OR OLD.auth_time IS DISTINCT FROM NEW.auth_time
          OR OLD.two_factor IS DISTINCT FROM NEW.two_factor)
    EXECUTE FUNCTION portcullis_notify_change();

CREATE TRIGGER group_members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_notify_change();
