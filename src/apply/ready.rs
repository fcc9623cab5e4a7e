//! After the steps, before apply reports: the kernel must match the file
//! (verify), every lab link must carry traffic (the kernel raises carrier
//! and opens bridge ports a little after the request), and neighbours must
//! learn the addresses that moved, so the first packet after apply arrives.

use super::{Executor, Outcome};
use crate::kernel::announce::announce;
use crate::kernel::netlink::KernelError;
use crate::model::{Id, IfRef, Mac, Ns, Res};
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
        tracing::debug!(count = again.settling.len(), first = ?again.settling.iter().next(), "links still coming up");
        let t = std::time::Instant::now();
        let waited = self.wait_ready(again.settling).await;
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "waited for links");
        match waited {
            Ok(left) => out.not_ready = left.into_iter().collect(),
            Err(e) => tracing::warn!("could not wait for links to come up: {e}"),
        }
        let t = std::time::Instant::now();
        if let Err(e) = self.announce_moved().await {
            tracing::warn!("could not announce new addresses to neighbours: {e}");
        }
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "announced");
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

    /// A gratuitous ARP or neighbour advertisement for every address that
    /// now sits behind another MAC than before the run: a renamed node, a
    /// changed MAC, an address moved to another interface. Neighbours may
    /// hold the old MAC for half a minute. A re-created interface keeps its
    /// stable MAC and needs none; a new address has no stale entries.
    async fn announce_moved(&mut self) -> Result<(), KernelError> {
        let mut was: BTreeMap<IpAddr, Vec<Option<Mac>>> = BTreeMap::new();
        for id in self.live.keys() {
            if let Id::Address { link, address } = id {
                let mac = match self.live.get(&Id::Link { link: link.clone() }) {
                    Some(Res::Link { mac, .. }) => *mac,
                    _ => None,
                };
                was.entry(address.addr()).or_default().push(mac);
            }
        }
        let mut moved: BTreeMap<IfRef, (Mac, Vec<IpAddr>)> = BTreeMap::new();
        for id in self.model.state.keys() {
            let Id::Address { link, address } = id else {
                continue;
            };
            let Some(Res::Link {
                mac: Some(mac),
                up: true,
                ..
            }) = self.model.state.get(&Id::Link { link: link.clone() })
            else {
                continue;
            };
            let before = was.get(&address.addr());
            if before.is_some_and(|macs| macs.iter().any(|m| *m != Some(*mac))) {
                moved
                    .entry(link.clone())
                    .or_insert((*mac, vec![]))
                    .1
                    .push(address.addr());
            }
        }
        for (link, (mac, addrs)) in moved {
            let Some(index) = self.index.get(&link).copied() else {
                continue;
            };
            let Some(file) = self.ns_file_if_exists(&link.ns)? else {
                continue;
            };
            tracing::debug!(%link, ?addrs, "announcing");
            announce(file.as_ref().map(|f| f.as_fd()), index, mac.0, &addrs)
                .map_err(|e| KernelError::new(format!("announce the addresses of {link}"), e))?;
        }
        Ok(())
    }
}
