-- The ledger: one row per (group_id, join_request_id). `id` is the arrival
-- order the decider follows. Times we own are Unix milliseconds;
-- `created_at` is Meta's, in Unix seconds.
CREATE TABLE records (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id        TEXT    NOT NULL,
    join_request_id TEXT    NOT NULL,
    wa_id           TEXT,
    user_id         TEXT,
    username        TEXT,
    created_at      INTEGER,
    state           TEXT    NOT NULL,
    decision        TEXT,
    rule            TEXT,
    reason          TEXT,
    code            INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    first_seen_at   INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    not_before      INTEGER NOT NULL DEFAULT 0,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, join_request_id)
);
CREATE INDEX records_state ON records (state, id);

-- One row per state change: the audit trail.
CREATE TABLE audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    group_id        TEXT    NOT NULL,
    join_request_id TEXT    NOT NULL,
    from_state      TEXT,
    to_state        TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    rule            TEXT,
    reason          TEXT
);
CREATE INDEX audit_group ON audit (group_id, id);

-- Every group the reconciler lists: seen in webhooks or named by the user.
CREATE TABLE groups (
    group_id TEXT PRIMARY KEY
);
