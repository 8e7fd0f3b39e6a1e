-- The crash game: hash chains per room, rounds and bets. Money never lives here: every stake, win and
-- refund is a ledger transfer keyed by the bet id ('crash:stake:<id>', 'crash:win:<id>',
-- 'crash:refund:<id>'); these rows record what the game decided so that recovery can finish it.

CREATE TABLE crash_chains (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room              TEXT        NOT NULL,
    salt              TEXT        NOT NULL,
    terminating_hash  TEXT        NOT NULL,
    length            INT         NOT NULL CHECK (length >= 2),
    -- Game g of the chain uses link (length - 1 - g); games run from 1 to length - 1.
    next_game         INT         NOT NULL DEFAULT 1 CHECK (next_game >= 1 AND next_game <= length),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX crash_chains_room_idx ON crash_chains (room, id DESC);

-- The links are secret until their game has crashed; only revealed rounds' hashes leave the server.
CREATE TABLE crash_chain_links (
    chain_id  BIGINT NOT NULL REFERENCES crash_chains (id),
    idx       INT    NOT NULL,
    hash      BYTEA  NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (chain_id, idx)
);

CREATE TABLE crash_rounds (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room               TEXT        NOT NULL,
    chain_id           BIGINT      NOT NULL REFERENCES crash_chains (id),
    game_number        INT         NOT NULL,
    hash               BYTEA       NOT NULL,
    crash_point        INT         NOT NULL CHECK (crash_point >= 100),
    phase              TEXT        NOT NULL CHECK (phase IN ('betting', 'running', 'crashed', 'aborted')),
    settled            BOOLEAN     NOT NULL DEFAULT false,
    betting_opened_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    running_at         TIMESTAMPTZ,
    crashed_at         TIMESTAMPTZ,
    bet_count          INT         NOT NULL DEFAULT 0,
    total_staked       BIGINT      NOT NULL DEFAULT 0,
    total_paid         BIGINT      NOT NULL DEFAULT 0,
    UNIQUE (chain_id, game_number)
);
CREATE INDEX crash_rounds_room_idx ON crash_rounds (room, id DESC);
CREATE INDEX crash_rounds_unsettled_idx ON crash_rounds (room) WHERE NOT settled;

CREATE TABLE crash_bets (
    id                  UUID        PRIMARY KEY,
    round_id            BIGINT      NOT NULL REFERENCES crash_rounds (id),
    player_id           UUID        NOT NULL REFERENCES players (id),
    account_id          BIGINT      NOT NULL REFERENCES accounts (id),
    client_bet_id       TEXT        NOT NULL CHECK (length(client_bet_id) BETWEEN 1 AND 64),
    amount              BIGINT      NOT NULL CHECK (amount > 0),
    auto_cashout        INT         CHECK (auto_cashout IS NULL OR auto_cashout > 100),
    -- pending: stake not yet confirmed; open: in play; cashing_out: the cashout is decided (multiplier and
    -- payout recorded) and the win is being credited; void: the stake never moved.
    status              TEXT        NOT NULL CHECK (status IN ('pending', 'open', 'cashing_out', 'cashed_out', 'lost', 'refunded', 'void')),
    cashout_multiplier  INT,
    payout              BIGINT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at          TIMESTAMPTZ,
    UNIQUE (player_id, client_bet_id),
    CHECK ((status IN ('cashing_out', 'cashed_out')) = (cashout_multiplier IS NOT NULL AND payout IS NOT NULL))
);
CREATE INDEX crash_bets_round_idx ON crash_bets (round_id);
CREATE INDEX crash_bets_open_idx ON crash_bets (round_id) WHERE status IN ('pending', 'open', 'cashing_out');
