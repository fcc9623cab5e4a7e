//! After the steps, before apply reports: the kernel must match the file
//! (verify), every lab link must carry traffic (the kernel raises carrier
//! and opens bridge ports a little after the request), and neighbours must
//! learn the addresses that moved, so the first packet after apply arrives.

use super::{Executor, Outcome};
use crate::kernel::announce::announce;
use crate::kernel::netlink::KernelError;
use crate::model::{Id, IfRef, Ns, Res};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// How long links get to come up; spanning tree needs two forward delays
/// (15 s each by default) before a port forwards.
const READY: Duration = Duration::from_secs(5);
const READY_STP: Duration = Duration::from_secs(35);

impl Executor<'_> {
    pub(super) async fn check(&mut self, steps: usize, out: &mut Outcome) {
        let again = match crate::observe::observe(self.lab, Some(self.model), self.h).await {
            Ok(o) => o,
            Err(e) => {
                out.failed = Some((steps, e));
                return;
            }
        };
        match crate::plan::diff(self.lab, &self.model.state, &again) {
            Ok(left) if !left.is_empty() => {
                out.left = Some(left);
                return;
            }
            Ok(_) => {}
            Err(e) => {
                out.failed = Some((steps, KernelError::new("verify", e)));
                return;
            }
        }
        self.index = again.index.clone();
        match self.wait_ready(again.settling).await {
            Ok(left) => out.not_ready = left.into_iter().collect(),
            Err(e) => tracing::warn!("could not wait for links to come up: {e}"),
        }
        if let Err(e) = self.announce_moved().await {
            tracing::warn!("could not announce new addresses to neighbours: {e}");
        }
    }

    /// Waits until none of `settling` is still coming up; returns those
    /// that did not in time.
    async fn wait_ready(
        &mut self,
        mut settling: BTreeSet<IfRef>,
    ) -> Result<BTreeSet<IfRef>, KernelError> {
        let stp = self
            .model
            .state
            .values()
            .any(|r| matches!(r, Res::Bridge { stp: true, .. }));
        let limit = if stp { READY_STP } else { READY };
        let start = Instant::now();
        while !settling.is_empty() && start.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let mut by_ns: BTreeMap<Ns, BTreeSet<String>> = BTreeMap::new();
            for l in &settling {
                by_ns
                    .entry(l.ns.clone())
                    .or_default()
                    .insert(l.name.clone());
            }
            settling.clear();
            for (ns, names) in by_ns {
                let c = self.conn(&ns)?;
                let links = c.dump_links().await?;
                let tentative: BTreeSet<u32> = c
                    .dump_addresses()
                    .await?
                    .into_iter()
                    .filter(|a| a.tentative)
                    .map(|a| a.index)
                    .collect();
                for l in links {
                    let quiet = l.kind.as_deref() != Some("bridge") && !l.running;
                    let coming = l.up && (quiet || l.port_settling);
                    if names.contains(&l.name) && (coming || tentative.contains(&l.index)) {
                        settling.insert(IfRef::new(ns.clone(), l.name));
                    }
                }
            }
        }
        Ok(settling)
    }

    /// A gratuitous ARP or neighbour advertisement for every address of an
    /// interface made, re-addressed or given a new MAC in this run.
    async fn announce_moved(&mut self) -> Result<(), KernelError> {
        for link in std::mem::take(&mut self.announce) {
            let Some(Res::Link {
                mac: Some(mac),
                up: true,
                ..
            }) = self.model.state.get(&Id::Link { link: link.clone() })
            else {
                continue;
            };
            let from = Id::Address {
                link: link.clone(),
                address: ipnet::IpNet::V4(Default::default()),
            };
            let addrs: Vec<IpAddr> = self
                .model
                .state
                .range(from..)
                .map_while(|(id, _)| match id {
                    Id::Address { link: l, address } if *l == link => Some(address.addr()),
                    _ => None,
                })
                .collect();
            let (Some(index), false) = (self.index.get(&link).copied(), addrs.is_empty()) else {
                continue;
            };
            let Some(file) = self.ns_file_if_exists(&link.ns)? else {
                continue;
            };
            announce(file.as_ref().map(|f| f.as_fd()), index, mac.0, &addrs)
                .map_err(|e| KernelError::new(format!("announce the addresses of {link}"), e))?;
        }
        Ok(())
    }
}
