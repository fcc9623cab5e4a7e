//! Veth pairs, taps and VXLAN devices on the local kernel: each request
//! resolved to a namespace and interface index, and sent.

use super::netlink::{group_for, SetLink};
use super::tap::{self, Mode};
use super::LocalKernel;
use crate::machine::{KernelError, NewLink, Result, TapOptions, VxlanOptions};
use crate::model::IfRef;
use std::net::IpAddr;
use std::os::fd::AsFd;

impl LocalKernel {
    /// Marks a new interface and gives it topo's settings for new
    /// interfaces, before it first comes up (its MAC it was made with).
    pub(super) async fn mark(&mut self, l: &IfRef, alias: &str) -> Result<()> {
        self.mark_as(l, alias, None).await
    }

    /// A veth pair, end `b` made directly in its namespace; both marked.
    pub(super) async fn veth_create(
        &mut self,
        a: &IfRef,
        b: &IfRef,
        ends: [&NewLink; 2],
    ) -> Result<()> {
        let c = self.conn(&a.ns)?;
        // The peer is made in its namespace by the namespace's fd, which
        // must stay open until the kernel has answered.
        let b_file = if a.ns == b.ns {
            None
        } else {
            match self.ns_fd(&b.ns)? {
                Some(f) => Some(f),
                None => Some(
                    std::fs::File::open("/proc/self/ns/net")
                        .map_err(|e| KernelError::io("open the host namespace", e))?,
                ),
            }
        };
        let fd = b_file.as_ref().map(|f| f.as_fd());
        let group = group_for(&ends[0].alias);
        c.create_veth((&a.name, ends[0].mac), (&b.name, ends[1].mac), fd, group)
            .await?;
        self.mark(a, &ends[0].alias).await?;
        self.mark(b, &ends[1].alias).await
    }

    /// Marks a new interface, gives it its MAC and topo's settings for new
    /// interfaces, before it first comes up (a tap is made without a MAC).
    pub(super) async fn mark_with_mac(&mut self, l: &IfRef, new: &NewLink) -> Result<()> {
        self.mark_as(l, &new.alias, new.mac).await
    }

    async fn mark_as(&mut self, l: &IfRef, alias: &str, mac: Option<[u8; 6]>) -> Result<()> {
        self.index.remove(l);
        let index = self.index_of(l).await?;
        let s = SetLink {
            alias: Some(alias),
            mac,
            fresh: true,
            ..Default::default()
        };
        self.conn(&l.ns)?
            .set_link(index, &s, &format!("mark {l}"))
            .await
    }

    pub(super) async fn tap_create(
        &mut self,
        l: &IfRef,
        o: &TapOptions,
        new: &NewLink,
    ) -> Result<()> {
        let ns = self.ns_fd(&l.ns)?;
        tap::tap(ns, &l.name, *o, Mode::Create)
            .map_err(|e| KernelError::io(format!("create tap {l}"), e))?;
        self.mark_with_mac(l, new).await
    }

    pub(super) fn tap_change(&mut self, l: &IfRef, o: &TapOptions) -> Result<()> {
        let ns = self.ns_fd(&l.ns)?;
        tap::tap(ns, &l.name, *o, Mode::Change).map_err(|e| {
            let what = format!("change tap {l}");
            if e.raw_os_error() == Some(libc::EBUSY) {
                let why = "a process has it open (a VM?): a single-queue tap takes one reader at a time, stop it first";
                KernelError::io(what, std::io::Error::new(e.kind(), format!("{e}: {why}")))
            } else {
                KernelError::io(what, e)
            }
        })
    }

    pub(super) async fn vxlan_create(
        &mut self,
        l: &IfRef,
        o: &VxlanOptions,
        new: &NewLink,
    ) -> Result<()> {
        let dev = match &o.dev {
            Some(d) => Some(self.index_of(&IfRef::new(l.ns.clone(), d)).await?),
            None => None,
        };
        self.conn(&l.ns)?
            .create_vxlan(&l.name, o, dev, new.mac)
            .await?;
        self.mark_with_mac(l, new).await
    }

    pub(super) async fn vxlan_change(&mut self, l: &IfRef, o: &VxlanOptions) -> Result<()> {
        let index = self.index_of(l).await?;
        let what = format!("change vxlan {l}");
        self.conn(&l.ns)?.change_vxlan(index, o, &what).await
    }

    pub(super) async fn fdb_add(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        let index = self.index_of(l).await?;
        let what = format!("add remote {dst} to {l}");
        self.conn(&l.ns)?.add_fdb(index, dst, &what).await
    }

    pub(super) async fn fdb_delete(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        let index = self.index_of(l).await?;
        let what = format!("remove remote {dst} from {l}");
        self.conn(&l.ns)?.delete_fdb(index, dst, &what).await
    }
}
