-- Remote connections (issue #4): users and their authorizations, systems, connection types,
-- service connections, windows, standing grants, favourites.
--
-- API tokens become credentials of a user: the role and company move to `users`, and every
-- existing token gets a user of its own (named after the token's public id) so that nothing
-- that worked before stops working.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL for vendor users (vendor admins, support engineers, vendor-wide auditors).
    company_id      INTEGER REFERENCES companies (id),
    -- Login name, unique across the hub (windows name engineers by it).
    name            TEXT    NOT NULL UNIQUE,
    display_name    TEXT    NOT NULL DEFAULT '',
    email           TEXT,
    role            TEXT    NOT NULL CHECK (role IN ('vendor_admin', 'support_engineer', 'auditor',
                                                     'company_admin', 'company_user', 'technical')),
    -- Comma-separated authorization names (see portcullis_domain::authz::Authorizations).
    authorizations  TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    disabled_at     INTEGER
);
CREATE INDEX users_company ON users (company_id);

INSERT INTO users (company_id, name, display_name, role, created_at)
    SELECT company_id, 'token-' || public_id, name, role, created_at FROM api_tokens;

CREATE TABLE api_tokens_v2 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    public_id    TEXT    NOT NULL UNIQUE,
    secret_hash  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
INSERT INTO api_tokens_v2 (id, user_id, name, public_id, secret_hash, created_at, expires_at, revoked_at)
    SELECT t.id, u.id, t.name, t.public_id, t.secret_hash, t.created_at, t.expires_at, t.revoked_at
    FROM api_tokens t JOIN users u ON u.name = 'token-' || t.public_id;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_v2 RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE systems (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id                 INTEGER NOT NULL REFERENCES companies (id),
    sid                        TEXT    NOT NULL,
    system_number              TEXT    NOT NULL,
    system_type                TEXT    NOT NULL,
    product                    TEXT    NOT NULL,
    product_version            TEXT    NOT NULL,
    installation_number        TEXT    NOT NULL,
    status                     TEXT    NOT NULL,
    eu_data_protection         INTEGER NOT NULL,
    advanced_secure_support    INTEGER NOT NULL,
    allow_independent_opening  INTEGER NOT NULL,
    description                TEXT    NOT NULL,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL,
    -- A company's SIDs are unique: entry points name a system by company and SID.
    UNIQUE (company_id, sid)
);

CREATE TABLE connection_types (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- NULL for the hub-wide catalogue.
    company_id    INTEGER REFERENCES companies (id),
    key           TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    protocol      TEXT    NOT NULL CHECK (protocol IN ('ni', 'tcp', 'http')),
    default_port  INTEGER,
    needs_url     INTEGER NOT NULL,
    description   TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (company_id, key)
);
-- UNIQUE above does not cover NULL company_id (NULLs are distinct); this does.
CREATE UNIQUE INDEX connection_types_catalogue_key ON connection_types (key) WHERE company_id IS NULL;

CREATE TABLE service_connections (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id          INTEGER NOT NULL REFERENCES companies (id),
    system_id           INTEGER NOT NULL REFERENCES systems (id),
    connection_type_id  INTEGER NOT NULL REFERENCES connection_types (id),
    connector_id        INTEGER NOT NULL REFERENCES connectors (id),
    virtual_host        TEXT    NOT NULL,
    virtual_port        INTEGER NOT NULL,
    url                 TEXT,
    created_by          TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    UNIQUE (system_id, connection_type_id)
);
CREATE INDEX service_connections_company ON service_connections (company_id);

CREATE TABLE windows (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id             INTEGER NOT NULL REFERENCES companies (id),
    service_connection_id  INTEGER NOT NULL REFERENCES service_connections (id) ON DELETE CASCADE,
    start_at               INTEGER NOT NULL,
    end_at                 INTEGER NOT NULL,
    closed_at              INTEGER,
    closed_by              TEXT,
    contact                TEXT    NOT NULL,
    opened_by              TEXT    NOT NULL,
    -- JSON array of user names; empty: any support engineer.
    engineers              TEXT    NOT NULL DEFAULT '[]',
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX windows_connection ON windows (service_connection_id, end_at);
CREATE INDEX windows_live ON windows (end_at) WHERE closed_at IS NULL;

CREATE TABLE grants (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id             INTEGER NOT NULL REFERENCES companies (id),
    user_id                INTEGER NOT NULL REFERENCES users (id),
    service_connection_id  INTEGER NOT NULL REFERENCES service_connections (id) ON DELETE CASCADE,
    created_by             TEXT    NOT NULL,
    created_at             INTEGER NOT NULL,
    revoked_at             INTEGER
);
CREATE UNIQUE INDEX grants_active ON grants (user_id, service_connection_id) WHERE revoked_at IS NULL;

CREATE TABLE favourites (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    system_id  INTEGER NOT NULL REFERENCES systems (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, system_id)
);
