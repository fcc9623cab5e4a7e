//! A canonical text dump of the in-memory kernel: everything it holds,
//! with interfaces named instead of numbered (indexes change when an
//! object is made again), in a fixed order, one object a line, so two
//! states compare as text and a difference reads as a diff.

use super::{Kernel, Kind, MemoryKernel, Space};
use crate::machine::VxlanInfo;
use std::collections::BTreeMap;
use std::fmt::Write;

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl MemoryKernel {
    /// Everything the kernel holds, as text in a canonical order.
    pub fn canon(&self) -> String {
        self.with(|k| k.canon())
    }
}

impl Kernel {
    fn canon(&self) -> String {
        let mut out = String::new();
        let anon = self.anon.values().map(|sp| (self.ns_label(sp.inode), sp));
        let named = self.spaces.iter().map(|(ns, sp)| (ns.to_string(), sp));
        for (ns, sp) in named.chain(anon) {
            let _ = writeln!(out, "namespace {ns}");
            for l in self.space_lines(sp, |_| true) {
                let _ = writeln!(out, "  {l}");
            }
        }
        let label = |i| self.ns_label(i);
        let mut rest = self.procs.canon(label);
        rest.extend(self.dhcp_canon());
        rest.extend(self.etc.canon());
        for l in rest {
            let _ = writeln!(out, "{l}");
        }
        for (lab, st) in &self.records {
            let st = serde_json::to_string(st).expect("records serialize");
            let _ = writeln!(out, "records {lab}: {st}");
        }
        for (key, shared) in &self.registry {
            let s = serde_json::to_string(shared).expect("registry serializes");
            let _ = writeln!(out, "host sysctl {key}: {s}");
        }
        out
    }

    /// The namespace's objects, one a line, sorted; only the sysctls
    /// `shown` lets through.
    pub(super) fn space_lines(&self, sp: &Space, shown: impl Fn(&str) -> bool) -> Vec<String> {
        let name = |i: &u32| sp.links.get(i).map_or("?".to_string(), |l| l.name.clone());
        let mut lines = Vec::new();
        for l in sp.links.values() {
            let kind = match &l.kind {
                Kind::Loopback => "loopback".to_string(),
                Kind::Physical => "physical".to_string(),
                // Whether the MTU was ever set stays out: no dump shows it,
                // and a rollback that puts 1500 back sets it.
                Kind::Bridge {
                    stp, forward_delay, ..
                } => format!("bridge stp {stp} forward_delay {forward_delay}"),
                Kind::Tap(t) => format!("tap {t:?}"),
                Kind::Vxlan { options, remotes } => {
                    let dev = options.dev.as_ref().map_or("-".to_string(), name);
                    let o = VxlanInfo {
                        dev: None,
                        ..*options
                    };
                    format!("vxlan {o:?} dev {dev} remotes {remotes:?}")
                }
                Kind::Veth { peer } => {
                    let peer = peer.as_ref().map_or("none".to_string(), |(pns, pi)| {
                        let n = self.by_inode(*pns).and_then(|s| s.links.get(pi));
                        let pns = self.ns_label(*pns);
                        format!("{pns}:{}", n.map_or("?", |l| l.name.as_str()))
                    });
                    format!("veth peer {peer}")
                }
            };
            lines.push(format!(
                "link {} {kind} alias {:?} mtu {} mac {} master {} up {} promote {} arp_notify {} sysctls {:?}",
                l.name,
                l.alias,
                l.mtu,
                mac(&l.mac),
                l.master.as_ref().map_or("-".to_string(), name),
                l.up,
                l.promote,
                l.arp_notify,
                l.sysctls
                    .iter()
                    .filter(|(k, _)| shown(k))
                    .collect::<BTreeMap<_, _>>(),
            ));
        }
        // Addresses sorted on each interface, with their role.
        let mut by_link: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for a in &sp.addrs {
            let role = if a.secondary { "secondary" } else { "primary" };
            by_link
                .entry(name(&a.index))
                .or_default()
                .push(format!("{} {role}", a.net));
        }
        for (l, mut addrs) in by_link {
            addrs.sort();
            lines.push(format!("addresses {l}: {}", addrs.join(", ")));
        }
        for r in &sp.routes {
            lines.push(format!(
                "route {} metric {} via {} dev {} proto {} scope {}",
                r.to,
                r.metric,
                r.via.map_or("-".to_string(), |v| v.to_string()),
                r.oif.as_ref().map_or("-".to_string(), name),
                r.protocol,
                r.scope
            ));
        }
        for (k, v) in sp.sysctls.iter().filter(|(k, _)| shown(k)) {
            lines.push(format!("sysctl {k} = {v}"));
        }
        for (t, table) in &sp.nft {
            let table = serde_json::to_string(table).expect("tables serialize");
            lines.push(format!("nft {t}: {table}"));
        }
        lines.sort();
        lines
    }
}
