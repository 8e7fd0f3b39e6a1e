-- An operator's pause of betting in a crash room: one row while the room is paused. Kept in Postgres, not
-- only in Redis, so that a Redis failover (asynchronous replication) can never silently lift a pause.
CREATE TABLE crash_room_pauses (
    room       TEXT        PRIMARY KEY CHECK (length(room) BETWEEN 1 AND 64),
    paused_by  TEXT        NOT NULL CHECK (length(paused_by) BETWEEN 1 AND 128),
    reason     TEXT        NOT NULL CHECK (length(reason) BETWEEN 1 AND 800),
    paused_at  TIMESTAMPTZ NOT NULL
);
