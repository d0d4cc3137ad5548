-- What the reconciler has durably done, so that a restart resumes a pass a
-- crash cut short instead of listing again the groups it had listed:
-- when each group's last complete listing began (set once that listing's
-- changes are stored), and the last pass begun and whether it finished.
ALTER TABLE groups ADD COLUMN listed_at BIGINT;

CREATE TABLE reconcile_pass (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    started_at BIGINT  NOT NULL,
    finished   BOOLEAN NOT NULL
);
