-- Operations: the operators' actions (an audit trail next to the log), the ledger audit runs the
-- dashboard shows, and indexes for the dashboard's time-window statistics.

CREATE TABLE admin_actions (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    admin    TEXT        NOT NULL CHECK (length(admin) BETWEEN 1 AND 128),
    action   TEXT        NOT NULL CHECK (action ~ '^[a-z_]{1,32}$'),
    target   TEXT        NOT NULL CHECK (length(target) <= 128),
    details  JSONB       NOT NULL DEFAULT '{}'::jsonb,
    node_id  TEXT        NOT NULL CHECK (length(node_id) BETWEEN 1 AND 128)
);
CREATE INDEX admin_actions_at_idx ON admin_actions (id DESC);

CREATE TABLE audit_runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checked_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    ok           BOOLEAN     NOT NULL,
    breaches     INT         NOT NULL CHECK (breaches >= 0),
    duration_ms  BIGINT      NOT NULL CHECK (duration_ms >= 0),
    requested_by TEXT        NOT NULL
);

CREATE INDEX crash_bets_created_idx ON crash_bets (created_at);
CREATE INDEX instant_bets_created_idx ON instant_bets (created_at);
