//! VXLAN devices: `vxlans:` at the top level (host) and under nodes, each
//! with its remotes (one forwarding entry each). The underlay is `dev:`,
//! else the interface of the file that holds the `local:` address; where
//! the file gives both MTUs, the VXLAN's must leave room for the
//! encapsulation (50 bytes over IPv4, 70 over IPv6), or large frames are
//! lost without a word.

use super::*;
use crate::kinds::{Fdb, FdbId, Vxlan, VxlanId};
use crate::spec::VxlanSpec;

/// IANA's VXLAN port; the kernel's own default (8472) predates it and
/// other vendors' VTEPs do not use it.
pub const VXLAN_PORT: u16 = 4789;
/// VNIs are 24 bits.
const VNI_MAX: u32 = (1 << 24) - 1;

/// A VXLAN device's settings as the model keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct VxlanSettings {
    pub vni: u32,
    pub local: Option<IpAddr>,
    pub port: u16,
    pub dev: Option<String>,
    pub remotes: Vec<(IpAddr, Pos)>,
    /// Where the file sets its MTU, for the underlay check.
    pub mtu_at: Option<Pos>,
    pub local_at: Option<Pos>,
}

impl VxlanSettings {
    /// Bytes the encapsulation adds: outer IP, UDP, VXLAN header, inner
    /// Ethernet header.
    pub fn overhead(&self) -> u32 {
        let v6 = self
            .local
            .or_else(|| self.remotes.first().map(|(r, _)| *r))
            .is_some_and(|a| a.is_ipv6());
        if v6 {
            70
        } else {
            50
        }
    }
}

impl Builder<'_> {
    pub(super) fn collect_vxlans(&mut self, spec: &LabSpec) {
        let mut all: Vec<(Ns, &String, &S<VxlanSpec>)> = spec
            .vxlans
            .iter()
            .map(|(name, v)| (Ns::Host, name, v))
            .collect();
        for (node, n) in &spec.nodes {
            let ns = Ns::node(node);
            all.extend(n.value.vxlans.iter().map(|(name, v)| (ns.clone(), name, v)));
        }
        // (namespace, vni, port) → where first used.
        let mut used: BTreeMap<(Ns, u32, u16), Pos> = BTreeMap::new();
        for (ns, name, v) in all {
            let pos = Pos::of(v);
            let link = IfRef::new(ns.clone(), name);
            if !self.new_device(&link, pos, "vxlan") {
                continue;
            }
            let Some(settings) = self.vxlan_settings(&ns, &v.value) else {
                continue;
            };
            let key = (ns.clone(), settings.vni, settings.port);
            if let Some(first) = used.get(&key) {
                self.err(
                    Pos::of(&v.value.vni),
                    format!(
                        "vni {} on port {} is already used in {ns} by the vxlan at line {}",
                        settings.vni, settings.port, first.line
                    ),
                    "the kernel takes one device per VNI and port in a namespace: give this one another `vni:` or `port:`",
                );
                continue;
            }
            used.insert(key, pos);
            let master = v.value.bridge.as_ref().and_then(|b| self.bridge_in(&ns, b));
            let mtu = self.mtu(v.value.mtu.as_ref());
            self.origins
                .insert(Id::Vxlan(VxlanId { link: link.clone() }), pos);
            for (dst, at) in &settings.remotes {
                let id = FdbId {
                    link: link.clone(),
                    dst: *dst,
                };
                self.origins.insert(Id::Fdb(id), *at);
            }
            let iface = Iface {
                pos,
                kind: IfKind::Vxlan(settings),
                master,
                mtu,
                mac: None,
                addrs: vec![],
            };
            self.ifaces.insert(link, iface);
        }
    }

    fn vxlan_settings(&mut self, ns: &Ns, v: &VxlanSpec) -> Option<VxlanSettings> {
        let mut ok = true;
        if v.vni.value > VNI_MAX {
            let msg = format!("vni {} is out of range", v.vni.value);
            self.err(Pos::of(&v.vni), msg, "a VNI is 0 to 16777215 (24 bits)");
            ok = false;
        }
        let port = match &v.port {
            Some(p) if p.value == 0 => {
                self.err(
                    Pos::of(p),
                    "port 0 is not a UDP port",
                    "write `port: 4789`, the usual VXLAN port",
                );
                ok = false;
                0
            }
            Some(p) => p.value,
            None => VXLAN_PORT,
        };
        let local = v.local.as_ref().and_then(|l| self.bare_address(l, "local"));
        if v.local.is_some() && local.is_none() {
            ok = false;
        }
        let mut remotes: Vec<(IpAddr, Pos)> = Vec::new();
        for r in &v.remotes {
            let Some(a) = self.bare_address(r, "remote") else {
                ok = false;
                continue;
            };
            let pos = Pos::of(r);
            let problem = if let Some((_, first)) = remotes.iter().find(|(b, _)| *b == a) {
                Some((
                    format!("remote {a} is listed twice (first at line {})", first.line),
                    "list each remote once",
                ))
            } else if Some(a) == local {
                Some((
                    format!("remote {a} is the local address"),
                    "a remote is another host's address",
                ))
            } else if local.is_some_and(|l| l.is_ipv4() != a.is_ipv4()) {
                Some((
                    format!("remote {a} is not of the local address's family"),
                    "use remotes of the same IP version as `local:`",
                ))
            } else if remotes
                .first()
                .is_some_and(|(f, _)| f.is_ipv4() != a.is_ipv4())
            {
                Some((
                    format!("remote {a} is not of the other remotes' family"),
                    "a VXLAN device speaks IPv4 or IPv6 to its remotes, not both",
                ))
            } else {
                None
            };
            match problem {
                Some((msg, help)) => {
                    self.err(pos, msg, help);
                    ok = false;
                }
                None => remotes.push((a, pos)),
            }
        }
        let dev = v.dev.as_ref().map(|d| d.value.clone());
        if let (Some(d), Ns::Node(_)) = (&v.dev, ns) {
            if !self.ifaces.contains_key(&IfRef::new(ns.clone(), &d.value)) {
                let msg = format!("interface {ns}:{} is not created by the lab", d.value);
                self.err(
                    Pos::of(d),
                    msg,
                    "in a node, `dev:` names an interface the lab makes there (a link end)",
                );
                ok = false;
            }
        }
        ok.then(|| VxlanSettings {
            vni: v.vni.value,
            local,
            port,
            dev,
            remotes,
            mtu_at: v.mtu.as_ref().map(Pos::of),
            local_at: v.local.as_ref().map(Pos::of),
        })
    }

    /// An address without prefix length.
    fn bare_address(&mut self, s: &S<String>, what: &str) -> Option<IpAddr> {
        match s.value.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                let help = match s.value.split_once('/') {
                    Some((a, _)) => format!("write the address alone: `{a}`"),
                    None => "write an address, e.g. `10.1.0.2` or `fd00::2`".to_string(),
                };
                self.err(
                    Pos::of(s),
                    format!("`{}` is not an address ({what})", s.value),
                    help,
                );
                None
            }
        }
    }

    /// The interface the VXLAN device's packets leave through, when the
    /// file makes it: `dev:`, else the one holding the local address.
    pub(super) fn underlay(&self, link: &IfRef, v: &VxlanSettings) -> Option<IfRef> {
        if let Some(d) = &v.dev {
            let r = IfRef::new(link.ns.clone(), d);
            return self.ifaces.contains_key(&r).then_some(r);
        }
        let local = v.local?;
        self.in_ns(&link.ns)
            .find(|(_, i)| i.addrs.iter().any(|(a, _)| a.addr() == local))
            .map(|(r, _)| r.clone())
    }

    /// A VXLAN device's MTU where the file leaves it: its underlay's less
    /// the encapsulation, when the file knows the underlay; else the
    /// kernel's.
    pub(super) fn vxlan_mtu(&self, link: &IfRef, iface: &Iface, v: &VxlanSettings) -> Option<u32> {
        iface.mtu.or_else(|| {
            let under = self.underlay(link, v)?;
            let u = self.ifaces.get(&under)?;
            if matches!(u.kind, IfKind::Vxlan(_)) {
                return None;
            }
            Some(self.effective_mtu(&under, u)?.saturating_sub(v.overhead()))
        })
    }

    /// In a node, the local address must be one of the node's (topo makes
    /// them all); and the MTU a VXLAN device's underlay carries must hold
    /// its frames.
    pub(super) fn check_vxlans(&mut self) {
        let mut problems = Vec::new();
        for (link, iface) in &self.ifaces {
            let IfKind::Vxlan(v) = &iface.kind else {
                continue;
            };
            if let (Ns::Node(n), Some(local), Some(at), None) =
                (&link.ns, v.local, v.local_at, self.underlay(link, v))
            {
                problems.push((
                    at,
                    format!("local address {local} is not an address of node {n}"),
                    format!("give one of {n}'s interfaces {local} (under `interfaces:`), or use one of its addresses"),
                ));
            }
            let (Some(mtu), Some(at)) = (iface.mtu, v.mtu_at) else {
                continue;
            };
            let Some(under) = self.underlay(link, v) else {
                continue;
            };
            let Some(u_mtu) = self
                .ifaces
                .get(&under)
                .and_then(|u| self.effective_mtu(&under, u))
            else {
                continue;
            };
            if mtu + v.overhead() > u_mtu {
                problems.push((
                    at,
                    format!(
                        "vxlan {link} has mtu {mtu}, but its underlay {under} has mtu {u_mtu}: with the {} bytes of encapsulation its frames do not fit",
                        v.overhead()
                    ),
                    format!("write `mtu: {}` or less, or raise the underlay's MTU", u_mtu.saturating_sub(v.overhead())),
                ));
            }
        }
        for (pos, msg, help) in problems {
            self.err(pos, msg, help);
        }
    }

    /// The desired state of a VXLAN device and its remotes.
    pub(super) fn vxlan_state(link: &IfRef, v: &VxlanSettings, st: &mut State) {
        let me = Vxlan {
            vni: v.vni,
            local: v.local,
            port: v.port,
            dev: v.dev.clone(),
            learning: false,
        };
        st.insert::<Vxlan>(VxlanId { link: link.clone() }, me);
        for (dst, _) in &v.remotes {
            let id = FdbId {
                link: link.clone(),
                dst: *dst,
            };
            st.insert::<Fdb>(id, Fdb {});
        }
    }
}
