//! The machines of a lab that spans several: each with the underlay
//! address the others reach it at, how topo reaches it (OpenSSH), and the
//! topo to run there.

use super::S;
use schemars::JsonSchema;
use serde::Deserialize;

/// One machine of the lab.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MachineSpec {
    /// The underlay address the other hosts reach this one at.
    #[schemars(with = "String")]
    pub address: S<String>,
    /// Where `ssh` connects for this host: `user@address` or a name from the user's ssh config. Default: `root@ADDRESS`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ssh: Option<S<String>>,
    /// The topo to run there: an absolute path, or a command name on the remote PATH. Default: `topo`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub topo: Option<S<String>>,
    /// MTU of the underlay, for tunnels over it (default 1500).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub mtu: Option<S<u32>>,
}

/// What a lab file is read as for one host of several: its share, made by
/// `model::hosts`; never written by the user.
#[derive(Debug, Clone, Default)]
pub struct Share {
    /// The host this share is of.
    pub host: String,
    /// Every subnet of the lab on any host: masquerade never applies to
    /// traffic toward them, so nodes see each other's real addresses.
    pub lab_subnets: Vec<ipnet::IpNet>,
}
