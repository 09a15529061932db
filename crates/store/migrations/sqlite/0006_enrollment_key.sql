-- Enrolment retry (issue 13, class 11): the SHA-256 of the public key a token was redeemed
-- with. A connector that lost the hub's answer may repeat the enrolment with the same token
-- and the same key until the token expires; any other key still finds the token used.
-- NULL for tokens redeemed before this column existed (they cannot be repeated).

ALTER TABLE enrollment_tokens ADD COLUMN used_key_sha256 TEXT;
