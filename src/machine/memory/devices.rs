//! Taps and VXLAN devices of the in-memory kernel, and the remotes of a
//! VXLAN device's all-zero forwarding entry.

use super::{errno_error, Kernel, Kind, Space};
use crate::machine::{FdbEntry, NewLink, Result, TapOptions, VxlanInfo, VxlanOptions};
use crate::model::IfRef;
use std::net::IpAddr;

const ENOENT: i32 = 2;
const EINVAL: i32 = 22;
const EEXIST: i32 = 17;
const EOPNOTSUPP: i32 = 95;

impl Space {
    /// The all-zero entries of the namespace's VXLAN devices.
    pub(super) fn fdb(&self) -> Vec<FdbEntry> {
        let mut out = Vec::new();
        for l in self.links.values() {
            if let Kind::Vxlan { remotes, .. } = &l.kind {
                out.extend(remotes.iter().map(|r| FdbEntry {
                    index: l.index,
                    mac: [0; 6],
                    dst: Some(*r),
                }));
            }
        }
        out
    }

    /// VXLAN devices on the underlay `index`: the kernel deletes them with it.
    pub(super) fn over(&self, index: u32) -> Vec<u32> {
        let on = |l: &&super::MemLink| matches!(&l.kind, Kind::Vxlan { options, .. } if options.dev == Some(index));
        self.links.values().filter(on).map(|l| l.index).collect()
    }

    /// Marks a new device and gives it its MAC.
    fn mark_with_mac(&mut self, index: u32, new: &NewLink) {
        if let Some(l) = self.links.get_mut(&index) {
            if let Some(m) = new.mac {
                l.mac = m;
            }
            l.alias = Some(new.alias.clone());
            l.promote = true;
            l.arp_notify = true;
        }
    }
}

impl Kernel {
    /// Creates a tap (one request), then marks it (another).
    pub(super) fn create_tap(&mut self, l: &IfRef, o: &TapOptions, new: &NewLink) -> Result<()> {
        let what = format!("create tap {l}");
        if self.space(&l.ns)?.by_name(&l.name).is_some() {
            return Err(errno_error(what, EEXIST));
        }
        self.write(&what)?;
        let mac = self.mac();
        let index = self.space_mut(&l.ns)?.add_link(&l.name, Kind::Tap(*o), mac);
        self.write(format!("mark {l}"))?;
        self.space_mut(&l.ns)?.mark_with_mac(index, new);
        Ok(())
    }

    pub(super) fn change_tap(&mut self, l: &IfRef, o: &TapOptions) -> Result<()> {
        let index = self.space(&l.ns)?.find(l)?;
        let what = format!("change tap {l}");
        self.write(&what)?;
        match self
            .space_mut(&l.ns)?
            .links
            .get_mut(&index)
            .map(|t| &mut t.kind)
        {
            Some(Kind::Tap(t)) => {
                (t.owner, t.group) = (o.owner, o.group);
                Ok(())
            }
            _ => Err(errno_error(what, EINVAL)),
        }
    }

    /// Creates a VXLAN device (one request), then marks it (another).
    pub(super) fn create_vxlan(
        &mut self,
        l: &IfRef,
        o: &VxlanOptions,
        new: &NewLink,
    ) -> Result<()> {
        let what = format!("create vxlan {l}");
        let sp = self.space(&l.ns)?;
        let dev = match &o.dev {
            Some(d) => Some(sp.find(&IfRef::new(l.ns.clone(), d))?),
            None => None,
        };
        let twin = sp.links.values().any(|x| {
            matches!(&x.kind, Kind::Vxlan { options, .. } if options.vni == o.vni && options.port == o.port)
        });
        if sp.by_name(&l.name).is_some() || twin {
            return Err(errno_error(what, EEXIST));
        }
        self.write(&what)?;
        let mac = new.mac.unwrap_or_else(|| self.mac());
        let options = VxlanInfo {
            vni: o.vni,
            local: o.local,
            port: o.port,
            dev,
            learning: o.learning,
        };
        let sp = self.space_mut(&l.ns)?;
        let overhead = if o.local.is_some_and(|a| a.is_ipv6()) {
            70
        } else {
            50
        };
        let mtu = dev
            .and_then(|d| sp.links.get(&d))
            .map_or(1500, |u| u.mtu - overhead);
        let kind = Kind::Vxlan {
            options,
            remotes: vec![],
        };
        let index = sp.add_link(&l.name, kind, mac);
        if let Some(x) = sp.links.get_mut(&index) {
            x.mtu = mtu;
        }
        self.write(format!("mark {l}"))?;
        self.space_mut(&l.ns)?.mark_with_mac(index, new);
        Ok(())
    }

    /// Learning changes in place; VNI, port, local address and underlay
    /// do not.
    pub(super) fn change_vxlan(&mut self, l: &IfRef, o: &VxlanOptions) -> Result<()> {
        let sp = self.space(&l.ns)?;
        let index = sp.find(l)?;
        let dev = match &o.dev {
            Some(d) => Some(sp.find(&IfRef::new(l.ns.clone(), d))?),
            None => None,
        };
        let what = format!("change vxlan {l}");
        self.write(&what)?;
        let link = self.space_mut(&l.ns)?.links.get_mut(&index);
        match link.map(|x| &mut x.kind) {
            Some(Kind::Vxlan { options, .. })
                if (options.vni, options.port, options.local, options.dev)
                    == (o.vni, o.port, o.local, dev) =>
            {
                options.learning = o.learning;
                Ok(())
            }
            _ => Err(errno_error(what, EOPNOTSUPP)),
        }
    }

    pub(super) fn add_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        let index = self.space(&l.ns)?.find(l)?;
        let what = format!("add remote {dst} to {l}");
        self.write(&what)?;
        match self
            .space_mut(&l.ns)?
            .links
            .get_mut(&index)
            .map(|x| &mut x.kind)
        {
            Some(Kind::Vxlan { remotes, .. }) if remotes.contains(&dst) => {
                Err(errno_error(what, EEXIST))
            }
            Some(Kind::Vxlan { remotes, .. }) => {
                remotes.push(dst);
                Ok(())
            }
            _ => Err(errno_error(what, EOPNOTSUPP)),
        }
    }

    pub(super) fn delete_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        let index = self.space(&l.ns)?.find(l)?;
        let what = format!("remove remote {dst} from {l}");
        self.write(&what)?;
        match self
            .space_mut(&l.ns)?
            .links
            .get_mut(&index)
            .map(|x| &mut x.kind)
        {
            Some(Kind::Vxlan { remotes, .. }) => match remotes.iter().position(|r| *r == dst) {
                Some(i) => {
                    remotes.remove(i);
                    Ok(())
                }
                None => Err(errno_error(what, ENOENT)),
            },
            _ => Err(errno_error(what, EOPNOTSUPP)),
        }
    }
}
