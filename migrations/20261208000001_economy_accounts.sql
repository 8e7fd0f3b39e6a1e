-- The player economy's accounts: treasury pool sub-accounts (the operator's purse, one per wallet
-- shard, never negative) and players' bonus accounts (never negative). Only the root treasury and the
-- house sub-accounts may go below zero.
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('player', 'house', 'treasury', 'treasury_pool', 'bonus'));
ALTER TABLE accounts DROP CONSTRAINT player_balance_not_negative;
ALTER TABLE accounts ADD CONSTRAINT owned_balance_not_negative
    CHECK (kind IN ('house', 'treasury') OR balance >= 0);
