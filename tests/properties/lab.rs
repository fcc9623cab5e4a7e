//! Random labs as the user writes them: a small model of a lab whose
//! addresses follow from its segments (so every lab it makes is valid),
//! rendered as YAML text.

use std::collections::BTreeMap;
use std::fmt::Write;

pub const LAB: &str = "p";

#[derive(Clone, Debug, Default)]
pub struct Lab {
    pub nodes: BTreeMap<String, Node>,
    /// Host bridges.
    pub bridges: BTreeMap<String, Bridge>,
    pub links: Vec<Link>,
    pub networks: BTreeMap<String, Network>,
    pub host_forward: Option<u8>,
    /// Host routes to 192.168.(200+k).0/24, through the first node on a
    /// host bridge.
    pub host_routes: Vec<u8>,
    /// The bridge whose subnet the host masquerades.
    pub masquerade: Option<String>,
    /// A host port forwarded to a node's port 80.
    pub dnat: Option<(u16, String)>,
    /// Bridges and their ports get IPv6 addresses too.
    pub ipv6: bool,
    pub services: super::services::Services,
}

#[derive(Clone, Debug, Default)]
pub struct Node {
    /// (which key, value): see `sysctl_key`.
    pub sysctls: BTreeMap<u8, u8>,
    pub routes: Vec<Route>,
    pub firewall: bool,
}

#[derive(Clone, Debug)]
pub struct Route {
    /// `None`: default; else 192.168.k.0/24.
    pub to: Option<u8>,
    pub metric: u32,
    /// Which of the node's gateways (modulo their number).
    pub via: u8,
    /// A route onto the device, without gateway.
    pub dev_only: bool,
    pub v6: bool,
}

#[derive(Clone, Debug)]
pub struct Bridge {
    /// 10.S.0.0/24 (and fd00:S::/64).
    pub subnet: u8,
    pub stp: bool,
    pub mtu: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum End {
    /// A port of a host bridge, with a generated name.
    Bridge(String),
    Node(String, String),
    Host(String),
}

#[derive(Clone, Debug)]
pub struct Link {
    pub node: String,
    pub ifname: String,
    pub to: End,
    /// The node end's host number on a bridge (2..120); the segment id
    /// (172.16.D.0/24, 172.17.D.0/24) of a direct or host link.
    pub host: u8,
    pub seg: u8,
    /// A second address in the same subnet: a secondary.
    pub extra: bool,
    pub mtu: Option<u32>,
    /// The node end's own MTU (only without `mtu`).
    pub iface_mtu: Option<u32>,
    pub mac: bool,
}

#[derive(Clone, Debug)]
pub struct Network {
    /// 10.(100+T).0.0/24.
    pub subnet: u8,
    pub members: Vec<String>,
    pub masquerade: bool,
}

/// The node sysctl a key number stands for; `None` when it needs an
/// interface the node lacks.
fn sysctl_key(k: u8, ifaces: &[String]) -> Option<String> {
    match k % 4 {
        0 => Some("net.ipv4.ip_forward".into()),
        1 => Some("net.ipv4.conf.all.rp_filter".into()),
        2 => Some("net.ipv6.conf.all.forwarding".into()),
        _ => ifaces
            .first()
            .map(|i| format!("net.ipv4.conf.{i}.proxy_arp")),
    }
}

impl Lab {
    /// Interfaces of `node` with their addresses and gateways beyond.
    pub fn attachments(&self, node: &str) -> Vec<Attachment> {
        let mut out = Vec::new();
        for l in &self.links {
            let mine = l.node == node;
            let far = matches!(&l.to, End::Node(n, _) if n == node);
            if !mine && !far {
                continue;
            }
            let (ifname, addrs, gw) = match &l.to {
                End::Bridge(b) => {
                    let s = self.bridges[b].subnet;
                    let mut a = vec![format!("10.{s}.0.{}/24", l.host)];
                    if l.extra {
                        a.push(format!("10.{s}.0.{}/24", l.host + 120));
                    }
                    if self.ipv6 {
                        a.push(format!("fd00:{s}::{}/64", l.host));
                    }
                    (l.ifname.clone(), a, Some(format!("10.{s}.0.1")))
                }
                End::Node(_, far_if) => {
                    let d = l.seg;
                    if mine {
                        let mut a = vec![format!("172.16.{d}.1/24")];
                        if l.extra {
                            a.push(format!("172.16.{d}.3/24"));
                        }
                        (l.ifname.clone(), a, Some(format!("172.16.{d}.2")))
                    } else {
                        let a = vec![format!("172.16.{d}.2/24")];
                        (far_if.clone(), a, Some(format!("172.16.{d}.1")))
                    }
                }
                End::Host(_) => {
                    let d = l.seg;
                    let a = vec![format!("172.17.{d}.2/24")];
                    (l.ifname.clone(), a, Some(format!("172.17.{d}.1")))
                }
            };
            out.push(Attachment {
                ifname,
                addrs,
                gateway: gw,
                v6_gateway: match &l.to {
                    End::Bridge(b) if self.ipv6 => {
                        Some(format!("fd00:{}::1", self.bridges[b].subnet))
                    }
                    _ => None,
                },
                own: mine,
            });
        }
        for (name, n) in &self.networks {
            if n.members.iter().any(|m| m == node) {
                let t = name.trim_start_matches("net");
                out.push(Attachment {
                    ifname: format!("n{t}"),
                    addrs: vec![],
                    gateway: Some(format!("10.{}.0.1", 100 + n.subnet)),
                    v6_gateway: None,
                    own: false,
                });
            }
        }
        out
    }

    pub fn render(&self) -> String {
        let mut y = format!("name: {LAB}\n{}", self.services.top_lines());
        if !self.nodes.is_empty() {
            y += "nodes:\n";
        }
        for (name, node) in &self.nodes {
            let mut body = String::new();
            self.render_node(&mut body, name, node);
            if body.is_empty() {
                let _ = writeln!(y, "  {name}: {{}}");
            } else {
                let _ = write!(y, "  {name}:\n{body}");
            }
        }
        if !self.bridges.is_empty() {
            y += "bridges:\n";
        }
        for (name, b) in &self.bridges {
            let mut addrs = vec![format!("10.{}.0.1/24", b.subnet)];
            if self.ipv6 {
                addrs.push(format!("fd00:{}::1/64", b.subnet));
            }
            let mut f = vec![format!("addresses: [{}]", addrs.join(", "))];
            f.push(format!("stp: {}", b.stp));
            if let Some(m) = b.mtu {
                f.push(format!("mtu: {m}"));
            }
            let up = self.services.bridge_fields(name);
            let _ = writeln!(y, "  {name}: {{ {}{up} }}", f.join(", "));
        }
        if !self.links.is_empty() {
            y += "links:\n";
        }
        for l in &self.links {
            let b = match &l.to {
                End::Bridge(b) => b.clone(),
                End::Node(n, i) => format!("{n}:{i}"),
                End::Host(h) => format!("host:{h}"),
            };
            let mtu = l.mtu.map(|m| format!(", mtu: {m}")).unwrap_or_default();
            let _ = writeln!(
                y,
                "  - {{ endpoints: [\"{}:{}\", \"{b}\"]{mtu} }}",
                l.node, l.ifname
            );
        }
        if !self.networks.is_empty() {
            y += "networks:\n";
        }
        for (name, n) in &self.networks {
            let t = name.trim_start_matches("net");
            let members: Vec<String> = n
                .members
                .iter()
                .map(|m| format!("{{ node: {m}, interface: n{t} }}"))
                .collect();
            let _ = writeln!(
                y,
                "  {name}: {{ subnet: 10.{}.0.0/24, masquerade: {}, nodes: [{}]{} }}",
                100 + n.subnet,
                n.masquerade,
                members.join(", "),
                self.services.network_fields(name, n.subnet)
            );
        }
        self.render_host(&mut y);
        y
    }

    fn render_node(&self, y: &mut String, name: &str, node: &Node) {
        let att = self.attachments(name);
        let own: Vec<&Attachment> = att.iter().filter(|a| !a.addrs.is_empty()).collect();
        if !own.is_empty() {
            *y += "    interfaces:\n";
        }
        for a in &own {
            let mut f = vec![format!("addresses: [{}]", a.addrs.join(", "))];
            let link = self
                .links
                .iter()
                .find(|l| l.node == name && l.ifname == a.ifname);
            if let Some(l) = link.filter(|_| a.own) {
                if let Some(m) = l.iface_mtu {
                    f.push(format!("mtu: {m}"));
                }
                if l.mac {
                    f.push(format!("mac: \"02:00:00:00:{:02x}:01\"", l.seg));
                }
            }
            let _ = writeln!(y, "      {}: {{ {} }}", a.ifname, f.join(", "));
        }
        let mut routes = BTreeMap::new();
        for r in &node.routes {
            let gws: Vec<&Attachment> = att
                .iter()
                .filter(|a| !r.v6 || a.v6_gateway.is_some())
                .collect();
            if gws.is_empty() {
                continue;
            }
            let a = gws[r.via as usize % gws.len()];
            let to = match (r.to, r.v6) {
                (None, _) => "default".to_string(),
                (Some(k), false) => format!("192.168.{k}.0/24"),
                (Some(k), true) => format!("fd10:{k}::/64"),
            };
            let via = if r.v6 {
                a.v6_gateway.clone()
            } else {
                a.gateway.clone()
            };
            let hop = if r.dev_only && r.to.is_some() {
                format!("dev: {}", a.ifname)
            } else {
                format!("via: {}", via.expect("a gateway"))
            };
            // An IPv6 route without a metric is one with 1024.
            let key = if r.v6 && r.metric == 0 {
                1024
            } else {
                r.metric
            };
            routes
                .entry((to.clone(), key, r.v6))
                .or_insert(format!("{{ to: {to}, {hop}, metric: {} }}", r.metric));
        }
        if !routes.is_empty() {
            *y += "    routes:\n";
        }
        for r in routes.values() {
            let _ = writeln!(y, "      - {r}");
        }
        let ifaces: Vec<String> = own.iter().map(|a| a.ifname.clone()).collect();
        let sysctls: BTreeMap<String, u8> = node
            .sysctls
            .iter()
            .filter_map(|(k, v)| Some((sysctl_key(*k, &ifaces)?, *v)))
            .collect();
        if !sysctls.is_empty() {
            *y += "    sysctls:\n";
        }
        for (k, v) in sysctls {
            let v = if k.ends_with("rp_filter") {
                v % 3
            } else {
                v % 2
            };
            let _ = writeln!(y, "      {k}: {v}");
        }
        *y += &self.services.node_lines(name);
        if node.firewall {
            *y += "    firewall: { input: drop, rules: [ { chain: input, proto: tcp, port: 22, action: accept } ] }\n";
        }
    }

    fn render_host(&self, y: &mut String) {
        let mut host = String::new();
        let host_links: Vec<&Link> = self
            .links
            .iter()
            .filter(|l| matches!(l.to, End::Host(_)))
            .collect();
        if !host_links.is_empty() {
            host += "  interfaces:\n";
        }
        for l in host_links {
            let End::Host(h) = &l.to else { unreachable!() };
            let _ = writeln!(host, "    {h}: {{ addresses: [172.17.{}.1/24] }}", l.seg);
        }
        let gateway = self.links.iter().find_map(|l| match &l.to {
            End::Bridge(b) => Some(format!("10.{}.0.{}", self.bridges[b].subnet, l.host)),
            _ => None,
        });
        if let Some(g) = gateway.filter(|_| !self.host_routes.is_empty()) {
            host += "  routes:\n";
            let mut ks = self.host_routes.clone();
            ks.sort();
            ks.dedup();
            for k in ks {
                let _ = writeln!(
                    host,
                    "    - {{ to: 192.168.{}.0/24, via: {g} }}",
                    200 + k % 50
                );
            }
        }
        if let Some(v) = self.host_forward {
            let _ = writeln!(host, "  sysctls: {{ net.ipv4.ip_forward: {} }}", v % 2);
        }
        let mut nat = Vec::new();
        if let Some(b) = self.masquerade.as_ref().and_then(|b| self.bridges.get(b)) {
            nat.push(format!(
                "masquerade: [ {{ source: 10.{}.0.0/24 }} ]",
                b.subnet
            ));
        }
        let dnat_to = self
            .dnat
            .as_ref()
            .filter(|(_, n)| self.attachments(n).iter().any(|a| !a.addrs.is_empty()));
        if let Some((port, n)) = dnat_to {
            nat.push(format!(
                "dnat: [ {{ proto: tcp, port: {port}, to: \"{n}:80\" }} ]"
            ));
        }
        if !nat.is_empty() {
            let _ = writeln!(host, "  nat: {{ {} }}", nat.join(", "));
        }
        if !host.is_empty() {
            *y += "host:\n";
            *y += &host;
        }
    }
}

/// One interface of a node: its addresses (none for a network member,
/// whose address is allocated) and the gateways behind it.
pub struct Attachment {
    pub ifname: String,
    pub addrs: Vec<String>,
    pub gateway: Option<String>,
    pub v6_gateway: Option<String>,
    /// The node is the link's first end (its settings are written there).
    pub own: bool,
}
