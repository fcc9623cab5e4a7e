//! Addresses and main-table routes of the in-memory kernel, with what the
//! kernel does along with them: connected routes, secondaries that go with
//! their primary (or are promoted), the routes an interface's last IPv4
//! address takes, gateways that must be reachable.

use super::{errno_error, Kernel, Kind, MemAddr, Space};
use crate::machine::{Result, Route, RouteSpec, RTPROT_KERNEL, RTPROT_TOPO};
use crate::model::{IfRef, Ns};
use ipnet::IpNet;
use std::net::IpAddr;

const ESRCH: i32 = 3;
const EINVAL: i32 = 22;
const EADDRNOTAVAIL: i32 = 99;
const ENETDOWN: i32 = 100;
const ENETUNREACH: i32 = 101;

/// Routes the kernel makes for addresses.
const SCOPE_LINK: u8 = 253;
/// The metric of an IPv6 prefix route.
const PREFIX_METRIC_V6: u32 = 256;

fn same_family(a: &IpNet, b: &IpNet) -> bool {
    a.addr().is_ipv4() == b.addr().is_ipv4()
}

impl Space {
    /// Adds (or keeps) an address as the kernel does, secondary when a
    /// primary of its subnet is on the interface already.
    pub(super) fn add_addr(&mut self, index: u32, net: IpNet) {
        let v4 = net.addr().is_ipv4();
        let existing = self
            .addrs
            .iter_mut()
            .find(|a| a.index == index && a.net.addr() == net.addr() && (!v4 || a.net == net));
        if let Some(a) = existing {
            // IPv6: a replace changes the prefix length.
            a.net = net;
            return;
        }
        let secondary = v4
            && self
                .addrs
                .iter()
                .any(|a| a.index == index && !a.secondary && a.net.trunc() == net.trunc());
        let a = MemAddr {
            index,
            net,
            secondary,
        };
        // Primaries before the interface's secondaries.
        let at = if secondary {
            self.addrs.len()
        } else {
            let first_secondary = self
                .addrs
                .iter()
                .position(|x| x.index == index && x.secondary);
            first_secondary.unwrap_or(self.addrs.len())
        };
        self.addrs.insert(at, a.clone());
        self.connect(&a);
    }

    /// The connected route of a primary address on an up interface.
    pub(super) fn connect(&mut self, a: &MemAddr) {
        let Some(l) = self.links.get(&a.index) else {
            return;
        };
        let link_local = matches!(a.net, IpNet::V6(v) if v.addr().is_unicast_link_local());
        let host_route = a.net.prefix_len() == a.net.max_prefix_len();
        if !l.up || l.kind == Kind::Loopback || a.secondary || link_local || host_route {
            return;
        }
        let v4 = a.net.addr().is_ipv4();
        let r = Route {
            to: a.net.trunc(),
            metric: if v4 { 0 } else { PREFIX_METRIC_V6 },
            via: None,
            oif: Some(a.index),
            protocol: RTPROT_KERNEL,
            scope: if v4 { SCOPE_LINK } else { 0 },
        };
        if !self.routes.contains(&r) {
            self.routes.push(r);
        }
    }

    /// Takes the connected route of `net` on `index` away unless another
    /// primary address still makes it.
    fn disconnect(&mut self, index: u32, net: &IpNet) {
        let still = self.addrs.iter().any(|a| {
            a.index == index && !a.secondary && a.net.trunc() == net.trunc() && a.net != *net
        });
        if !still {
            self.routes.retain(|r| {
                !(r.protocol == RTPROT_KERNEL && r.oif == Some(index) && r.to == net.trunc())
            });
        }
    }

    /// Removes an address, with the kernel's consequences.
    fn remove_addr(&mut self, index: u32, net: &IpNet) -> bool {
        let Some(pos) = self
            .addrs
            .iter()
            .position(|a| a.index == index && a.net == *net)
        else {
            return false;
        };
        let gone = self.addrs.remove(pos);
        if !net.addr().is_ipv4() {
            self.disconnect(index, net);
            return true;
        }
        let promote = self.links.get(&index).is_some_and(|l| l.promote);
        if !gone.secondary {
            let of_subnet =
                |a: &MemAddr| a.index == index && a.secondary && a.net.trunc() == net.trunc();
            if promote {
                if let Some(a) = self.addrs.iter_mut().find(|a| of_subnet(a)) {
                    a.secondary = false;
                    let a = a.clone();
                    self.connect(&a);
                }
            } else {
                self.addrs.retain(|a| !of_subnet(a));
            }
            self.disconnect(index, net);
        }
        let last = !self
            .addrs
            .iter()
            .any(|a| a.index == index && a.net.addr().is_ipv4());
        if last {
            self.routes
                .retain(|r| !(r.oif == Some(index) && r.to.addr().is_ipv4()));
        }
        true
    }

    /// The on-link route `via` is reached by (through `dev` if given):
    /// the longest prefix, then the smallest metric.
    fn on_link(&self, via: IpAddr, dev: Option<u32>) -> Option<u32> {
        self.routes
            .iter()
            .filter(|r| r.via.is_none() && r.to.contains(&via))
            .filter(|r| dev.is_none() || r.oif == dev)
            .filter(|r| !via.is_ipv4() || r.scope >= SCOPE_LINK)
            .max_by_key(|r| (r.to.prefix_len(), std::cmp::Reverse(r.metric)))
            .and_then(|r| r.oif)
    }
}

impl Kernel {
    pub(super) fn add_address(&mut self, l: &IfRef, net: IpNet) -> Result<()> {
        let index = self.space(&l.ns)?.find(l)?;
        self.write(format!("add address {net} on {l}"))?;
        self.space_mut(&l.ns)?.add_addr(index, net);
        Ok(())
    }

    pub(super) fn delete_address(&mut self, l: &IfRef, net: IpNet) -> Result<()> {
        let index = self.space(&l.ns)?.find(l)?;
        let what = format!("delete address {net} on {l}");
        self.write(&what)?;
        if self.space_mut(&l.ns)?.remove_addr(index, &net) {
            Ok(())
        } else {
            Err(errno_error(what, EADDRNOTAVAIL))
        }
    }

    /// Adds or replaces the route of the same destination and metric.
    pub(super) fn put_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()> {
        let sp = self.space(ns)?;
        let dev = match &r.dev {
            Some(d) => Some(sp.find(&IfRef::new(ns.clone(), d))?),
            None => None,
        };
        let what = format!("add route {} in {ns}", r.to);
        self.write(&what)?;
        let sp = self.space_mut(ns)?;
        let v4 = r.to.addr().is_ipv4();
        if (dev.is_none() && r.via.is_none()) || r.to != r.to.trunc() {
            return Err(errno_error(what, EINVAL));
        }
        if let Some(d) = dev {
            if !sp.links[&d].up {
                return Err(errno_error(what, ENETDOWN));
            }
        }
        let oif = match r.via {
            None => dev,
            Some(v) if v.is_ipv4() != v4 => return Err(errno_error(what, EINVAL)),
            Some(v) if sp.addrs.iter().any(|a| a.net.addr() == v) => {
                return Err(errno_error(what, EINVAL))
            }
            Some(IpAddr::V6(g)) if g.is_unicast_link_local() && dev.is_some() => dev,
            Some(v) => match sp.on_link(v, dev) {
                Some(o) => Some(o),
                None => return Err(errno_error(what, ENETUNREACH)),
            },
        };
        let metric = if !v4 && r.metric == 0 { 1024 } else { r.metric };
        let route = Route {
            to: r.to,
            metric,
            via: r.via,
            oif,
            protocol: RTPROT_TOPO,
            scope: if v4 && r.via.is_none() { SCOPE_LINK } else { 0 },
        };
        match sp
            .routes
            .iter_mut()
            .find(|x| x.to == r.to && x.metric == metric && same_family(&x.to, &r.to))
        {
            Some(x) => *x = route,
            None => sp.routes.push(route),
        }
        Ok(())
    }

    /// Deletes topo's route of that destination (and metric, and gateway
    /// when given); metric 0 matches any metric, lowest first.
    pub(super) fn delete_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()> {
        self.space(ns)?;
        let what = format!("delete route {} in {ns}", r.to);
        self.write(&what)?;
        let sp = self.space_mut(ns)?;
        let metric = r.metric;
        let found = sp
            .routes
            .iter()
            .enumerate()
            .filter(|(_, x)| x.to == r.to && x.protocol == RTPROT_TOPO)
            .filter(|(_, x)| metric == 0 || x.metric == metric)
            .filter(|(_, x)| r.via.is_none() || x.via == r.via)
            .min_by_key(|(_, x)| x.metric)
            .map(|(i, _)| i);
        match found {
            Some(i) => {
                sp.routes.remove(i);
                Ok(())
            }
            None => Err(errno_error(what, ESRCH)),
        }
    }
}
