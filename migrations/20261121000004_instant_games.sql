-- The per-player games (Dice, Plinko, Mines). Money never lives here: every stake and win is a ledger
-- transfer keyed by the bet id ('instant:stake:<id>', 'instant:win:<id>'); these rows record what the game
-- decided, so that a retry or the recovery sweep can finish a bet a failure left half-way.

-- Each player's seed pairs. The active pair has no revealed_at; its server seed never leaves the server
-- (only its SHA-256 does) until the player rotates it, which reveals it and starts the next pair.
CREATE TABLE player_seeds (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    player_id         UUID        NOT NULL REFERENCES players (id),
    server_seed       TEXT        NOT NULL CHECK (server_seed ~ '^[0-9a-f]{64}$'),
    server_seed_hash  TEXT        NOT NULL CHECK (server_seed_hash ~ '^[0-9a-f]{64}$'),
    client_seed       TEXT        NOT NULL CHECK (length(client_seed) BETWEEN 1 AND 64),
    next_nonce        BIGINT      NOT NULL DEFAULT 0 CHECK (next_nonce >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    revealed_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX player_seeds_one_active_idx ON player_seeds (player_id) WHERE revealed_at IS NULL;
CREATE INDEX player_seeds_player_idx ON player_seeds (player_id, id DESC);

-- pending: the stake is being debited; open: a stepwise game waits for the player; paying: the payout is
-- decided and being credited; settled: finished (payout 0 for a loss); void: the stake never moved.
CREATE TABLE instant_bets (
    id             UUID        PRIMARY KEY,
    player_id      UUID        NOT NULL REFERENCES players (id),
    account_id     BIGINT      NOT NULL REFERENCES accounts (id),
    game           TEXT        NOT NULL CHECK (game ~ '^[a-z_]{1,32}$'),
    stepwise       BOOLEAN     NOT NULL,
    client_bet_id  TEXT        NOT NULL CHECK (length(client_bet_id) BETWEEN 1 AND 64),
    seed_id        BIGINT      NOT NULL REFERENCES player_seeds (id),
    nonce          BIGINT      NOT NULL CHECK (nonce >= 0),
    amount         BIGINT      NOT NULL CHECK (amount > 0),
    -- The payout limit when the bet was placed: a stepwise game ends before a reveal would pass it.
    payout_max     BIGINT      NOT NULL CHECK (payout_max > 0),
    options        JSONB       NOT NULL,
    state          JSONB       NOT NULL,
    status         TEXT        NOT NULL CHECK (status IN ('pending', 'open', 'paying', 'settled', 'void')),
    payout         BIGINT      CHECK (payout IS NULL OR payout >= 0),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at     TIMESTAMPTZ,
    UNIQUE (seed_id, nonce),
    UNIQUE (player_id, client_bet_id),
    CHECK (status NOT IN ('paying', 'settled') OR payout IS NOT NULL),
    CHECK ((status IN ('settled', 'void')) = (settled_at IS NOT NULL))
);
-- One unfinished game of each stepwise kind per player: the database settles a race between two bets.
CREATE UNIQUE INDEX instant_bets_one_open_game_idx ON instant_bets (player_id, game)
    WHERE stepwise AND status IN ('pending', 'open', 'paying');
-- A player's history per game, newest first (ids are UUIDv7, so they sort by time).
CREATE INDEX instant_bets_history_idx ON instant_bets (player_id, game, id DESC);
-- The recovery sweep's work list.
CREATE INDEX instant_bets_unfinished_idx ON instant_bets (created_at) WHERE status IN ('pending', 'paying');

-- A player's crash history, newest first (bet ids are UUIDv7).
CREATE INDEX crash_bets_player_history_idx ON crash_bets (player_id, id DESC);
