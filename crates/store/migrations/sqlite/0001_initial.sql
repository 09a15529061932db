-- Initial hub schema.
--
-- Conventions (shared with the PostgreSQL migrations so both backends behave alike):
--   * every timestamp is INTEGER unix milliseconds, UTC;
--   * secrets are never stored, only their hashes (BLOB);
--   * enumerations are TEXT with a CHECK listing the allowed values.

CREATE TABLE companies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL for vendor-wide tokens.
    company_id   INTEGER REFERENCES companies (id),
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('vendor_admin', 'company_admin', 'technical')),
    public_id    TEXT    NOT NULL UNIQUE,
    secret_hash  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_company ON api_tokens (company_id);

CREATE TABLE connectors (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id        INTEGER NOT NULL REFERENCES companies (id),
    location          TEXT    NOT NULL,
    -- Lower-case hex SHA-256 of the current client certificate; unique so that a
    -- certificate identifies exactly one connector.
    cert_fingerprint  TEXT    UNIQUE,
    cert_not_after    INTEGER,
    enrolled_at       INTEGER,
    revoked_at        INTEGER,
    last_version      TEXT,
    last_seen         INTEGER,
    created_at        INTEGER NOT NULL,
    UNIQUE (company_id, location)
);

CREATE TABLE enrollment_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    connector_id  INTEGER NOT NULL REFERENCES connectors (id),
    public_id     TEXT    NOT NULL UNIQUE,
    secret_hash   BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX enrollment_tokens_connector ON enrollment_tokens (connector_id);

-- Append-only, hash-chained. `seq` is assigned by the store (previous + 1, starting at 1)
-- inside a write transaction, never by AUTOINCREMENT, because the hash covers it.
-- `company_id` deliberately has no foreign key: the log must be able to record events about
-- ids that do not (or no longer) exist, e.g. a refused request naming an unknown company.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    company_id  INTEGER,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    -- Canonical JSON text (see `portcullis_store::audit`).
    detail      TEXT    NOT NULL,
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_log_company ON audit_log (company_id, seq);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
