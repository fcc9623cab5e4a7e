//! Undoing a failed (or interrupted, or unverified) run: converge back to
//! the state observed before it, which also brings back what vanished with
//! a deleted device, then restore the nft tables the run replaced.

use super::{Exec, Outcome};
use crate::kinds::{Id, State};
use crate::machine::Machine;
use crate::model::Ns;
use crate::observe::Observed;
use crate::plan::{Half, Op};
use std::borrow::Cow;

impl<M: Machine> Exec<'_, M> {
    pub(super) async fn roll_back(&mut self, before: &Observed, out: &mut Outcome) {
        // nft tables come back from snapshots.
        let not_nft = |st: &State| -> State {
            let mut st = st.clone();
            st.chain.clear();
            st.rule.clear();
            st
        };
        // Sysctls the lab did not hold before are not the lab's to set.
        let target = not_nft(&before.state).filtered(|id| !before.unheld.contains(id));
        let plan = match crate::observe::observe_with(
            self.lab,
            None,
            crate::observe::Reach::Everything,
            self.m,
        )
        .await
        {
            Ok(now) => {
                self.lab_state = now.lab_state.clone();
                let now = Observed {
                    state: not_nft(&now.state),
                    ..now
                };
                let plan = crate::plan::diff(self.lab, &target, &now).map_err(|e| e.to_string());
                self.live = Cow::Owned(now.state);
                plan
            }
            Err(e) => Err(e.to_string()),
        };
        match plan {
            Ok(plan) => {
                self.target = Cow::Owned(target);
                for step in plan.steps() {
                    let a = &plan.actions[step.action];
                    let what = match (a.op, step.half, &a.id()) {
                        (Op::Replace, Half::Remove, id) => format!("remove {id} to restore it"),
                        (Op::Create, _, Id::Netns(n)) => {
                            format!(
                                "re-create netns {} (programs that ran inside it are gone)",
                                n.name
                            )
                        }
                        (Op::Create, _, id) => format!("re-create {id}"),
                        (Op::Delete, _, id) => format!("remove {id}"),
                        (_, _, id) => format!("restore {id}"),
                    };
                    match self.step(a, step.half).await {
                        Ok(()) => out.undone.push(what),
                        Err(e) => out.not_undone.push((what, e.to_string())),
                    }
                }
                if let Err(e) = self.m.writes_done() {
                    out.not_undone
                        .push(("put the nft tables back".into(), e.to_string()));
                }
            }
            Err(e) => out
                .not_undone
                .push(("read the kernel to roll back".into(), e)),
        }
        for (ns, snapshot) in self.nft_snapshots.take().unwrap_or_default() {
            let what = format!("restore the nft table in {ns}");
            let exists = match &ns {
                Ns::Host => Ok(true),
                Ns::Node(n) => self.m.has_namespace(n),
            };
            let r = match exists {
                Ok(true) => self.m.nft_restore(&ns, self.lab, snapshot.as_deref()),
                Ok(false) => Ok(()),
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
        // The kernel is as it was, so are the records of what it holds;
        // with nothing half-made, nothing is pending.
        if out.not_undone.is_empty() {
            self.lab_state = before.lab_state.clone();
            self.lab_state.pending.clear();
            if let Err(e) = self.save_state() {
                out.not_undone
                    .push(("restore the lab's records".into(), e.to_string()));
            }
        }
    }
}
