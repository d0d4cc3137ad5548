-- The PostgreSQL ledger: the same records, audit trail and groups as the
-- SQLite store, plus who holds a lease. `id` is the arrival order the
-- decider follows. Times we own are Unix milliseconds; `created_at` is
-- Meta's, in Unix seconds. A record is leased (to one replica's decider or
-- applier) while `lease_until` is in the future; `lease_owner` names the
-- replica, so only it renews or releases the lease.
CREATE TABLE records (
    id              BIGSERIAL PRIMARY KEY,
    group_id        TEXT    NOT NULL,
    join_request_id TEXT    NOT NULL,
    wa_id           TEXT,
    user_id         TEXT,
    username        TEXT,
    created_at      BIGINT,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'approving', 'rejecting', 'held',
                                                      'approved', 'rejected', 'revoked', 'gone', 'failed')),
    decision        TEXT    CHECK (decision IN ('approve', 'reject', 'hold')),
    rule            TEXT,
    reason          TEXT,
    code            BIGINT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    first_seen_at   BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    not_before      BIGINT  NOT NULL DEFAULT 0,
    lease_until     BIGINT  NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    UNIQUE (group_id, join_request_id)
);
CREATE INDEX records_state ON records (state, id);

-- One row per state change: the audit trail.
CREATE TABLE audit (
    id              BIGSERIAL PRIMARY KEY,
    at              BIGINT  NOT NULL,
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
