-- The portal (issue 15): users sign in with a password, and a signed-in browser holds a
-- credential of its own.
--
-- `users.password_hash`: the argon2id PHC string of the user's password; NULL for a user who
--   has none (technical users, users made before the portal; they use API tokens only).
-- `users.password_must_change`: 1 while the password is one an admin set (an initial or reset
--   password): the next sign-in must choose a new one before anything else.
-- `api_tokens.scope` gains `portal`: the credential a browser session holds in its cookie. It
--   works for the portal only; the REST API and the entry points refuse it.
-- `api_tokens.last_used_at`: when the credential was last used (updated at most about once a
--   minute), so a portal session ends after its idle timeout, across hub restarts too.
--
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (no table refers to
-- api_tokens, so no foreign key has to be re-pointed).

ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0;

CREATE TABLE api_tokens_v3 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL,
    public_id    TEXT    NOT NULL UNIQUE,
    secret_hash  BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    scope        TEXT    NOT NULL DEFAULT 'api' CHECK (scope IN ('api', 'route', 'portal')),
    last_used_at INTEGER
);
INSERT INTO api_tokens_v3 (id, user_id, name, public_id, secret_hash, created_at, expires_at,
                           revoked_at, scope)
    SELECT id, user_id, name, public_id, secret_hash, created_at, expires_at, revoked_at, scope
    FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_v3 RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
