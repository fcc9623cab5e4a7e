//! Reads the live kernel into the same `State` type as the desired state:
//! only what the lab owns, plus the clashes that would stop a plan.

use crate::kernel::netlink::{Conn, Dump, KernelError, Link};
use crate::kernel::{netns, nft, owner_mark, state_file, sysctl, RTPROT_TOPO};
use crate::model::{Id, IfRef, Mac, Model, Ns, Prior, Res, RouteKey, Scope, State};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::fd::AsFd;

/// Namespaces read at the same time.
const IN_FLIGHT: usize = 64;

/// Open handles to every namespace the lab touches: one netlink connection
/// per namespace, reused by observe and apply.
#[derive(Default)]
pub struct Handles {
    pub conns: BTreeMap<Ns, Conn>,
    pub files: BTreeMap<String, File>,
}

impl Handles {
    /// The connection for `ns`, opened on first use.
    pub fn conn(&mut self, ns: &Ns) -> Result<Conn, KernelError> {
        if let Some(c) = self.conns.get(ns) {
            return Ok(c.clone());
        }
        let c = match ns {
            Ns::Host => Conn::open(None)?,
            Ns::Node(n) => {
                let f = self.file(n)?.ok_or_else(|| {
                    KernelError::new(format!("open namespace {n}"), "it does not exist")
                })?;
                Conn::open(Some(f.as_fd()))?
            }
        };
        self.conns.insert(ns.clone(), c.clone());
        Ok(c)
    }

    /// The namespace file of node `n`, if it exists.
    pub fn file(&mut self, n: &str) -> Result<Option<&File>, KernelError> {
        if !self.files.contains_key(n) {
            match netns::open(n).map_err(|e| KernelError::new(format!("open namespace {n}"), e))? {
                Some(f) => {
                    self.files.insert(n.to_string(), f);
                }
                None => return Ok(None),
            }
        }
        Ok(self.files.get(n))
    }

    /// A handle on the namespace topo itself runs in.
    pub fn host_file(&self) -> Result<File, KernelError> {
        File::open("/proc/self/ns/net").map_err(|e| KernelError::new("open host namespace", e))
    }

    /// Forgets a namespace that was deleted or re-created.
    pub fn forget(&mut self, n: &str) {
        self.files.remove(n);
        self.conns.remove(&Ns::Node(n.to_string()));
    }
}

/// The kernel as it concerns one lab.
#[derive(Debug, Default, Clone)]
pub struct Observed {
    /// Objects the lab owns.
    pub state: State,
    /// Desired objects whose place is taken by something the lab does not own.
    pub foreign: BTreeMap<Id, String>,
    /// Interface indexes of owned interfaces (and of foreign masters).
    pub index: BTreeMap<IfRef, u32>,
    /// Addresses on owned interfaces, for stable allocation.
    pub prior: Prior,
    /// What the kernel cannot hold: host routes, previous sysctl values.
    pub lab_state: state_file::LabState,
    /// Objects an interrupted run was creating: the lab's, but without their
    /// mark (or, for a namespace, maybe not even mounted). Plan re-creates
    /// them when the file wants them and deletes them otherwise.
    pub interrupted: BTreeSet<Id>,
    /// IPv4 addresses the kernel holds as secondaries of their subnet.
    pub secondary: BTreeSet<Id>,
    /// Owned interfaces that keep secondaries when the primary goes.
    pub promoting: BTreeSet<IfRef>,
    /// Owned interfaces that are up but do not carry traffic yet: no
    /// carrier, or a bridge port that does not forward yet.
    pub settling: BTreeSet<IfRef>,
}

/// Reads every namespace the lab owns or wants. `model` may be `None` (destroy
/// without a file): then only owned objects are found.
pub async fn observe(
    lab: &str,
    model: Option<&Model>,
    h: &mut Handles,
) -> Result<Observed, KernelError> {
    observe_with(lab, model, false, h).await
}

/// Like `observe`, and with `everything` also dumps owned namespaces the
/// file does not name (rollback needs their contents; destroy does not).
pub async fn observe_with(
    lab: &str,
    model: Option<&Model>,
    everything: bool,
    h: &mut Handles,
) -> Result<Observed, KernelError> {
    let mark = owner_mark(lab);
    let desired = model.map(|m| &m.state);
    let mut obs = Observed {
        lab_state: state_file::load(lab).map_err(|e| KernelError::new("read lab state", e))?,
        ..Observed::default()
    };
    let wanted: BTreeSet<&String> = model.map(|m| m.nodes.iter().collect()).unwrap_or_default();
    // Namespaces the file names are dumped whole; of any other, only lo's
    // alias is read, to learn whether the lab owns it.
    let mut jobs: Vec<(Ns, Option<File>, bool)> = vec![(Ns::Host, None, true)];
    for name in netns::list().map_err(|e| KernelError::new("list namespaces", e))? {
        let full = everything || wanted.contains(&name);
        let Some(file) = h.file(&name)? else { continue };
        let file = file
            .try_clone()
            .map_err(|e| KernelError::new("duplicate namespace handle", e))?;
        jobs.push((Ns::Node(name), Some(file), full));
    }
    let host = h.conn(&Ns::Host)?;
    // Connections are opened as jobs start and dropped as they end, so at
    // most IN_FLIGHT are alive: each holds about 72 KiB of buffers.
    let results: Vec<(Ns, Result<Dump, KernelError>)> = futures::stream::iter(jobs)
        .map(|(ns, file, full)| {
            let conn = match &file {
                None => Ok(host.clone()),
                Some(f) => Conn::open(Some(f.as_fd())),
            };
            async move {
                let dump = match conn {
                    Err(e) => Err(e),
                    Ok(conn) if full => conn.dump().await,
                    Ok(conn) => conn.link_by_name("lo").await.map(|lo| Dump {
                        links: lo.into_iter().collect(),
                        ..Dump::default()
                    }),
                };
                (ns, dump)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    tracing::debug!(namespaces = results.len(), "dumped");
    let mut namespaces: Vec<Ns> = vec![Ns::Host];
    let mut dumps: Vec<(Ns, Dump)> = Vec::new();
    for (ns, dump) in results {
        let Ns::Node(name) = &ns else {
            dumps.push((ns, dump?));
            continue;
        };
        let pending = obs
            .lab_state
            .pending
            .contains(&Id::Netns { name: name.clone() });
        let dump = match dump {
            Ok(d) => d,
            // Not a namespace (a file left by a crash between creating the
            // name and mounting the namespace on it, or someone else's).
            Err(_) if pending => {
                obs.interrupted.insert(Id::Netns { name: name.clone() });
                continue;
            }
            Err(e) if wanted.contains(name) => {
                let msg =
                    format!("/run/netns/{name} exists and is not a usable network namespace ({e})");
                obs.foreign.insert(Id::Netns { name: name.clone() }, msg);
                continue;
            }
            Err(_) => continue,
        };
        let lo_alias = dump
            .links
            .iter()
            .find(|l| l.name == "lo")
            .and_then(|l| l.alias.as_deref());
        if lo_alias == Some(mark.as_str()) {
            obs.state
                .insert(Id::Netns { name: name.clone() }, Res::Netns);
            namespaces.push(ns.clone());
            dumps.push((ns, dump));
        } else {
            h.forget(name);
            if pending {
                obs.interrupted.insert(Id::Netns { name: name.clone() });
            } else if wanted.contains(name) {
                obs.foreign.insert(
                    Id::Netns { name: name.clone() },
                    format!("namespace {name} exists and is not owned by lab {lab}"),
                );
            }
        }
    }
    dumps.sort_by(|a, b| a.0.cmp(&b.0));
    for (ns, dump) in &dumps {
        read_namespace(lab, ns, dump, desired, &mut obs);
    }
    tracing::debug!("parsed");
    read_sysctls(lab, &namespaces, desired, h, &mut obs)?;
    tracing::debug!("sysctls read");
    read_nft(lab, &namespaces, desired, h, &mut obs)?;
    tracing::debug!("nft read");
    Ok(obs)
}

/// Reads the lab's nft table where it may be: the host, namespaces whose
/// desired state has rules, and namespaces where the lab once put a table.
fn read_nft(
    lab: &str,
    present: &[Ns],
    desired: Option<&State>,
    h: &mut Handles,
    obs: &mut Observed,
) -> Result<(), KernelError> {
    let wanting: BTreeSet<&Ns> = desired
        .into_iter()
        .flat_map(|s| s.keys())
        .filter_map(|i| match i {
            Id::Chain { ns, .. } => Some(ns),
            _ => None,
        })
        .collect();
    for ns in present {
        if *ns != Ns::Host && !wanting.contains(ns) && !obs.lab_state.nft.contains(ns.label()) {
            continue;
        }
        let fd = match ns {
            Ns::Host => None,
            Ns::Node(n) => h.file(n)?.map(|f| f.as_fd()),
        };
        let wanted = wanting.contains(ns) || obs.lab_state.nft.contains(ns.label());
        let chains = match nft::read(fd, lab) {
            Ok(nft::Found::Owned(chains)) => chains,
            Ok(nft::Found::Absent) => continue,
            Ok(nft::Found::Foreign) => {
                if wanting.contains(ns) {
                    let id = desired
                        .into_iter()
                        .flat_map(|s| s.keys())
                        .find(|i| matches!(i, Id::Chain { ns: n, .. } if n == ns));
                    let msg = format!(
                        "nft table inet {} exists in {ns} and was not made by topo",
                        nft::table_name(lab)
                    );
                    obs.foreign
                        .insert(id.cloned().expect("a wanted namespace has a chain"), msg);
                }
                continue;
            }
            // Without nft there can be no table of the lab's where none is wanted.
            Err(e) if nft::is_missing(&e) && !wanted => continue,
            Err(e) => return Err(e),
        };
        for c in chains {
            let label = |i: usize, r: &Option<String>| {
                r.clone()
                    .unwrap_or_else(|| format!("unmanaged rule #{}", i + 1))
            };
            let rules: Vec<String> = c
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| label(i, r))
                .collect();
            for r in &rules {
                obs.state.insert(
                    Id::Rule {
                        ns: ns.clone(),
                        chain: c.name.clone(),
                        rule: r.clone(),
                    },
                    Res::Rule {
                        expr: String::new(),
                    },
                );
            }
            let filter = ["input", "forward", "output"].contains(&c.name.as_str());
            let policy = if filter { c.policy } else { None };
            obs.state.insert(
                Id::Chain {
                    ns: ns.clone(),
                    chain: c.name,
                },
                Res::Chain { policy, rules },
            );
        }
    }
    Ok(())
}

fn mac(m: Option<[u8; 6]>) -> Option<Mac> {
    m.map(Mac)
}

/// Adds one namespace's owned objects (and clashes) to `obs`.
fn read_namespace(lab: &str, ns: &Ns, d: &Dump, desired: Option<&State>, obs: &mut Observed) {
    let mark = owner_mark(lab);
    let by_index: BTreeMap<u32, &Link> = d.links.iter().map(|l| (l.index, l)).collect();
    let owned = |l: &Link| {
        l.alias
            .as_deref()
            .is_some_and(|a| a == mark || a.starts_with(&format!("{mark}:")))
    };
    let wants = |id: &Id| desired.is_some_and(|s| s.contains_key(id));
    // The device an interrupted run was creating, by either of its names.
    let pending: Vec<(&Id, IfRef)> = obs
        .lab_state
        .pending
        .iter()
        .flat_map(|id| {
            let (Id::Bridge { link } | Id::Veth { link }) = id else {
                return vec![];
            };
            let mut ends = vec![(id, link.clone())];
            if let Some(Res::Veth { peer }) = desired.and_then(|s| s.get(id)) {
                ends.push((id, peer.clone()));
            }
            ends
        })
        .collect();
    for l in &d.links {
        let r = IfRef::new(ns.clone(), &l.name);
        // A node's lo carries the namespace's mark; it is not a lab interface.
        if !owned(l) || l.name == "lo" {
            if let Some((id, _)) = pending
                .iter()
                .find(|(_, end)| *end == r)
                .filter(|_| l.name != "lo")
            {
                obs.interrupted.insert((*id).clone());
            } else if l.name != "lo" && (wants(&Id::Link { link: r.clone() })) {
                let what = l.kind.as_deref().unwrap_or("interface");
                obs.foreign.insert(
                    Id::Link { link: r.clone() },
                    format!("{what} {r} exists and is not owned by lab {lab}"),
                );
            }
            // A foreign master (never ours to change) still needs its index.
            obs.index.insert(r, l.index);
            continue;
        }
        obs.index.insert(r.clone(), l.index);
        if l.promote {
            obs.promoting.insert(r.clone());
        }
        // A bridge has no carrier until a port has: only its ports count.
        let quiet = l.kind.as_deref() != Some("bridge") && !l.running;
        if l.up && (quiet || l.port_settling) {
            obs.settling.insert(r.clone());
        }
        match l.kind.as_deref() {
            Some("bridge") => {
                obs.state.insert(
                    Id::Bridge { link: r.clone() },
                    Res::Bridge {
                        stp: l.stp.unwrap_or(false),
                        forward_delay: l.forward_delay,
                    },
                );
            }
            Some("veth") => {
                // The alias names the peer: topo:LAB:NS/NAME.
                if let Some(peer) = l
                    .alias
                    .as_deref()
                    .and_then(|a| a.strip_prefix(&format!("{mark}:")))
                    .and_then(parse_peer)
                {
                    let (a, b) = if r < peer {
                        (r.clone(), peer)
                    } else {
                        (peer, r.clone())
                    };
                    obs.state
                        .insert(Id::Veth { link: a }, Res::Veth { peer: b });
                }
            }
            _ => {}
        }
        let master = l
            .master
            .and_then(|m| by_index.get(&m))
            .map(|m| m.name.clone());
        obs.state.insert(
            Id::Link { link: r.clone() },
            Res::Link {
                up: l.up,
                mtu: Some(l.mtu),
                mac: mac(l.mac),
                master,
            },
        );
    }
    for a in &d.addrs {
        let Some(l) = by_index.get(&a.index) else {
            continue;
        };
        let r = IfRef::new(ns.clone(), &l.name);
        obs.prior.entry(r.clone()).or_default().push(a.net.addr());
        if a.tentative {
            obs.settling.insert(r.clone());
        }
        if owned(l) && l.name != "lo" {
            let id = Id::Address {
                link: r,
                address: a.net,
            };
            if a.secondary {
                obs.secondary.insert(id.clone());
            }
            obs.state.insert(id, Res::Address);
        }
    }
    for rt in &d.routes {
        let key = RouteKey::new(rt.to, rt.metric);
        let id = Id::Route {
            ns: ns.clone(),
            key: key.clone(),
        };
        let ours = rt.protocol == RTPROT_TOPO
            && (*ns != Ns::Host || obs.lab_state.host_routes.contains(&key));
        if ours {
            let dev = rt
                .oif
                .and_then(|o| by_index.get(&o))
                .map(|l| l.name.clone());
            let scope = Scope::from(rt.scope);
            obs.state.insert(
                id,
                Res::Route {
                    via: rt.via,
                    dev,
                    scope,
                },
            );
        } else if wants(&id) {
            obs.foreign.insert(
                id,
                format!(
                    "a route to {} with metric {} exists in {ns} and is not owned by lab {lab}",
                    rt.to, rt.metric
                ),
            );
        }
    }
}

fn parse_peer(s: &str) -> Option<IfRef> {
    let (ns, name) = s.split_once('/')?;
    Some(IfRef::new(Ns::parse(ns), name))
}

/// Reads the sysctls the lab sets or once set, in namespaces that exist.
fn read_sysctls(
    lab: &str,
    present: &[Ns],
    desired: Option<&State>,
    h: &mut Handles,
    obs: &mut Observed,
) -> Result<(), KernelError> {
    let mut keys: BTreeSet<(Ns, String)> = BTreeSet::new();
    for id in desired.into_iter().flat_map(|s| s.keys()) {
        if let Id::Sysctl { ns, key } = id {
            keys.insert((ns.clone(), key.clone()));
        }
    }
    keys.extend(obs.lab_state.recorded().map(|(ns, k)| (ns, k.clone())));
    for (ns, key) in keys {
        if !present.contains(&ns) {
            continue;
        }
        let fd = match &ns {
            Ns::Host => None,
            Ns::Node(n) => h.file(n)?.map(|f| f.as_fd()),
        };
        let value = sysctl::read(fd, &key)
            .map_err(|e| KernelError::new(format!("read sysctl {key} in {ns} (lab {lab})"), e))?;
        let Some(value) = value else { continue };
        let recorded = obs.lab_state.original(&ns, &key).is_some();
        // A sysctl is the lab's once the lab has set it; until then only its
        // current value matters, for the diff.
        if recorded
            || desired.is_some_and(|s| {
                s.contains_key(&Id::Sysctl {
                    ns: ns.clone(),
                    key: key.clone(),
                })
            })
        {
            obs.state
                .insert(Id::Sysctl { ns, key }, Res::Sysctl { value });
        }
    }
    Ok(())
}
