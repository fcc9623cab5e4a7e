//! The delete half of an action. Deleting what is already gone succeeds:
//! destroy and apply must converge from any partial state.

use super::Executor;
use crate::kernel::netlink::{KernelError, RouteSpec};
use crate::kernel::{host_sysctls, netns, sysctl};
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
            Id::Sysctl { ns: Ns::Host, key } => {
                // The value from before comes back when the last holder goes.
                let lab = self.lab.to_string();
                let recorded = self.lab_state.original(&Ns::Host, key).cloned();
                let restore = host_sysctls::update(|r| {
                    let Some(e) = r.get_mut(key) else {
                        return Ok(recorded);
                    };
                    e.holders.remove(&lab);
                    if !e.holders.is_empty() {
                        return Ok(None);
                    }
                    Ok(r.remove(key).map(|e| e.original))
                })
                .map_err(|e| KernelError::new(format!("release {id}"), e))?;
                if let Some(was) = restore {
                    sysctl::write(None, key, &was)
                        .map_err(|e| KernelError::new(format!("restore {id} to {was}"), e))?;
                }
                self.lab_state.forget(&Ns::Host, key);
                self.save_state()
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
