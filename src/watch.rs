//! `topo watch`, on any machine: apply, then keep the lab as the file
//! says. Every wake of the machine's `Watch` (a change in the lab's
//! namespaces, the file written) is followed by a wait for quiet, a plan
//! from a fresh observe, and a repair. Idle, it holds no lab lock. It
//! never fights a person: an object repaired more than `max_repairs` times
//! in a minute is left alone. What it does is told through `Event`s; the
//! command line prints them.

use crate::kinds::Id;
use crate::machine::{Machine, Wake, Watch};
use crate::model::Ns;
use crate::plan::Plan;
use crate::{ApplyReport, Error, Loaded};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub struct Settings {
    /// How long it waits for quiet after a wake.
    pub debounce: Duration,
    /// Repairs of one object in a minute before it is left alone.
    pub max_repairs: usize,
}

/// What the watch does, as it happens.
pub enum Event<'a> {
    /// The first apply is done; the lab's nodes are watched.
    Watching {
        lab: &'a str,
        nodes: usize,
    },
    /// A notice from a run (a wait for the lab's lock).
    Notice(&'a str),
    /// Objects changed back too often of late, left as they are.
    LeftAlone {
        max: usize,
        ids: &'a [Id],
    },
    /// A plan to carry out, and why it was made.
    Repairing {
        why: &'a str,
        plan: &'a Plan,
    },
    Repaired(&'a ApplyReport),
    /// A wake that needed nothing done.
    Quiet,
    /// The file as written now is not valid: the previous one holds.
    Invalid(&'a Error),
    /// A repair failed; the next wake tries again.
    Failed(&'a Error),
}

/// The reason the first run gives.
const FIRST: &str = "apply";

/// The reason a server's end gives.
const ENDED: &str = "a DHCP server of the lab ended";

/// How long an object's repairs are remembered for `max_repairs`.
const WINDOW: Duration = Duration::from_secs(60);

/// Applies `l` and repairs drift until a signal stops it; returns the
/// signal. Each run gets a machine from `machine`; `reload` reads the file
/// again when it is written.
pub async fn run<M: Machine>(
    mut l: Loaded,
    machine: impl Fn() -> M,
    w: &mut impl Watch,
    mut reload: impl FnMut() -> Result<Loaded, Error>,
    settings: &Settings,
    tell: &dyn Fn(Event<'_>),
) -> Result<i32, Error> {
    let mut k = Keeper {
        repairs: BTreeMap::new(),
        max: settings.max_repairs,
        tell,
    };
    let nodes = k.repair(machine(), &l, FIRST).await?;
    w.follow(&namespaces(&nodes))?;
    w.follow_processes(&l.spec.name.value)?;
    tell(Event::Watching {
        lab: &l.spec.name.value,
        nodes: nodes.len(),
    });
    loop {
        let mut written = false;
        let mut why = match w.wait().await? {
            Wake::Stop(sig) => return Ok(sig),
            Wake::File => {
                written = true;
                "the file changed"
            }
            Wake::Lost => "notifications were lost",
            Wake::Kernel => "the kernel changed",
            Wake::Ended => ENDED,
        };
        // Wait for quiet: a burst (a namespace deleted with all in it, a
        // script) is one repair.
        while let Ok(wake) = tokio::time::timeout(settings.debounce, w.wait()).await {
            match wake? {
                Wake::Stop(sig) => return Ok(sig),
                Wake::File => {
                    written = true;
                    why = "the file changed";
                }
                // The more telling reason, when a kernel event came first.
                Wake::Ended if !written => why = ENDED,
                _ => {}
            }
        }
        if written {
            match reload() {
                Ok(n) => l = n,
                Err(e) => {
                    tell(Event::Invalid(&e));
                    continue;
                }
            }
        }
        match k.repair(machine(), &l, why).await {
            Ok(nodes) => {
                w.follow(&namespaces(&nodes))?;
                w.follow_processes(&l.spec.name.value)?;
            }
            // The next change tries again; a watch outlives one failure.
            Err(e) => tell(Event::Failed(&e)),
        }
    }
}

fn namespaces(nodes: &[String]) -> Vec<Ns> {
    std::iter::once(Ns::Host)
        .chain(nodes.iter().map(|n| Ns::node(n)))
        .collect()
}

/// What the watch remembers between repairs.
struct Keeper<'t> {
    /// When each object was repaired, within the window.
    repairs: BTreeMap<Id, Vec<Instant>>,
    max: usize,
    tell: &'t dyn Fn(Event<'_>),
}

impl Keeper<'_> {
    /// Plans from a fresh observe and applies what differs, except objects
    /// repaired too often of late. Returns the lab's nodes.
    async fn repair<M: Machine>(
        &mut self,
        m: M,
        l: &Loaded,
        why: &str,
    ) -> Result<Vec<String>, Error> {
        let tell = self.tell;
        let mut s = crate::prepare_on(m, l, &|msg| tell(Event::Notice(msg))).await?;
        let nodes: Vec<String> = s.model.nodes.iter().cloned().collect();
        let now = Instant::now();
        let mut left_alone = Vec::new();
        for a in &s.plan.actions {
            let times = self.repairs.entry(a.id()).or_default();
            times.retain(|t| now.duration_since(*t) < WINDOW);
            if times.len() >= self.max {
                left_alone.push(a.id());
            }
        }
        if !left_alone.is_empty() {
            // As the kernel has them: the plan leaves them be.
            for id in &left_alone {
                match s.observed.state.get(id) {
                    Some(live) => {
                        let _ = s.model.state.put(id.clone(), live);
                    }
                    None => {
                        s.model.state.remove(id);
                    }
                }
            }
            let ids = &left_alone;
            tell(Event::LeftAlone { max: self.max, ids });
            s.plan = crate::plan::diff(&s.model.lab, &s.model.state, &s.observed)?;
        }
        if s.plan.is_empty() {
            tell(Event::Quiet);
            return Ok(nodes);
        }
        tell(Event::Repairing { why, plan: &s.plan });
        // The first apply makes the lab; only what comes after is a repair.
        if why != FIRST {
            for a in &s.plan.actions {
                self.repairs.entry(a.id()).or_default().push(now);
            }
        }
        let options = crate::apply::Options {
            rollback: true,
            verify: true,
            ..Default::default()
        };
        let report = crate::apply(s, options).await?;
        tell(Event::Repaired(&report));
        Ok(nodes)
    }
}
