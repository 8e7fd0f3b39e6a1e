-- Room leadership fences. A node that wins a room's Redis lease takes the next fencing token here; every
-- write a room leader makes checks that its token is still the room's current one (under a key-share lock
-- that the next takeover's FOR UPDATE waits for), so a deposed leader can never write after its successor
-- has started. Postgres holds the token because Redis replication is asynchronous: a Redis failover may
-- forget a lease, but never rolls this counter back.
CREATE TABLE crash_room_leaders (
    room           TEXT        PRIMARY KEY,
    fencing_token  BIGINT      NOT NULL CHECK (fencing_token >= 0),
    node_id        TEXT        NOT NULL,
    acquired_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A reconnecting player gets their bets of the current round back, from whichever node they reach.
CREATE INDEX crash_bets_player_round_idx ON crash_bets (player_id, round_id);

-- The fencing token of the leader that started each round. A leader's recovery only touches rounds started
-- under its own token or older ones, so a deposed leader that still runs recovery can never refund a bet
-- of its successor's live round.
ALTER TABLE crash_rounds ADD COLUMN leader_token BIGINT NOT NULL DEFAULT 0;
