//! A VXLAN device, in the host or in a node: an Ethernet segment carried
//! in UDP to other hosts, marked like a bridge (alias `topo:LAB`). Learning
//! is off: where frames go is written down, one forwarding entry per
//! remote (`Fdb`, a kind of its own, so a changed remote list changes
//! exactly those entries). Its settings (up, bridge, MTU, MAC) are an
//! interface's. The kernel changes learning in place but not the VNI, the
//! port, the local address or the underlay: those make it anew, and its
//! forwarding entries, settings and addresses go with it. The kernel
//! deletes it when its underlay (`dev`) goes.

use super::{FdbId, Id, Journal, Kind, LinkId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine, VxlanOptions};
use crate::model::{opt, Change, IfRef, Ns};
use crate::observe::ObserveNs;
use crate::plan::VanishCx;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VxlanId {
    pub link: IfRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vxlan {
    pub vni: u32,
    /// The source address of the encapsulated packets.
    pub local: Option<IpAddr>,
    /// The UDP destination port.
    pub port: u16,
    /// The underlay interface, in the same namespace.
    pub dev: Option<String>,
    /// Whether the device learns where MACs are; topo's never do.
    pub learning: bool,
}

impl Vxlan {
    pub fn options(&self) -> VxlanOptions {
        VxlanOptions {
            vni: self.vni,
            local: self.local,
            port: self.port,
            dev: self.dev.clone(),
            learning: self.learning,
        }
    }
}

/// The attributes that only a new device can change.
const FIXED: [&str; 4] = ["vni", "port", "local", "dev"];

impl Kind for Vxlan {
    type Id = VxlanId;
    const NAME: &'static str = "vxlan";
    const JOURNAL: Journal = Journal::Making;

    fn deleted_link(id: &VxlanId) -> Option<&IfRef> {
        Some(&id.link)
    }

    fn ns(id: &VxlanId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &VxlanId) -> String {
        format!("vxlan {}", id.link)
    }

    fn describe(&self) -> String {
        let mut s = format!("vni {}, port {}", self.vni, self.port);
        if let Some(l) = self.local {
            s += &format!(", local {l}");
        }
        if let Some(d) = &self.dev {
            s += &format!(", dev {d}");
        }
        if self.learning {
            s += ", learning";
        }
        s
    }

    fn makes(id: &VxlanId, _: Option<&super::State>) -> Vec<IfRef> {
        vec![id.link.clone()]
    }

    fn index(id: &VxlanId, me: &Vxlan, ix: &mut Index) {
        ix.creator(&id.link, Id::Vxlan(id.clone()));
        if let Some(d) = &me.dev {
            let dev = IfRef::new(id.link.ns.clone(), d);
            ix.over.entry(dev).or_default().push(id.clone());
        }
    }

    /// The underlay first, when the lab makes it.
    fn deps(id: &VxlanId, me: &Vxlan, ix: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.link.ns);
        if let Some(d) = &me.dev {
            let dev = IfRef::new(id.link.ns.clone(), d);
            deps.extend(ix.creators.get(&dev).into_iter().flatten().cloned());
            deps.push(Id::Link(LinkId { link: dev }));
        }
        deps
    }

    fn changes(&self, live: &Vxlan) -> Vec<Change> {
        let mut out = Vec::new();
        Change::push(&mut out, "vni", live.vni.to_string(), self.vni.to_string());
        Change::push(
            &mut out,
            "port",
            live.port.to_string(),
            self.port.to_string(),
        );
        Change::push(&mut out, "local", opt(&live.local), opt(&self.local));
        Change::push(&mut out, "dev", opt(&live.dev), opt(&self.dev));
        Change::push(
            &mut out,
            "learning",
            live.learning.to_string(),
            self.learning.to_string(),
        );
        out
    }

    fn replace_reason(&self, changes: &[Change]) -> Option<String> {
        let fixed: Vec<&str> = changes
            .iter()
            .map(|c| c.attr.as_ref())
            .filter(|a| FIXED.contains(a))
            .collect();
        (!fixed.is_empty()).then(|| {
            format!(
                "the kernel does not change a vxlan's {} in place",
                fixed.join(", ")
            )
        })
    }

    /// Its forwarding entries go with it, as do its settings, addresses
    /// and the routes through it.
    fn takes_along(id: &VxlanId, _: &Vxlan, cx: &mut VanishCx<'_>) {
        cx.device_goes(&id.link);
        let entries: Vec<Id> = cx
            .by_ns
            .get(&id.link.ns)
            .into_iter()
            .flatten()
            .filter(|o| matches!(o, Id::Fdb(f) if f.link == id.link))
            .cloned()
            .collect();
        for e in entries {
            cx.take(e, format!("the kernel removes it with {}", id.link));
        }
    }

    fn observe(cx: &mut ObserveNs<'_>) {
        for l in cx.owned_links() {
            let Some(v) = l.vxlan else { continue };
            let id = VxlanId {
                link: IfRef::new(cx.ns.clone(), &l.name),
            };
            let me = Vxlan {
                vni: v.vni,
                local: v.local,
                port: v.port,
                dev: v.dev.and_then(|i| cx.name_of(i)).map(String::from),
                learning: v.learning,
            };
            cx.obs.state.insert::<Vxlan>(id, me);
        }
    }

    async fn create<M: Machine>(
        id: &VxlanId,
        me: &Vxlan,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.settle_names(&[&id.link]).await?;
        let new = x.new_link(&id.link, x.mark());
        x.m.create_vxlan(&id.link, &me.options(), &new).await
    }

    async fn update<M: Machine>(
        id: &VxlanId,
        want: &Vxlan,
        _: &Vxlan,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.m.change_vxlan(&id.link, &want.options()).await
    }

    async fn delete<M: Machine>(
        id: &VxlanId,
        _: Option<&Vxlan>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        super::gone_ok(x.m.delete_link(&id.link).await)
    }
}

impl VxlanId {
    /// The forwarding entry of this device that sends to `dst`.
    pub fn remote(&self, dst: IpAddr) -> FdbId {
        FdbId {
            link: self.link.clone(),
            dst,
        }
    }
}
