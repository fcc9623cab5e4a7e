//! Executes a plan against the kernel, in the plan's order.

use crate::kernel::netlink::{Conn, KernelError, LinkSettings, RouteSpec};
use crate::kernel::{netns, nft, owner_mark, state_file, sysctl};
use crate::model::{Id, IfRef, Ns, Res, State};
use crate::observe::{Handles, Observed};
use crate::plan::{Action, Op, Plan};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// What happened to each action of a plan.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Indexes into `plan.actions` that completed.
    pub done: Vec<usize>,
    /// The action that failed, and why; later ones were not attempted.
    pub failed: Option<(usize, KernelError)>,
    /// After a failure: what was undone, newest first.
    pub undone: Vec<String>,
    /// After a failure: what could not be undone, and why.
    pub not_undone: Vec<(String, String)>,
}

/// How to run a plan.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// On failure, put back what this run changed.
    pub rollback: bool,
}

/// For each namespace, the index of the last action that touches it.
fn last_use(plan: &Plan) -> std::collections::BTreeMap<Ns, usize> {
    let mut last = std::collections::BTreeMap::new();
    for (i, a) in plan.actions.iter().enumerate() {
        last.insert(a.id.ns(), i);
        for r in [&a.before, &a.after].into_iter().flatten() {
            if let Res::Veth { peer } = r {
                last.insert(peer.ns.clone(), i);
            }
        }
    }
    last
}

/// Test hooks, never documented to users: fail action K with an injected
/// error (`TOPO_TEST_FAULT_AT=K`), die by SIGKILL after K actions
/// (`TOPO_TEST_KILL_AFTER=K`), or skip action K while reporting success
/// (`TOPO_TEST_SKIP_AT=K`), to prove rollback, crash recovery and verify.
fn test_hook(var: &str) -> Option<usize> {
    std::env::var(var).ok()?.parse().ok()
}

/// Runs `plan` in order and stops at the first failure; with rollback, then
/// undoes what it did.
pub async fn execute(
    plan: &Plan,
    desired: &State,
    ipv6: bool,
    obs: &Observed,
    h: &mut Handles,
    opts: Options,
) -> Outcome {
    let mut ex = Executor {
        lab: &plan.lab,
        desired,
        ipv6,
        index: obs.index.clone(),
        lab_state: obs.lab_state.clone(),
        h,
        deleted_ns: vec![],
        nft_synced: Default::default(),
        nft_snapshots: vec![],
    };
    let fault_at = test_hook("TOPO_TEST_FAULT_AT");
    let kill_after = test_hook("TOPO_TEST_KILL_AFTER");
    let skip_at = test_hook("TOPO_TEST_SKIP_AT");
    let mut out = Outcome::default();
    let last_use = last_use(plan);
    for (i, a) in plan.actions.iter().enumerate() {
        if kill_after == Some(i) {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
        tracing::debug!(action = %a.id, op = ?a.op, "executing");
        let result = if fault_at == Some(i) {
            Err(KernelError::new(
                a.id.to_string(),
                "injected fault (TOPO_TEST_FAULT_AT)",
            ))
        } else if skip_at == Some(i) {
            // Stands for kernel behaviour topo does not model: the step
            // "succeeds" without effect, and only verify can notice.
            Ok(())
        } else {
            ex.run(a).await
        };
        match result {
            Ok(()) => {
                out.done.push(i);
                // The plan keeps each node's actions together: once its
                // last one is done, its connection's buffers can go.
                for (ns, _) in last_use.iter().filter(|(_, last)| **last == i) {
                    if let Ns::Node(n) = ns {
                        ex.h.forget(n);
                    }
                }
            }
            Err(e) => {
                out.failed = Some((i, e));
                break;
            }
        }
    }
    if let Err(e) = ex.settle().await {
        out.failed.get_or_insert((plan.actions.len(), e));
    }
    // What completed carries its mark; a failed creation stays journaled.
    let failed_creating = out.failed.as_ref().is_some_and(|(i, _)| {
        plan.actions
            .get(*i)
            .is_some_and(|a| ex.lab_state.pending.contains(&a.id))
    });
    if !failed_creating {
        if let Err(e) = ex.journal(None) {
            out.failed.get_or_insert((plan.actions.len(), e));
        }
    }
    if out.failed.is_some() && opts.rollback {
        ex.roll_back(obs, &mut out).await;
    }
    out
}

struct Executor<'a> {
    lab: &'a str,
    desired: &'a State,
    ipv6: bool,
    index: std::collections::BTreeMap<IfRef, u32>,
    lab_state: state_file::LabState,
    h: &'a mut Handles,
    deleted_ns: Vec<String>,
    /// Namespaces whose nft table already matches the file in this run.
    nft_synced: std::collections::BTreeSet<Ns>,
    /// nft tables as they were before this run replaced them.
    nft_snapshots: Vec<(Ns, Option<String>)>,
}

/// Deleting something already gone is success: destroy and apply must
/// converge from any partial state.
fn tolerate_missing(r: Result<(), KernelError>) -> Result<(), KernelError> {
    match r {
        Err(e) if matches!(e.errno, Some(2 | 3 | 19 | 99)) => Ok(()),
        r => r,
    }
}

impl Executor<'_> {
    fn conn(&mut self, ns: &Ns) -> Result<Conn, KernelError> {
        self.h.conn(ns)
    }

    fn index_of(&self, l: &IfRef) -> Result<u32, KernelError> {
        self.index
            .get(l)
            .copied()
            .ok_or_else(|| KernelError::new(format!("find {l}"), "no such interface"))
    }

    async fn learn_index(&mut self, l: &IfRef) -> Result<u32, KernelError> {
        let c = self.conn(&l.ns)?;
        let link = c
            .link_by_name(&l.name)
            .await?
            .ok_or_else(|| KernelError::new(format!("find {l}"), "not found after creating it"))?;
        self.index.insert(l.clone(), link.index);
        Ok(link.index)
    }

    fn forget_sysctls(&mut self, node: &str) -> Result<(), KernelError> {
        let ns = Ns::Node(node.to_string());
        if self.lab_state.recorded().any(|(n, _)| n == ns) {
            self.lab_state.forget_namespace(&ns);
            self.save_state()?;
        }
        Ok(())
    }

    fn save_state(&self) -> Result<(), KernelError> {
        state_file::save(self.lab, &self.lab_state)
            .map_err(|e| KernelError::new("write lab state", e))
    }

    /// Puts back what this run changed: converges to the state observed
    /// before the run (which also brings back what vanished with a deleted
    /// device), then restores the nft tables it replaced.
    async fn roll_back(&mut self, before: &Observed, out: &mut Outcome) {
        let not_nft = |st: &State| -> State {
            st.iter()
                .filter(|(id, _)| !matches!(id, Id::Chain { .. } | Id::Rule { .. }))
                .map(|(i, r)| (i.clone(), r.clone()))
                .collect()
        };
        let plan = match crate::observe::observe_with(self.lab, None, true, self.h).await {
            Ok(now) => {
                self.index = now.index.clone();
                self.lab_state = now.lab_state.clone();
                let now = Observed {
                    state: not_nft(&now.state),
                    ..now
                };
                crate::plan::diff(self.lab, &not_nft(&before.state), &now)
                    .map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        match plan {
            Ok(plan) => {
                for a in &plan.actions {
                    let what = match (a.op, &a.id) {
                        (Op::Create, Id::Netns { name }) => {
                            format!("re-create netns {name} (programs that ran inside it are gone)")
                        }
                        (Op::Create, id) => format!("re-create {id}"),
                        (Op::Delete, id) => format!("remove {id}"),
                        (_, id) => format!("restore {id}"),
                    };
                    match self.run(a).await {
                        Ok(()) => out.undone.push(what),
                        Err(e) => out.not_undone.push((what, e.to_string())),
                    }
                }
            }
            Err(e) => out
                .not_undone
                .push(("read the kernel to roll back".into(), e)),
        }
        for (ns, snapshot) in std::mem::take(&mut self.nft_snapshots) {
            let what = format!("restore the nft table in {ns}");
            let r = match self.ns_file_if_exists(&ns) {
                Ok(Some(f)) => {
                    nft::restore(f.as_ref().map(|f| f.as_fd()), self.lab, snapshot.as_deref())
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            match r {
                Ok(()) => out.undone.push(what),
                Err(e) => out.not_undone.push((what, e.to_string())),
            }
        }
        if let Err(e) = self.settle().await {
            out.not_undone
                .push(("wait for deleted namespaces".into(), e.to_string()));
        }
    }

    /// Records, before creating (or deleting) it, the one object that exists
    /// unmarked while it is being made (or unmade), so a run killed in
    /// between can reclaim it.
    fn journal(&mut self, id: Option<&Id>) -> Result<(), KernelError> {
        let pending: std::collections::BTreeSet<Id> = id.into_iter().cloned().collect();
        if self.lab_state.pending != pending {
            self.lab_state.pending = pending;
            self.save_state()?;
        }
        Ok(())
    }

    async fn run(&mut self, a: &Action) -> Result<(), KernelError> {
        // A namespace is also half-gone between unmount and unlink.
        let half_made = matches!(a.op, Op::Create | Op::Replace)
            && matches!(a.id, Id::Bridge { .. } | Id::Veth { .. });
        if half_made || matches!(a.id, Id::Netns { .. }) {
            self.journal(Some(&a.id))?;
        }
        if let Id::Chain { ns, .. } | Id::Rule { ns, .. } = &a.id {
            return self.sync_nft(ns);
        }
        if a.op == Op::Replace {
            self.remove(&a.id, a.before.as_ref()).await?;
            return self
                .create(&a.id, a.after.as_ref().expect("replace has a target"), None)
                .await;
        }
        match a.op {
            Op::Delete => self.remove(&a.id, a.before.as_ref()).await,
            Op::Create => {
                self.create(&a.id, a.after.as_ref().expect("create has a target"), None)
                    .await
            }
            _ => {
                self.create(
                    &a.id,
                    a.after.as_ref().expect("update has a target"),
                    a.before.as_ref(),
                )
                .await
            }
        }
    }

    /// Creates `id`, or with `before` changes it in place.
    async fn create(
        &mut self,
        id: &Id,
        res: &Res,
        before: Option<&Res>,
    ) -> Result<(), KernelError> {
        let what = id.to_string();
        let mark = owner_mark(self.lab);
        match (id, res) {
            (Id::Netns { name }, _) => {
                self.h.forget(name);
                self.forget_sysctls(name)?;
                if self.deleted_ns.contains(name) {
                    // Its old veths must be gone before new ones take their names.
                    self.settle().await?;
                }
                netns::create(name)
                    .map_err(|e| KernelError::new(format!("create namespace {name}"), e))?;
                let c = self.conn(&Ns::Node(name.clone()))?;
                let lo = c
                    .link_by_name("lo")
                    .await?
                    .ok_or_else(|| KernelError::new(&what, "no lo interface"))?;
                let s = LinkSettings {
                    alias: Some(&mark),
                    up: Some(true),
                    ..LinkSettings::default()
                };
                c.set_link(lo.index, &s, &format!("mark and bring up lo in {name}"))
                    .await
            }
            (Id::Bridge { link }, Res::Bridge { stp }) => {
                let c = self.conn(&link.ns)?;
                if before.is_some() {
                    return c.set_bridge_stp(self.index_of(link)?, *stp, &what).await;
                }
                c.create_bridge(&link.name, *stp).await?;
                self.mark(link, &mark).await
            }
            (Id::Veth { link }, Res::Veth { peer }) => self.create_veth(link, peer).await,
            (
                Id::Link { link },
                Res::Link {
                    up,
                    mtu,
                    mac,
                    master,
                },
            ) => {
                let master_index = match master {
                    Some(m) => Some(self.index_of(&IfRef::new(link.ns.clone(), m))?),
                    None if matches!(
                        before,
                        Some(Res::Link {
                            master: Some(_),
                            ..
                        })
                    ) =>
                    {
                        Some(0)
                    }
                    None => None,
                };
                let s = LinkSettings {
                    up: Some(*up),
                    mtu: *mtu,
                    mac: mac.map(|m| m.0),
                    master: master_index,
                    ..Default::default()
                };
                let index = self.index_of(link)?;
                self.conn(&link.ns)?
                    .set_link(index, &s, &format!("configure {link}"))
                    .await
            }
            (Id::Address { link, address }, _) => {
                let index = self.index_of(link)?;
                self.conn(&link.ns)?
                    .add_address(index, *address, &format!("add {what}"))
                    .await
            }
            (Id::Route { ns, key }, Res::Route { via, dev }) => {
                let oif = dev
                    .as_ref()
                    .map(|d| self.index_of(&IfRef::new(ns.clone(), d)))
                    .transpose()?;
                let spec = RouteSpec {
                    to: key.to,
                    metric: key.metric,
                    via: *via,
                    oif,
                };
                if *ns == Ns::Host {
                    // Record first: a crash after the kernel added it must
                    // still leave the route recognisable as the lab's.
                    self.lab_state.host_routes.insert(key.clone());
                    self.save_state()?;
                }
                self.conn(ns)?
                    .put_route(&spec, before.is_some(), &format!("add {what}"))
                    .await
            }
            (Id::Sysctl { ns, key }, Res::Sysctl { value }) => {
                let fd_owner = self.ns_file(ns)?;
                let fd = fd_owner.as_ref().map(|f| f.as_fd());
                let recorded = self.lab_state.original(ns, key).is_some();
                if !recorded {
                    let was = match before {
                        Some(Res::Sysctl { value }) => Some(value.clone()),
                        _ => sysctl::read(fd, key)
                            .map_err(|e| KernelError::new(format!("read {what}"), e))?,
                    };
                    let was = was
                        .ok_or_else(|| KernelError::new(&what, "no such sysctl in this kernel"))?;
                    self.lab_state.record(ns, key, was);
                    self.save_state()?;
                }
                sysctl::write(fd, key, value)
                    .map_err(|e| KernelError::new(format!("set {what} = {value}"), e))
            }
            _ => Err(KernelError::new(what, "resource and description disagree")),
        }
    }

    async fn create_veth(&mut self, a: &IfRef, b: &IfRef) -> Result<(), KernelError> {
        let mark = owner_mark(self.lab);
        let alias_a = format!("{mark}:{}/{}", b.ns, b.name);
        let alias_b = format!("{mark}:{}/{}", a.ns, a.name);
        let c = self.conn(&a.ns)?;
        let b_file = if a.ns == b.ns {
            None
        } else {
            self.ns_file(&b.ns)?.or(Some(
                std::fs::File::open("/proc/self/ns/net")
                    .map_err(|e| KernelError::new("open host namespace", e))?,
            ))
        };
        c.create_veth(&a.name, &b.name, b_file.as_ref().map(|f| f.as_fd()))
            .await?;
        self.mark(a, &alias_a).await?;
        self.mark(b, &alias_b).await
    }

    /// Marks a new interface as the lab's and, for labs without IPv6, turns
    /// address generation off before it first comes up.
    async fn mark(&mut self, l: &IfRef, alias: &str) -> Result<(), KernelError> {
        let index = self.learn_index(l).await?;
        let s = LinkSettings {
            alias: Some(alias),
            ipv6_off: !self.ipv6,
            ..Default::default()
        };
        self.conn(&l.ns)?
            .set_link(index, &s, &format!("mark {l}"))
            .await
    }

    /// Makes the lab's nft table in `ns` exactly what the file says, in one
    /// transaction; every rule action of `ns` after the first is then done.
    fn sync_nft(&mut self, ns: &Ns) -> Result<(), KernelError> {
        if !self.nft_synced.insert(ns.clone()) {
            return Ok(());
        }
        let chains: Vec<nft::WantChain<'_>> = crate::model::nat::CHAINS
            .iter()
            .filter_map(|(name, kind, hook, prio)| {
                let id = Id::Chain {
                    ns: ns.clone(),
                    chain: name.to_string(),
                };
                let Some(Res::Chain { policy, rules }) = self.desired.get(&id) else {
                    return None;
                };
                let rules = rules
                    .iter()
                    .filter_map(|r| {
                        match self.desired.get(&Id::Rule {
                            ns: ns.clone(),
                            chain: name.to_string(),
                            rule: r.clone(),
                        }) {
                            Some(Res::Rule { expr }) => Some((r.as_str(), expr.as_str())),
                            _ => None,
                        }
                    })
                    .collect();
                Some(nft::WantChain {
                    name,
                    kind,
                    hook,
                    prio: *prio,
                    policy: policy.as_deref(),
                    rules,
                })
            })
            .collect();
        let Some(file) = self.ns_file_if_exists(ns)? else {
            return Ok(());
        };
        let fd = file.as_ref().map(|f| f.as_fd());
        self.nft_snapshots
            .push((ns.clone(), nft::snapshot(fd, self.lab)?));
        if chains.is_empty() {
            nft::delete(fd, self.lab)?;
            if self.lab_state.nft.remove(ns.label()) {
                self.save_state()?;
            }
            return Ok(());
        }
        if self.lab_state.nft.insert(ns.label().to_string()) {
            self.save_state()?;
        }
        nft::replace(fd, self.lab, &chains)
    }

    /// A fresh handle on a node's namespace file (`None` for the host);
    /// an error when the namespace does not exist.
    fn ns_file(&mut self, ns: &Ns) -> Result<Option<std::fs::File>, KernelError> {
        self.ns_file_if_exists(ns)?
            .ok_or_else(|| KernelError::new(format!("open namespace {ns}"), "it does not exist"))
    }

    async fn remove(&mut self, id: &Id, before: Option<&Res>) -> Result<(), KernelError> {
        let what = format!("delete {id}");
        match (id, before) {
            (Id::Netns { name }, _) => {
                self.h.forget(name);
                self.deleted_ns.push(name.clone());
                netns::delete(name).map_err(|e| KernelError::new(what, e))?;
                self.forget_sysctls(name)
            }
            (Id::Bridge { link } | Id::Veth { link }, _) => {
                let Some(index) = self.index.get(link).copied() else {
                    return Ok(());
                };
                tolerate_missing(self.conn(&link.ns)?.delete_link(index, &what).await)
            }
            (Id::Address { link, address }, _) => {
                let Some(index) = self.index.get(link).copied() else {
                    return Ok(());
                };
                tolerate_missing(
                    self.conn(&link.ns)?
                        .delete_address(index, *address, &what)
                        .await,
                )
            }
            (Id::Route { ns, key }, Some(Res::Route { via, .. })) => {
                let spec = RouteSpec {
                    to: key.to,
                    metric: key.metric,
                    via: *via,
                    oif: None,
                };
                tolerate_missing(self.conn(ns)?.delete_route(&spec, &what).await)?;
                if *ns == Ns::Host && self.lab_state.host_routes.remove(key) {
                    self.save_state()?;
                }
                Ok(())
            }
            (Id::Sysctl { ns, key }, _) => {
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
            _ => Ok(()),
        }
    }

    /// `Some(None)` for the host, `Some(Some(file))` for an existing node,
    /// `None` when the node's namespace is gone.
    fn ns_file_if_exists(&mut self, ns: &Ns) -> Result<Option<Option<std::fs::File>>, KernelError> {
        match ns {
            Ns::Host => Ok(Some(None)),
            Ns::Node(n) => match self.h.file(n)? {
                Some(f) => {
                    Ok(Some(Some(f.try_clone().map_err(|e| {
                        KernelError::new("duplicate namespace handle", e)
                    })?)))
                }
                None => Ok(None),
            },
        }
    }

    /// Waits until the kernel has really removed what deleted namespaces held:
    /// their veths' other ends linger a while after the namespace goes, and
    /// stay for good while a process still runs inside it. Those are deleted
    /// here after a grace period, so nothing of the lab is left behind.
    async fn settle(&mut self) -> Result<(), KernelError> {
        if self.deleted_ns.is_empty() {
            return Ok(());
        }
        let mark = owner_mark(self.lab);
        let prefixes: Vec<String> = self
            .deleted_ns
            .iter()
            .map(|n| format!("{mark}:{n}/"))
            .collect();
        let c = self.conn(&Ns::Host)?;
        let start = Instant::now();
        let mut forced = false;
        loop {
            let lingering: Vec<_> = c
                .dump_links()
                .await?
                .into_iter()
                .filter(|l| {
                    l.alias
                        .as_deref()
                        .is_some_and(|a| prefixes.iter().any(|p| a.starts_with(p)))
                })
                .collect();
            if lingering.is_empty() {
                self.deleted_ns.clear();
                return Ok(());
            }
            if !forced && start.elapsed() > Duration::from_secs(2) {
                tracing::info!(
                    count = lingering.len(),
                    "deleting veths of deleted namespaces that are still in use"
                );
                for l in &lingering {
                    tolerate_missing(
                        c.delete_link(l.index, &format!("delete lingering veth {}", l.name))
                            .await,
                    )?;
                }
                forced = true;
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(KernelError::new(
                    "wait for deleted namespaces",
                    "their veths still exist after 10 s",
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
