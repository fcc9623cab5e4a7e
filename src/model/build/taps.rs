//! Taps: `taps:` at the top level (host) and under nodes. An owner or
//! group given by name is looked up here, at validate time, in this
//! machine's /etc/passwd and /etc/group: a name that does not resolve is
//! a mistake in the file, reported at its line like any other, and the
//! plan and the kernel only ever see numbers.

use super::*;
use crate::kinds::{Tap, TapId};
use crate::spec::{IdValue, TapSpec};

/// Where names are looked up; overridable for tests (TOPO_PASSWD,
/// TOPO_GROUP).
fn account_file(var: &str, default: &str) -> String {
    let path = std::env::var(var).unwrap_or_else(|_| default.to_string());
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The number (third field) of `name` in a passwd or group file's text.
pub(super) fn lookup(text: &str, name: &str) -> Option<u32> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| f.nth(1)?.parse().ok())?
    })
}

/// The tap's settings as the model keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TapSettings {
    pub owner: Option<u32>,
    pub group: Option<u32>,
    pub multi_queue: bool,
}

impl Builder<'_> {
    pub(super) fn collect_taps(&mut self, spec: &LabSpec) {
        let mut all: Vec<(Ns, &String, &S<TapSpec>)> = spec
            .taps
            .iter()
            .map(|(name, t)| (Ns::Host, name, t))
            .collect();
        for (node, n) in &spec.nodes {
            let ns = Ns::node(node);
            all.extend(n.value.taps.iter().map(|(name, t)| (ns.clone(), name, t)));
        }
        if all.is_empty() {
            return;
        }
        let passwd = account_file("TOPO_PASSWD", "/etc/passwd");
        let groups = account_file("TOPO_GROUP", "/etc/group");
        for (ns, name, t) in all {
            let pos = Pos::of(t);
            let link = IfRef::new(ns.clone(), name);
            if !self.new_device(&link, pos, "tap") {
                continue;
            }
            let master = t.value.bridge.as_ref().and_then(|b| self.bridge_in(&ns, b));
            let owner = t
                .value
                .owner
                .as_ref()
                .and_then(|o| self.account(o, &passwd, "user", "/etc/passwd"));
            let group = t
                .value
                .group
                .as_ref()
                .and_then(|g| self.account(g, &groups, "group", "/etc/group"));
            let mtu = self.mtu(t.value.mtu.as_ref());
            if let Some(m) = t.value.mtu.as_ref().filter(|_| mtu.is_some()) {
                self.mtu_from.insert(link.clone(), (Pos::of(m), false));
            }
            let kind = IfKind::Tap(TapSettings {
                owner,
                group,
                multi_queue: t.value.multi_queue.as_ref().is_some_and(|m| m.value),
            });
            self.origins
                .insert(Id::Tap(TapId { link: link.clone() }), pos);
            let iface = Iface {
                pos,
                kind,
                master,
                mtu,
                mac: None,
                addrs: vec![],
            };
            self.ifaces.insert(link, iface);
        }
    }

    /// Whether `link` can be a new device of `what`: a valid name, not
    /// already made by something else in the file.
    pub(super) fn new_device(&mut self, link: &IfRef, pos: Pos, what: &str) -> bool {
        if let Some(p) = ifname_problem(&link.name) {
            let msg = format!("{what} `{}`: {p}", link.name);
            self.err(pos, msg, "choose a name of at most 15 bytes");
            return false;
        }
        if let Some(prev) = self.ifaces.get(link) {
            let line = prev.pos.line;
            self.err(
                pos,
                format!("interface {link} is already created at line {line}"),
                format!("each interface is made once: give the {what} another name"),
            );
            return false;
        }
        true
    }

    /// The bridge `b` names, when the lab has it in `ns`.
    pub(super) fn bridge_in(&mut self, ns: &Ns, b: &S<String>) -> Option<String> {
        let pos = Pos::of(b);
        if self.is_bridge(&IfRef::new(ns.clone(), &b.value)) {
            return Some(b.value.clone());
        }
        match self.bridges.get(&b.value) {
            Some(at) if at == ns => Some(b.value.clone()),
            Some(at) => {
                let msg = format!("bridge `{}` is in {at}, not in {ns}", b.value);
                let help = "a port and its bridge share a namespace: declare the device there, or use a bridge of this namespace";
                self.err(pos, msg, help);
                None
            }
            None => {
                let here: Vec<String> = self
                    .bridges
                    .iter()
                    .filter(|(_, at)| *at == ns)
                    .map(|(n, _)| n.clone())
                    .collect();
                let help = match did_you_mean(&b.value, here.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("declare it under `bridges:` (with `node:` for a bridge in a node), or in a network; the bridges in {ns}: {}", if here.is_empty() { "none".to_string() } else { here.join(", ") }),
                };
                self.err(pos, format!("no bridge named `{}` in {ns}", b.value), help);
                None
            }
        }
    }

    /// A uid or gid, by number or by name.
    fn account(&mut self, v: &S<IdValue>, file: &str, what: &str, path: &str) -> Option<u32> {
        match &v.value {
            IdValue::Id(n) => Some(*n),
            IdValue::Name(name) => match name.parse::<u32>() {
                Ok(n) if n != u32::MAX => Some(n),
                _ => match lookup(file, name) {
                    Some(n) => Some(n),
                    None => {
                        self.err(
                            Pos::of(v),
                            format!("no {what} named `{name}` on this machine ({path})"),
                            format!("write the {what}'s number, or a name that {path} has"),
                        );
                        None
                    }
                },
            },
        }
    }

    /// The desired state of a tap.
    pub(super) fn tap_state(link: &IfRef, t: &TapSettings, st: &mut State) {
        let me = Tap {
            owner: t.owner,
            group: t.group,
            multi_queue: t.multi_queue,
            persist: true,
        };
        st.insert::<Tap>(TapId { link: link.clone() }, me);
    }
}

#[cfg(test)]
mod tests {
    use super::lookup;

    #[test]
    fn names_resolve_by_the_third_field() {
        let passwd =
            "# comment\nroot:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(lookup(passwd, "alice"), Some(1000));
        assert_eq!(lookup(passwd, "root"), Some(0));
        assert_eq!(lookup(passwd, "ali"), None);
        assert_eq!(lookup("kvm:x:104:\n", "kvm"), Some(104));
        assert_eq!(lookup("broken\n", "broken"), None);
    }
}
