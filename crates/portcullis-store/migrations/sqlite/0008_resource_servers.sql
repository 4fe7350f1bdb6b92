-- Clients registered as resource servers may introspect every token; any other
-- client only the tokens issued to it.
ALTER TABLE oauth_clients ADD COLUMN resource_server INTEGER NOT NULL DEFAULT 0;
