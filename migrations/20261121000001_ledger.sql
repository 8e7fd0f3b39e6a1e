-- The double-entry ledger. Postgres is the source of truth for money: balances are derived from
-- immutable transfers, and the database itself refuses a negative player balance.

CREATE TABLE accounts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A readable, unique name: 'player:<uuid>', 'house:USD:3', 'treasury:USD'.
    code        TEXT        NOT NULL UNIQUE,
    kind        TEXT        NOT NULL CHECK (kind IN ('player', 'house', 'treasury')),
    currency    TEXT        NOT NULL CHECK (currency ~ '^[A-Z]{3,8}$'),
    balance     BIGINT      NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The last line of defence: whatever the code does, a player never owes the house.
    CONSTRAINT player_balance_not_negative CHECK (kind <> 'player' OR balance >= 0)
-- Balances change constantly: free room in every page lets Postgres update a row in place (a HOT
-- update) without writing new entries into both indexes.
) WITH (fillfactor = 70);

-- Every transfer request that reached the ledger, posted or rejected, keyed by its idempotency key.
-- Rows are never updated or deleted. Only posted rows move money; a rejected row makes a failed key
-- stay failed on retry.
CREATE TABLE transfers (
    id                    UUID        PRIMARY KEY,
    idempotency_key       TEXT        NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    debit_account_id      BIGINT      NOT NULL REFERENCES accounts (id),
    credit_account_id     BIGINT      NOT NULL REFERENCES accounts (id),
    amount                BIGINT      NOT NULL CHECK (amount > 0),
    currency              TEXT        NOT NULL,
    kind                  TEXT        NOT NULL,
    reference             TEXT        NOT NULL CHECK (length(reference) <= 200),
    status                TEXT        NOT NULL CHECK (status IN ('posted', 'rejected')),
    rejection_code        TEXT,
    debit_balance_after   BIGINT,
    credit_balance_after  BIGINT,
    -- The player side of the transfer (no transfer has two), kept for the history index below.
    player_account_id     BIGINT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (debit_account_id <> credit_account_id),
    CHECK (player_account_id IS NULL OR player_account_id IN (debit_account_id, credit_account_id)),
    CHECK ((status = 'posted') = (rejection_code IS NULL)),
    CHECK ((status = 'posted') = (debit_balance_after IS NOT NULL AND credit_balance_after IS NOT NULL))
);

-- A player's history, newest first (ids are UUIDv7, so they sort by time). One index serves both sides
-- of a player's transfers; every extra index on this table costs each transfer another write.
CREATE INDEX transfers_player_history_idx ON transfers (player_account_id, id DESC)
    WHERE player_account_id IS NOT NULL;

CREATE TABLE players (
    id             UUID        PRIMARY KEY,
    username       TEXT        NOT NULL,
    password_hash  TEXT        NOT NULL,
    account_id     BIGINT      NOT NULL UNIQUE REFERENCES accounts (id),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Usernames are unique regardless of case, so 'Alice' and 'alice' cannot both sign up.
CREATE UNIQUE INDEX players_username_lower_idx ON players (lower(username));
