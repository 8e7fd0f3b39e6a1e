-- Items players buy with their balance (issue 17). Money never lives here: a purchase's price moves from
-- the player to their treasury pool sub-account through one ledger transfer, posted in the same
-- transaction as the purchase row and the inventory change.

-- The catalog operators manage. A code never changes once created (purchases and clients refer to it).
CREATE TABLE items (
    id                BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code              TEXT        NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{1,64}$'),
    name              TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- At most AMOUNT_MAX_MICROS, like any single transfer.
    price_micros      BIGINT      NOT NULL CHECK (price_micros > 0 AND price_micros <= 1000000000000000),
    currency          TEXT        NOT NULL,
    active            BOOLEAN     NOT NULL DEFAULT true,
    -- The most of this item one player may hold; NULL: no limit.
    per_player_limit  BIGINT      CHECK (per_player_limit IS NULL OR per_player_limit > 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Every purchase a player asked for under an idempotency key, posted or refused: a retry of the key
-- answers what the first request got. A refused row moved nothing (an insufficient-funds refusal also
-- left the ledger's own rejected row under the same key).
CREATE TABLE purchases (
    id                 UUID        PRIMARY KEY,
    player_id          UUID        NOT NULL REFERENCES players (id),
    item_id            BIGINT      NOT NULL REFERENCES items (id),
    quantity           BIGINT      NOT NULL CHECK (quantity > 0),
    unit_price_micros  BIGINT      NOT NULL CHECK (unit_price_micros > 0),
    -- NULL only on a refused row whose price x quantity overflowed.
    total_micros       BIGINT      CHECK (total_micros IS NULL OR total_micros::numeric = unit_price_micros::numeric * quantity),
    -- The ledger transfer's key: `purchase:{player id}:{client key}`.
    idempotency_key    TEXT        NOT NULL UNIQUE,
    status             TEXT        NOT NULL CHECK (status IN ('posted', 'refused')),
    refusal_code       TEXT        CHECK (refusal_code IN ('item_inactive', 'item_limit_reached', 'amount_overflow',
                                                          'insufficient_funds', 'currency_mismatch', 'balance_overflow')),
    transfer_id        UUID        REFERENCES transfers (id),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((status = 'posted') = (transfer_id IS NOT NULL)),
    CHECK ((status = 'posted') = (refusal_code IS NULL)),
    CHECK (total_micros IS NOT NULL OR status = 'refused')
);

-- One posted purchase per transfer; also serves the audit's look-up from a transfer to its purchase.
CREATE UNIQUE INDEX purchases_transfer_idx ON purchases (transfer_id) WHERE transfer_id IS NOT NULL;

-- What each player holds. Only purchases write it, under the lock of the player's account row.
CREATE TABLE inventory (
    player_id   UUID        NOT NULL REFERENCES players (id),
    item_id     BIGINT      NOT NULL REFERENCES items (id),
    quantity    BIGINT      NOT NULL CHECK (quantity >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (player_id, item_id)
);
