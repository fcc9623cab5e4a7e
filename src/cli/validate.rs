//! `topo validate FILE`: every mistake with file, line and column. A lab
//! across machines is checked share by share, as each host will run it.
//! `--show-addresses` prints every address as a fresh apply gives it.

use super::{exit, Output};
use crate::Error;
use std::io::IsTerminal;

pub(super) fn run(file: &str, show_addresses: bool, out: Output) -> Result<i32, Error> {
    let whole = crate::load(file)?;
    let shares = match out.host {
        None => whole.shares()?,
        host => vec![(host.map(str::to_string), whole.for_host(host)?)],
    };
    let mut parts = Vec::new();
    let mut listing = String::new();
    for (host, l) in &shares {
        let v = crate::validate(l, &Default::default())?;
        if !v.warnings.is_empty() {
            eprint!(
                "{}",
                l.report(v.warnings).render(std::io::stderr().is_terminal())
            );
        }
        let counts = format!(
            "{} nodes, {} objects",
            v.model.nodes.len(),
            v.model.state.len()
        );
        parts.push((host.clone(), counts));
        if show_addresses {
            listing += &addresses(host.as_deref(), &v.model);
        }
    }
    let l = &shares[0].1;
    let (name, file) = (&l.spec.name.value, &l.file);
    match &parts[..] {
        [(None, counts)] => println!("{file}: valid lab `{name}` ({counts})"),
        [(Some(h), counts)] if out.host.is_some() => {
            println!("{file}: valid lab `{name}`, share of host {h} ({counts})")
        }
        _ => {
            let each: Vec<String> = parts
                .iter()
                .map(|(h, c)| format!("{}: {c}", h.as_deref().unwrap_or("-")))
                .collect();
            println!(
                "{file}: valid lab `{name}` across {} hosts ({})",
                parts.len(),
                each.join("; ")
            );
        }
    }
    print!("{listing}");
    Ok(exit::OK)
}

/// Every address of the model, interface by interface (in natural order),
/// with where it comes from.
fn addresses(host: Option<&str>, m: &crate::model::Model) -> String {
    use crate::model::names::Natural;
    use std::fmt::Write;
    let mut rows: Vec<(String, String, String)> = m
        .state
        .address
        .keys()
        .map(|id| {
            let from = match m.address_from.get(id) {
                Some(f) => f.clone(),
                None if matches!(id.address, ipnet::IpNet::V6(v) if v.addr().is_unicast_link_local()) => {
                    "link-local".to_string()
                }
                None => "written".to_string(),
            };
            (id.link.to_string(), id.address.to_string(), from)
        })
        .collect();
    rows.sort_by(|a, b| Natural(&a.0).cmp(&Natural(&b.0)));
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut out = match host {
        Some(h) => format!("Addresses on host {h}:\n"),
        None => "Addresses:\n".to_string(),
    };
    for (link, addr, from) in rows {
        let _ = writeln!(out, "  {link:w0$}  {addr:w1$}  {from}");
    }
    out
}
