//! A client's version as slot clients send it and `[slots] client_version_min` names it: a setting's
//! type, so start-up can refuse a minimum that does not parse.

/// The longest client version a client may send.
pub const CLIENT_VERSION_LENGTH_MAX: usize = 32;

/// A dotted client version (`1.4.2`), compared number by number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ClientVersion(Vec<u32>);

impl ClientVersion {
    /// The most parts a version has.
    const PARTS_MAX: usize = 4;

    pub fn parse(text: &str) -> Option<ClientVersion> {
        let parts: Option<Vec<u32>> = text.split('.').map(|part| part.parse().ok()).collect();
        let parts = parts?;
        let valid = !parts.is_empty() && parts.len() <= Self::PARTS_MAX && text.len() <= CLIENT_VERSION_LENGTH_MAX;
        valid.then(|| {
            let mut parts = parts;
            while parts.len() > 1 && parts.last() == Some(&0) {
                parts.pop();
            }
            ClientVersion(parts)
        })
    }
}
