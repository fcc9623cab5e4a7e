//! Labs across machines. `place` puts every node, bridge and network of a
//! file with `hosts:` on its host (or, for a stretched network, hosts);
//! `share` cuts the file into the lab one host runs: its own objects, plus
//! what it needs to reach the others (derived routes, forwarding, tunnels).
//! Every host computes its share from the whole file alone, so all hosts
//! agree on addresses and VNIs without talking to each other.

mod checks;
mod joins;
mod limits;
mod machines;
mod overlay;
mod place;
mod share;
#[cfg(test)]
mod tests;
mod tunnels;

pub use machines::HostInfo;
pub use place::{place, Placement};
pub use share::share;
pub use tunnels::{Cross, Stretch};

use crate::diag::Diagnostic;
use crate::spec::LabSpec;

/// The host names of a file, or none when it runs on one machine.
pub fn host_names(spec: &LabSpec) -> Vec<String> {
    spec.hosts.keys().cloned().collect()
}

/// Every host's share, each checked on its own: what `validate` runs on a
/// file with `hosts:`. The first host whose share fails stops it, since
/// shares repeat the same lines of the file.
pub fn shares(spec: &LabSpec) -> Result<Vec<(String, LabSpec)>, Vec<Diagnostic>> {
    let p = place(spec)?;
    Ok(p.hosts
        .keys()
        .map(|h| (h.clone(), share(spec, &p, h)))
        .collect())
}
