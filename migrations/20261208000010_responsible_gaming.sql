-- Responsible gaming (issue 17): an operator blocks a player, a player excludes themself for a while or
-- sets limits on deposits, losses, wagers and session time. They are enforced where money is staked: in
-- the wallet's batch planner and the provider journal, so every game and node obeys them alike.

-- 'disabled' becomes 'blocked'. Self-exclusion stays a date: the status a player sees is derived
-- (self_excluded while self_excluded_until is in the future).
ALTER TABLE players DROP CONSTRAINT players_status_check;
UPDATE players SET status = 'blocked' WHERE status = 'disabled';
ALTER TABLE players ADD CONSTRAINT players_status_known CHECK (status IN ('active', 'blocked'));

-- One row for each player the batch planner must look at: a limit (or a pending change of one), a
-- non-active status or a self-exclusion. Players without a row cost the wallet one index probe.
-- Every writer locks the player's `accounts` row FOR UPDATE first, and bumps `revision`: the wallet's
-- optimistic path compares and sets it, so a batch never acts on a row that changed under it.
CREATE TABLE player_guards (
    account_id                  BIGINT      PRIMARY KEY REFERENCES accounts (id),
    -- Copies of players.status and players.self_excluded_until, written in the same transaction.
    status                      TEXT        NOT NULL DEFAULT 'active',
    self_excluded_until         TIMESTAMPTZ,
    -- The limits with their pending raises, keyed "deposit_day" ... "wager_month" and "session":
    -- {"amount": micros|minutes|null, "pending": null|{"amount": ..., "effective_at": RFC 3339}}.
    limits                      JSONB       NOT NULL DEFAULT '{}',
    -- Usage of the current calendar periods (UTC; weeks start on Monday), each with the start of the
    -- period it counts: a batch that finds an older start counts from zero.
    day_started_at              TIMESTAMPTZ NOT NULL,
    day_deposited_micros        BIGINT      NOT NULL DEFAULT 0,
    day_wagered_micros          BIGINT      NOT NULL DEFAULT 0,
    -- Stakes minus wins and refunds: negative when the player is ahead.
    day_net_loss_micros         BIGINT      NOT NULL DEFAULT 0,
    week_started_at             TIMESTAMPTZ NOT NULL,
    week_deposited_micros       BIGINT      NOT NULL DEFAULT 0,
    week_wagered_micros         BIGINT      NOT NULL DEFAULT 0,
    week_net_loss_micros        BIGINT      NOT NULL DEFAULT 0,
    month_started_at            TIMESTAMPTZ NOT NULL,
    month_deposited_micros      BIGINT      NOT NULL DEFAULT 0,
    month_wagered_micros        BIGINT      NOT NULL DEFAULT 0,
    month_net_loss_micros       BIGINT      NOT NULL DEFAULT 0,
    -- A session starts with a stake after a break without one; it lasts until the next such break.
    session_started_at          TIMESTAMPTZ,
    last_stake_at               TIMESTAMPTZ,
    -- The break (minutes without a stake) that ends a session, fixed when the row is written.
    session_break_minutes       INT         NOT NULL DEFAULT 15,
    revision                    BIGINT      NOT NULL DEFAULT 0,
    updated_at                  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT player_guards_status_known CHECK (status IN ('active', 'blocked')),
    CONSTRAINT player_guards_limits_object CHECK (jsonb_typeof(limits) = 'object'),
    CONSTRAINT player_guards_deposited_not_negative
        CHECK (day_deposited_micros >= 0 AND week_deposited_micros >= 0 AND month_deposited_micros >= 0),
    CONSTRAINT player_guards_wagered_not_negative
        CHECK (day_wagered_micros >= 0 AND week_wagered_micros >= 0 AND month_wagered_micros >= 0),
    CONSTRAINT player_guards_session_break_positive CHECK (session_break_minutes > 0),
    CONSTRAINT player_guards_session_consistent
        CHECK ((session_started_at IS NULL) = (last_stake_at IS NULL)),
    CONSTRAINT player_guards_revision_not_negative CHECK (revision >= 0)
);

-- Blocked and self-excluded players already present get their row.
INSERT INTO player_guards (account_id, status, self_excluded_until, day_started_at, week_started_at,
                           month_started_at)
SELECT account_id, status, self_excluded_until, date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
FROM players WHERE status <> 'active' OR self_excluded_until IS NOT NULL;
