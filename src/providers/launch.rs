//! Launching a catalog game: checks the player, the game and the balance, opens a game session.
