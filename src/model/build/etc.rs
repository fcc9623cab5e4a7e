//! The files of /etc/netns/NODE: a node's resolv.conf from its `dns:`, and
//! with `etc_hosts: true` a hosts file in every node naming all the lab's nodes.

use super::*;
use crate::diag::did_you_mean;
use crate::kinds::{EtcName, NetnsFile, NetnsFileId};
use crate::spec::DnsSpec;

/// The C library reads no more name servers (MAXNS).
const MAX_NAMESERVERS: usize = 3;

/// resolv.conf(5) options without a value, and those with a number (and
/// the largest the C library takes).
const FLAGS: &[&str] = &[
    "debug",
    "rotate",
    "no-check-names",
    "inet6",
    "edns0",
    "single-request",
    "single-request-reopen",
    "no-tld-query",
    "use-vc",
    "no-reload",
    "trust-ad",
    "no-aaaa",
];
const NUMBERED: &[(&str, u32)] = &[("ndots", 15), ("timeout", 30), ("attempts", 5)];

impl Builder<'_> {
    /// Every node's `dns:`, checked, as the lines of its resolv.conf.
    pub(super) fn collect_dns(&mut self, spec: &LabSpec) {
        for (node, n) in &spec.nodes {
            let Some(dns) = &n.value.dns else { continue };
            if let Some(lines) = self.resolv_lines(&dns.value) {
                self.resolv.insert(node.clone(), (lines, Pos::of(dns)));
            }
        }
    }

    fn resolv_lines(&mut self, d: &DnsSpec) -> Option<Vec<String>> {
        let mut lines = Vec::new();
        let mut ok = true;
        let mut seen: Vec<IpAddr> = Vec::new();
        for (i, ns) in d.nameservers.iter().enumerate() {
            let pos = Pos::of(ns);
            // A link-local IPv6 server needs its interface: fe80::1%eth0.
            let (addr, zone) = ns.value.split_once('%').unwrap_or((&ns.value, ""));
            let parsed = addr.parse::<IpAddr>().ok().filter(|a| {
                zone.is_empty() || matches!(a, IpAddr::V6(v) if v.is_unicast_link_local())
            });
            let Some(a) = parsed else {
                self.err(
                    pos,
                    format!("name server `{}` is not an address", ns.value),
                    "write an IPv4 or IPv6 address, e.g. `10.0.0.53` (resolv.conf takes no names)",
                );
                ok = false;
                continue;
            };
            if seen.contains(&a) {
                self.err(
                    pos,
                    format!("name server {a} is listed twice"),
                    "list each once",
                );
                ok = false;
            } else if i >= MAX_NAMESERVERS {
                self.err(
                    pos,
                    format!("more than {MAX_NAMESERVERS} name servers"),
                    "the C library asks only the first three: keep three",
                );
                ok = false;
            }
            seen.push(a);
            lines.push(format!("nameserver {}", ns.value));
        }
        let mut search = Vec::new();
        for s in &d.search {
            match domain_problem(&s.value) {
                None => search.push(s.value.trim_end_matches('.').to_string()),
                Some(p) => {
                    self.err(
                        Pos::of(s),
                        format!("search domain `{}`: {p}", s.value),
                        "write a domain such as `lab.example`",
                    );
                    ok = false;
                }
            }
        }
        if !search.is_empty() {
            lines.push(format!("search {}", search.join(" ")));
        }
        let mut options = Vec::new();
        for o in &d.options {
            match option_problem(&o.value) {
                None => options.push(o.value.clone()),
                Some((msg, help)) => {
                    self.err(Pos::of(o), msg, help);
                    ok = false;
                }
            }
        }
        if !options.is_empty() {
            lines.push(format!("options {}", options.join(" ")));
        }
        ok.then_some(lines)
    }

    /// The /etc/netns files of the desired state: resolv.conf where a node
    /// has `dns:`, hosts in every node with `etc_hosts: true`.
    pub(super) fn netns_files(&self, st: &mut State) {
        for (node, (lines, _)) in &self.resolv {
            let id = NetnsFileId {
                node: node.clone(),
                file: EtcName::ResolvConf,
            };
            st.insert::<NetnsFile>(
                id,
                NetnsFile {
                    lines: lines.clone(),
                },
            );
        }
        if self.hosts_file.is_none() {
            return;
        }
        let mut lines = vec![
            "127.0.0.1 localhost".to_string(),
            "::1 localhost ip6-localhost ip6-loopback".to_string(),
        ];
        for node in self.nodes.keys() {
            let ns = Ns::node(node);
            let mut addrs: Vec<IpAddr> = self
                .in_ns(&ns)
                .flat_map(|(_, i)| i.addrs.iter().map(|(a, _)| a.addr()))
                .filter(|a| !matches!(a, IpAddr::V6(v) if v.is_unicast_link_local()))
                .collect();
            // IPv4 first: a node's first address is its first IPv4 one.
            addrs.sort_by_key(|a| a.is_ipv6());
            for a in addrs {
                lines.push(format!("{a} {node} {node}.{}", self.lab));
            }
        }
        for node in self.nodes.keys() {
            let id = NetnsFileId {
                node: node.clone(),
                file: EtcName::Hosts,
            };
            st.insert::<NetnsFile>(
                id,
                NetnsFile {
                    lines: lines.clone(),
                },
            );
        }
    }

    /// Where each file was asked for.
    pub(super) fn netns_file_origins(&mut self) {
        for (node, (_, pos)) in &self.resolv {
            let id = NetnsFileId {
                node: node.clone(),
                file: EtcName::ResolvConf,
            };
            self.origins.insert(Id::NetnsFile(id), *pos);
        }
        if let Some(pos) = self.hosts_file {
            for node in self.nodes.keys() {
                let id = NetnsFileId {
                    node: node.clone(),
                    file: EtcName::Hosts,
                };
                self.origins.insert(Id::NetnsFile(id), pos);
            }
        }
    }
}

/// Why `d` is no domain name, if it is not one.
fn domain_problem(d: &str) -> Option<String> {
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.is_empty() || d.len() > 253 {
        return Some("a domain has 1 to 253 characters".into());
    }
    for label in d.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Some("each part between dots has 1 to 63 characters".into());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Some(format!("`{c}` cannot be part of a domain"));
        }
    }
    None
}

/// Why `o` is no resolver option, and what to write.
fn option_problem(o: &str) -> Option<(String, String)> {
    if FLAGS.contains(&o) {
        return None;
    }
    let (name, value) = o.split_once(':').unwrap_or((o, ""));
    if let Some((_, max)) = NUMBERED.iter().find(|(n, _)| *n == name) {
        return match value.parse::<u32>() {
            Ok(v) if v <= *max => None,
            _ => Some((
                format!("option `{o}` needs a number from 0 to {max}"),
                format!("write e.g. `{name}:1`"),
            )),
        };
    }
    let names = FLAGS
        .iter()
        .copied()
        .chain(NUMBERED.iter().map(|(n, _)| *n));
    let hint = match did_you_mean(name, names) {
        Some(n) => format!("did you mean `{n}`? "),
        None => String::new(),
    };
    Some((
        format!("`{o}` is not a resolver option"),
        format!("{hint}resolv.conf(5) lists them: ndots:N, timeout:N, attempts:N, rotate, edns0, single-request, use-vc, ..."),
    ))
}
