//! The order in which apply carries out a plan's actions. A replace is two
//! steps: its delete half runs with the other deletes, before any create
//! that may need the name it holds, and its create half in plan order.

use super::{Op, Plan};

/// Which half of an action a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    Remove,
    Make,
}

/// One step: an action of the plan (by index) and the half to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub action: usize,
    pub half: Half,
}

impl Plan {
    /// Deletes in plan order, then the delete halves of replaces (in
    /// reverse plan order: dependents first), then everything else.
    pub fn steps(&self) -> Vec<Step> {
        let ops = || self.actions.iter().enumerate().map(|(i, a)| (i, a.op));
        let step = |action, half| Step { action, half };
        let deletes = ops()
            .filter(|(_, op)| *op == Op::Delete)
            .map(|(i, _)| step(i, Half::Remove));
        let unmade: Vec<Step> = ops()
            .filter(|(_, op)| *op == Op::Replace)
            .map(|(i, _)| step(i, Half::Remove))
            .collect();
        let makes = ops()
            .filter(|(_, op)| *op != Op::Delete)
            .map(|(i, _)| step(i, Half::Make));
        deletes
            .chain(unmade.into_iter().rev())
            .chain(makes)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{Netns, Target};
    use crate::plan::Action;

    fn action(op: Op, name: &str) -> Action {
        Action::new(op, Target::of(&Netns::of(name), None, None))
    }

    #[test]
    fn replaced_objects_are_removed_before_anything_is_made() {
        let plan = Plan {
            lab: "l".into(),
            actions: vec![
                action(Op::Delete, "a"),
                action(Op::Create, "b"),
                action(Op::Replace, "c"),
                action(Op::Update, "d"),
                action(Op::Replace, "e"),
            ],
        };
        let got: Vec<(usize, Half)> = plan.steps().iter().map(|s| (s.action, s.half)).collect();
        use Half::*;
        assert_eq!(
            got,
            vec![
                (0, Remove),
                (4, Remove),
                (2, Remove),
                (1, Make),
                (2, Make),
                (3, Make),
                (4, Make)
            ]
        );
    }
}
