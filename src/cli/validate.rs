//! `topo validate FILE`: every mistake with file, line and column. A lab
//! across machines is checked share by share, as each host will run it.

use super::{exit, Output};
use crate::Error;
use std::io::IsTerminal;

pub(super) fn run(file: &str, out: Output) -> Result<i32, Error> {
    let whole = crate::load(file)?;
    let shares = match out.host {
        None => whole.shares()?,
        host => vec![(host.map(str::to_string), whole.for_host(host)?)],
    };
    let mut parts = Vec::new();
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
    Ok(exit::OK)
}
