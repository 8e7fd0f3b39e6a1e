-- Measured return to player (issue 16): per catalog game and hour, what settled bets staked and won and
-- how many rounds they were. Bets add to these rows in the transaction (or the statement) that settles
-- them, so the dashboard and the alert read a few rows per game instead of scanning the bets.
--
-- `shard` spreads concurrent writers of one game and hour over several rows, so that no single row is a
-- lock every node queues on: the provider wallet passes its shard index, house games a small function of
-- the player's account (crash rounds, settled one at a time by their room's leader, use 0). Readers sum
-- over shards.
--
-- Amounts are not checked non-negative: a provider's rollback subtracts its stake from the row of the hour
-- and shard it arrives on, which need not be the row its bet was added to. Sums over a game are what hold.
CREATE TABLE rtp_tracking (
    -- The start of the hour (UTC) the bets settled in.
    hour           TIMESTAMPTZ NOT NULL CHECK (extract(epoch FROM hour) % 3600 = 0),
    game_id        BIGINT      NOT NULL REFERENCES games (id),
    shard          INT         NOT NULL CHECK (shard >= 0),
    staked_micros  BIGINT      NOT NULL DEFAULT 0,
    won_micros     BIGINT      NOT NULL DEFAULT 0,
    rounds         BIGINT      NOT NULL DEFAULT 0,
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The hour first: the readers ask for every game over the last hours, the writers for one exact row.
    PRIMARY KEY (hour, game_id, shard)
);
