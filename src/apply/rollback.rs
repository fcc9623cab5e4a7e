//! Undoing a failed (or interrupted, or unverified) run: converge back to
//! the state observed before it, which also brings back what vanished with
//! a deleted device, then restore the nft tables the run replaced.

use super::{Executor, Outcome};
use crate::kernel::nft;
use crate::model::{Id, State};
use crate::observe::Observed;
use crate::plan::{Half, Op};
use std::borrow::Cow;
use std::os::fd::AsFd;

impl Executor<'_> {
    pub(super) async fn roll_back(&mut self, before: &Observed, out: &mut Outcome) {
        let not_nft = |st: &State| -> State {
            st.iter()
                .filter(|(id, _)| !matches!(id, Id::Chain { .. } | Id::Rule { .. }))
                .map(|(i, r)| (i.clone(), r.clone()))
                .collect()
        };
        let target = not_nft(&before.state);
        let plan = match crate::observe::observe_with(self.lab, None, true, self.h).await {
            Ok(now) => {
                self.index = now.index.clone();
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
                    let what = match (a.op, step.half, &a.id) {
                        (Op::Replace, Half::Remove, id) => format!("remove {id} to restore it"),
                        (Op::Create, _, Id::Netns { name }) => {
                            format!("re-create netns {name} (programs that ran inside it are gone)")
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
