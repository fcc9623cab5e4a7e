//! `Machine` for the local kernel: each request resolved to a namespace
//! and interface index, and sent.

use super::netlink::{self, Conn, NlRoute, SetLink};
use super::watch;
use super::{
    announce, attach, dhcp, dump, etc, exec, factory, host_sysctls, lock, netns, nft, signals,
    state_file, sysctl, LocalKernel, WRITES,
};
use crate::machine::LOCK_WAIT;
use crate::machine::{
    Addr, BridgeOptions, Depth, DhcpConf, DhcpFound, ExecFailure, KernelError, LabState, Link,
    LinkSettings, Machine, MadeDirs, Master, NewLink, ReadBack, Registry, Result, RouteSpec, Table,
    TapOptions, VxlanOptions, WantChain,
};
use crate::model::{Attach, IfRef, Ns};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;

impl LocalKernel {
    async fn nl_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<NlRoute> {
        let oif = match &r.dev {
            Some(d) => Some(self.index_of(&IfRef::new(ns.clone(), d)).await?),
            None => None,
        };
        Ok(NlRoute {
            to: r.to,
            metric: r.metric,
            via: r.via,
            oif,
        })
    }
}

impl Machine for LocalKernel {
    type Lock = lock::LabLock;
    type Watch = watch::LocalWatch;

    fn watch(&mut self, file: Option<&std::path::Path>) -> Result<Self::Watch> {
        watch::LocalWatch::new(file, self.attached.clone())
    }

    fn lock(&mut self, lab: &str, waiting: &mut dyn FnMut()) -> Result<lock::LabLock> {
        lock::acquire(lab, LOCK_WAIT, waiting).map_err(|e| KernelError::io("lock the lab", e))
    }

    fn missing_privileges(&self) -> Option<String> {
        const CAP_NET_ADMIN: u32 = 12;
        const CAP_SYS_ADMIN: u32 = 21;
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0);
        let missing: Vec<&str> = [
            (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
            (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        ]
        .into_iter()
        .filter(|(bit, _)| eff & (1 << bit) == 0)
        .map(|(_, n)| n)
        .collect();
        (!missing.is_empty()).then(|| missing.join(" and "))
    }

    fn writes(&self) -> u64 {
        WRITES.load(Ordering::Relaxed)
    }

    fn interrupted(&self) -> Option<i32> {
        signals::pending()
    }

    fn catch_signals(&mut self) {
        if let Err(e) = signals::catch() {
            tracing::warn!("cannot catch SIGINT and SIGTERM: {e}");
        }
    }

    fn crash(&mut self) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }

    fn namespaces(&mut self) -> Result<Vec<String>> {
        netns::list().map_err(|e| KernelError::io("list namespaces", e))
    }

    fn has_namespace(&mut self, name: &str) -> Result<bool> {
        Ok(self.file(name)?.is_some())
    }

    fn create_namespace(&mut self, name: &str) -> Result<()> {
        let ns = Ns::Node(name.into());
        self.forget_ns(&ns);
        self.attached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let made = self.factory.as_mut().and_then(|f| f.take(name));
        if made.is_none() {
            // Asked in another order than announced: the rest is made here.
            self.factory = None;
        }
        let (f, sock) = match made {
            Some(made) => made.and_then(|m| netns::name_made(name, m)),
            None => netns::create(name),
        }
        .map_err(|e| KernelError::io(format!("create namespace {name}"), e))?;
        self.files.insert(name.to_string(), f);
        self.conns.insert(ns, Conn::from_socket(sock)?);
        Ok(())
    }

    fn expect_namespaces(&mut self, names: Vec<String>) {
        // Best effort: without the thread, each is made at its step.
        self.factory = factory::Factory::start(names)
            .map_err(|e| tracing::debug!("namespaces made at their steps: {e}"))
            .ok();
    }

    fn delete_namespace(&mut self, name: &str) -> Result<()> {
        self.forget_ns(&Ns::Node(name.into()));
        netns::delete(name).map_err(|e| KernelError::io(format!("delete netns {name}"), e))
    }

    fn attach_namespace(&mut self, name: &str, at: &Attach) -> Result<u64> {
        let (f, inode) = attach::open(name, at)?;
        let ns = Ns::Node(name.into());
        if self.ns_inode(&ns) != Some(inode) {
            self.forget_ns(&ns);
        }
        self.attached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), f);
        Ok(inode)
    }

    fn namespace_inode(&mut self, ns: &Ns) -> Option<u64> {
        self.ns_inode(ns)
    }

    fn release(&mut self, ns: &Ns) {
        // Buffers of a connection are about 72 KiB: a big lab lets go of
        // each namespace once apply is done with it.
        if let Ns::Node(n) = ns {
            self.conns.remove(ns);
            self.files.remove(n.as_str());
        }
    }

    async fn dump_many(&mut self, jobs: Vec<(Ns, Depth)>, lab: &str, tables: Vec<Ns>) -> ReadBack {
        // A read sees every write made: the transaction must have landed.
        if let Err(e) = self.writes_done() {
            self.nft_failed = Some(e);
        }
        dump::many(self, jobs, lab, tables)
    }

    async fn links(&mut self, ns: &Ns) -> Result<Vec<Link>> {
        self.conn(ns)?.dump_links().await
    }

    async fn addresses(&mut self, ns: &Ns) -> Result<Vec<Addr>> {
        self.conn(ns)?.dump_addresses().await
    }

    async fn link(&mut self, l: &IfRef) -> Result<Option<Link>> {
        self.conn(&l.ns)?.link_by_name(&l.name).await
    }

    async fn create_bridge(&mut self, l: &IfRef, o: &BridgeOptions, new: &NewLink) -> Result<()> {
        self.conn(&l.ns)?.create_bridge(&l.name, o, new.mac).await?;
        self.mark(l, &new.alias).await
    }

    async fn change_bridge(&mut self, l: &IfRef, o: &BridgeOptions) -> Result<()> {
        let index = self.index_of(l).await?;
        let what = format!("change bridge {l}");
        self.conn(&l.ns)?.change_bridge(index, o, &what).await
    }

    async fn create_veth(&mut self, a: &IfRef, b: &IfRef, ends: [&NewLink; 2]) -> Result<()> {
        self.veth_create(a, b, ends).await
    }

    async fn create_tap(&mut self, l: &IfRef, o: &TapOptions, new: &NewLink) -> Result<()> {
        self.tap_create(l, o, new).await
    }

    async fn change_tap(&mut self, l: &IfRef, o: &TapOptions) -> Result<()> {
        self.tap_change(l, o)
    }

    async fn create_vxlan(&mut self, l: &IfRef, o: &VxlanOptions, new: &NewLink) -> Result<()> {
        self.vxlan_create(l, o, new).await
    }

    async fn change_vxlan(&mut self, l: &IfRef, o: &VxlanOptions) -> Result<()> {
        self.vxlan_change(l, o).await
    }

    async fn add_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        self.fdb_add(l, dst).await
    }

    async fn delete_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        self.fdb_delete(l, dst).await
    }

    async fn set_link(&mut self, l: &IfRef, s: &LinkSettings) -> Result<()> {
        let master = match &s.master {
            Master::Keep => None,
            Master::Detach => Some(0),
            Master::Attach(m) => Some(self.index_of(&IfRef::new(l.ns.clone(), m)).await?),
        };
        let index = self.index_of(l).await?;
        let nl = SetLink {
            alias: s.alias.as_deref(),
            up: s.up,
            mtu: s.mtu,
            mac: s.mac,
            master,
            fresh: false,
        };
        self.conn(&l.ns)?
            .set_link(index, &nl, &format!("configure {l}"))
            .await
    }

    async fn delete_link(&mut self, l: &IfRef) -> Result<()> {
        let index = self.index_of(l).await?;
        self.index.remove(l);
        self.conn(&l.ns)?
            .delete_link(index, &format!("delete {l}"))
            .await
    }

    async fn delete_links(&mut self, ns: &Ns, links: &[IfRef]) -> Result<()> {
        netlink::delete_links(self, ns, links)
    }

    async fn delete_links_meanwhile(&mut self, ns: &Ns, links: &[IfRef]) {
        if let Err(e) = netlink::delete_links_meanwhile(self, ns, links) {
            tracing::debug!("deleting them with their namespaces: {e}");
        }
    }

    fn finish_meanwhile(&mut self) {
        for t in self.meanwhile.drain(..) {
            match t.join() {
                Ok(Ok(())) => {}
                // Best effort: what is left goes with its namespace.
                Ok(Err(e)) => tracing::debug!("deleting them with their namespaces: {e}"),
                Err(_) => tracing::debug!("the deleting thread panicked"),
            }
        }
    }

    async fn add_address(&mut self, l: &IfRef, net: ipnet::IpNet, nodad: bool) -> Result<()> {
        let index = self.index_of(l).await?;
        let what = format!("add address {net} on {l}");
        self.conn(&l.ns)?
            .add_address(index, net, nodad, &what)
            .await
    }

    async fn delete_address(&mut self, l: &IfRef, net: ipnet::IpNet) -> Result<()> {
        let index = self.index_of(l).await?;
        let what = format!("delete address {net} on {l}");
        self.conn(&l.ns)?.delete_address(index, net, &what).await
    }

    async fn put_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()> {
        let nl = self.nl_route(ns, r).await?;
        let what = format!("add route {} in {ns}", r.to);
        self.conn(ns)?.put_route(&nl, &what).await
    }

    async fn delete_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()> {
        let nl = NlRoute {
            oif: None,
            ..self
                .nl_route(
                    ns,
                    &RouteSpec {
                        dev: None,
                        ..r.clone()
                    },
                )
                .await?
        };
        let what = format!("delete route {} in {ns}", r.to);
        self.conn(ns)?.delete_route(&nl, &what).await
    }

    fn announce(&mut self, l: &IfRef, mac: [u8; 6], addrs: &[IpAddr]) -> Result<()> {
        let index = *self
            .index
            .get(l)
            .ok_or_else(|| KernelError::netlink(format!("find {l}"), 19, "no such device"))?;
        let f = self.ns_fd(&l.ns)?;
        announce::announce(f.as_ref().map(|f| f.as_fd()), index, mac, addrs)
            .map_err(|e| KernelError::io(format!("announce the addresses of {l}"), e))
    }

    fn read_sysctl(&mut self, ns: &Ns, key: &str) -> Result<Option<String>> {
        let f = self.ns_fd(ns)?;
        if let Some((family, index)) = netlink::netconf_query(key) {
            let read = netlink::forwarding(f.as_ref().map(|f| f.as_fd()), family, index);
            match read {
                Ok(v) => return Ok(Some(v)),
                // Without that family's netconf (IPv6 off at boot): /proc says.
                Err(e) => tracing::debug!("{key} over netlink in {ns}: {e}"),
            }
        }
        sysctl::read(f.as_ref().map(|f| f.as_fd()), key)
            .map_err(|e| KernelError::io(format!("read sysctl {key} in {ns}"), e))
    }

    fn write_sysctl(&mut self, ns: &Ns, key: &str, value: &str) -> Result<()> {
        let f = self.ns_fd(ns)?;
        sysctl::write(f.as_ref().map(|f| f.as_fd()), key, value)
            .map_err(|e| KernelError::io(format!("set sysctl {key} = {value} in {ns}"), e))
    }

    fn nft_read(&mut self, ns: &Ns, lab: &str) -> Result<Table> {
        self.writes_done()?;
        let f = self.ns_fd(ns)?;
        nft::read(f.as_ref().map(|f| f.as_fd()), lab)
    }

    /// Returns once nft has its input: the transaction goes on while the
    /// run does, and `writes_done` (or the next nft request) waits for it.
    fn nft_replace(&mut self, ns: &Ns, lab: &str, chains: &[WantChain<'_>]) -> Result<()> {
        self.writes_done()?;
        let f = self.ns_fd(ns)?;
        let fd = f.as_ref().map(|f| f.as_fd());
        if chains.is_empty() {
            nft::delete(fd, lab)
        } else {
            self.nft_in_flight = Some(nft::replace(fd, lab, chains)?);
            Ok(())
        }
    }

    fn writes_done(&mut self) -> Result<()> {
        if let Some(e) = self.nft_failed.take() {
            return Err(e);
        }
        match self.nft_in_flight.take() {
            Some(t) => t.wait(),
            None => Ok(()),
        }
    }

    fn nft_snapshot(&mut self, ns: &Ns, lab: &str) -> Result<Option<String>> {
        self.writes_done()?;
        let f = self.ns_fd(ns)?;
        nft::snapshot(f.as_ref().map(|f| f.as_fd()), lab)
    }

    fn nft_restore(&mut self, ns: &Ns, lab: &str, snapshot: Option<&str>) -> Result<()> {
        self.writes_done()?;
        let f = self.ns_fd(ns)?;
        nft::restore(f.as_ref().map(|f| f.as_fd()), lab, snapshot)
    }

    fn load_state(&mut self, lab: &str) -> Result<LabState> {
        state_file::load(lab).map_err(|e| KernelError::io("read the lab's records", e))
    }

    fn save_state(&mut self, lab: &str, st: &LabState) -> Result<()> {
        state_file::save(lab, st).map_err(|e| KernelError::io("write the lab's records", e))
    }

    fn load_host_sysctls(&mut self) -> Result<Registry> {
        host_sysctls::load().map_err(|e| KernelError::io("read shared host sysctls", e))
    }

    fn update_host_sysctls<T>(&mut self, f: impl FnOnce(&mut Registry) -> T) -> Result<T> {
        host_sysctls::update(|r| Ok(f(r)))
            .map_err(|e| KernelError::io("record shared host sysctls", e))
    }

    fn labs(&mut self) -> Vec<String> {
        state_file::labs()
    }

    fn read_netns_file(&mut self, node: &str, name: &str) -> Result<Option<String>> {
        etc::read(node, name)
    }

    fn write_netns_file(&mut self, node: &str, name: &str, text: &str) -> Result<()> {
        etc::write(node, name, text)
    }

    fn remove_netns_file(&mut self, node: &str, name: &str) -> Result<()> {
        etc::remove(node, name)
    }

    fn make_netns_dir(&mut self, node: &str) -> Result<MadeDirs> {
        etc::make_dir(node)
    }

    fn remove_netns_dir(&mut self, node: &str, root: bool) -> Result<bool> {
        etc::remove_dir(node, root)
    }

    async fn dhcp_servers(&mut self, lab: &str) -> Result<Vec<DhcpFound>> {
        self.dhcp_found(lab).await
    }

    fn dhcp_unavailable(&mut self) -> Option<String> {
        dhcp::unavailable()
    }

    async fn start_dhcp(&mut self, lab: &str, on: &IfRef, conf: &DhcpConf) -> Result<()> {
        self.dhcp_start(lab, on, conf).await
    }

    fn stop_dhcp(&mut self, lab: &str, on: &IfRef, forget_leases: bool) -> Result<()> {
        dhcp::stop(lab, on, forget_leases)
    }

    fn exec(&mut self, ns: &Ns, argv: &[String]) -> ExecFailure {
        let binds = match ns {
            Ns::Node(n) => etc::binds(n),
            Ns::Host => Vec::new(),
        };
        match self.ns_fd(ns) {
            Ok(f) => exec::exec_in(f.as_ref(), &binds, argv),
            Err(e) => ExecFailure::CannotRun(std::io::Error::other(e.to_string())),
        }
    }
}
