-- A crash bet's round, player and account exist, checked once per statement instead of by three foreign
-- keys per row (issue 18). A foreign key check runs a query per row and locks the row it finds `FOR KEY
-- SHARE`: every bet of a burst locked the same round row (a multixact per concurrent writer), its
-- player's row, and its account's row, which the stake's wallet batch updates at the same moment. The
-- checks were two thirds of a batch insert's time. The locks only guard against deletion or a change of
-- id, which the triggers below refuse outright (accounts already are permanent), so an unlocked
-- existence check gives the same guarantee.
ALTER TABLE crash_bets DROP CONSTRAINT crash_bets_round_id_fkey,
                       DROP CONSTRAINT crash_bets_player_id_fkey,
                       DROP CONSTRAINT crash_bets_account_id_fkey;

CREATE FUNCTION crash_bets_name_existing_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT CASE
               WHEN round.id IS NULL THEN format('round %s', new_row.round_id)
               WHEN player.id IS NULL THEN format('player %s', new_row.player_id)
               ELSE format('account %s', new_row.account_id)
           END
    INTO missing
    FROM new_bets AS new_row
    LEFT JOIN crash_rounds AS round ON round.id = new_row.round_id
    LEFT JOIN players AS player ON player.id = new_row.player_id
    LEFT JOIN accounts AS account ON account.id = new_row.account_id
    WHERE round.id IS NULL OR player.id IS NULL OR account.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a crash bet names %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER crash_bets_name_existing_rows AFTER INSERT ON crash_bets
    REFERENCING NEW TABLE AS new_bets
    FOR EACH STATEMENT EXECUTE FUNCTION crash_bets_name_existing_rows();

-- A bet's status changes two or three times in its life (open, then cashing out, cashed out or lost). An
-- index whose predicate names the status makes every one of those updates write a new entry into each of
-- the table's indexes; the round's bets are found by `crash_bets_round_idx` just as well, so the partial
-- index goes, and pages keep room for the new row versions to stay on them (heap-only updates).
DROP INDEX crash_bets_open_idx;
ALTER TABLE crash_bets SET (fillfactor = 80);

-- A bet keeps the round, player and account it was placed with.
CREATE FUNCTION crash_bets_keep_their_owners() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a crash bet never changes its round, player or account'
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER crash_bets_keep_their_owners BEFORE UPDATE OF round_id, player_id, account_id ON crash_bets
    FOR EACH ROW EXECUTE FUNCTION crash_bets_keep_their_owners();

-- Rounds and players are history that bets refer to: none is deleted, truncated or renumbered.
CREATE FUNCTION rows_are_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted and never change their id', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER crash_rounds_are_permanent BEFORE DELETE OR UPDATE OF id ON crash_rounds
    FOR EACH ROW EXECUTE FUNCTION rows_are_permanent();
CREATE TRIGGER crash_rounds_are_never_truncated BEFORE TRUNCATE ON crash_rounds
    FOR EACH STATEMENT EXECUTE FUNCTION rows_are_permanent();
CREATE TRIGGER players_are_permanent BEFORE DELETE OR UPDATE OF id ON players
    FOR EACH ROW EXECUTE FUNCTION rows_are_permanent();
CREATE TRIGGER players_are_never_truncated BEFORE TRUNCATE ON players
    FOR EACH STATEMENT EXECUTE FUNCTION rows_are_permanent();
