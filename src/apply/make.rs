//! The create half of an action, and changes in place.

use super::Executor;
use crate::kernel::host_sysctls::{self, Shared};
use crate::kernel::netlink::{BridgeOptions, KernelError, LinkSettings, RouteSpec};
use crate::kernel::{netns, owner_mark, sysctl};
use crate::model::{Id, IfRef, Mac, Ns, Res};
use std::os::fd::AsFd;

impl Executor<'_> {
    /// Creates `id`, or with `before` changes it in place.
    pub(super) async fn make(
        &mut self,
        id: &Id,
        res: &Res,
        before: Option<&Res>,
    ) -> Result<(), KernelError> {
        let what = id.to_string();
        let mark = owner_mark(self.lab);
        match (id, res) {
            (Id::Netns { name }, Res::Netns) => {
                self.h.forget(name);
                self.forget_sysctls(name)?;
                netns::create(name)
                    .map_err(|e| KernelError::new(format!("create namespace {name}"), e))?;
                let c = self.conn(&Ns::Node(name.clone()))?;
                let lo = c
                    .link_by_name("lo")
                    .await?
                    .ok_or_else(|| KernelError::new(&what, "no lo interface"))?;
                let s = LinkSettings {
                    alias: Some(&mark),
                    up: Some(true),
                    ..LinkSettings::default()
                };
                c.set_link(lo.index, &s, &format!("mark and bring up lo in {name}"))
                    .await
            }
            (Id::Bridge { link }, Res::Bridge { stp, forward_delay }) => {
                let c = self.conn(&link.ns)?;
                let opts = BridgeOptions {
                    stp: *stp,
                    forward_delay: *forward_delay,
                };
                if before.is_some() {
                    return c.change_bridge(self.index_of(link)?, &opts, &what).await;
                }
                self.settle_names(&[link]).await?;
                c.create_bridge(&link.name, &opts, self.desired_mac(link))
                    .await?;
                self.mark(link, &mark).await
            }
            (Id::Veth { link }, Res::Veth { peer }) => self.create_veth(link, peer).await,
            (
                Id::Link { link },
                Res::Link {
                    up,
                    mtu,
                    mac,
                    master,
                },
            ) => {
                let was_master = matches!(
                    before,
                    Some(Res::Link {
                        master: Some(_),
                        ..
                    })
                );
                let master_index = match master {
                    Some(m) => Some(self.index_of(&IfRef::new(link.ns.clone(), m))?),
                    None if was_master => Some(0),
                    None => None,
                };
                let s = LinkSettings {
                    up: Some(*up),
                    mtu: *mtu,
                    mac: mac.map(|m| m.0),
                    master: master_index,
                    ..Default::default()
                };
                let index = self.index_of(link)?;
                self.conn(&link.ns)?
                    .set_link(index, &s, &format!("configure {link}"))
                    .await
            }
            (Id::Address { link, address }, Res::Address) => {
                let index = self.index_of(link)?;
                let nodad = !self.model.dad;
                self.conn(&link.ns)?
                    .add_address(index, *address, nodad, &format!("add {what}"))
                    .await
            }
            (Id::Route { ns, key }, Res::Route { via, dev, .. }) => {
                let oif = dev
                    .as_ref()
                    .map(|d| self.index_of(&IfRef::new(ns.clone(), d)))
                    .transpose()?;
                let spec = RouteSpec {
                    to: key.to,
                    metric: key.metric,
                    via: *via,
                    oif,
                };
                let recorded = *ns == Ns::Host && self.lab_state.host_routes.insert(key.clone());
                if recorded {
                    // Record first: a crash after the kernel added it must
                    // still leave the route recognisable as the lab's.
                    self.save_state()?;
                }
                let added = self
                    .conn(ns)?
                    .put_route(&spec, &format!("add {what}"))
                    .await;
                if added.is_err() && recorded {
                    self.lab_state.host_routes.remove(key);
                    self.save_state()?;
                }
                added
            }
            (Id::Sysctl { ns: Ns::Host, key }, Res::Sysctl { value }) => {
                // Take this lab's share first (a crash after the write still
                // leaves the value from before recorded), then write.
                let current = match before {
                    Some(Res::Sysctl { value }) => Some(value.clone()),
                    _ => sysctl::read(None, key)
                        .map_err(|e| KernelError::new(format!("read {what}"), e))?,
                };
                let was = self
                    .lab_state
                    .original(&Ns::Host, key)
                    .cloned()
                    .or(current)
                    .ok_or_else(|| KernelError::new(&what, "no such sysctl in this kernel"))?;
                let lab = self.lab.to_string();
                host_sysctls::update(|r| {
                    let e = r.entry(key.clone()).or_insert_with(|| Shared {
                        original: was,
                        holders: Default::default(),
                    });
                    e.holders.insert(lab, value.clone());
                    Ok(())
                })
                .map_err(|e| KernelError::new(format!("record {what}"), e))?;
                if self.lab_state.original(&Ns::Host, key).is_some() {
                    self.lab_state.forget(&Ns::Host, key);
                    self.save_state()?;
                }
                sysctl::write(None, key, value)
                    .map_err(|e| KernelError::new(format!("set {what} = {value}"), e))
            }
            (Id::Sysctl { ns, key }, Res::Sysctl { value }) => {
                let fd_owner = self.ns_file(ns)?;
                let fd = fd_owner.as_ref().map(|f| f.as_fd());
                if self.lab_state.original(ns, key).is_none() {
                    let was = match before {
                        Some(Res::Sysctl { value }) => Some(value.clone()),
                        _ => sysctl::read(fd, key)
                            .map_err(|e| KernelError::new(format!("read {what}"), e))?,
                    };
                    let was = was
                        .ok_or_else(|| KernelError::new(&what, "no such sysctl in this kernel"))?;
                    self.lab_state.record(ns, key, was);
                    self.save_state()?;
                }
                sysctl::write(fd, key, value)
                    .map_err(|e| KernelError::new(format!("set {what} = {value}"), e))
            }
            (Id::Chain { ns, .. } | Id::Rule { ns, .. }, _) => self.sync_nft(ns),
            _ => Err(KernelError::new(what, "resource and description disagree")),
        }
    }

    /// The MAC the file wants on `l`, to give it at creation.
    fn desired_mac(&self, l: &IfRef) -> Option<[u8; 6]> {
        match self.target.get(&Id::Link { link: l.clone() }) {
            Some(Res::Link { mac, .. }) => mac.map(|m: Mac| m.0),
            _ => None,
        }
    }

    async fn create_veth(&mut self, a: &IfRef, b: &IfRef) -> Result<(), KernelError> {
        self.settle_names(&[a, b]).await?;
        let mark = owner_mark(self.lab);
        let alias_a = format!("{mark}:{}/{}", b.ns, b.name);
        let alias_b = format!("{mark}:{}/{}", a.ns, a.name);
        let c = self.conn(&a.ns)?;
        let b_file = if a.ns == b.ns {
            None
        } else {
            match self.ns_file(&b.ns)? {
                Some(f) => Some(f),
                None => Some(self.h.host_file()?),
            }
        };
        let ends = (
            (a.name.as_str(), self.desired_mac(a)),
            (b.name.as_str(), self.desired_mac(b)),
        );
        c.create_veth(ends.0, ends.1, b_file.as_ref().map(|f| f.as_fd()))
            .await?;
        self.mark(a, &alias_a).await?;
        self.mark(b, &alias_b).await
    }

    /// Marks a new interface as the lab's and gives it topo's settings for
    /// new interfaces before it first comes up.
    async fn mark(&mut self, l: &IfRef, alias: &str) -> Result<(), KernelError> {
        let index = self.learn_index(l).await?;
        let s = LinkSettings {
            alias: Some(alias),
            fresh: true,
            ..Default::default()
        };
        self.conn(&l.ns)?
            .set_link(index, &s, &format!("mark {l}"))
            .await
    }

    /// A namespace made afresh starts with the kernel's sysctls: forget
    /// what the lab recorded for the old one.
    pub(super) fn forget_sysctls(&mut self, node: &str) -> Result<(), KernelError> {
        let ns = Ns::Node(node.to_string());
        if self.lab_state.recorded().any(|(n, _)| n == ns) {
            self.lab_state.forget_namespace(&ns);
            self.save_state()?;
        }
        Ok(())
    }
}
