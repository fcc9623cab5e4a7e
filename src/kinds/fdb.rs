//! One remote of a VXLAN device: a destination of its all-zero forwarding
//! entry (`bridge fdb append 00:00:00:00:00:00 dev VX dst REMOTE`), where
//! the device sends broadcast, unknown and multicast frames. Each remote
//! is an object of its own, so adding a remote to the file adds exactly
//! one entry and removing one removes exactly that one. Every all-zero
//! entry on a device the lab owns is the lab's; entries for other MACs are
//! left alone. They go with their device.

use super::{Id, Kind, VxlanId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine};
use crate::model::{Change, IfRef, Ns};
use crate::observe::ObserveNs;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FdbId {
    /// The VXLAN device.
    pub link: IfRef,
    /// The remote it sends to.
    pub dst: IpAddr,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fdb {}

impl Kind for Fdb {
    type Id = FdbId;
    const NAME: &'static str = "fdb";

    fn ns(id: &FdbId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &FdbId) -> String {
        format!("fdb {} dst {}", id.link, id.dst)
    }

    fn describe(&self) -> String {
        String::new()
    }

    fn deps(id: &FdbId, _: &Fdb, _: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.link.ns);
        deps.push(Id::Vxlan(VxlanId {
            link: id.link.clone(),
        }));
        deps
    }

    fn changes(&self, _: &Fdb) -> Vec<Change> {
        Vec::new()
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        const ZERO: [u8; 6] = [0; 6];
        let mut found = Vec::new();
        for l in cx.owned_links().into_iter().filter(|l| l.vxlan.is_some()) {
            let link = IfRef::new(cx.ns.clone(), &l.name);
            for e in cx.dump.fdb.iter().filter(|e| e.index == l.index) {
                if let (ZERO, Some(dst)) = (e.mac, e.dst) {
                    found.push(FdbId {
                        link: link.clone(),
                        dst,
                    });
                }
            }
        }
        for id in found {
            cx.obs.state.insert::<Fdb>(id, Fdb {});
        }
    }

    async fn create<M: Machine>(
        id: &FdbId,
        _: &Fdb,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.m.add_fdb(&id.link, id.dst).await
    }

    async fn update<M: Machine>(
        _: &FdbId,
        _: &Fdb,
        _: &Fdb,
        _: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        Ok(())
    }

    async fn delete<M: Machine>(
        id: &FdbId,
        _: Option<&Fdb>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        super::gone_ok(x.m.delete_fdb(&id.link, id.dst).await)
    }
}
