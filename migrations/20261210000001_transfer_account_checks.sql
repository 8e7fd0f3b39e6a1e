-- A transfer's two accounts exist, checked once per statement instead of by two foreign keys per row
-- (issue 18). A foreign key check runs a query per row and locks the account it finds `FOR KEY SHARE`:
-- on a wallet batch that had just updated those same account rows, that wrote a second lock record on
-- each of them, and the two checks per transfer cost the wallet about a fifth of its throughput
-- (docs/BENCHMARKS.md). The lock only guards against the account's deletion or a change of its id, which
-- the triggers below refuse outright, so an unlocked existence check gives the same guarantee.
ALTER TABLE transfers DROP CONSTRAINT transfers_debit_account_id_fkey,
                      DROP CONSTRAINT transfers_credit_account_id_fkey;

CREATE FUNCTION transfers_name_existing_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing BIGINT;
BEGIN
    SELECT CASE WHEN debit.id IS NULL THEN new_row.debit_account_id ELSE new_row.credit_account_id END
    INTO missing
    FROM new_transfers AS new_row
    LEFT JOIN accounts AS debit ON debit.id = new_row.debit_account_id
    LEFT JOIN accounts AS credit ON credit.id = new_row.credit_account_id
    WHERE debit.id IS NULL OR credit.id IS NULL
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a transfer names account %, which does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER transfers_name_existing_accounts AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS new_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION transfers_name_existing_accounts();

-- Money history refers to accounts forever: none is deleted, truncated or renumbered.
CREATE FUNCTION accounts_are_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'accounts are never deleted and never change their id'
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER accounts_are_permanent BEFORE DELETE OR UPDATE OF id ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_are_permanent();
CREATE TRIGGER accounts_are_never_truncated BEFORE TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_are_permanent();
