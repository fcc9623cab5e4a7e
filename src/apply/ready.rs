//! After the steps, before apply reports: the kernel must match the file
//! (verify), every lab link must carry traffic (the kernel raises carrier
//! and opens bridge ports a little after the request), and neighbours must
//! learn the addresses that moved, so the first packet after apply arrives.

use super::{Exec, Outcome};
use crate::kinds::LinkId;
use crate::machine::{KernelError, Machine};
use crate::model::{IfRef, Mac, Ns};
use crate::observe::{observe_with, Reach};
use crate::plan::Plan;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long links get to come up; spanning tree needs two forward delays
/// (15 s each by default) before a port forwards.
const READY: Duration = Duration::from_secs(5);
const READY_STP: Duration = Duration::from_secs(35);

impl<M: Machine> Exec<'_, M> {
    pub(super) async fn check(&mut self, plan: &Plan, out: &mut Outcome) {
        let steps = plan.actions.len();
        // Only the namespaces the plan changed are read again (and the
        // host's): a small edit of a big lab is verified in proportion.
        let changed: BTreeSet<Ns> = plan
            .actions
            .iter()
            .flat_map(|a| a.target.reaches())
            .collect();
        let kept = |ns: &&Ns| matches!(ns, Ns::Node(n) if self.model.nodes.contains(n.as_str()));
        let reach = if changed.iter().filter(kept).count() < self.model.nodes.len() {
            Reach::Only(&changed)
        } else {
            Reach::Wanted(&changed)
        };
        let again = match observe_with(self.lab, Some(self.model), reach, self.m).await {
            Ok(o) => o,
            Err(e) => {
                out.failed = Some((steps, e));
                return;
            }
        };
        let desired = match reach {
            Reach::Only(_) => Cow::Owned(self.model.state.filtered(|id| reach.covers(&id.ns()))),
            _ => Cow::Borrowed(&self.model.state),
        };
        match crate::plan::diff(self.lab, &desired, &again) {
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
        let t = Instant::now();
        let waited = self.wait_ready(again.settling).await;
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "waited for links");
        match waited {
            Ok(left) => out.not_ready = left.into_iter().collect(),
            Err(e) => tracing::warn!("could not wait for links to come up: {e}"),
        }
        if let Err(e) = self.announce_moved() {
            tracing::warn!("could not announce new addresses to neighbours: {e}");
        }
    }

    /// Waits until none of `settling` is still coming up; returns those
    /// that did not in time.
    async fn wait_ready(
        &mut self,
        mut settling: BTreeSet<IfRef>,
    ) -> Result<BTreeSet<IfRef>, KernelError> {
        let stp = self.model.state.bridge.values().any(|b| b.stp);
        let limit = if stp { READY_STP } else { READY };
        let start = Instant::now();
        // A signal ends the wait: the run stops and rolls back (`execute`).
        while !settling.is_empty() && start.elapsed() < limit && self.m.interrupted().is_none() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let mut by_ns: BTreeMap<Ns, BTreeSet<String>> = BTreeMap::new();
            for l in &settling {
                by_ns
                    .entry(l.ns.clone())
                    .or_default()
                    .insert(l.name.to_string());
            }
            settling.clear();
            for (ns, names) in by_ns {
                let links = self.m.links(&ns).await?;
                let tentative: BTreeSet<u32> = self
                    .m
                    .addresses(&ns)
                    .await?
                    .into_iter()
                    .filter(|a| a.tentative)
                    .map(|a| a.index)
                    .collect();
                for l in links {
                    let coming = l.coming_up() || tentative.contains(&l.index);
                    if names.contains(&l.name) && coming {
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
    fn announce_moved(&mut self) -> Result<(), KernelError> {
        let live_mac = |l: &IfRef| {
            let id = LinkId { link: l.clone() };
            self.live.link.get(&id).and_then(|k| k.mac)
        };
        let mut was: BTreeMap<IpAddr, Vec<Option<Mac>>> = BTreeMap::new();
        for id in self.live.address.keys() {
            was.entry(id.address.addr())
                .or_default()
                .push(live_mac(&id.link));
        }
        let mut moved: BTreeMap<IfRef, (Mac, Vec<IpAddr>)> = BTreeMap::new();
        for id in self.model.state.address.keys() {
            let link = LinkId {
                link: id.link.clone(),
            };
            let Some(mac) = self
                .model
                .state
                .link
                .get(&link)
                .filter(|l| l.up)
                .and_then(|l| l.mac)
            else {
                continue;
            };
            let before = was.get(&id.address.addr());
            if before.is_some_and(|macs| macs.iter().any(|m| *m != Some(mac))) {
                let entry = moved.entry(id.link.clone()).or_insert((mac, vec![]));
                entry.1.push(id.address.addr());
            }
        }
        for (link, (mac, addrs)) in moved {
            if let Ns::Node(n) = &link.ns {
                if !self.m.has_namespace(n)? {
                    continue;
                }
            }
            tracing::debug!(%link, ?addrs, "announcing");
            self.m.announce(&link, mac.0, &addrs)?;
        }
        Ok(())
    }
}
