//! Room leases in Redis: one node at a time holds `<namespace>:lease:crash:<room>`, with a TTL it renews well
//! inside. The value names the holder (node id, URL, fencing token), so followers know where to forward
//! requests. Renewal and release compare the value first (Lua), so a node never extends or deletes a
//! lease that has passed to someone else. The lease decides who should lead; the fencing token in
//! Postgres makes sure a deposed leader cannot write.

use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use serde::{Deserialize, Serialize};

/// Extends the lease if it is ours, and takes it back if it has vanished: after a Sentinel failover the new
/// primary may have lost or expired it while its holder was alive. Followers wait before taking a vacant
/// lease (see the leadership), so the live holder gets it back first. Reclaiming is safe because writes
/// are fenced in Postgres: a holder that was replaced meanwhile has its next write refused and stops.
const RENEW_OR_RECLAIM: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0"#;

const REPLACE_IF_HELD: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0"#;

const RELEASE_IF_HELD: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0"#;

/// Who holds a lease. `token` is absent while the holder is still taking its fence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    pub node_id: String,
    pub url: String,
    pub token: Option<i64>,
}

impl LeaseHolder {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a lease holder serializes")
    }
}

/// Takes the lease if nobody holds it.
pub async fn try_acquire(client: &Client, key: &str, holder: &LeaseHolder, ttl_ms: u64) -> Result<bool, Error> {
    let reply: Option<String> = client
        .set(
            key,
            holder.encode(),
            Some(Expiration::PX(ttl_ms as i64)),
            Some(SetOptions::NX),
            false,
        )
        .await?;
    Ok(reply.is_some())
}

/// Extends the lease if `holder` still holds it (or takes it back if nobody does); false means another
/// node holds it.
pub async fn renew(client: &Client, key: &str, holder: &LeaseHolder, ttl_ms: u64) -> Result<bool, Error> {
    let renewed: i64 = client
        .eval(RENEW_OR_RECLAIM, vec![key], vec![holder.encode(), ttl_ms.to_string()])
        .await?;
    if renewed == 2 {
        tracing::info!(key, "took a vanished lease back (after a Redis failover?)");
    }
    Ok(renewed != 0)
}

/// Replaces the lease's value (to publish the fencing token) if `current` still holds it.
pub async fn replace(client: &Client, key: &str, current: &LeaseHolder, next: &LeaseHolder) -> Result<bool, Error> {
    let replaced: i64 = client
        .eval(REPLACE_IF_HELD, vec![key], vec![current.encode(), next.encode()])
        .await?;
    Ok(replaced == 1)
}

/// Gives the lease up at once (a draining leader), if `holder` still holds it.
pub async fn release(client: &Client, key: &str, holder: &LeaseHolder) -> Result<bool, Error> {
    let released: i64 = client.eval(RELEASE_IF_HELD, vec![key], vec![holder.encode()]).await?;
    Ok(released == 1)
}

/// The current holder, if any (and if its value is readable).
pub async fn holder(client: &Client, key: &str) -> Result<Option<LeaseHolder>, Error> {
    let value: Option<String> = client.get(key).await?;
    Ok(value.and_then(|value| serde_json::from_str(&value).ok()))
}
