-- Outside game providers (issue 16): the game catalog, launched game sessions, and the journal of every
-- seamless-wallet call a provider made. As everywhere, money lives only in the ledger: a provider's bet or
-- win is a ledger transfer between the player and that provider's own house sub-account, posted in the
-- same Postgres transaction as its journal row.

-- A player the operator disabled, or who excluded themself until a date, may not start a game or place a
-- bet with any provider (wins and refunds are still paid). Issue 17 builds the player's own controls on it.
ALTER TABLE players
    ADD COLUMN status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    ADD COLUMN self_excluded_until TIMESTAMPTZ;

-- Studios whose games the lobby carries, and 'house' for our own.
CREATE TABLE providers (
    id            TEXT        PRIMARY KEY CHECK (id ~ '^[a-z0-9_-]{2,32}$'),
    name          TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- Which wire protocol its calls speak: ours ('generic'), Hub88's operator API ('hub88'), or none
    -- ('house': our own games move money through the ledger directly).
    protocol      TEXT        NOT NULL CHECK (protocol IN ('house', 'generic', 'hub88')),
    -- generic: the HMAC-SHA256 secret; hub88: the PEM public key its calls are signed with.
    secret        TEXT        CHECK (secret IS NULL OR length(secret) BETWEEN 16 AND 8192),
    public_key    TEXT        CHECK (public_key IS NULL OR length(public_key) BETWEEN 64 AND 8192),
    -- Where a launched session of its games opens: {token}, {game_code}, {player}, {currency}, {session}
    -- are substituted.
    launch_url    TEXT        NOT NULL DEFAULT '' CHECK (length(launch_url) <= 1024),
    currencies    TEXT[]      NOT NULL DEFAULT '{}',
    active        BOOLEAN     NOT NULL DEFAULT true,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (protocol <> 'generic' OR secret IS NOT NULL),
    CHECK (protocol <> 'hub88' OR public_key IS NOT NULL)
);

INSERT INTO providers (id, name, protocol, currencies) VALUES ('house', 'House games', 'house', '{}');

-- The lobby: every game a player may be shown, ours and the providers'.
CREATE TABLE games (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider_id   TEXT        NOT NULL REFERENCES providers (id),
    code          TEXT        NOT NULL CHECK (code ~ '^[A-Za-z0-9_.:-]{1,100}$'),
    name          TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category      TEXT        NOT NULL CHECK (category ~ '^[a-z0-9_-]{1,32}$'),
    -- Declared return to player in basis points (9650 = 96.50%).
    rtp_bps       INT         NOT NULL CHECK (rtp_bps BETWEEN 1 AND 10000),
    volatility    TEXT        CHECK (volatility IS NULL OR volatility IN ('low', 'medium', 'high', 'very_high')),
    bet_min_micros BIGINT     NOT NULL CHECK (bet_min_micros > 0),
    bet_max_micros BIGINT     NOT NULL CHECK (bet_max_micros >= bet_min_micros),
    active        BOOLEAN     NOT NULL DEFAULT true,
    metadata      JSONB       NOT NULL DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (provider_id, code)
);
CREATE INDEX games_lobby_idx ON games (category, provider_id, id) WHERE active;

-- A launched game: the token a provider's calls carry (bets need it unexpired; wins and refunds do not).
CREATE TABLE game_sessions (
    id            UUID        PRIMARY KEY,
    player_id     UUID        NOT NULL REFERENCES players (id),
    game_id       BIGINT      NOT NULL REFERENCES games (id),
    provider_id   TEXT        NOT NULL REFERENCES providers (id),
    currency      TEXT        NOT NULL CHECK (currency ~ '^[A-Z]{3,8}$'),
    token         TEXT        NOT NULL UNIQUE CHECK (length(token) BETWEEN 32 AND 128),
    url           TEXT        NOT NULL CHECK (length(url) <= 2048),
    status        TEXT        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX game_sessions_player_idx ON game_sessions (player_id, created_at DESC);

-- One player's part of one provider round: whether it is closed and what it moved so far.
CREATE TABLE provider_rounds (
    provider_id     TEXT        NOT NULL REFERENCES providers (id),
    round_id        TEXT        NOT NULL CHECK (length(round_id) BETWEEN 1 AND 128),
    player_id       UUID        NOT NULL REFERENCES players (id),
    game_id         BIGINT      NOT NULL REFERENCES games (id),
    -- Bets taken and not rolled back; a win needs one unless it is a free round or a promotion.
    live_bets       INT         NOT NULL DEFAULT 0 CHECK (live_bets >= 0),
    bets            INT         NOT NULL DEFAULT 0 CHECK (bets >= live_bets),
    -- Wins credited (zero wins count: a lost bet is settled, so it can no longer be rolled back).
    wins            INT         NOT NULL DEFAULT 0 CHECK (wins >= 0),
    staked_micros   BIGINT      NOT NULL DEFAULT 0 CHECK (staked_micros >= 0),
    won_micros      BIGINT      NOT NULL DEFAULT 0 CHECK (won_micros >= 0),
    closed_at       TIMESTAMPTZ,
    -- Who closed it: the provider (round_closed or end_round) or an operator's admin action.
    closed_by       TEXT        CHECK (closed_by IS NULL OR closed_by IN ('provider', 'operator')),
    opened_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_call_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_id, round_id, player_id),
    CHECK ((closed_at IS NULL) = (closed_by IS NULL))
);
-- Rounds a provider left open, oldest first, for the operators' list.
CREATE INDEX provider_rounds_open_idx ON provider_rounds (last_call_at) WHERE closed_at IS NULL;

-- Every provider call that named a transaction, answered or refused, keyed by the provider's own id.
-- An exact retry finds its row and gets the answer stored here; the same id with other fields is refused.
-- Rows are kept at least `providers.journal_retention_days` (Hub88 asks for 4 months).
CREATE TABLE provider_transactions (
    provider_id         TEXT        NOT NULL REFERENCES providers (id),
    transaction_id      TEXT        NOT NULL CHECK (length(transaction_id) BETWEEN 1 AND 128),
    kind                TEXT        NOT NULL CHECK (kind IN ('bet', 'win', 'rollback')),
    player_id           UUID        NOT NULL REFERENCES players (id),
    game_id             BIGINT      REFERENCES games (id),
    round_id            TEXT        CHECK (round_id IS NULL OR length(round_id) BETWEEN 1 AND 128),
    -- The bet a win or a rollback names.
    reference_id        TEXT        CHECK (reference_id IS NULL OR length(reference_id) BETWEEN 1 AND 128),
    amount_micros       BIGINT      CHECK (amount_micros IS NULL OR amount_micros >= 0),
    currency            TEXT        NOT NULL CHECK (currency ~ '^[A-Z]{3,8}$'),
    -- Free rounds and promotions may credit without a bet.
    free                BOOLEAN     NOT NULL DEFAULT false,
    -- Hex SHA-256 of the fields that identify the call; a retry must match it exactly.
    request_hash        TEXT        CHECK (request_hash IS NULL OR request_hash ~ '^[0-9a-f]{64}$'),
    -- ok: answered with success (money moved if any was due); refused: answered with `status_code`;
    -- rolled_back: a bet that a rollback took back; rolled_back_unseen: a bet id a rollback named before
    -- the bet arrived (no request of its own, so no hash): the bet, when it comes, is refused.
    status              TEXT        NOT NULL CHECK (status IN ('ok', 'refused', 'rolled_back', 'rolled_back_unseen')),
    status_code         TEXT        NOT NULL CHECK (status_code ~ '^[a-z_]{1,48}$'),
    balance_before      BIGINT,
    balance_after       BIGINT,
    ledger_transfer_id  UUID,
    -- The answer body as it was first sent (the protocol's own format).
    answer              JSONB,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_id, transaction_id),
    CHECK ((status = 'rolled_back_unseen') = (request_hash IS NULL))
);
CREATE INDEX provider_transactions_round_idx ON provider_transactions (provider_id, round_id, player_id)
    WHERE round_id IS NOT NULL;
CREATE INDEX provider_transactions_created_idx ON provider_transactions (created_at);
