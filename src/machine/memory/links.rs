//! Interfaces of the in-memory kernel: bridges and veth pairs made, marked,
//! configured and deleted, with what goes along (a pair's other end, a
//! bridge's ports detached, the addresses and routes on a device), and
//! namespaces made and deleted.

use super::{errno_error, Kernel, Kind, MemLink, Space};
use crate::machine::{BridgeOptions, Link, LinkSettings, Master, NewLink, Result, TunInfo};
use crate::model::{IfRef, Ns};
use std::time::Instant;

const EEXIST: i32 = 17;
const EINVAL: i32 = 22;
const ELOOP: i32 = 40;
const EOPNOTSUPP: i32 = 95;
const EADDRNOTAVAIL: i32 = 99;

impl Space {
    /// Brings a link up or down, with what the kernel does then: connected
    /// routes come with up; down flushes the routes through the link and
    /// its IPv6 addresses.
    pub(super) fn set_up(&mut self, index: u32, up: bool) {
        let Some(l) = self.links.get_mut(&index) else {
            return;
        };
        if l.up == up {
            return;
        }
        l.up = up;
        let loopback = l.kind == Kind::Loopback;
        if up {
            if loopback {
                self.add_addr(index, "127.0.0.1/8".parse().expect("loopback net"));
                self.add_addr(index, "::1/128".parse().expect("loopback net"));
            }
            let on_link = self.addrs.iter().filter(|a| a.index == index);
            for a in on_link.cloned().collect::<Vec<_>>() {
                self.connect(&a);
            }
        } else {
            self.routes.retain(|r| r.oif != Some(index));
            self.addrs
                .retain(|a| a.index != index || a.net.addr().is_ipv4());
        }
    }

    /// Removes a device and what is on it; its ports are detached.
    pub(super) fn remove_device(&mut self, index: u32) {
        let Some(gone) = self.links.remove(&index) else {
            return;
        };
        for l in self.links.values_mut() {
            if l.master == Some(index) {
                l.master = None;
            }
        }
        self.addrs.retain(|a| a.index != index);
        self.routes.retain(|r| r.oif != Some(index));
        if let Some(m) = gone.master {
            self.follow_ports(m);
        }
        for vxlan in self.over(index) {
            self.remove_device(vxlan);
        }
    }

    /// A bridge whose MTU nobody set takes its smallest port's (1500 with
    /// no ports).
    pub(super) fn follow_ports(&mut self, bridge: u32) {
        let ports = self.links.values().filter(|l| l.master == Some(bridge));
        let min = ports.map(|l| l.mtu).min().unwrap_or(1500);
        if let Some(b) = self.links.get_mut(&bridge) {
            if matches!(b.kind, Kind::Bridge { mtu_set: false, .. }) {
                b.mtu = min;
            }
        }
    }

    fn mark(&mut self, index: u32, alias: &str) {
        if let Some(l) = self.links.get_mut(&index) {
            l.alias = Some(alias.to_string());
            l.promote = true;
            l.arp_notify = true;
        }
    }

    fn taken(&self, name: &str, what: &str) -> Result<()> {
        match self.by_name(name) {
            Some(_) => Err(errno_error(what, EEXIST)),
            None => Ok(()),
        }
    }
}

impl Kernel {
    /// The link as a dump shows it.
    pub(super) fn view(&self, ns: &Ns, l: &MemLink) -> Link {
        let mut v = Link::named(l.index, &l.name);
        v.alias = l.alias.clone();
        v.mtu = l.mtu;
        v.mac = Some(l.mac);
        v.master = l.master;
        v.up = l.up;
        v.promote = l.promote;
        v.running = self.running(ns, l);
        match &l.kind {
            Kind::Bridge {
                stp, forward_delay, ..
            } => {
                v.kind = Some("bridge".into());
                v.stp = Some(*stp);
                v.forward_delay = Some(*forward_delay);
            }
            Kind::Veth { .. } => v.kind = Some("veth".into()),
            Kind::Tap(t) => {
                v.kind = Some("tun".into());
                v.tun = Some(TunInfo {
                    tap: true,
                    owner: t.owner,
                    group: t.group,
                    persist: true,
                    multi_queue: t.multi_queue,
                });
            }
            Kind::Vxlan { options, .. } => {
                v.kind = Some("vxlan".into());
                v.vxlan = Some(*options);
            }
            Kind::Loopback | Kind::Physical => {}
        }
        v
    }

    /// Carrier: a veth runs when both ends are up, a bridge when a port
    /// runs; ports forward at once.
    fn running(&self, ns: &Ns, l: &MemLink) -> bool {
        if !l.up {
            return false;
        }
        match &l.kind {
            Kind::Loopback | Kind::Physical | Kind::Vxlan { .. } => true,
            // No process has it open: no carrier.
            Kind::Tap(_) => false,
            Kind::Veth { peer } => peer.as_ref().is_some_and(|(pns, pi)| {
                let p = self.by_inode(*pns).and_then(|s| s.links.get(pi));
                p.is_some_and(|p| p.up)
            }),
            Kind::Bridge { .. } => self.space_at(ns).is_some_and(|sp| {
                sp.links
                    .values()
                    .filter(|p| p.master == Some(l.index))
                    .any(|p| self.running(ns, p))
            }),
        }
    }

    pub(super) fn create_namespace(&mut self, name: &str) -> Result<()> {
        let ns = Ns::Node(name.into());
        self.write(format!("create namespace {name}"))?;
        if self.spaces.contains_key(&ns) {
            return Err(errno_error(format!("create namespace {name}"), EEXIST));
        }
        let host = self.space(&Ns::Host)?.sysctls.clone();
        let sp = self.fresh_space(&host);
        self.spaces.insert(ns, sp);
        // The node is topo's own namespace from now on.
        self.attached.remove(name);
        Ok(())
    }

    /// Unnames a namespace (unmount and unlink, as `ip netns delete`). It
    /// ends, with everything in it, unless a process still runs there or
    /// a file is bound to it: then it lives on without a name.
    pub(super) fn delete_namespace(&mut self, name: &str) -> Result<()> {
        let ns = Ns::Node(name.into());
        self.write(format!("delete netns {name}"))?;
        let Some(sp) = self.spaces.remove(&ns) else {
            return Ok(());
        };
        if self.held(sp.inode) {
            self.anon.insert(sp.inode, sp);
        } else {
            self.end_space(sp);
        }
        Ok(())
    }

    /// A namespace ends: the far end of each of its veths goes, at once or
    /// after the teardown delay.
    pub(super) fn end_space(&mut self, sp: Space) {
        for l in sp.links.values() {
            let Kind::Veth {
                peer: Some((pns, pi)),
            } = &l.kind
            else {
                continue;
            };
            if *pns == sp.inode {
                continue;
            }
            let teardown = self.teardown;
            let Some(other) = self.by_inode_mut(*pns) else {
                continue;
            };
            match teardown {
                None => other.remove_device(*pi),
                Some(d) => {
                    if let Some(end) = other.links.get_mut(pi) {
                        end.kind = Kind::Veth { peer: None };
                    }
                    self.lingering.push((Instant::now() + d, *pns, *pi));
                }
            }
        }
    }

    /// Creates a bridge, down, then marks it: two requests.
    pub(super) fn create_bridge(
        &mut self,
        l: &IfRef,
        o: &BridgeOptions,
        new: &NewLink,
    ) -> Result<()> {
        let what = format!("create bridge {}", l.name);
        self.space(&l.ns)?.taken(&l.name, &what)?;
        self.write(&what)?;
        let mac = match new.mac {
            Some(m) => m,
            None => self.mac(),
        };
        let kind = Kind::Bridge {
            stp: o.stp,
            forward_delay: o.forward_delay.unwrap_or(15),
            mtu_set: false,
        };
        let sp = self.space_mut(&l.ns)?;
        let index = sp.add_link(&l.name, kind, mac);
        self.write(format!("mark {l}"))?;
        self.space_mut(&l.ns)?.mark(index, &new.alias);
        Ok(())
    }

    pub(super) fn change_bridge(&mut self, l: &IfRef, o: &BridgeOptions) -> Result<()> {
        let index = self.space(&l.ns)?.find(l)?;
        let what = format!("change bridge {l}");
        self.write(&what)?;
        let link = self.space_mut(&l.ns)?.links.get_mut(&index);
        match link.map(|b| &mut b.kind) {
            Some(Kind::Bridge {
                stp, forward_delay, ..
            }) => {
                *stp = o.stp;
                if let Some(d) = o.forward_delay {
                    *forward_delay = d;
                }
                Ok(())
            }
            _ => Err(errno_error(what, EOPNOTSUPP)),
        }
    }

    /// Creates a veth pair, both ends down, then marks each end: three
    /// requests.
    pub(super) fn create_veth(&mut self, a: &IfRef, b: &IfRef, ends: [&NewLink; 2]) -> Result<()> {
        let what = format!("create veth {} ↔ {}", a.name, b.name);
        self.space(&a.ns)?.taken(&a.name, &what)?;
        self.space(&b.ns)?.taken(&b.name, &what)?;
        if a == b {
            return Err(errno_error(what, EEXIST));
        }
        self.write(&what)?;
        let macs = [0, 1].map(|i| ends[i].mac.unwrap_or_else(|| self.mac()));
        let open = Kind::Veth { peer: None };
        let ai = self
            .space_mut(&a.ns)?
            .add_link(&a.name, open.clone(), macs[0]);
        let bi = self.space_mut(&b.ns)?.add_link(&b.name, open, macs[1]);
        let (an, bn) = (self.space(&a.ns)?.inode, self.space(&b.ns)?.inode);
        let pair = [(a, ai, (bn, bi)), (b, bi, (an, ai))];
        for (end, index, peer) in pair {
            if let Some(l) = self.space_mut(&end.ns)?.links.get_mut(&index) {
                l.kind = Kind::Veth { peer: Some(peer) };
            }
        }
        for (end, index, new) in [(a, ai, ends[0]), (b, bi, ends[1])] {
            self.write(format!("mark {end}"))?;
            self.space_mut(&end.ns)?.mark(index, &new.alias);
        }
        Ok(())
    }

    /// Sets what `s` names, checked whole first.
    pub(super) fn set_link(&mut self, l: &IfRef, s: &LinkSettings) -> Result<()> {
        let sp = self.space(&l.ns)?;
        let index = sp.find(l)?;
        let what = format!("configure {l}");
        let master = match &s.master {
            Master::Keep => None,
            Master::Detach => Some(None),
            Master::Attach(m) => Some(Some(sp.find(&IfRef::new(l.ns.clone(), m))?)),
        };
        self.write(&what)?;
        let sp = self.space_mut(&l.ns)?;
        let link = &sp.links[&index];
        if let Some(mtu) = s.mtu {
            if link.kind != Kind::Loopback && !(68..=65535).contains(&mtu) {
                return Err(errno_error(what, EINVAL));
            }
        }
        if s.mac.is_some_and(|m| m[0] & 1 == 1 || m == [0; 6]) {
            return Err(errno_error(what, EADDRNOTAVAIL));
        }
        if let Some(Some(m)) = master {
            let bridge = &sp.links[&m];
            if !matches!(bridge.kind, Kind::Bridge { .. }) {
                return Err(errno_error(what, EOPNOTSUPP));
            }
            if m == index {
                return Err(errno_error(what, ELOOP));
            }
            if link.kind == Kind::Loopback {
                return Err(errno_error(what, EINVAL));
            }
        }
        let was_master = link.master;
        let link = sp.links.get_mut(&index).expect("found above");
        if let Some(mac) = s.mac {
            link.mac = mac;
        }
        if let Some(mtu) = s.mtu {
            link.mtu = mtu;
            if let Kind::Bridge { mtu_set, .. } = &mut link.kind {
                *mtu_set = true;
            }
        }
        if let Some(a) = &s.alias {
            link.alias = (!a.is_empty()).then(|| a.clone());
        }
        if let Some(m) = master {
            link.master = m;
        }
        if let Some(up) = s.up {
            sp.set_up(index, up);
        }
        let new_master = sp.links[&index].master;
        for b in [was_master, new_master].into_iter().flatten() {
            sp.follow_ports(b);
        }
        Ok(())
    }

    /// Deletes a device; a veth takes its other end along.
    pub(super) fn delete_link(&mut self, l: &IfRef) -> Result<()> {
        let index = self.space(&l.ns)?.find(l)?;
        let what = format!("delete {l}");
        self.write(&what)?;
        let sp = self.space_mut(&l.ns)?;
        let inode = sp.inode;
        let kind = sp.links[&index].kind.clone();
        match kind {
            Kind::Loopback => return Err(errno_error(what, EOPNOTSUPP)),
            Kind::Veth {
                peer: Some((pns, pi)),
            } => {
                sp.remove_device(index);
                if let Some(other) = self.by_inode_mut(pns) {
                    other.remove_device(pi);
                }
            }
            _ => sp.remove_device(index),
        }
        self.lingering
            .retain(|(_, ns, i)| !(*ns == inode && *i == index));
        Ok(())
    }
}
