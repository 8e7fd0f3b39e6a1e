//! Logging with `tracing`: readable lines locally, JSON in production.

use crate::configuration::LoggingSettings;
use tracing_subscriber::{fmt, EnvFilter};

/// Installs the global subscriber once; later calls (in tests) are ignored.
pub fn init(settings: &LoggingSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if settings.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // An already installed subscriber is fine: tests start many applications in one process.
    drop(result);
}
