//! `defaults:`: what every node, interface and link gets unless it says
//! otherwise. A node's own sysctl, a link's own `mtu:` and an interface's
//! MTU from anywhere else (its own, its link's, its network's, its peer's,
//! its bridge's) win; the plan shows the result as if written out.

use super::*;
use crate::spec::{DefaultsSpec, NodeDefaults};

impl Builder<'_> {
    pub(super) fn collect_defaults(&mut self, spec: &LabSpec) {
        let Some(d) = defaults(spec) else { return };
        if let Some(i) = &d.interface {
            self.default_mtu = self.mtu(i.value.mtu.as_ref());
        }
    }

    /// `defaults.node.sysctls` in every node that does not set the key.
    pub(super) fn node_default_sysctls(&mut self, spec: &LabSpec) {
        let Some(n) = defaults(spec).and_then(|d| d.node.as_ref()) else {
            return;
        };
        let NodeDefaults { sysctls, .. } = &n.value;
        let nodes: Vec<String> = self.nodes.keys().cloned().collect();
        for node in nodes {
            let ns = Ns::Node(node.into());
            for (key, value) in sysctls {
                let set = self.sysctls.get(&ns);
                if set.is_some_and(|s| s.contains_key(key)) {
                    continue;
                }
                self.sysctl(&ns, key, value);
            }
        }
    }
}

fn defaults(spec: &LabSpec) -> Option<&DefaultsSpec> {
    spec.defaults.as_ref().map(|d| &d.value)
}

/// `defaults.link.mtu`, for a link that sets none.
pub(super) fn link_mtu(spec: &LabSpec) -> Option<&S<u32>> {
    defaults(spec)?.link.as_ref()?.value.mtu.as_ref()
}
