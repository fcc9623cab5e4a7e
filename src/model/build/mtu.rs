//! Both ends of a veth need the same MTU: the kernel drops a packet that
//! is larger than the receiving end's MTU, so a pair set to 9000 and 1500
//! passes small packets and loses large ones, the hardest kind of fault to
//! find. Where the file sets both ends (a link's `mtu:`, or an interface's
//! own `mtu:` under `interfaces:`) and they differ, that is an error at
//! the setting that disagrees. An end the file leaves alone keeps the
//! kernel's MTU and is not compared.

use super::{Builder, IfKind};

impl Builder<'_> {
    pub(super) fn check_veth_mtus(&mut self) {
        let mut found = Vec::new();
        for (end, iface) in &self.ifaces {
            let IfKind::Veth { peer } = &iface.kind else {
                continue;
            };
            // Each pair once, from its smaller end.
            let Some(other) = self.ifaces.get(peer).filter(|_| end < peer) else {
                continue;
            };
            let (Some(a), Some(b)) = (iface.mtu, other.mtu) else {
                continue;
            };
            if a == b {
                continue;
            }
            let at = |r| self.mtu_from.get(r).copied().unwrap_or((iface.pos, true));
            let mut ends = [(end, a, at(end)), (peer, b, at(peer))];
            // Point at the setting that disagrees: an interface's own `mtu:`
            // before a link's, else the later one.
            ends.sort_by_key(|(_, _, (p, from_link))| (!from_link, p.line, p.col));
            let [(first, first_mtu, (first_at, first_link)), (second, second_mtu, (second_at, _))] =
                ends;
            let source = if first_link {
                "the link's `mtu:`"
            } else {
                "its `mtu:`"
            };
            found.push((
                second_at,
                format!(
                    "veth end {second} has mtu {second_mtu}, but its other end {first} has mtu {first_mtu} from {source} at line {}",
                    first_at.line
                ),
            ));
        }
        for (pos, msg) in found {
            self.err(
                pos,
                msg,
                "both ends of a veth need the same MTU, or the larger packets are dropped: set the same `mtu:` on both ends, or only the link's `mtu:`",
            );
        }
    }
}

/// IPv6 needs links of at least 1280 bytes (RFC 8200); the kernel turns
/// IPv6 off on an interface below it, so its link-local and other IPv6
/// addresses cannot be added, or vanish, and the apply fails and rolls
/// back.
const IPV6_MIN_MTU: u32 = 1280;

impl Builder<'_> {
    /// With IPv6 on, every interface the lab makes (each gets a link-local
    /// address) must end with an MTU IPv6 can use, whether the file sets
    /// it or it follows from a peer, a bridge or a VXLAN's underlay.
    pub(super) fn check_ipv6_mtus(&mut self, ipv6: bool) {
        if !ipv6 {
            return;
        }
        // Where an MTU is set (or, for a VXLAN, derived from its underlay),
        // not at each interface that only follows it: a port's bridge,
        // a veth's other end. If only followers are low, they are named.
        let (mut set, mut following) = (Vec::new(), Vec::new());
        for (link, iface) in &self.ifaces {
            let Some(mtu) = self
                .effective_mtu(link, iface)
                .filter(|m| *m < IPV6_MIN_MTU)
            else {
                continue;
            };
            let pos = self.mtu_from.get(link).map_or(iface.pos, |(p, _)| *p);
            let vxlan = matches!(iface.kind, IfKind::Vxlan(_));
            let msg = if iface.mtu.is_some() {
                format!("{link} has mtu {mtu}, below the {IPV6_MIN_MTU} bytes IPv6 needs, and the lab has IPv6 on")
            } else if vxlan {
                format!("vxlan {link} gets mtu {mtu} (its underlay's, less the encapsulation), below the {IPV6_MIN_MTU} bytes IPv6 needs, and the lab has IPv6 on")
            } else {
                format!("{link} gets mtu {mtu}, below the {IPV6_MIN_MTU} bytes IPv6 needs, and the lab has IPv6 on")
            };
            match iface.mtu.is_some() || vxlan {
                true => set.push((pos, msg)),
                false => following.push((pos, msg)),
            }
        }
        let mut found = if set.is_empty() { following } else { set };
        // One setting (a link's, a network's) can set several: one error.
        found.sort_by_key(|(p, _)| (p.line, p.col));
        found.dedup_by_key(|(p, _)| (p.line, p.col));
        for (pos, msg) in found {
            self.err(
                pos,
                msg,
                "the kernel turns IPv6 off on such an interface, so its IPv6 addresses cannot be added: give it (or the bridge or underlay it follows) an mtu of at least 1280, or set `ipv6: false` if the lab needs no IPv6",
            );
        }
    }
}
