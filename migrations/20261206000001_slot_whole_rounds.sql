-- Rounds played whole (issue 15, Stake Engine's RGS protocol): every step is shown at the paid spin and a
-- win waits for the player's round end (or the abandoned-round sweep) instead of the last reveal.
-- by_step: the player reveals the steps one by one (our own API); whole: all revealed at once.
ALTER TABLE slot_rounds ADD COLUMN reveal TEXT NOT NULL DEFAULT 'by_step' CHECK (reveal IN ('by_step', 'whole'));

-- A numeric round id for clients that want one (Stake Engine's `betID`, a JavaScript number): below 2^53.
ALTER TABLE slot_rounds ADD COLUMN bet_id BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX slot_rounds_bet_id_idx ON slot_rounds (bet_id);
