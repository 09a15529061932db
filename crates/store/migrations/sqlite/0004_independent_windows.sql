-- Independent opening (RC-13): a support engineer opened the window himself, on a system whose
-- company allows it. Such a window admits only him; every window made before is 0.

ALTER TABLE windows ADD COLUMN independent INTEGER NOT NULL DEFAULT 0
    CHECK (independent IN (0, 1));
