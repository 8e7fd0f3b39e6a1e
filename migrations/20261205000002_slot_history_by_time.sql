-- The history lists slot rounds with every other game's bets by time (see 20261205000001).
DROP INDEX IF EXISTS slot_rounds_player_idx;
CREATE INDEX slot_rounds_player_time_idx ON slot_rounds (player_id, created_at DESC, id DESC);
-- Nothing reads settled rounds by settlement time (the dashboard reads by creation time), and every index
-- costs each status move of a round (they are never HOT updates, status being in partial predicates).
DROP INDEX IF EXISTS slot_rounds_settled_idx;
