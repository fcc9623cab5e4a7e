//! A DHCP server: Debian's dnsmasq, run by topo in the namespace of the
//! interface it serves (a network's bridge, or one interface), bound to
//! that interface only, with a configuration topo writes and nothing of the
//! machine's. It is a process, not a kernel object: the machine finds it by
//! its pid file and proves the process is the lab's dnsmasq before it
//! reports or signals it. Its configuration carries its attributes, so the
//! plan says what changed; any change restarts it (leases are kept).

use super::{Id, Kind, LinkId};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{DhcpConf, KernelError, Machine};
use crate::model::{Change, IfRef, Mac, Ns};
use crate::observe::{ObserveLab, ObserveNs, Refusal};
use crate::plan::Op;
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DhcpId {
    /// The interface it serves on.
    pub link: IfRef,
}

/// A client with a fixed address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpHost {
    pub name: String,
    pub mac: Mac,
    pub address: Ipv4Addr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dhcp {
    pub subnet: Ipv4Net,
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    /// Seconds; `None`: leases never end.
    pub lease: Option<u32>,
    pub router: Option<Ipv4Addr>,
    pub dns: Vec<IpAddr>,
    pub hosts: Vec<DhcpHost>,
    /// dnsmasq answers DNS on the interface too (one of `dns` is its own).
    pub serves_dns: bool,
    /// A hash of the configuration dnsmasq runs with.
    pub config: String,
}

/// How a plan shows one attribute.
type Shown = fn(&Dhcp) -> String;

/// `3600` → `1h`, for people.
fn lease_words(l: Option<u32>) -> String {
    match l {
        None => "infinite".to_string(),
        Some(s) if s % 86400 == 0 => format!("{}d", s / 86400),
        Some(s) if s % 3600 == 0 => format!("{}h", s / 3600),
        Some(s) if s % 60 == 0 => format!("{}m", s / 60),
        Some(s) => format!("{s}s"),
    }
}

impl Dhcp {
    /// The configuration file's text, its first lines saying whose it is
    /// and what it holds (read back to tell what changed).
    pub fn conf_text(&self, lab: &str, on: &IfRef) -> String {
        let mut me = self.clone();
        me.config = String::new();
        let json = serde_json::to_string(&me).expect("dhcp serializes");
        let mut t = format!("# topo:{lab}: DHCP on {on}, written by topo\n# {json}\n");
        let lease = self.lease.map_or("infinite".to_string(), |s| s.to_string());
        t += &format!(
            "dhcp-range={},{},{},{lease}\n",
            self.first,
            self.last,
            self.subnet.netmask()
        );
        // Without a router dnsmasq would offer its own address as one.
        match self.router {
            Some(r) => t += &format!("dhcp-option=option:router,{r}\n"),
            None => t += "dhcp-option=option:router\n",
        }
        let v4: Vec<String> = self
            .dns
            .iter()
            .filter(|a| a.is_ipv4())
            .map(ToString::to_string)
            .collect();
        if !v4.is_empty() {
            t += &format!("dhcp-option=option:dns-server,{}\n", v4.join(","));
        }
        for h in &self.hosts {
            t += &format!("dhcp-host={},{},{}\n", h.mac, h.address, h.name);
        }
        if self.serves_dns {
            // Names of its own hosts and clients, under the lab's domain;
            // nothing is asked of any other server.
            t += &format!("domain={lab}\nlocal=/{lab}/\nexpand-hosts\n");
        }
        // The range is checked against the lab's addresses when the file is
        // read, so the probe before each offer would only cost seconds; the
        // lab's server is the only one on its segment.
        t += "no-ping\ndhcp-authoritative\n";
        t
    }

    /// The attributes a configuration file says it holds, with the hash
    /// of the whole text.
    pub fn from_conf(text: &str) -> Option<Dhcp> {
        let json = text.lines().nth(1)?.strip_prefix("# ")?;
        let mut me: Dhcp = serde_json::from_str(json).ok()?;
        me.config = conf_hash(text);
        Some(me)
    }
}

/// The hash that names a configuration in plans.
pub fn conf_hash(text: &str) -> String {
    format!("{:016x}", crate::model::names::fnv1a(text))
}

impl Kind for Dhcp {
    type Id = DhcpId;
    const NAME: &'static str = "dhcp";
    const GOES_WITH_NAMESPACE: bool = false;

    fn ns(id: &DhcpId) -> Ns {
        id.link.ns.clone()
    }

    fn label(id: &DhcpId) -> String {
        format!("dhcp {}", id.link)
    }

    fn describe(&self) -> String {
        if self.config == STOPPED {
            return "not serving: its files are left".to_string();
        }
        let mut parts = vec![
            format!("{}-{}", self.first, self.last),
            format!("lease {}", lease_words(self.lease)),
        ];
        if let Some(r) = self.router {
            parts.push(format!("router {r}"));
        }
        if !self.hosts.is_empty() {
            parts.push(format!("{} fixed", self.hosts.len()));
        }
        parts.join(", ")
    }

    fn deps(id: &DhcpId, _: &Dhcp, ix: &Index) -> Vec<Id> {
        let mut deps = super::ns_dep(&id.link.ns);
        deps.push(Id::Link(LinkId {
            link: id.link.clone(),
        }));
        for address in ix.addresses.get(&id.link).into_iter().flatten() {
            deps.push(Id::Address(super::AddressId {
                link: id.link.clone(),
                address: *address,
            }));
        }
        deps
    }

    fn changes(&self, live: &Dhcp) -> Vec<Change> {
        let mut out = Vec::new();
        let list = |v: Vec<String>| match v.is_empty() {
            true => "(none)".to_string(),
            false => v.join(", "),
        };
        let words: [(&'static str, Shown); 7] = [
            ("subnet", |d| d.subnet.to_string()),
            ("range", |d| format!("{}-{}", d.first, d.last)),
            ("lease", |d| lease_words(d.lease)),
            ("router", |d| crate::model::opt(&d.router)),
            ("dns", |d| {
                d.dns
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            ("hosts", |d| {
                let h = d.hosts.iter();
                h.map(|h| format!("{} {} {}", h.name, h.mac, h.address))
                    .collect::<Vec<_>>()
                    .join(", ")
            }),
            ("serves_dns", |d| d.serves_dns.to_string()),
        ];
        // Of a configuration edited by hand only its hash is known.
        let known = !live.config.ends_with(EDITED);
        for (attr, f) in words.into_iter().filter(|_| known) {
            let (before, after) = (f(live), f(self));
            let none = |t: String| list(if t.is_empty() { vec![] } else { vec![t] });
            Change::push(&mut out, attr, none(before), none(after));
        }
        Change::push(&mut out, "config", live.config.clone(), self.config.clone());
        out
    }

    fn note(_: &DhcpId, op: Op, _: &crate::observe::Observed) -> Option<String> {
        (op == Op::Update).then(|| "dnsmasq restarts with it; leases are kept".to_string())
    }

    fn observe(_: &mut ObserveNs<'_>) {}

    fn observe_lab(cx: &mut ObserveLab<'_>) {
        for found in cx.dhcp.clone() {
            let id = DhcpId { link: found.on };
            let me = match found.conf {
                // A configuration that no longer matches its name was edited
                // after dnsmasq read it: what it runs with is not known.
                Some(text) => Dhcp::from_conf(&text)
                    .filter(|_| found.intact)
                    .unwrap_or_else(|| unknown(&text)),
                // Not serving: made again if the file has it (its files go
                // then), else what is left of it (files, a process serving
                // nothing) is removed.
                None if cx.desired.is_some_and(|d| d.dhcp.contains_key(&id)) => continue,
                None => stopped(),
            };
            cx.obs.state.insert::<Dhcp>(id, me);
        }
        let Some(desired) = cx.desired else { return };
        if let Some(why) = cx.dhcp_unavailable.clone() {
            for id in desired.dhcp.keys() {
                cx.obs.refused.push(Refusal {
                    id: Id::Dhcp(id.clone()),
                    message: format!("dhcp on {} cannot be served: {why}", id.link),
                    help: "install it (`apt-get install dnsmasq-base`: the program alone, without a system service), or remove `dhcp:`".to_string(),
                });
            }
        }
    }

    async fn create<M: Machine>(
        id: &DhcpId,
        me: &Dhcp,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        start(id, me, x).await
    }

    async fn update<M: Machine>(
        id: &DhcpId,
        want: &Dhcp,
        _: &Dhcp,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        start(id, want, x).await
    }

    async fn delete<M: Machine>(
        id: &DhcpId,
        _: Option<&Dhcp>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        x.m.stop_dhcp(x.lab, &id.link, true)
    }
}

/// The mark of a configuration changed after dnsmasq read it.
const EDITED: &str = " (edited)";

/// The mark of a server that does not serve (its files, or a process
/// serving nothing, are left).
const STOPPED: &str = "(not serving)";

/// What is known of a server that does not serve.
fn stopped() -> Dhcp {
    Dhcp {
        config: STOPPED.to_string(),
        ..unknown("")
    }
}

/// What a server with an unreadable configuration is known to run with.
fn unknown(text: &str) -> Dhcp {
    Dhcp {
        subnet: Ipv4Net::default(),
        first: Ipv4Addr::UNSPECIFIED,
        last: Ipv4Addr::UNSPECIFIED,
        lease: None,
        router: None,
        dns: Vec::new(),
        hosts: Vec::new(),
        serves_dns: false,
        config: format!("{}{EDITED}", conf_hash(text)),
    }
}

/// Starts dnsmasq with `me` (the machine stops the one it replaces).
async fn start<M: Machine>(id: &DhcpId, me: &Dhcp, x: &mut Exec<'_, M>) -> Result<(), KernelError> {
    let conf = DhcpConf {
        text: me.conf_text(x.lab, &id.link),
        dns: me.serves_dns,
    };
    x.m.start_dhcp(x.lab, &id.link, &conf).await
}
