-- Token scopes (route passwords): what a token may be used for.
--
-- `api`   — the REST API and every entry point; every token made before this migration.
-- `route` — a route password: only a connection password (the `/W/` password of an SAP route
--           string, the SOCKS5 and HTTP proxy password); the REST API refuses it.

ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'api'
    CHECK (scope IN ('api', 'route'));
