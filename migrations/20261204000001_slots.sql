-- Slot games served to players (issue 15). As with the instant games, money never lives here: a round's
-- stake and win are ledger transfers keyed by the round id ('slots:stake:<id>', 'slots:win:<id>'); these
-- rows record what the round decided and how far the player has seen it, so that any node, a retry or
-- the recovery sweep can carry it on.

-- Every math version a node ever served, with its files verbatim, so that any round replays under the
-- maths it was played with and anyone can recompute it from the published definition.
CREATE TABLE slot_math_versions (
    game_id          TEXT        NOT NULL CHECK (game_id ~ '^[a-z0-9_-]{1,64}$'),
    version          TEXT        NOT NULL CHECK (version ~ '^[0-9a-f]{64}$'),
    -- {"game.toml": "...", "base.csv": "...", ...}
    files            JSONB       NOT NULL,
    first_served_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (game_id, version)
);

-- A game session: what `POST /api/v1/game/init` opens (and Stake Engine's `sessionID`).
CREATE TABLE slot_sessions (
    id              UUID        PRIMARY KEY,
    player_id       UUID        NOT NULL REFERENCES players (id),
    account_id      BIGINT      NOT NULL REFERENCES accounts (id),
    game_id         TEXT        NOT NULL CHECK (game_id ~ '^[a-z0-9_-]{1,64}$'),
    platform        TEXT        NOT NULL CHECK (length(platform) BETWEEN 1 AND 32),
    locale          TEXT        NOT NULL CHECK (length(locale) BETWEEN 1 AND 16),
    client_version  TEXT        NOT NULL CHECK (length(client_version) BETWEEN 1 AND 32),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    closed_at       TIMESTAMPTZ,
    -- The last progress event a Stake Engine client stored (`POST /bet/event`), for its resume.
    last_event      TEXT        CHECK (last_event IS NULL OR length(last_event) <= 256),
    CHECK (expires_at > created_at)
);
CREATE INDEX slot_sessions_player_idx ON slot_sessions (player_id, created_at DESC);

-- pending: the stake is being debited; open: steps remain to reveal; paying: the round ended and its win
-- is being credited; settled: finished; void: the stake never moved (refused by the ledger).
CREATE TABLE slot_rounds (
    id               UUID        PRIMARY KEY,
    session_id       UUID        NOT NULL REFERENCES slot_sessions (id),
    player_id        UUID        NOT NULL REFERENCES players (id),
    account_id       BIGINT      NOT NULL REFERENCES accounts (id),
    game_id          TEXT        NOT NULL,
    math_version     TEXT        NOT NULL,
    mode             TEXT        NOT NULL CHECK (length(mode) BETWEEN 1 AND 32),
    client_spin_id   TEXT        NOT NULL CHECK (length(client_spin_id) BETWEEN 1 AND 64),
    seed_id          BIGINT      NOT NULL REFERENCES player_seeds (id),
    nonce            BIGINT      NOT NULL CHECK (nonce >= 0),
    bet_micros       BIGINT      NOT NULL CHECK (bet_micros > 0),
    stake_micros     BIGINT      NOT NULL CHECK (stake_micros >= bet_micros),
    -- The round's events split into the steps a player reveals one by one: [[event, ...], ...].
    steps            JSONB       NOT NULL,
    step_count       INT         NOT NULL CHECK (step_count BETWEEN 1 AND 1001),
    revealed_steps   INT         NOT NULL CHECK (revealed_steps BETWEEN 0 AND step_count),
    -- Hex SHA-256 of the events' canonical JSON, compared when the round is verified.
    events_hash      TEXT        NOT NULL CHECK (events_hash ~ '^[0-9a-f]{64}$'),
    win_centibet     BIGINT      NOT NULL CHECK (win_centibet >= 0),
    payout_micros    BIGINT      NOT NULL CHECK (payout_micros >= 0),
    status           TEXT        NOT NULL CHECK (status IN ('pending', 'open', 'paying', 'settled', 'void')),
    -- Who ended it: the last reveal, the player's end call, or the sweep of abandoned rounds.
    ended_by         TEXT        CHECK (ended_by IS NULL OR ended_by IN ('last_step', 'player', 'sweep', 'void')),
    end_client_key   TEXT        CHECK (end_client_key IS NULL OR length(end_client_key) BETWEEN 1 AND 64),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_activity_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at       TIMESTAMPTZ,
    FOREIGN KEY (game_id, math_version) REFERENCES slot_math_versions (game_id, version),
    UNIQUE (seed_id, nonce),
    UNIQUE (player_id, client_spin_id),
    CHECK ((status IN ('settled', 'void')) = (settled_at IS NOT NULL)),
    CHECK (status NOT IN ('paying', 'settled') OR revealed_steps = step_count)
);
-- One unfinished round per player and game: the database settles a race between two spins.
CREATE UNIQUE INDEX slot_rounds_one_unfinished_idx ON slot_rounds (player_id, game_id)
    WHERE status IN ('pending', 'open', 'paying');
-- Recall and history, newest first (ids are UUIDv7).
CREATE INDEX slot_rounds_player_idx ON slot_rounds (player_id, id DESC);
-- The sweeps' work lists.
CREATE INDEX slot_rounds_unsettled_idx ON slot_rounds (created_at) WHERE status IN ('pending', 'paying');
CREATE INDEX slot_rounds_open_idx ON slot_rounds (last_activity_at) WHERE status = 'open';
-- Measured RTP by game and hour on the dashboard.
CREATE INDEX slot_rounds_settled_idx ON slot_rounds (settled_at) WHERE status = 'settled';

-- Which Idempotency-Key revealed which step of a round, so that a retried reveal returns the same step.
CREATE TABLE slot_step_reveals (
    round_id     UUID        NOT NULL REFERENCES slot_rounds (id),
    step         INT         NOT NULL CHECK (step >= 1),
    client_key   TEXT        NOT NULL CHECK (length(client_key) BETWEEN 1 AND 64),
    revealed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (round_id, step),
    UNIQUE (round_id, client_key)
);
