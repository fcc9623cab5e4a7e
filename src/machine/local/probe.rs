//! The probes of `topo test`: ICMP echo, TCP connect and UDP exchanges,
//! and the listeners that see them arrive, each on a socket opened inside
//! a namespace. A socket keeps the namespace it was created in, so only
//! its creation enters the namespace (synchronously, on the calling
//! thread, which `with_netns` always moves back); everything after that is
//! ordinary async I/O on the runtime.
//!
//! `ns` is a namespace file (`/run/netns/NODE`) or `None` for the
//! namespace topo runs in. A listener is listening when its function
//! returns, so a probe started afterwards cannot race it.

use super::netns::with_netns;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::time::timeout;

/// Why a probe did not get through.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no answer within {}", crate::model::checks::duration_text(*.0))]
    Timeout(Duration),
    #[error("connection refused")]
    Refused,
    /// The kernel or a router said the destination cannot be reached.
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl ProbeError {
    fn from_os(e: io::Error) -> ProbeError {
        match e.raw_os_error() {
            Some(libc::ECONNREFUSED) => ProbeError::Refused,
            Some(libc::EHOSTUNREACH) => ProbeError::Unreachable("host unreachable".into()),
            Some(libc::ENETUNREACH) => ProbeError::Unreachable("network unreachable".into()),
            Some(libc::EACCES) | Some(libc::EPERM) => {
                ProbeError::Unreachable("refused by a firewall rule (operation not permitted)".into())
            }
            Some(libc::ENOBUFS) => ProbeError::Unreachable(
                "no buffer space: the kernel's neighbour table may be full (its size is the machine's net.ipv4.neigh.default.gc_thresh3, shared by all namespaces)".into(),
            ),
            _ => ProbeError::Io(e),
        }
    }
}

/// The namespace file of a node (`/run/netns/NODE`, or where an attached
/// node's namespace is); `None` if it does not exist.
pub fn open_namespace(
    node: &str,
    attach: Option<&crate::model::Attach>,
) -> io::Result<Option<std::fs::File>> {
    match attach {
        None => super::netns::open(node),
        Some(at) => match super::attach::open(node, at) {
            Ok((f, _)) => Ok(Some(f)),
            Err(e) => Err(io::Error::other(e.to_string())),
        },
    }
}

/// Runs socket creation inside `ns`, or here when `None`.
fn inside<T>(ns: Option<BorrowedFd<'_>>, f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    match ns {
        Some(fd) => with_netns(fd, f)?,
        None => f(),
    }
}

/// One ICMP echo to `to`; the round-trip time of the first answer. The
/// request is sent again every quarter of a second until the timeout.
pub async fn ping(
    ns: Option<BorrowedFd<'_>>,
    to: IpAddr,
    wait: Duration,
) -> Result<Duration, ProbeError> {
    let (sock, raw) = inside(ns, || icmp_socket(to.is_ipv4()))?;
    let dest = SocketAddr::new(to, 0);
    // A datagram socket, connected, hears the errors meant for it; a raw
    // one hears every ICMP packet of the namespace and picks its own.
    if !raw {
        sock.connect(dest).await?;
    }
    let id = next_id();
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + wait;
    let mut seq: u16 = 0;
    let mut buf = [0u8; 1500];
    loop {
        let packet = echo_request(to.is_ipv4(), id, seq);
        sock.send_to(&packet, dest)
            .await
            .map_err(ProbeError::from_os)?;
        let resend = (tokio::time::Instant::now() + Duration::from_millis(250)).min(deadline);
        loop {
            let got = tokio::time::timeout_at(resend, sock.recv_from(&mut buf)).await;
            let (n, from) = match got {
                Err(_) => break,
                Ok(r) => r.map_err(ProbeError::from_os)?,
            };
            match answer(&buf[..n], to.is_ipv4(), raw, id) {
                Some(Answer::Reply) if from.ip() == to || !raw => return Ok(start.elapsed()),
                Some(Answer::Error(what)) => {
                    return Err(ProbeError::Unreachable(format!(
                        "{what} (from {})",
                        from.ip()
                    )))
                }
                _ => {}
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ProbeError::Timeout(wait));
        }
        seq = seq.wrapping_add(1);
    }
}

/// A datagram ICMP socket, or a raw one where datagram ICMP is refused:
/// a new namespace's net.ipv4.ping_group_range is `1 0`, which allows no
/// group, and topo changes no setting of the lab's for its probes. (A raw
/// socket needs CAP_NET_RAW, which root has.) Also says which it is.
fn icmp_socket(v4: bool) -> io::Result<(UdpSocket, bool)> {
    let (family, proto) = if v4 {
        (libc::AF_INET, libc::IPPROTO_ICMP)
    } else {
        (libc::AF_INET6, libc::IPPROTO_ICMPV6)
    };
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    let open = |kind| {
        // SAFETY: socket() takes no pointers; a valid descriptor is owned here.
        let fd = unsafe { libc::socket(family, kind | flags, proto) };
        if fd < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        }
    };
    let (fd, raw) = match open(libc::SOCK_DGRAM) {
        Ok(fd) => (fd, false),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => {
            (open(libc::SOCK_RAW)?, true)
        }
        Err(e) => return Err(e),
    };
    Ok((UdpSocket::from_std(std::net::UdpSocket::from(fd))?, raw))
}

/// Identifiers for raw echo requests, distinct among a run's probes.
fn next_id() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = std::process::id() as u16;
    base.wrapping_mul(251)
        .wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))
}

const PAYLOAD: &[u8; 16] = b"topo test probe.";

fn echo_request(v4: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![if v4 { 8 } else { 128 }, 0, 0, 0];
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(PAYLOAD);
    // The kernel computes ICMPv6 checksums, and datagram sockets' too.
    if v4 {
        let sum = checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[derive(Debug, PartialEq)]
enum Answer {
    Reply,
    Error(&'static str),
}

/// What an ICMP packet says about our echo `id`. Raw IPv4 sockets get the
/// IP header too; datagram sockets get only answers to their own requests.
fn answer(packet: &[u8], v4: bool, raw: bool, id: u16) -> Option<Answer> {
    let icmp = if v4 && raw {
        packet.get(usize::from(packet.first()? & 0x0f) * 4..)?
    } else {
        packet
    };
    let (kind, code) = (*icmp.first()?, *icmp.get(1)?);
    let ours = |echo: &[u8]| echo.get(4..6) == Some(&id.to_be_bytes()[..]);
    match (v4, kind) {
        (true, 0) | (false, 129) => (!raw || ours(icmp)).then_some(Answer::Reply),
        (true, 3) | (true, 11) => {
            // The original IP header and the first 8 bytes of our request.
            let inner = icmp.get(8..)?;
            let echo = inner.get(usize::from(inner.first()? & 0x0f) * 4..)?;
            (echo.first() == Some(&8) && ours(echo)).then_some(Answer::Error(match (kind, code) {
                (11, _) => "time exceeded",
                (_, 0) => "network unreachable",
                (_, 1) => "host unreachable",
                (_, 9 | 10 | 13) => "administratively prohibited",
                _ => "destination unreachable",
            }))
        }
        (false, 1) | (false, 3) => {
            let echo = icmp.get(8 + 40..)?;
            (echo.first() == Some(&128) && ours(echo)).then_some(Answer::Error(
                match (kind, code) {
                    (3, _) => "time exceeded",
                    (_, 0) => "no route to destination",
                    (_, 1) => "administratively prohibited",
                    (_, 3) => "address unreachable",
                    _ => "destination unreachable",
                },
            ))
        }
        _ => None,
    }
}

/// A TCP connect to `to`; the time it took.
pub async fn tcp_connect(
    ns: Option<BorrowedFd<'_>>,
    to: SocketAddr,
    wait: Duration,
) -> Result<Duration, ProbeError> {
    let sock = inside(ns, || {
        if to.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
    })?;
    let start = Instant::now();
    match timeout(wait, sock.connect(to)).await {
        Err(_) => Err(ProbeError::Timeout(wait)),
        Ok(Err(e)) => Err(ProbeError::from_os(e)),
        // Closed at once: the check is that the handshake completed.
        Ok(Ok(_stream)) => Ok(start.elapsed()),
    }
}

/// A TCP listener on `at` inside `ns`, listening when this returns.
pub fn tcp_listen(ns: Option<BorrowedFd<'_>>, at: SocketAddr) -> io::Result<TcpListener> {
    let l = inside(ns, || std::net::TcpListener::bind(at))?;
    l.set_nonblocking(true)?;
    TcpListener::from_std(l)
}

/// The source address of the first connection `l` accepts.
pub async fn tcp_accept(l: &TcpListener, wait: Duration) -> Result<SocketAddr, ProbeError> {
    match timeout(wait, l.accept()).await {
        Err(_) => Err(ProbeError::Timeout(wait)),
        Ok(Err(e)) => Err(ProbeError::from_os(e)),
        Ok(Ok((_stream, peer))) => Ok(peer),
    }
}

/// A UDP socket bound to `at` inside `ns`, receiving when this returns.
pub fn udp_listen(ns: Option<BorrowedFd<'_>>, at: SocketAddr) -> io::Result<UdpSocket> {
    let s = inside(ns, || std::net::UdpSocket::bind(at))?;
    s.set_nonblocking(true)?;
    UdpSocket::from_std(s)
}

/// Waits for a datagram carrying `token`, answers it with the same
/// bytes, and returns its source address. Other datagrams are ignored.
pub async fn udp_answer(
    s: &UdpSocket,
    token: &[u8],
    wait: Duration,
) -> Result<SocketAddr, ProbeError> {
    let mut buf = [0u8; 512];
    let serve = async {
        loop {
            let (n, peer) = s.recv_from(&mut buf).await.map_err(ProbeError::from_os)?;
            if &buf[..n] == token {
                // A resent request is answered again by the next loop; the
                // first answer is enough for the check.
                let _ = s.send_to(token, peer).await;
                return Ok(peer);
            }
        }
    };
    timeout(wait, serve)
        .await
        .unwrap_or(Err(ProbeError::Timeout(wait)))
}

/// Sends `token` to `to` from `ns` until the same bytes come back (resent
/// every quarter of a second); the time until the answer.
pub async fn udp_ask(
    ns: Option<BorrowedFd<'_>>,
    to: SocketAddr,
    token: &[u8],
    wait: Duration,
) -> Result<Duration, ProbeError> {
    let any: SocketAddr = if to.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = udp_listen(ns, any)?;
    // Connected: answers from elsewhere are dropped, and an ICMP port
    // unreachable comes back as "refused".
    s.connect(to).await.map_err(ProbeError::from_os)?;
    let start = Instant::now();
    let mut buf = [0u8; 512];
    let exchange = async {
        loop {
            s.send(token).await.map_err(ProbeError::from_os)?;
            let deadline = tokio::time::Instant::now() + Duration::from_millis(250);
            while let Ok(got) = tokio::time::timeout_at(deadline, s.recv(&mut buf)).await {
                let n = got.map_err(ProbeError::from_os)?;
                if &buf[..n] == token {
                    return Ok(start.elapsed());
                }
            }
        }
    };
    timeout(wait, exchange)
        .await
        .unwrap_or(Err(ProbeError::Timeout(wait)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_requests_carry_a_valid_checksum() {
        let p = echo_request(true, 0x1234, 7);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        assert_eq!(&p[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(echo_request(false, 1, 1)[0], 128);
    }

    #[test]
    fn answers_are_matched_by_identifier() {
        let mut reply = echo_request(true, 42, 0);
        reply[0] = 0;
        let mut ip = vec![0x45u8; 1];
        ip.extend([0u8; 19]);
        let raw: Vec<u8> = ip.iter().chain(&reply).copied().collect();
        assert_eq!(answer(&raw, true, true, 42), Some(Answer::Reply));
        assert_eq!(answer(&raw, true, true, 43), None);
        assert_eq!(answer(&reply, true, false, 0), Some(Answer::Reply));
        // Host unreachable, quoting our request behind its IP header.
        let mut err = vec![0x45u8];
        err.extend([0u8; 19]);
        err.extend([3, 1, 0, 0, 0, 0, 0, 0]);
        err.extend(&ip);
        err.extend(&echo_request(true, 42, 0)[..8]);
        assert_eq!(
            answer(&err, true, true, 42),
            Some(Answer::Error("host unreachable"))
        );
        assert_eq!(answer(&err, true, true, 41), None);
    }
}
