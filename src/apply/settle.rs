//! Deleting a namespace removes the far end of each of its veths, wherever
//! that end is, some milliseconds later: the kernel tears namespaces down
//! asynchronously. Before a name is used again, and before apply reports,
//! those ends must really be gone.

use super::Exec;
use crate::machine::{KernelError, Machine};
use crate::model::{IfRef, Ns};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long the kernel gets before topo deletes a lingering end itself (a
/// process still running in the deleted namespace keeps it alive).
const GRACE: Duration = Duration::from_secs(2);
const GIVE_UP: Duration = Duration::from_secs(10);

impl<M: Machine> Exec<'_, M> {
    /// Before deleting namespace `name`: the ends outside it of its veths
    /// will linger for a while.
    pub fn note_lingering(&mut self, name: &str) {
        let gone = Ns::Node(name.into());
        let ends: Vec<IfRef> = self
            .live
            .veth
            .iter()
            .filter_map(|(id, v)| match (id.link.ns == gone, v.peer.ns == gone) {
                (true, false) => Some(v.peer.clone()),
                (false, true) => Some(id.link.clone()),
                _ => None,
            })
            .collect();
        self.lingering.extend(ends);
    }

    /// Waits for lingering ends in `ns`: a route added while one is there
    /// may go out through it (it still holds its subnet) and vanish with it.
    pub async fn settle_in(&mut self, ns: &Ns) -> Result<(), KernelError> {
        if self.lingering.iter().any(|l| l.ns == *ns) {
            self.settle().await?;
        }
        Ok(())
    }

    /// Waits for lingering ends when one of `names` is among them.
    pub async fn settle_names(&mut self, names: &[&IfRef]) -> Result<(), KernelError> {
        if names.iter().any(|n| self.lingering.contains(*n)) {
            self.settle().await?;
        }
        Ok(())
    }

    /// Waits until every lingering end is gone; after a grace period deletes
    /// what is left, so nothing of the lab stays behind.
    pub(super) async fn settle(&mut self) -> Result<(), KernelError> {
        let start = Instant::now();
        let mut forced = false;
        while !self.lingering.is_empty() {
            let mut by_ns: BTreeMap<Ns, Vec<IfRef>> = BTreeMap::new();
            for l in std::mem::take(&mut self.lingering) {
                by_ns.entry(l.ns.clone()).or_default().push(l);
            }
            for (ns, ends) in by_ns {
                // A namespace deleted in the same run took its ends along.
                if let Ns::Node(n) = &ns {
                    if !self.m.has_namespace(n)? {
                        continue;
                    }
                }
                // Names are not used again before this wait: a link of the
                // name is the old end.
                let present = self.m.links(&ns).await?;
                for end in ends {
                    if !present.iter().any(|l| l.name == end.name) {
                        continue;
                    }
                    if forced {
                        tracing::info!(%end, "deleting a veth end its deleted namespace left");
                        match self.m.delete_link(&end).await {
                            Err(e) if !e.is_gone() => return Err(e),
                            _ => continue,
                        }
                    }
                    self.lingering.insert(end);
                }
            }
            if self.lingering.is_empty() {
                break;
            }
            if start.elapsed() > GIVE_UP {
                let left: Vec<String> = self.lingering.iter().map(ToString::to_string).collect();
                return Err(KernelError::new(
                    "wait for deleted namespaces",
                    format!("veth ends still exist after 10 s: {}", left.join(", ")),
                ));
            }
            forced = start.elapsed() > GRACE;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }
}
