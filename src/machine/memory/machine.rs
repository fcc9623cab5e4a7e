//! `Machine` for the in-memory kernel: each request carried out on the
//! shared state, counted as the local kernel counts it.

use super::{Kernel, MemoryKernel};
use crate::machine::{
    Addr, BridgeOptions, Depth, DhcpConf, DhcpFound, Dump, ExecFailure, LabState, Link,
    LinkSettings, Machine, MadeDirs, NewLink, ReadBack, Registry, Result, RouteSpec, Table,
    TapOptions, VxlanOptions, WantChain,
};
use crate::model::{Attach, IfRef, Ns};
use std::net::IpAddr;

impl Kernel {
    fn dump(&self, ns: &Ns, depth: &Depth) -> Result<Dump> {
        let sp = self.space(ns)?;
        let links: Vec<Link> = sp.links.values().map(|l| self.view(ns, l)).collect();
        let lo = || Dump {
            links: links.iter().filter(|l| l.name == "lo").cloned().collect(),
            ..Dump::default()
        };
        let marked = |mark: &String| lo().links.iter().any(|l| l.alias.as_ref() == Some(mark));
        let full = match depth {
            Depth::Full => true,
            Depth::LinksIfMarked(mark) if marked(mark) => {
                return Ok(Dump {
                    links,
                    ..Dump::default()
                })
            }
            Depth::LinksIfMarked(_) => false,
            Depth::FullIfMarked(mark) => marked(mark),
        };
        if !full {
            return Ok(lo());
        }
        Ok(Dump {
            addrs: self.addresses(ns)?,
            routes: sp.routes.clone(),
            fdb: sp.fdb(),
            links,
        })
    }

    fn addresses(&self, ns: &Ns) -> Result<Vec<Addr>> {
        let sp = self.space(ns)?;
        Ok(sp
            .addrs
            .iter()
            .map(|a| Addr {
                index: a.index,
                net: a.net,
                secondary: a.secondary,
                tentative: false,
            })
            .collect())
    }
}

impl Machine for MemoryKernel {
    /// The lock is always free: one test, one machine.
    type Lock = ();

    fn lock(&mut self, _lab: &str, _waiting: &mut dyn FnMut()) -> Result<()> {
        Ok(())
    }

    /// The lab file's writes are posted by the test (`post_wake`).
    type Watch = super::MemoryWatch;

    fn watch(&mut self, _file: Option<&std::path::Path>) -> Result<super::MemoryWatch> {
        Ok(self.new_watch())
    }

    fn missing_privileges(&self) -> Option<String> {
        None
    }

    fn writes(&self) -> u64 {
        self.k.borrow().writes
    }

    fn interrupted(&self) -> Option<i32> {
        None
    }

    fn catch_signals(&mut self) {}

    fn crash(&mut self) {
        panic!("the in-memory kernel cannot kill its process: use apply::Options::stop_after");
    }

    /// Names in /run/netns: not the namespaces attached nodes stand for.
    fn namespaces(&mut self) -> Result<Vec<String>> {
        self.with(|k| {
            Ok(k.spaces
                .keys()
                .filter_map(|ns| match ns {
                    Ns::Node(n) => Some(n.to_string()),
                    Ns::Host => None,
                })
                .collect())
        })
    }

    fn has_namespace(&mut self, name: &str) -> Result<bool> {
        self.with(|k| Ok(k.space_at(&Ns::Node(name.into())).is_some()))
    }

    fn create_namespace(&mut self, name: &str) -> Result<()> {
        self.with(|k| k.create_namespace(name))
    }

    fn delete_namespace(&mut self, name: &str) -> Result<()> {
        self.with(|k| k.delete_namespace(name))
    }

    fn release(&mut self, _ns: &Ns) {}

    fn attach_namespace(&mut self, name: &str, at: &Attach) -> Result<u64> {
        self.with(|k| k.attach(name, at))
    }

    fn namespace_inode(&mut self, ns: &Ns) -> Option<u64> {
        self.with(|k| k.inode_of(ns))
    }

    async fn dump_many(&mut self, jobs: Vec<(Ns, Depth)>, lab: &str, tables: Vec<Ns>) -> ReadBack {
        self.with(|k| {
            k.reads
                .push(jobs.iter().map(|(ns, _)| ns.clone()).collect());
            ReadBack {
                dumps: jobs
                    .into_iter()
                    .map(|(ns, depth)| {
                        let d = k.dump(&ns, &depth);
                        (ns, d)
                    })
                    .collect(),
                tables: tables
                    .into_iter()
                    .map(|ns| {
                        let t = k.nft_read(&ns, lab);
                        (ns, t)
                    })
                    .collect(),
            }
        })
    }

    async fn links(&mut self, ns: &Ns) -> Result<Vec<Link>> {
        self.with(|k| {
            let sp = k.space(ns)?;
            Ok(sp.links.values().map(|l| k.view(ns, l)).collect())
        })
    }

    async fn addresses(&mut self, ns: &Ns) -> Result<Vec<Addr>> {
        self.with(|k| k.addresses(ns))
    }

    async fn link(&mut self, l: &IfRef) -> Result<Option<Link>> {
        self.with(|k| {
            let sp = k.space(&l.ns)?;
            let found = sp.links.values().find(|x| x.name == l.name);
            Ok(found.map(|x| k.view(&l.ns, x)))
        })
    }

    async fn create_bridge(&mut self, l: &IfRef, o: &BridgeOptions, end: &NewLink) -> Result<()> {
        self.with(|k| k.create_bridge(l, o, end))
    }

    async fn change_bridge(&mut self, l: &IfRef, o: &BridgeOptions) -> Result<()> {
        self.with(|k| k.change_bridge(l, o))
    }

    async fn create_veth(&mut self, a: &IfRef, b: &IfRef, ends: [&NewLink; 2]) -> Result<()> {
        self.with(|k| k.create_veth(a, b, ends))
    }

    async fn create_tap(&mut self, l: &IfRef, o: &TapOptions, end: &NewLink) -> Result<()> {
        self.with(|k| k.create_tap(l, o, end))
    }

    async fn change_tap(&mut self, l: &IfRef, o: &TapOptions) -> Result<()> {
        self.with(|k| k.change_tap(l, o))
    }

    async fn create_vxlan(&mut self, l: &IfRef, o: &VxlanOptions, end: &NewLink) -> Result<()> {
        self.with(|k| k.create_vxlan(l, o, end))
    }

    async fn change_vxlan(&mut self, l: &IfRef, o: &VxlanOptions) -> Result<()> {
        self.with(|k| k.change_vxlan(l, o))
    }

    async fn add_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        self.with(|k| k.add_fdb(l, dst))
    }

    async fn delete_fdb(&mut self, l: &IfRef, dst: IpAddr) -> Result<()> {
        self.with(|k| k.delete_fdb(l, dst))
    }

    async fn set_link(&mut self, l: &IfRef, s: &LinkSettings) -> Result<()> {
        self.with(|k| k.set_link(l, s))
    }

    async fn delete_link(&mut self, l: &IfRef) -> Result<()> {
        self.with(|k| k.delete_link(l))
    }

    /// Duplicate address detection finishes at once: `nodad` changes
    /// nothing here.
    async fn add_address(&mut self, l: &IfRef, net: ipnet::IpNet, _nodad: bool) -> Result<()> {
        self.with(|k| k.add_address(l, net))
    }

    async fn delete_address(&mut self, l: &IfRef, net: ipnet::IpNet) -> Result<()> {
        self.with(|k| k.delete_address(l, net))
    }

    async fn put_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()> {
        self.with(|k| k.put_route(ns, r))
    }

    async fn delete_route(&mut self, ns: &Ns, r: &RouteSpec) -> Result<()> {
        self.with(|k| k.delete_route(ns, r))
    }

    fn announce(&mut self, l: &IfRef, mac: [u8; 6], addrs: &[IpAddr]) -> Result<()> {
        self.with(|k| {
            k.space(&l.ns)?.find(l)?;
            k.write(format!("announce the addresses of {l}"))?;
            k.announced.push((l.clone(), mac, addrs.to_vec()));
            Ok(())
        })
    }

    fn read_sysctl(&mut self, ns: &Ns, key: &str) -> Result<Option<String>> {
        self.with(|k| k.read_sysctl(ns, key))
    }

    fn write_sysctl(&mut self, ns: &Ns, key: &str, value: &str) -> Result<()> {
        self.with(|k| k.write_sysctl(ns, key, value))
    }

    fn nft_read(&mut self, ns: &Ns, lab: &str) -> Result<Table> {
        self.with(|k| k.nft_read(ns, lab))
    }

    fn nft_replace(&mut self, ns: &Ns, lab: &str, chains: &[WantChain<'_>]) -> Result<()> {
        self.with(|k| k.nft_replace(ns, lab, chains))
    }

    fn nft_snapshot(&mut self, ns: &Ns, lab: &str) -> Result<Option<String>> {
        self.with(|k| k.nft_snapshot(ns, lab))
    }

    fn nft_restore(&mut self, ns: &Ns, lab: &str, snapshot: Option<&str>) -> Result<()> {
        self.with(|k| k.nft_restore(ns, lab, snapshot))
    }

    fn load_state(&mut self, lab: &str) -> Result<LabState> {
        self.with(|k| Ok(k.records.get(lab).cloned().unwrap_or_default()))
    }

    /// Empty records are removed, as the state file is.
    fn save_state(&mut self, lab: &str, st: &LabState) -> Result<()> {
        self.with(|k| {
            if st.is_empty() {
                k.records.remove(lab);
            } else {
                k.records.insert(lab.to_string(), st.clone());
            }
            Ok(())
        })
    }

    fn load_host_sysctls(&mut self) -> Result<Registry> {
        self.with(|k| Ok(k.registry.clone()))
    }

    fn update_host_sysctls<T>(&mut self, f: impl FnOnce(&mut Registry) -> T) -> Result<T> {
        self.with(|k| Ok(f(&mut k.registry)))
    }

    fn labs(&mut self) -> Vec<String> {
        self.with(|k| k.records.keys().cloned().collect())
    }

    fn read_netns_file(&mut self, node: &str, name: &str) -> Result<Option<String>> {
        self.with(|k| k.read_netns_file(node, name))
    }

    fn write_netns_file(&mut self, node: &str, name: &str, text: &str) -> Result<()> {
        self.with(|k| k.write_netns_file(node, name, text))
    }

    fn remove_netns_file(&mut self, node: &str, name: &str) -> Result<()> {
        self.with(|k| k.remove_netns_file(node, name))
    }

    fn make_netns_dir(&mut self, node: &str) -> Result<MadeDirs> {
        self.with(|k| k.make_netns_dir(node))
    }

    fn remove_netns_dir(&mut self, node: &str, root: bool) -> Result<bool> {
        self.with(|k| k.remove_netns_dir(node, root))
    }

    async fn dhcp_servers(&mut self, lab: &str) -> Result<Vec<DhcpFound>> {
        self.with(|k| Ok(k.dhcp_servers(lab)))
    }

    fn dhcp_unavailable(&mut self) -> Option<String> {
        let missing = self.with(|k| k.dnsmasq_missing);
        missing.then(|| super::dhcp::missing().to_string())
    }

    async fn start_dhcp(&mut self, lab: &str, on: &IfRef, conf: &DhcpConf) -> Result<()> {
        self.with(|k| k.start_dhcp(lab, on, conf))
    }

    fn stop_dhcp(&mut self, lab: &str, on: &IfRef, forget_leases: bool) -> Result<()> {
        self.with(|k| k.stop_dhcp(lab, on, forget_leases))
    }

    fn exec(&mut self, ns: &Ns, _argv: &[String]) -> ExecFailure {
        let why = format!("the in-memory kernel runs no programs (in {ns})");
        ExecFailure::CannotRun(std::io::Error::other(why))
    }
}

/// Drift for tests: changes made outside topo.
impl MemoryKernel {
    /// A rule without a comment added to `chain` of the lab's table, as by
    /// hand; false when there is no such chain.
    pub fn add_unmanaged_rule(&self, ns: &Ns, lab: &str, chain: &str) -> Result<bool> {
        self.with(|k| {
            let sp = k.space_mut(ns)?;
            let t = sp.nft.get_mut(&format!("topo-{lab}"));
            Ok(t.is_some_and(|t| t.add_unmanaged(chain)))
        })
    }
}

impl std::fmt::Debug for MemoryKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canon())
    }
}
