//! Every kind of object topo manages, one file each: its identity and
//! attributes, what it needs first, what the kernel removes along with it,
//! how it is read from a namespace, made, changed and deleted, and how a
//! plan names it. The `kinds!` list at the bottom is the only place that
//! names them all: it makes the identity (`Id`), attribute (`Res`), state
//! (`State`) and action (`Target`) types and every dispatch over kinds, so
//! a kind left out of a dispatch does not compile, and an identity can
//! never be paired with another kind's attributes.
//!
//! Adding a kind: write its file (a `FooId`, a `Foo`, `impl Kind for Foo`),
//! add one line to `kinds!`, give the spec and model what the file says.

mod address;
mod bridge;
mod chain;
mod dhcp;
mod fdb;
mod link;
#[macro_use]
mod list;
mod netns;
mod netns_file;
mod route;
mod rule;
mod sysctl;
mod tap;
mod uplink;
mod veth;
mod vxlan;

pub use address::{Address, AddressId};
pub use bridge::{Bridge, BridgeId};
pub use chain::{Chain, ChainId};
pub use dhcp::{conf_hash, Dhcp, DhcpHost, DhcpId};
pub use fdb::{Fdb, FdbId};
pub use link::{Link, LinkId};
pub use netns::{Netns, NetnsId};
pub use netns_file::{EtcName, NetnsFile, NetnsFileId};
pub use route::{Route, RouteId};
pub use rule::{Rule, RuleId};
pub use sysctl::{initial_namespace_only, Sysctl, SysctlId};
pub use tap::{Tap, TapId};
pub use uplink::{Uplink, UplinkId};
pub use veth::{peer_in_alias, Veth, VethId};
pub use vxlan::{Vxlan, VxlanId};

use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{KernelError, Machine};
use crate::model::{Change, IfRef, Ns};
use crate::observe::{ObserveLab, ObserveNs, Observed};
use crate::plan::{Op, VanishCx};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::{self, Debug};

/// One kind of object. `Self` is its attributes; `Id` its identity.
#[allow(async_fn_in_trait)] // topo's runtime is single-threaded.
pub trait Kind: Clone + Debug + PartialEq + Serialize + DeserializeOwned + Sized {
    type Id: Clone + Debug + Ord + Serialize + DeserializeOwned;
    /// The word plans use for the kind, and its JSON tag.
    const NAME: &'static str;
    /// A live object of this kind that the file does not want is deleted
    /// by an action of its own (interface settings go with their device).
    const DELETED_ALONE: bool = true;
    /// When the object exists unmarked for a moment (while it is made, or
    /// unmade): a killed run must find it in the journal.
    const JOURNAL: Journal = Journal::Never;
    /// The kernel removes it with its namespace. Files and processes stay:
    /// they are deleted by an action of their own.
    const GOES_WITH_NAMESPACE: bool = true;

    /// The one interface whose deletion is all that deleting the object
    /// does, if so: such deletions in one namespace can go together in one
    /// request (the kernel then waits once for its readers, not per device).
    fn deleted_link(_id: &Self::Id) -> Option<&IfRef> {
        None
    }

    /// The namespace the object lives in.
    fn ns(id: &Self::Id) -> Ns;
    /// How plans name it: `bridge host:br0`.
    fn label(id: &Self::Id) -> String;
    /// What it is, in a few words, after its name in a plan.
    fn describe(&self) -> String;
    /// Registers what other kinds' dependencies look up.
    fn index(_id: &Self::Id, _me: &Self, _ix: &mut Index) {}
    /// What must exist first (objects the state lacks are ignored).
    fn deps(id: &Self::Id, me: &Self, ix: &Index) -> Vec<Id>;
    /// The node an object is grouped with in the order (a node's own
    /// objects, the host end of a veth into it); `None` for the host.
    fn home(id: &Self::Id, _me: &Self, _ix: &Index) -> Option<String> {
        match Self::ns(id) {
            Ns::Node(n) => Some(n.to_string()),
            Ns::Host => None,
        }
    }
    /// The namespaces an action on this object changes: its own, and for
    /// a veth the other end's (apply verifies those again).
    fn reaches(id: &Self::Id, _me: &Self) -> Vec<Ns> {
        vec![Self::ns(id)]
    }
    /// The attributes where `live` differs from `self` (desired).
    fn changes(&self, live: &Self) -> Vec<Change>;
    /// Why these changes need the object made anew, if they do.
    fn replace_reason(&self, _changes: &[Change]) -> Option<String> {
        None
    }
    /// What the kernel removes by itself when this object goes.
    fn takes_along(_id: &Self::Id, _me: &Self, _cx: &mut VanishCx<'_>) {}
    /// The object's attributes in a plan document.
    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
    /// The interfaces making this object creates (an interrupted run may
    /// leave them unmarked); `desired` tells a veth's other end.
    fn makes(_id: &Self::Id, _desired: Option<&State>) -> Vec<IfRef> {
        Vec::new()
    }
    /// What a plan should add about others this action touches.
    fn note(_id: &Self::Id, _op: Op, _obs: &Observed) -> Option<String> {
        None
    }
    /// Reads this kind's objects of one namespace.
    fn observe(cx: &mut ObserveNs<'_>);
    /// Reads this kind's objects that live outside any namespace's dump
    /// (files, processes), once per lab.
    fn observe_lab(_cx: &mut ObserveLab<'_>) {}
    async fn create<M: Machine>(
        id: &Self::Id,
        me: &Self,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError>;
    async fn update<M: Machine>(
        id: &Self::Id,
        want: &Self,
        have: &Self,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError>;
    async fn delete<M: Machine>(
        id: &Self::Id,
        have: Option<&Self>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError>;
}

/// When an object is journaled before a step on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Journal {
    Never,
    /// While it is made (a device between creation and mark).
    Making,
    /// While it is made or unmade (a namespace file before its mount, or
    /// after its unmount).
    Always,
}

/// One object as an action sees it: its identity, what the kernel has and
/// what the file wants.
#[derive(Clone, Debug, PartialEq)]
pub struct Versions<K: Kind> {
    pub id: K::Id,
    pub before: Option<K>,
    pub after: Option<K>,
}

/// Where a kind's objects are kept in a `State`.
pub trait Stored: Kind {
    fn map(st: &State) -> &BTreeMap<Self::Id, Self>;
    fn map_mut(st: &mut State) -> &mut BTreeMap<Self::Id, Self>;
    fn id(id: Self::Id) -> Id;
    fn res(me: Self) -> Res;
    fn target(v: Versions<Self>) -> Target;
}

// The one list of kinds. The order is the order of `Id`, which breaks
// ties in the plan's order.
kinds! {
    Netns(NetnsId): netns,
    Bridge(BridgeId): bridge,
    Veth(VethId): veth,
    Tap(TapId): tap,
    Vxlan(VxlanId): vxlan,
    Link(LinkId): link,
    Uplink(UplinkId): uplink,
    Address(AddressId): address,
    Fdb(FdbId): fdb,
    Route(RouteId): route,
    Sysctl(SysctlId): sysctl,
    Chain(ChainId): chain,
    Rule(RuleId): rule,
    NetnsFile(NetnsFileId): netns_file,
    Dhcp(DhcpId): dhcp,
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A fingerprint of the objects of each namespace (by label), to tell
/// later whether the file changed there.
pub fn digests(st: &State) -> BTreeMap<String, u64> {
    // FNV-1a of each namespace's objects, one JSON line each, fed as they
    // are written: the same value as hashing the whole text, which held
    // a copy of the state at once.
    let mut hashes: BTreeMap<String, u64> = BTreeMap::new();
    st.each_json(|id, json| {
        let ns = id.ns();
        let h = match hashes.get_mut(ns.label()) {
            Some(h) => h,
            None => hashes.entry(ns.label().to_string()).or_insert(FNV_START),
        };
        for b in json.iter().chain(b"\n") {
            *h = fnv_step(*h, *b);
        }
    });
    hashes
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
}

/// An object in a node needs the node's namespace first.
fn ns_dep(ns: &Ns) -> Vec<Id> {
    match ns {
        Ns::Node(n) => vec![Netns::of(n)],
        Ns::Host => Vec::new(),
    }
}

fn node_of(ns: &Ns) -> Option<String> {
    match ns {
        Ns::Node(n) => Some(n.to_string()),
        Ns::Host => None,
    }
}

/// Deleting what is already gone is success: destroy and apply must
/// converge from any partial state.
fn gone_ok(r: Result<(), KernelError>) -> Result<(), KernelError> {
    match r {
        Err(e) if e.is_gone() => Ok(()),
        r => r,
    }
}
