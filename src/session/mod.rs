//! Player sessions: one actix actor per WebSocket, with a heartbeat, bounded frames in and a bounded
//! queue out. The socket I/O itself lives in `transport`.

pub mod actor;
pub mod balance;
pub mod close_code;
pub mod limits;
pub mod players;
pub mod protocol;
pub mod reality_check;
pub mod relay;
mod timers;
pub mod transport;
