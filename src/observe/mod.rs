//! Reads a machine into the same `State` type as the desired state: only
//! what the lab owns, plus the clashes that would stop a plan. This stage
//! finds the lab's namespaces and reads each once; every kind then picks
//! its objects out of that (`Kind::observe`).

mod clash;
mod context;
mod dying;
mod nft;

use dying::drop_dying_veths;
use nft::{read_nft, wants_nft};

pub use context::{ObserveLab, ObserveNs};

use crate::kinds::{self, Id, NetnsId, State};
use crate::machine::{Depth, Dump, KernelError, LabState, Machine, ReadBack, Table};
use crate::model::{other_owner, owner_mark, IfRef, Model, Ns, Prior};
use std::collections::{BTreeMap, BTreeSet};

/// The kernel as it concerns one lab.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Objects the lab owns.
    pub state: State,
    /// Veth ends of the lab whose peer's namespace is gone: read as gone,
    /// the kernel removes them a little later.
    pub lingering: BTreeSet<IfRef>,
    /// Namespaces where the lab's nft table was looked for and is not.
    pub nft_absent: BTreeSet<Ns>,
    /// Desired objects whose place is taken by something the lab does not own.
    pub foreign: BTreeMap<Id, String>,
    /// Addresses on interfaces the lab's namespaces hold, for stable allocation.
    pub prior: Prior,
    /// What the kernel cannot hold: host routes, previous sysctl values.
    pub lab_state: LabState,
    /// Objects an interrupted run was creating: the lab's, but without their
    /// mark (or, for a namespace, maybe not even mounted). Plan re-creates
    /// them when the file wants them and deletes them otherwise.
    pub interrupted: BTreeSet<Id>,
    /// IPv4 addresses the kernel holds as secondaries of their subnet.
    pub secondary: BTreeSet<Id>,
    /// Sysctls in `state` only for the diff: the file sets them, the lab has
    /// not yet (the value before is not recorded, so they are not the lab's).
    pub unheld: BTreeSet<Id>,
    /// Interfaces the lab does not own attached to its bridges, by bridge.
    pub guests: BTreeMap<IfRef, Vec<String>>,
    /// Interfaces the lab does not own inside its own namespaces, by
    /// namespace: deleting the namespace deletes them, and a veth's other
    /// end wherever it is.
    pub inmates: BTreeMap<Ns, Vec<String>>,
    /// Host sysctls the lab sets that other labs hold too: key → those labs.
    pub shared: BTreeMap<String, Vec<String>>,
    /// Owned interfaces that keep secondaries when the primary goes.
    pub promoting: BTreeSet<IfRef>,
    /// Owned interfaces that are up but do not carry traffic yet: no
    /// carrier, a bridge port that does not forward yet, a tentative
    /// address.
    pub settling: BTreeSet<IfRef>,
    /// What the file asks of the machine that the machine cannot give (an
    /// uplink that does not exist, a process that is not there): errors
    /// at the object's place in the file, before any change.
    pub refused: Vec<Refusal>,
    /// Attached nodes found, with the inode of their namespace now.
    pub attached_now: BTreeMap<String, u64>,
}

/// One thing the file asks that the machine refuses: the object, why,
/// and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub id: Id,
    pub message: String,
    pub help: String,
}

/// Reads every namespace the lab owns or wants. `model` may be `None`
/// (destroy without a file): then only owned objects are found.
pub async fn observe<M: Machine>(
    lab: &str,
    model: Option<&Model>,
    m: &mut M,
) -> Result<Observed, KernelError> {
    observe_with(lab, model, Reach::Lab, m).await
}

/// Which namespaces a read covers.
#[derive(Debug, Clone, Copy)]
pub enum Reach<'a> {
    /// Those the lab owns or wants (`observe`).
    Lab,
    /// Also owned namespaces the file does not name: rollback and
    /// `show --lab` need their contents.
    Everything,
    /// The host and these nodes: what an apply changed, read again to
    /// verify it. The state holds only their objects.
    Only(&'a BTreeSet<Ns>),
    /// The host, the nodes the file names, and these: verifying an apply
    /// that changed every node. No other namespace is probed for the
    /// lab's mark: none can have become the lab's while apply held its
    /// lock, and a machine holds many of other labs.
    Wanted(&'a BTreeSet<Ns>),
}

impl Reach<'_> {
    /// Whether objects of `ns` are read.
    pub fn covers(&self, ns: &Ns) -> bool {
        match self {
            Reach::Only(s) => *ns == Ns::Host || s.contains(ns),
            _ => true,
        }
    }
}

/// Like `observe`, over the namespaces `reach` says.
pub async fn observe_with<M: Machine>(
    lab: &str,
    model: Option<&Model>,
    reach: Reach<'_>,
    m: &mut M,
) -> Result<Observed, KernelError> {
    let mark = owner_mark(lab);
    let desired = model.map(|m| &m.state);
    let mut obs = Observed {
        lab_state: m.load_state(lab)?,
        ..Observed::default()
    };
    attach_all(desired, &mut obs, m).await;
    let wanted: BTreeSet<&String> = model
        .map(|m| {
            m.nodes
                .iter()
                .filter(|n| !obs.attached_now.contains_key(*n))
                .collect()
        })
        .unwrap_or_default();
    // Namespaces the file names are dumped whole; of any other, lo's alias
    // tells whether the lab owns it. With a file, an owned namespace it no
    // longer names is read whole too: what it held may move elsewhere (a
    // renamed node keeps its addresses). Without one (destroy) the mark is
    // all that counts.
    let mut jobs = vec![(Ns::Host, Depth::Full)];
    // Every namespace there is, read or not: a veth end whose peer's
    // namespace is not among them is on its way out.
    let mut existing: BTreeSet<Ns> = BTreeSet::from([Ns::Host]);
    for name in obs.attached_now.keys() {
        existing.insert(Ns::node(name));
        if reach.covers(&Ns::node(name)) {
            jobs.push((Ns::node(name), Depth::Full));
        }
    }
    for name in m.namespaces()? {
        let ns = Ns::node(&name);
        existing.insert(ns.clone());
        if obs.attached_now.contains_key(&name) || !reach.covers(&ns) {
            continue;
        }
        if matches!(reach, Reach::Wanted(set) if !wanted.contains(&name) && !set.contains(&ns)) {
            continue;
        }
        let depth = if matches!(reach, Reach::Everything) || wanted.contains(&name) {
            Depth::Full
        } else if model.is_some() {
            Depth::FullIfMarked(mark.clone())
        } else {
            Depth::LinksIfMarked(mark.clone())
        };
        jobs.push((ns, depth));
    }
    // The lab's nft table is read along with the dumps where observe will
    // look for it (`read_nft`).
    let tables: Vec<Ns> = jobs
        .iter()
        .map(|(ns, _)| ns)
        .filter(|ns| wants_nft(ns, desired, &obs.lab_state))
        .cloned()
        .collect();
    let ReadBack {
        dumps: results,
        mut tables,
    } = m.dump_many(jobs, lab, tables).await;
    tracing::debug!(namespaces = results.len(), "dumped");
    let mut dumps: Vec<(Ns, Dump)> = Vec::new();
    for (ns, dump) in results {
        let Ns::Node(name) = &ns else {
            dumps.push((ns, dump?));
            continue;
        };
        if obs.attached_now.contains_key(name.as_str()) {
            dumps.push((ns.clone(), dump?));
            continue;
        }
        if let Some(d) = classify(lab, name, dump, &wanted, &mut obs) {
            dumps.push((ns, d));
        }
    }
    dumps.sort_by(|a, b| a.0.cmp(&b.0));
    obs.lingering = drop_dying_veths(&mark, &existing, &mut dumps);
    let registry = m.load_host_sysctls()?;
    // Each dump is let go once parsed: dumps and state are never both whole.
    for (ns, dump) in dumps {
        let sysctls = read_sysctls(lab, &ns, desired, &obs.lab_state, &registry, m)?;
        let (nft, clash) = read_nft(lab, &ns, desired, &obs.lab_state, &mut tables, m)?;
        if nft == Some(Table::Absent) {
            obs.nft_absent.insert(ns.clone());
        }
        obs.foreign.extend(clash);
        let mut cx = ObserveNs::new(lab, &mark, &ns, &dump, desired, &mut obs);
        cx.sysctls = sysctls;
        cx.nft = nft;
        cx.registry = &registry;
        kinds::observe_all(&mut cx);
    }
    let netns_files = read_netns_files(desired, &obs.lab_state, m)?;
    let dhcp = m.dhcp_servers(lab).await?;
    let wants_dhcp = desired.is_some_and(|d| !d.dhcp.is_empty());
    let dhcp_unavailable = if wants_dhcp {
        m.dhcp_unavailable()
    } else {
        None
    };
    let mut cx = ObserveLab {
        lab,
        mark: &mark,
        desired,
        obs: &mut obs,
        netns_files,
        dhcp,
        dhcp_unavailable,
    };
    kinds::observe_lab_all(&mut cx);
    if let Reach::Only(_) = reach {
        // Lab-wide reads (files, processes) cover every node.
        obs.state = obs.state.filtered(|id| reach.covers(&id.ns()));
    }
    tracing::debug!("parsed");
    Ok(obs)
}

/// The /etc/netns files of the nodes the file writes some for, or the lab
/// once wrote some for (its records say).
fn read_netns_files<M: Machine>(
    desired: Option<&State>,
    st: &LabState,
    m: &mut M,
) -> Result<BTreeMap<(String, String), String>, KernelError> {
    let mut nodes: BTreeSet<&String> = st.netns_etc.keys().collect();
    nodes.extend(
        desired
            .into_iter()
            .flat_map(|d| d.netns_file.keys().map(|k| &k.node)),
    );
    let mut out = BTreeMap::new();
    for node in nodes {
        for f in kinds::EtcName::ALL {
            if let Some(t) = m.read_netns_file(node, f.file())? {
                out.insert((node.clone(), f.file().to_string()), t);
            }
        }
    }
    Ok(out)
}

/// Opens the namespaces of attached nodes: those the file attaches, and
/// those the lab attached before (their records). One the file wants that
/// is not there (a dead pid, a stopped container) is refused; one only
/// recorded is gone, with what the lab had there, and its record goes.
async fn attach_all<M: Machine>(desired: Option<&State>, obs: &mut Observed, m: &mut M) {
    let mut nodes: BTreeMap<String, (crate::model::Attach, bool)> = BTreeMap::new();
    for (name, r) in &obs.lab_state.attached {
        nodes.insert(name.clone(), (r.at.clone(), false));
    }
    for (id, n) in desired.into_iter().flat_map(|d| &d.netns) {
        if let Some(at) = &n.attach {
            nodes.insert(id.name.to_string(), (at.clone(), true));
        }
    }
    let host = m.namespace_inode(&Ns::Host);
    let named: BTreeSet<String> = m.namespaces().unwrap_or_default().into_iter().collect();
    let mut by_inode: BTreeMap<u64, String> = BTreeMap::new();
    // A node cannot turn from one the lab created into an attached one, or
    // back, in one run: the objects in the old namespace would be lost.
    for (id, n) in desired.into_iter().flat_map(|d| &d.netns) {
        let name = &id.name;
        let was = obs.lab_state.attached.get(name.as_str());
        let clash = match (&n.attach, was) {
            (None, Some(r)) => Some(format!(
                "node `{name}` is attached to {}, and the file makes it a namespace of its own",
                r.at
            )),
            (Some(at), None)
                if named.contains(name.as_str())
                    && *at != crate::model::Attach::Netns(format!("/run/netns/{name}")) =>
            {
                Some(format!(
                    "node `{name}` attaches to {at}, but a namespace /run/netns/{name} exists"
                ))
            }
            _ => None,
        };
        if let Some(message) = clash {
            obs.refused.push(Refusal {
                id: Id::Netns(id.clone()),
                message,
                help: "remove the node from the file and apply (or give the node another name), then add it back".to_string(),
            });
            nodes.remove(name.as_str());
        }
    }
    let still: BTreeSet<String> = nodes
        .iter()
        .filter(|(_, (_, wanted))| *wanted)
        .map(|(n, _)| n.to_string())
        .collect();
    // Nodes the lab attached before and the file no longer has come first:
    // a wanted node meeting one's namespace is then refused whatever the
    // order of their names (a rename).
    let mut nodes: Vec<_> = nodes.into_iter().collect();
    nodes.sort_by_key(|(_, (_, wanted))| *wanted);
    for (name, (at, wanted)) in nodes {
        let id = Id::Netns(NetnsId {
            name: name.as_str().into(),
        });
        let refuse = |message: String, help: &str| Refusal {
            id: id.clone(),
            message,
            help: help.to_string(),
        };
        let recorded = obs.lab_state.attached.get(&name).cloned();
        match m.attach_namespace(&name, &at) {
            Ok(inode) if wanted && Some(inode) == host => obs.refused.push(refuse(
                format!("node `{name}` would attach to {at}, which is the machine's own namespace"),
                "configure the machine's own namespace under `host:`",
            )),
            Ok(inode) if wanted && by_inode.contains_key(&inode) => {
                let other = &by_inode[&inode];
                obs.refused.push(if still.contains(other) {
                    refuse(
                        format!("node `{name}` would attach to the namespace node `{other}` already stands for"),
                        "attach each namespace to one node",
                    )
                } else {
                    refuse(
                        format!("node `{name}` would attach to the namespace the lab attached node `{other}` to, which the file no longer has: an attached node cannot be renamed in one apply"),
                        "remove the node from the file and apply, then add it under its new name",
                    )
                })
            }
            Ok(inode) => {
                by_inode.insert(inode, name.clone());
                obs.attached_now.insert(name, inode);
            }
            Err(e) if wanted => obs.refused.push(refuse(
                e.to_string(),
                "start what the node attaches to first (the process, the container), or fix `attach:`",
            )),
            Err(_) => {
                if let Some(r) = recorded {
                    obs.state.insert::<crate::kinds::Netns>(NetnsId { name: name.into() }, crate::kinds::Netns { attach: Some(r.at) });
                }
            }
        }
    }
}

/// Sorts a node namespace: the lab's (its dump is read on), someone
/// else's that the file wants (a clash), or one an interrupted run left.
fn classify(
    lab: &str,
    name: &str,
    dump: Result<Dump, KernelError>,
    wanted: &BTreeSet<&String>,
    obs: &mut Observed,
) -> Option<Dump> {
    let id = Id::Netns(NetnsId { name: name.into() });
    let pending = obs.lab_state.pending.contains(&id);
    let wants = wanted.contains(&name.to_string());
    let dump = match dump {
        Ok(d) => d,
        // Not a namespace (a file left by a crash between creating the
        // name and mounting the namespace on it, or someone else's).
        Err(_) if pending => {
            obs.interrupted.insert(id);
            return None;
        }
        Err(e) if wants => {
            let msg =
                format!("/run/netns/{name} exists and is not a usable network namespace ({e})");
            obs.foreign.insert(id, msg);
            return None;
        }
        Err(_) => return None,
    };
    let lo_alias = dump
        .links
        .iter()
        .find(|l| l.name == "lo")
        .and_then(|l| l.alias.as_deref());
    if lo_alias == Some(owner_mark(lab).as_str()) {
        return Some(dump);
    }
    if pending {
        obs.interrupted.insert(id);
    } else if wants {
        let msg = format!(
            "namespace {name} exists and is not owned by lab {lab}{}",
            other_owner(lo_alias)
        );
        obs.foreign.insert(id, msg);
    }
    None
}

/// The sysctls the lab sets or once set in `ns`, with their values now:
/// those the file sets, those recorded, host ones the lab holds a share of.
fn read_sysctls<M: Machine>(
    lab: &str,
    ns: &Ns,
    desired: Option<&State>,
    st: &LabState,
    registry: &crate::machine::Registry,
    m: &mut M,
) -> Result<BTreeMap<String, String>, KernelError> {
    let mut keys: BTreeSet<String> = BTreeSet::new();
    let from = crate::kinds::SysctlId {
        ns: ns.clone(),
        key: String::new().into(),
    };
    for id in desired
        .into_iter()
        .flat_map(|s| s.sysctl.range(from.clone()..))
    {
        if id.0.ns != *ns {
            break;
        }
        keys.insert(id.0.key.to_string());
    }
    keys.extend(
        st.recorded()
            .filter(|(n, _)| n == ns)
            .map(|(_, k)| k.clone()),
    );
    if *ns == Ns::Host {
        let held = registry.iter().filter(|(_, s)| s.holders.contains_key(lab));
        keys.extend(held.map(|(k, _)| k.clone()));
    }
    let mut out = BTreeMap::new();
    for key in keys {
        if let Some(v) = m.read_sysctl(ns, &key)? {
            out.insert(key, v);
        }
    }
    Ok(out)
}
