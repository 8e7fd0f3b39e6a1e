//! The swarm's plumbing: the loopback target, the source addresses that give every socket its own range
//! of ephemeral ports, the descriptor limit, and memory readings from `/proc`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::{TcpSocket, TcpStream};

/// Sockets planned per source address when `--source-addresses` and `--source-count` are absent: well
/// under the 28,232 ports of Linux's default ephemeral range (32768–60999), which one (source address,
/// destination) pair can use.
const SOCKETS_PER_SOURCE_DEFAULT: u32 = 20_000;
/// `--source-count` names 127.0.0.1 to 127.0.0.K.
pub const SOURCE_COUNT_MAX: u8 = 254;

/// Resolves the host and port of a `ws://` URL, refusing anything that is not loopback: the swarm is a
/// load generator and must never be pointed at someone else's server.
pub async fn resolve_target(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or("--url must start with ws:// (the swarm speaks plain WebSocket to loopback only)")?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if !(authority.starts_with("127.") || authority.starts_with("localhost") || authority.starts_with("[::1]")) {
        return Err("--url must point at a loopback address".into());
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok());
    let authority = if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(&authority)
        .await
        .map_err(|error| format!("cannot resolve {authority}: {error}"))?
        .collect();
    if addresses.is_empty() || !addresses.iter().all(|address| address.ip().is_loopback()) {
        return Err(format!("{authority} must resolve to loopback addresses only"));
    }
    Ok(addresses[0])
}

/// The local addresses sockets are bound to, round-robin: `listed` when given, else 127.0.0.1 to
/// 127.0.0.`count`, else enough IPv4 loopback addresses for `players` (`::1` alone for an IPv6 target).
/// Every address must be loopback and of the target's family.
pub fn source_addresses(
    listed: &[IpAddr],
    count: Option<u8>,
    players: u32,
    target: SocketAddr,
) -> Result<Vec<IpAddr>, String> {
    let sources: Vec<IpAddr> = match (listed.is_empty(), count) {
        (false, Some(_)) => return Err("give --source-addresses or --source-count, not both".into()),
        (false, None) => listed.to_vec(),
        (true, Some(count)) => ipv4_loopbacks(count)?,
        (true, None) if target.is_ipv6() => vec![IpAddr::V6(Ipv6Addr::LOCALHOST)],
        (true, None) => {
            // Rounds up, so no address carries more than the default share.
            let needed = players.div_ceil(SOCKETS_PER_SOURCE_DEFAULT).max(1);
            ipv4_loopbacks(u8::try_from(needed).unwrap_or(SOURCE_COUNT_MAX))?
        }
    };
    for source in &sources {
        if !source.is_loopback() || source.is_ipv4() != target.is_ipv4() {
            return Err(format!(
                "source address {source} must be a loopback address of the target's family"
            ));
        }
    }
    Ok(sources)
}

fn ipv4_loopbacks(count: u8) -> Result<Vec<IpAddr>, String> {
    if !(1..=SOURCE_COUNT_MAX).contains(&count) {
        return Err(format!("--source-count must be 1 to {SOURCE_COUNT_MAX}"));
    }
    Ok((1..=count)
        .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .collect())
}

/// Opens a TCP connection from `source` (port chosen by the kernel) to `target`. The port is picked at
/// `connect` rather than at `bind` (`IP_BIND_ADDRESS_NO_PORT`), so it only has to be unique for this
/// (source, destination) pair and the swarm does not take ports away from nginx's own connections to
/// the nodes.
pub async fn connect_from(source: IpAddr, target: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    sys::bind_address_no_port(&socket);
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Raises the soft limit on open descriptors to the hard limit, and past it to `wanted` when the process
/// may (root). Returns the soft limit in force, when it could be read.
pub fn raise_descriptor_limit(wanted: u64) -> Option<u64> {
    sys::raise_nofile(wanted)
}

/// The resident memory of a process in KiB (`VmRSS`), `None` when it cannot be read.
pub fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user and system) this process has used, from `/proc/self/stat` (fields 14 and 15, in
/// clock ticks of 1/100 s, Linux's fixed `USER_HZ`).
pub fn own_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    let after_name = stat.rsplit_once(')')?.1;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

/// The summed resident memory of several processes; `None` when any cannot be read.
pub fn rss_sum_kib(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| rss_kib(&pid.to_string())).sum()
}

/// Two system calls the standard library does not wrap, declared here against the C library that std
/// already links (no `libc` crate needed). Only for 64-bit Linux on x86_64 and aarch64, where the
/// constants below hold; elsewhere both are no-ops.
#[cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]
mod sys {
    use std::os::fd::AsRawFd;

    #[repr(C)]
    struct RLimit {
        current: u64,
        max: u64,
    }

    const RLIMIT_NOFILE: i32 = 7;
    const IPPROTO_IP: i32 = 0;
    const IP_BIND_ADDRESS_NO_PORT: i32 = 24;

    extern "C" {
        fn getrlimit(resource: i32, limit: *mut RLimit) -> i32;
        fn setrlimit(resource: i32, limit: *const RLimit) -> i32;
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const std::ffi::c_void, length: u32) -> i32;
    }

    fn read_nofile() -> Option<RLimit> {
        let mut limit = RLimit { current: 0, max: 0 };
        // SAFETY: `limit` is a valid, writable `struct rlimit` (two 64-bit words on these targets).
        (unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit)
    }

    fn write_nofile(limit: &RLimit) -> bool {
        // SAFETY: `limit` points to a valid `struct rlimit` that outlives the call.
        unsafe { setrlimit(RLIMIT_NOFILE, limit) == 0 }
    }

    pub fn raise_nofile(wanted: u64) -> Option<u64> {
        let limit = read_nofile()?;
        if limit.current >= wanted {
            return Some(limit.current);
        }
        // Past the hard limit only with CAP_SYS_RESOURCE; the kernel refuses otherwise.
        if limit.max < wanted
            && write_nofile(&RLimit {
                current: wanted,
                max: wanted,
            })
        {
            return Some(wanted);
        }
        if limit.current < limit.max {
            write_nofile(&RLimit {
                current: limit.max,
                max: limit.max,
            });
        }
        read_nofile().map(|limit| limit.current)
    }

    /// Best effort: without it the kernel picks the port at `bind`, which still works for a few tens of
    /// thousands of sockets per source address.
    pub fn bind_address_no_port(socket: &tokio::net::TcpSocket) {
        let enabled: i32 = 1;
        // SAFETY: the descriptor is open for the duration of the call, and the option value is a valid
        // `int` whose size is passed alongside it.
        unsafe {
            setsockopt(
                socket.as_raw_fd(),
                IPPROTO_IP,
                IP_BIND_ADDRESS_NO_PORT,
                (&enabled as *const i32).cast(),
                std::mem::size_of::<i32>() as u32,
            );
        }
    }
}

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
mod sys {
    pub fn raise_nofile(_wanted: u64) -> Option<u64> {
        None
    }

    pub fn bind_address_no_port(_socket: &tokio::net::TcpSocket) {}
}
