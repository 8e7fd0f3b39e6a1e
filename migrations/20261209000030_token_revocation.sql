-- Logout and token revocation (issue 19). A player token carries the player's `token_version` at issue
-- (claim `ver`); bumping it revokes every token issued before. Tokens issued before this migration have
-- no `ver` claim, read as 0, and keep working until the player's first revocation.
ALTER TABLE players ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0 CHECK (token_version >= 0);

-- Single tokens logged out (claim `jti`), kept until the token would have expired anyway. Rows past
-- their expiry mean nothing and are deleted by the next logout of the same player.
CREATE TABLE revoked_tokens (
    jti        UUID        PRIMARY KEY,
    player_id  UUID        NOT NULL REFERENCES players (id),
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX revoked_tokens_player_idx ON revoked_tokens (player_id, expires_at);
