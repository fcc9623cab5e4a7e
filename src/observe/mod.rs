//! Reads the live kernel into the same `State` type as the desired state:
//! only what the lab owns, plus the clashes that would stop a plan.

mod clash;
mod namespace;
mod nft;
mod sysctls;

use crate::kernel::netlink::{Conn, Dump, KernelError};
use crate::kernel::{netns, owner_mark, state_file};
use crate::model::{Id, IfRef, Model, Ns, Prior, Res, State};
use futures::StreamExt;
use namespace::read_namespace;
use nft::read_nft;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::os::fd::AsFd;
use sysctls::read_sysctls;

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
    /// Sysctls in `state` only for the diff: the file sets them, the lab has
    /// not yet (the value before is not recorded, so they are not the lab's).
    pub unheld: BTreeSet<Id>,
    /// Interfaces the lab does not own attached to its bridges, by bridge.
    pub guests: BTreeMap<IfRef, Vec<String>>,
    /// Host sysctls the lab sets that other labs hold too: key → those labs.
    pub shared: BTreeMap<String, Vec<String>>,
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
    // With a file, an owned namespace it no longer names is dumped whole
    // too: what it held may move elsewhere (a renamed node keeps its
    // addresses). Without one (destroy) its lo's mark is all that counts.
    let deep = model.is_some();
    let mark_ref = mark.as_str();
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
                    Ok(conn) => match conn.link_by_name("lo").await {
                        Ok(Some(lo)) if deep && lo.alias.as_deref() == Some(mark_ref) => {
                            conn.dump().await
                        }
                        lo => lo.map(|lo| Dump {
                            links: lo.into_iter().collect(),
                            ..Dump::default()
                        }),
                    },
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
        if let (Ns::Host, Some(desired)) = (ns, desired) {
            clash::subnet_clashes(lab, dump, desired, &mut obs);
        }
    }
    tracing::debug!("parsed");
    read_sysctls(lab, &namespaces, desired, h, &mut obs)?;
    tracing::debug!("sysctls read");
    read_nft(lab, &namespaces, desired, h, &mut obs)?;
    tracing::debug!("nft read");
    Ok(obs)
}
