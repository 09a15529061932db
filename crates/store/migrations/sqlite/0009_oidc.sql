-- OpenID Connect sign-in per company (issue 15): the company's identity provider, and which
-- claim of its ID tokens names the portal user.
--
-- `issuer`: the provider's issuer URL (https), from which the hub discovers the rest.
-- `client_id`: the hub's client at that provider.
-- `client_secret`: the client's secret, sealed with the hub's secrets key (AEAD, bound to the
--   company); the store never holds it in the clear, and no API answer shows it.
-- `user_claim`: the ID-token claim whose value is a user's name (`preferred_username`, the
--   default) or, for `email`, a user's e-mail address.
-- `extra_ca_pem`: PEM certificates trusted for the issuer besides the system's roots (an
--   on-premise provider with a private CA); NULL for none.
-- `enabled`: 0 keeps the settings but refuses sign-ins through the provider.

CREATE TABLE company_oidc (
    company_id    INTEGER PRIMARY KEY REFERENCES companies(id) ON DELETE CASCADE,
    issuer        TEXT    NOT NULL,
    client_id     TEXT    NOT NULL,
    client_secret BLOB    NOT NULL,
    user_claim    TEXT    NOT NULL DEFAULT 'preferred_username',
    extra_ca_pem  TEXT,
    enabled       INTEGER NOT NULL DEFAULT 1,
    updated_at    INTEGER NOT NULL
);
