//! A node's draining state: an operator asks a node to drain (`DrainSwitch`), and the node, once it
//! starts draining, says so on `/ready` and in its registry record (`Readiness`) so that load balancers
//! and other nodes stop sending it new work.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the node starts draining; read by `/ready` and by load balancers.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
}

impl Readiness {
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// Flipped by an operator's drain request (the admin API): the node then shuts down as on SIGTERM.
#[derive(Debug, Default)]
pub struct DrainSwitch {
    requested: tokio::sync::Notify,
}

impl DrainSwitch {
    pub fn request(&self) {
        self.requested.notify_one();
    }

    pub async fn requested(&self) {
        self.requested.notified().await;
    }
}
