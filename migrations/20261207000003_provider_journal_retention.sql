-- Providers retry wins and rollbacks for up to a day and reconcile for months (Hub88 asks for 4 months):
-- a journal row that disappeared would let a retry pay twice. Whatever the code or an operator does, the
-- database refuses to delete a journal row younger than 122 days (the least `providers.journal_retention_days`
-- accepts) or to change what it recorded.
CREATE FUNCTION provider_transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.created_at > now() - interval '122 days' THEN
            RAISE EXCEPTION 'provider journal rows are kept at least 122 days (% of % is younger)',
                OLD.transaction_id, OLD.provider_id;
        END IF;
        RETURN OLD;
    END IF;
    -- Only a bet's rollback changes a row: its status moves from ok to rolled_back.
    IF ROW(NEW.provider_id, NEW.transaction_id, NEW.kind, NEW.player_id, NEW.amount_micros, NEW.request_hash,
           NEW.ledger_transfer_id, NEW.answer, NEW.created_at)
       IS DISTINCT FROM
       ROW(OLD.provider_id, OLD.transaction_id, OLD.kind, OLD.player_id, OLD.amount_micros, OLD.request_hash,
           OLD.ledger_transfer_id, OLD.answer, OLD.created_at)
       OR NOT (NEW.status = OLD.status OR (OLD.status = 'ok' AND NEW.status = 'rolled_back')) THEN
        RAISE EXCEPTION 'provider journal row % of % may only move from ok to rolled_back',
            OLD.transaction_id, OLD.provider_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER provider_transactions_guard
    BEFORE UPDATE OR DELETE ON provider_transactions
    FOR EACH ROW EXECUTE FUNCTION provider_transactions_guard();
