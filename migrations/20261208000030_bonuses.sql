-- Referrals and bonus money (issue 17). Bonus money lives in a player's `bonus:{player id}` ledger
-- account; `player_bonus` holds its wagering progress, written by the wallet batches with a
-- compare-and-set on `revision` (every writer also holds the player's accounts row lock).
CREATE TABLE player_bonus (
    player_account_id        BIGINT PRIMARY KEY REFERENCES accounts (id),
    bonus_account_id         BIGINT NOT NULL UNIQUE REFERENCES accounts (id),
    wagering_required_micros BIGINT NOT NULL DEFAULT 0 CHECK (wagering_required_micros >= 0),
    wagered_micros           BIGINT NOT NULL DEFAULT 0 CHECK (wagered_micros >= 0),
    conversions              BIGINT NOT NULL DEFAULT 0 CHECK (conversions >= 0),
    revision                 BIGINT NOT NULL DEFAULT 0
);

-- One row per bonus paid: the ledger transfer is the money, this row says why.
CREATE TABLE bonus_grants (
    idempotency_key     TEXT        PRIMARY KEY REFERENCES transfers (idempotency_key),
    player_account_id   BIGINT      NOT NULL REFERENCES accounts (id),
    reason              TEXT        NOT NULL CHECK (reason IN ('referral_referee', 'referral_referrer', 'admin')),
    amount_micros       BIGINT      NOT NULL CHECK (amount_micros > 0),
    wagering_multiplier INTEGER     NOT NULL CHECK (wagering_multiplier >= 1),
    transfer_id         UUID        NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX bonus_grants_player_idx ON bonus_grants (player_account_id);

-- Every player's own referral code: 8 characters of Crockford's base32 alphabet. Existing players get
-- one derived from their id (md5 bytes mapped onto the alphabet).
ALTER TABLE players ADD COLUMN referral_code TEXT;
UPDATE players SET referral_code = (
    SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                             get_byte(decode(md5(players.id::text), 'hex'), n) % 32 + 1, 1), '' ORDER BY n)
    FROM generate_series(0, 7) AS n
);
ALTER TABLE players ALTER COLUMN referral_code SET NOT NULL;
CREATE UNIQUE INDEX players_referral_code_idx ON players (referral_code);

CREATE TABLE referrals (
    referee_player_id  UUID        PRIMARY KEY REFERENCES players (id),
    referrer_player_id UUID        NOT NULL REFERENCES players (id),
    status             TEXT        NOT NULL CHECK (status IN ('pending', 'paid', 'capped', 'refused')),
    refusal_code       TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    paid_at            TIMESTAMPTZ,
    CHECK (referee_player_id <> referrer_player_id),
    CHECK ((status = 'paid') = (paid_at IS NOT NULL))
);
CREATE INDEX referrals_referrer_day_idx ON referrals (referrer_player_id, created_at);
CREATE INDEX referrals_pending_idx ON referrals (created_at) WHERE status = 'pending';

-- The key of a request's second leg (wallet::bonus::leg_key), and every transfer with its second leg's
-- amount added: what a game recorded for a stake or a payout split between cash and bonus money.
CREATE FUNCTION bonus_leg_key(key TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT
    RETURN 'bonus-leg:' || encode(sha256(convert_to(key, 'UTF8')), 'hex');

CREATE VIEW transfer_totals AS
    SELECT t.id, t.idempotency_key, t.kind, t.status, t.reference, t.created_at,
           t.amount + coalesce(l.amount, 0) AS amount
    FROM transfers t
    LEFT JOIN transfers l ON l.idempotency_key = bonus_leg_key(t.idempotency_key) AND l.status = 'posted';
