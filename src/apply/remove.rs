//! The delete half of an action. Deleting what is already gone succeeds:
//! destroy and apply must converge from any partial state.

use super::Executor;
use crate::kernel::netlink::{KernelError, RouteSpec};
use crate::kernel::{netns, sysctl};
use crate::model::{Id, Ns, Res};
use std::os::fd::AsFd;

fn tolerate_missing(r: Result<(), KernelError>) -> Result<(), KernelError> {
    match r {
        Err(e) if matches!(e.errno, Some(2 | 3 | 19 | 99)) => Ok(()),
        r => r,
    }
}

impl Executor<'_> {
    pub(super) async fn remove(
        &mut self,
        id: &Id,
        before: Option<&Res>,
    ) -> Result<(), KernelError> {
        let what = format!("delete {id}");
        match id {
            Id::Netns { name } => {
                self.h.forget(name);
                self.note_lingering(name);
                netns::delete(name).map_err(|e| KernelError::new(what, e))?;
                self.forget_sysctls(name)
            }
            Id::Bridge { link } | Id::Veth { link } => {
                let Some(index) = self.index.get(link).copied() else {
                    return Ok(());
                };
                tolerate_missing(self.conn(&link.ns)?.delete_link(index, &what).await)
            }
            Id::Address { link, address } => {
                let Some(index) = self.index.get(link).copied() else {
                    return Ok(());
                };
                let c = self.conn(&link.ns)?;
                tolerate_missing(c.delete_address(index, *address, &what).await)
            }
            Id::Route { ns, key } => {
                let via = match before {
                    Some(Res::Route { via, .. }) => *via,
                    _ => None,
                };
                let spec = RouteSpec {
                    to: key.to,
                    metric: key.metric,
                    via,
                    oif: None,
                };
                tolerate_missing(self.conn(ns)?.delete_route(&spec, &what).await)?;
                if *ns == Ns::Host && self.lab_state.host_routes.remove(key) {
                    self.save_state()?;
                }
                Ok(())
            }
            Id::Sysctl { ns, key } => {
                let Some(was) = self.lab_state.original(ns, key).cloned() else {
                    return Ok(());
                };
                if let Some(f) = self.ns_file_if_exists(ns)? {
                    sysctl::write(f.as_ref().map(|f| f.as_fd()), key, &was)
                        .map_err(|e| KernelError::new(format!("restore {id} to {was}"), e))?;
                }
                self.lab_state.forget(ns, key);
                self.save_state()
            }
            // Link settings go with their device.
            Id::Link { .. } => Ok(()),
            Id::Chain { ns, .. } | Id::Rule { ns, .. } => self.sync_nft(ns),
        }
    }
}
