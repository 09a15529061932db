-- Company names, SIDs and location IDs are unique without regard to case (issue 13, class 8):
-- `Acme` and `acme` cannot both exist, so a name typed in any case (a DNS-style lower-cased
-- `<type>.<SID>.<company>.portcullis`, a SOCKS5 user name) finds exactly one tenant. Values are
-- stored as entered; lookups compare with COLLATE NOCASE.
--
-- NOCASE folds ASCII letters only. That is enough: the API accepts only ASCII letters, digits,
-- '-', '_' and '.' in company names and location IDs, and A-Z/0-9 in SIDs.
--
-- On a database that already holds two names differing only in case these indexes cannot be
-- built. The store checks for that before migrating and refuses to start with a message naming
-- them (`SqliteStore::open`), so this file never fails half-way.

CREATE UNIQUE INDEX companies_name_nocase ON companies (name COLLATE NOCASE);
CREATE UNIQUE INDEX systems_sid_nocase ON systems (company_id, sid COLLATE NOCASE);
CREATE UNIQUE INDEX connectors_location_nocase ON connectors (company_id, location COLLATE NOCASE);
