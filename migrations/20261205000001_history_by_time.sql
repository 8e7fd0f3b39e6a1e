-- A player's history across every game is merged by time (created_at, then id), so each table that
-- holds bets is read newest first by (player_id, created_at, id). These replace the id-ordered history
-- indexes, which only the per-game history read.
DROP INDEX crash_bets_player_history_idx;
CREATE INDEX crash_bets_player_time_idx ON crash_bets (player_id, created_at DESC, id DESC);
DROP INDEX instant_bets_history_idx;
CREATE INDEX instant_bets_player_time_idx ON instant_bets (player_id, created_at DESC, id DESC);
