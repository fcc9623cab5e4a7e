//! Telling neighbours where an address lives now: a gratuitous ARP for
//! IPv4 and an unsolicited neighbour advertisement for IPv6, sent from the
//! interface itself. Neighbours keep an old MAC for 30 s or more otherwise
//! (a re-created or renamed interface, a changed MAC, a moved address).

use super::netns::with_netns;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST: [u8; 6] = [0xff; 6];
/// ff02::1 (all nodes) on Ethernet.
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Announces `addrs` of interface `index` (MAC `mac`) in namespace `ns`
/// (the current one when `None`).
pub fn announce(
    ns: Option<BorrowedFd<'_>>,
    index: u32,
    mac: [u8; 6],
    addrs: &[IpAddr],
) -> io::Result<()> {
    // A packet socket keeps the namespace it was opened in.
    let sock = match ns {
        Some(fd) => with_netns(fd, packet_socket)??,
        None => packet_socket()?,
    };
    for a in addrs {
        super::count_write();
        match a {
            IpAddr::V4(ip) => send(&sock, index, ETH_P_ARP, BROADCAST, &arp(mac, *ip))?,
            IpAddr::V6(ip) => send(&sock, index, ETH_P_IPV6, ALL_NODES_MAC, &na(mac, *ip))?,
        }
    }
    Ok(())
}

fn packet_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn send(sock: &OwnedFd, index: u32, proto: u16, to: [u8; 6], frame: &[u8]) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
    let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = proto.to_be();
    sa.sll_ifindex = index as i32;
    sa.sll_halen = 6;
    sa.sll_addr[..6].copy_from_slice(&to);
    // SAFETY: buffer and address are valid for the lengths given.
    let n = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            std::ptr::addr_of!(sa).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A gratuitous ARP request: sender and target are the address itself,
/// which makes every neighbour with an entry for it take the new MAC.
fn arp(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
    p.extend_from_slice(&mac);
    p.extend_from_slice(&ip.octets());
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&ip.octets());
    p
}

/// An unsolicited neighbour advertisement with the override flag and the
/// target link-layer address option, to all nodes (RFC 4861 7.2.6).
fn na(mac: [u8; 6], ip: Ipv6Addr) -> Vec<u8> {
    let mut icmp = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
    icmp.extend_from_slice(&ip.octets());
    icmp.extend_from_slice(&[2, 1]);
    icmp.extend_from_slice(&mac);
    let sum = checksum(ip, ALL_NODES, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    p.extend_from_slice(&[58, 255]);
    p.extend_from_slice(&ip.octets());
    p.extend_from_slice(&ALL_NODES.octets());
    p.extend_from_slice(&icmp);
    p
}

/// The ICMPv6 checksum over the pseudo-header and the message.
fn checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut data = Vec::with_capacity(40 + msg.len());
    data.extend_from_slice(&src.octets());
    data.extend_from_slice(&dst.octets());
    data.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, 58]);
    data.extend_from_slice(msg);
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbour_advertisement_checksum_verifies() {
        let ip: Ipv6Addr = "fd00::2".parse().unwrap();
        let p = na([2, 0, 0, 0, 0, 1], ip);
        assert_eq!(p.len(), 40 + 32);
        // Summing a message with its checksum in place gives 0.
        assert_eq!(checksum(ip, ALL_NODES, &p[40..]), 0);
        assert_eq!(&p[40..42], &[136, 0]);
    }

    #[test]
    fn gratuitous_arp_names_the_address_twice() {
        let p = arp([2, 0, 0, 0, 0, 1], Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.len(), 28);
        assert_eq!(&p[14..18], &[10, 0, 0, 2]);
        assert_eq!(&p[24..28], &[10, 0, 0, 2]);
    }
}
