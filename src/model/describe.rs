//! A resource in a few words, as plans and messages show it: `up, master
//! v-net-0, mtu 1500`, `via 10.0.0.1 dev eth0`, `stp: false`. Never a
//! debug struct.

use super::resource::Res;

impl Res {
    /// What the object is, beyond its identity; empty when its identity
    /// says it all (a namespace, an address, a rule).
    pub fn describe(&self) -> String {
        match self {
            Res::Netns | Res::Address => String::new(),
            // The forward delay matters only with spanning tree on.
            Res::Bridge { stp, forward_delay } => match forward_delay {
                Some(d) if *stp => format!("stp: {stp}, forward_delay: {d}"),
                _ => format!("stp: {stp}"),
            },
            Res::Veth { peer } => format!("peer {peer}"),
            Res::Link {
                up,
                mtu,
                mac,
                master,
            } => {
                let mut parts = vec![if *up { "up" } else { "down" }.to_string()];
                if let Some(m) = master {
                    parts.push(format!("master {m}"));
                }
                if let Some(m) = mtu {
                    parts.push(format!("mtu {m}"));
                }
                if let Some(m) = mac {
                    parts.push(format!("mac {m}"));
                }
                parts.join(", ")
            }
            Res::Route { via, dev, scope } => {
                let mut parts = Vec::new();
                if let Some(v) = via {
                    parts.push(format!("via {v}"));
                }
                if let Some(d) = dev {
                    parts.push(format!("dev {d}"));
                }
                if *scope != super::resource::Scope::Global {
                    parts.push(format!("scope {scope}"));
                }
                parts.join(" ")
            }
            Res::Sysctl { value } => format!("= {value}"),
            Res::Chain { policy, .. } => policy
                .as_ref()
                .map(|p| format!("policy {p}"))
                .unwrap_or_default(),
            Res::Rule { .. } => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{IfRef, Mac, Ns, Res, Scope};

    #[test]
    fn objects_in_words() {
        let link = Res::Link {
            up: true,
            mtu: Some(1500),
            mac: Some(Mac([0x02, 0, 0, 0, 0x15, 0x01])),
            master: Some("v-net-0".into()),
        };
        assert_eq!(
            link.describe(),
            "up, master v-net-0, mtu 1500, mac 02:00:00:00:15:01"
        );
        let peer = Res::Veth {
            peer: IfRef::new(Ns::Node("red".into()), "eth0"),
        };
        assert_eq!(peer.describe(), "peer red:eth0");
        let route = Res::Route {
            via: Some("10.0.0.1".parse().unwrap()),
            dev: Some("eth0".into()),
            scope: Scope::Global,
        };
        assert_eq!(route.describe(), "via 10.0.0.1 dev eth0");
        let direct = Res::Route {
            via: None,
            dev: Some("eth0".into()),
            scope: Scope::Link,
        };
        assert_eq!(direct.describe(), "dev eth0 scope link");
        let bridge = Res::Bridge {
            stp: true,
            forward_delay: Some(200),
        };
        assert_eq!(bridge.describe(), "stp: true, forward_delay: 200");
        assert_eq!(Res::Netns.describe(), "");
    }
}
