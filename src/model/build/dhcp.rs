//! DHCP servers: a network's (on its bridge, the gateway its router) and an
//! interface's, checked against the addresses the lab gives out itself.

use super::*;
use crate::kinds::{conf_hash, Dhcp, DhcpHost, DhcpId};
use crate::spec::{DhcpSpec, LeaseTime};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// dnsmasq's shortest lease.
const LEASE_MIN: u64 = 120;

/// What a network's members must keep clear of: the range and the fixed
/// hosts' addresses.
#[derive(Debug, Clone)]
pub(super) struct Taken {
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    pub hosts: Vec<(Ipv4Addr, String)>,
}

impl Taken {
    pub fn in_range(&self, a: IpAddr) -> bool {
        matches!(a, IpAddr::V4(v) if self.first <= v && v <= self.last)
    }

    /// Every address the allocation must not hand out.
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (a, b) = (u32::from(self.first), u32::from(self.last));
        (a..=b)
            .map(|n| IpAddr::V4(Ipv4Addr::from(n)))
            .chain(self.hosts.iter().map(|(h, _)| IpAddr::V4(*h)))
    }
}

impl Builder<'_> {
    /// A network's `dhcp:`, served on its bridge; the members are checked
    /// against it when they are attached.
    pub(super) fn network_dhcp(
        &mut self,
        net: &str,
        d: &S<DhcpSpec>,
        subnet: IpNet,
        gateway: Option<IpAddr>,
        bridge: &str,
    ) -> Option<Taken> {
        let IpNet::V4(subnet) = subnet else {
            self.err(
                Pos::of(d),
                format!("network `{net}` is IPv6: topo's DHCP serves IPv4"),
                "remove `dhcp:`, or serve it on an IPv4 network",
            );
            return None;
        };
        let gw = gateway.and_then(|g| match g {
            IpAddr::V4(g) => Some(g),
            IpAddr::V6(_) => None,
        });
        let link = IfRef::new(self.bridges[bridge].clone(), bridge);
        let taken: Vec<IpAddr> = gateway.into_iter().collect();
        self.dhcp_server(link, d, subnet, &taken, gw)
    }

    /// Every interface's `dhcp:`, once addresses are known.
    pub(super) fn collect_interface_dhcp(&mut self, spec: &LabSpec) {
        let host = spec.host.as_ref().map(|h| (Ns::Host, &h.value.interfaces));
        let nodes = spec
            .nodes
            .iter()
            .map(|(n, s)| (Ns::node(n), &s.value.interfaces));
        for (ns, ifaces) in host.into_iter().chain(nodes) {
            for (name, set) in ifaces {
                let Some(d) = &set.value.dhcp else { continue };
                let link = IfRef::new(ns.clone(), name);
                let Some(iface) = self.ifaces.get(&link) else {
                    continue;
                };
                let own: Vec<IpAddr> = iface.addrs.iter().map(|(a, _)| a.addr()).collect();
                let start = d.value.range.value.split('-').next().unwrap_or("").trim();
                let subnet = start.parse::<Ipv4Addr>().ok().and_then(|s| {
                    iface.addrs.iter().find_map(|(a, _)| match a {
                        IpNet::V4(n) if n.trunc().contains(&s) => Some(n.trunc()),
                        _ => None,
                    })
                });
                let Some(subnet) = subnet else {
                    self.err(
                        Pos::of(&d.value.range),
                        format!(
                            "range `{}` lies in no subnet of {link}'s IPv4 addresses",
                            d.value.range.value
                        ),
                        "serve a range of the interface's own subnet, or give it an address there",
                    );
                    continue;
                };
                self.dhcp_server(link, d, subnet, &own, None);
            }
        }
    }

    /// Checks one server and adds it; `own` are the serving interface's
    /// addresses, `router` the default router.
    fn dhcp_server(
        &mut self,
        link: IfRef,
        d: &S<DhcpSpec>,
        subnet: Ipv4Net,
        own: &[IpAddr],
        router: Option<Ipv4Addr>,
    ) -> Option<Taken> {
        let spec = &d.value;
        let net = IpNet::V4(subnet);
        let (first, last) = self.dhcp_range(&spec.range, subnet)?;
        let declared = self.declared.clone();
        let taken_by = |a: IpAddr| -> Option<String> {
            if own.contains(&a) {
                Some(format!("{a}, an address of {link}"))
            } else if declared.contains(&a) {
                Some(format!("{a}, written in an `addresses:` list"))
            } else {
                None
            }
        };
        let clash = own
            .iter()
            .chain(declared.iter())
            .copied()
            .find(|a| matches!(a, IpAddr::V4(v) if first <= *v && *v <= last));
        if let Some(a) = clash {
            let who = taken_by(a).unwrap_or_default();
            self.err(
                Pos::of(&spec.range),
                format!("range {first}-{last} holds {who}"),
                "move the range clear of the lab's own addresses",
            );
            return None;
        }
        let lease = self.lease(spec.lease.as_ref())?;
        let router = match &spec.router {
            None => router,
            Some(r) => match r.value.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) if ipam::usable(net, IpAddr::V4(a)) => Some(a),
                _ => {
                    self.err(
                        Pos::of(r),
                        format!("router `{}` is not an address of {subnet}", r.value),
                        "clients reach only a router on their own subnet: write one of its addresses",
                    );
                    return None;
                }
            },
        };
        let mut dns = Vec::new();
        for s in &spec.dns {
            match s.value.parse::<IpAddr>() {
                Ok(a) => dns.push(a),
                Err(_) => {
                    self.err(
                        Pos::of(s),
                        format!("name server `{}` is not an address", s.value),
                        "write an IPv4 address, e.g. `10.0.2.1` (clients get addresses, not names)",
                    );
                    return None;
                }
            }
        }
        let mut hosts: Vec<DhcpHost> = Vec::new();
        for (name, h) in &spec.hosts {
            let pos = Pos::of(h);
            if let Some(p) = hostname_problem(name) {
                self.err(
                    pos,
                    format!("host `{name}`: {p}"),
                    "name it with letters, digits and `-`",
                );
                return None;
            }
            let mac = self.mac(&h.value.mac)?;
            let a = &h.value.address;
            let addr = match a.value.parse::<IpAddr>() {
                Ok(IpAddr::V4(v)) if ipam::usable(net, IpAddr::V4(v)) => v,
                _ => {
                    self.err(
                        Pos::of(a),
                        format!(
                            "address `{}` of host `{name}` is not a usable address of {subnet}",
                            a.value
                        ),
                        format!("pick one of {subnet}, outside the range {first}-{last}"),
                    );
                    return None;
                }
            };
            let problem = if first <= addr && addr <= last {
                Some(format!("{addr} is inside the range {first}-{last}"))
            } else if let Some(who) = taken_by(IpAddr::V4(addr)) {
                Some(who)
            } else if let Some(o) = hosts.iter().find(|o| o.address == addr) {
                Some(format!("{addr} is already given to host `{}`", o.name))
            } else {
                hosts
                    .iter()
                    .find(|o| o.mac == mac)
                    .map(|o| format!("MAC {mac} is already host `{}`'s", o.name))
            };
            if let Some(p) = problem {
                self.err(pos, format!("fixed host `{name}`: {p}"), "give each fixed host its own MAC and an address outside the range and the lab's own");
                return None;
            }
            hosts.push(DhcpHost {
                name: name.clone(),
                mac,
                address: addr,
            });
        }
        let serves_dns = dns.iter().any(|a| own.contains(a));
        let mut me = Dhcp {
            subnet,
            first,
            last,
            lease,
            router,
            dns,
            hosts,
            serves_dns,
            config: String::new(),
        };
        me.config = conf_hash(&me.conf_text(&self.lab, &link));
        let taken = Taken {
            first,
            last,
            hosts: me
                .hosts
                .iter()
                .map(|h| (h.address, h.name.clone()))
                .collect(),
        };
        let id = DhcpId { link };
        self.origins.insert(Id::Dhcp(id.clone()), Pos::of(d));
        self.dhcp.insert(id, me);
        Some(taken)
    }

    /// `FIRST-LAST`, both usable addresses of `subnet`, in order.
    fn dhcp_range(&mut self, r: &S<String>, subnet: Ipv4Net) -> Option<(Ipv4Addr, Ipv4Addr)> {
        let net = IpNet::V4(subnet);
        let parsed = r.value.split_once('-').and_then(|(a, b)| {
            Some((
                a.trim().parse::<Ipv4Addr>().ok()?,
                b.trim().parse::<Ipv4Addr>().ok()?,
            ))
        });
        let Some((a, b)) = parsed else {
            self.err(
                Pos::of(r),
                format!("`{}` is not a range of IPv4 addresses", r.value),
                "write `FIRST-LAST`, e.g. `10.0.1.100-10.0.1.150`",
            );
            return None;
        };
        let outside = [a, b]
            .into_iter()
            .find(|x| !ipam::usable(net, IpAddr::V4(*x)));
        if let Some(x) = outside {
            self.err(
                Pos::of(r),
                format!("range {a}-{b}: {x} is not a usable address of {subnet}"),
                "keep the range inside the subnet, clear of its network and broadcast addresses",
            );
            return None;
        }
        if b < a {
            self.err(
                Pos::of(r),
                format!("range {a}-{b} ends below its start"),
                format!("write `{b}-{a}`"),
            );
            return None;
        }
        Some((a, b))
    }

    /// Seconds (`None`: infinite); 1 h by default.
    fn lease(&mut self, l: Option<&S<LeaseTime>>) -> Option<Option<u32>> {
        let Some(l) = l else { return Some(Some(3600)) };
        let secs = match &l.value {
            LeaseTime::Seconds(s) => Some(*s),
            LeaseTime::Text(t) if t == "infinite" => return Some(None),
            LeaseTime::Text(t) => {
                let (n, unit) = t.split_at(t.len().saturating_sub(1));
                let mult = match unit {
                    "s" => Some(1),
                    "m" => Some(60),
                    "h" => Some(3600),
                    "d" => Some(86400),
                    "w" => Some(604800),
                    _ => None,
                };
                match (n.parse::<u64>(), mult) {
                    (Ok(n), Some(m)) => n.checked_mul(m),
                    _ => t.parse::<u64>().ok(),
                }
            }
        };
        match secs.and_then(|s| u32::try_from(s).ok()) {
            Some(s) if u64::from(s) >= LEASE_MIN => Some(Some(s)),
            Some(_) => {
                self.err(
                    Pos::of(l),
                    "a lease lasts at least 2 minutes",
                    "dnsmasq gives no shorter ones: write `lease: 2m` or more",
                );
                None
            }
            None => {
                self.err(
                    Pos::of(l),
                    "not a lease time",
                    "write e.g. `lease: 1h`, `lease: 3600` or `lease: infinite`",
                );
                None
            }
        }
    }
}

fn hostname_problem(n: &str) -> Option<&'static str> {
    if n.is_empty() || n.len() > 63 {
        return Some("a host name has 1 to 63 characters");
    }
    if n.starts_with('-') || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Some("only letters, digits and `-` (not first) make a host name");
    }
    None
}
