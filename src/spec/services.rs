//! What a lab file says about services around the network: the resolver
//! configuration of a node (`dns:`), DHCP servers (`dhcp:`), and
//! namespaces topo attaches to rather than creates (`attach:`).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned as S;

/// A node's resolver configuration, written to /etc/netns/NODE/resolv.conf
/// (which `ip netns exec` and `topo exec` show as /etc/resolv.conf).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// Name servers, IPv4 or IPv6 addresses, at most 3 (the C library reads no more).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub nameservers: Vec<S<String>>,
    /// Search domains: `getent hosts web` also asks for `web.DOMAIN`.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub search: Vec<S<String>>,
    /// Resolver options, as resolv.conf(5) writes them: `ndots:2`, `timeout:1`, `attempts:2`, `rotate`, `edns0`, ...
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub options: Vec<S<String>>,
}
