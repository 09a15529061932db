-- Two-factor sign-in to the portal (issue 15): time-based one-time passwords (RFC 6238).
--
-- `users.totp_secret`: the user's TOTP secret, sealed with the hub's secrets key (AEAD; the
--   store never holds it in the clear); NULL while the user has no second factor.
-- `users.totp_last_step`: the last 30-second step a code was accepted for, so that a code
--   cannot be used twice.
-- `companies.require_totp`: 1 when the company's super administrator made the second factor
--   mandatory for the company's users.

ALTER TABLE users ADD COLUMN totp_secret BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
ALTER TABLE companies ADD COLUMN require_totp INTEGER NOT NULL DEFAULT 0;
