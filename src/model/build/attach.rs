//! Nodes that stand for a namespace topo did not create (`attach:`).

use super::*;
use crate::model::Attach;
use crate::spec::AttachSpec;

impl Builder<'_> {
    pub(super) fn collect_attach(&mut self, spec: &LabSpec) {
        for (name, node) in &spec.nodes {
            let Some(a) = &node.value.attach else {
                continue;
            };
            if let Some(at) = self.attach(&a.value, Pos::of(a)) {
                self.origins.insert(Netns::of(name), Pos::of(a));
                self.attached.insert(name.clone(), at);
            }
        }
    }

    fn attach(&mut self, a: &AttachSpec, pos: Pos) -> Option<Attach> {
        let help =
            "write one of `{ pid: 4242 }`, `{ netns: /run/netns/NAME }`, `{ container: NAME }`";
        let given = [a.pid.is_some(), a.netns.is_some(), a.container.is_some()];
        match given.iter().filter(|g| **g).count() {
            1 => {}
            0 => {
                self.err(pos, "`attach:` names no namespace", help);
                return None;
            }
            _ => {
                self.err(pos, "`attach:` names more than one namespace", help);
                return None;
            }
        }
        if let Some(p) = &a.pid {
            if p.value == 0 {
                self.err(
                    Pos::of(p),
                    "pid 0 is no process",
                    "write the pid of the process whose namespace the node is",
                );
                return None;
            }
            return Some(Attach::Pid(p.value));
        }
        if let Some(n) = &a.netns {
            if !n.value.starts_with('/') {
                self.err(
                    Pos::of(n),
                    format!("`{}` is not an absolute path", n.value),
                    "write the namespace file's path, e.g. `/run/netns/foo` or `/proc/4242/ns/net`",
                );
                return None;
            }
            return Some(Attach::Netns(n.value.clone()));
        }
        let c = a.container.as_ref().expect("counted above");
        if c.value.trim().is_empty() || c.value.starts_with('-') {
            self.err(
                Pos::of(c),
                format!("`{}` is not a container name", c.value),
                "write the container's name or id, as `docker ps` shows it",
            );
            return None;
        }
        Some(Attach::Container(c.value.clone()))
    }
}
