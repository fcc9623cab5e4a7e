//! What a lab across machines cannot use yet. Address pools, derived
//! routes and hosts' default routes from their role are worked out from
//! the whole lab (its links, its segments, its routers), and a host's
//! share holds only part of it: each host would number and route on its
//! own and disagree with the others. Ranges, `defaults:` and `role:
//! router` (forwarding, a node's own setting) work across machines.

use super::place::Placer;
use crate::diag::Pos;
use crate::spec::Role;

impl Placer<'_> {
    pub(super) fn limits(&mut self) {
        let s = self.spec;
        let across = "a lab across machines (`hosts:`)";
        if let Some(a) = &s.addressing {
            self.err(
                Pos::of(a),
                format!("address pools are not available in {across} yet: each host's share would number its links alone"),
                "write the addresses under `interfaces:`, or use networks (their addresses are allocated from the whole file)",
            );
        }
        if let Some(r) = &s.routing {
            self.err(
                Pos::of(r),
                format!("derived routes (`routing:`) are not available in {across} yet"),
                "write the routes under each node's `routes:`",
            );
        }
        let default = s
            .defaults
            .as_ref()
            .and_then(|d| d.value.node.as_ref())
            .and_then(|n| n.value.role.as_ref());
        let own = s.nodes.values().filter_map(|n| n.value.role.as_ref());
        let hosts: Vec<Pos> = own
            .chain(default)
            .filter(|r| r.value == Role::Host)
            .map(Pos::of)
            .collect();
        if let Some(first) = hosts.first() {
            self.err(
                *first,
                format!("`role: host` is not available in {across} yet: its router may be on another host"),
                "write the node's default route under its `routes:`, or give it a network with a gateway",
            );
        }
    }
}
