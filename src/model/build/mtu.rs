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
