//! Reading many namespaces: one after another, each through a fresh
//! blocking socket opened inside it and closed when it is read (see
//! netlink/read.rs), so only one namespace's answers are in memory at a
//! time. Interface indexes read are kept for the requests that follow.

use super::netlink::Reader;
use super::LocalKernel;
use crate::machine::{Depth, Dump, KernelError, Result};
use crate::model::{IfRef, Ns};
use std::os::fd::AsFd;

pub(super) fn many(k: &mut LocalKernel, jobs: Vec<(Ns, Depth)>) -> Vec<(Ns, Result<Dump>)> {
    let mut results = Vec::with_capacity(jobs.len());
    for (ns, depth) in jobs {
        let dump = one(k, &ns, &depth);
        if let Ok(d) = &dump {
            for l in &d.links {
                k.index.insert(IfRef::new(ns.clone(), &l.name), l.index);
            }
        }
        results.push((ns, dump));
    }
    results
}

fn one(k: &mut LocalKernel, ns: &Ns, depth: &Depth) -> Result<Dump> {
    let mut r = match ns {
        Ns::Host => Reader::open(None)?,
        Ns::Node(n) => match k.file(n)? {
            Some(f) => Reader::open(Some(f.as_fd()))?,
            None => {
                return Err(KernelError::new(
                    format!("open namespace {n}"),
                    "it does not exist",
                ))
            }
        },
    };
    let lo_only = |lo: Option<crate::machine::Link>| Dump {
        links: lo.into_iter().collect(),
        ..Dump::default()
    };
    match depth {
        Depth::Full => r.dump(),
        Depth::Lo => r.link("lo").map(lo_only),
        Depth::FullIfMarked(mark) => match r.link("lo")? {
            Some(lo) if lo.alias.as_deref() == Some(mark.as_str()) => r.dump(),
            lo => Ok(lo_only(lo)),
        },
    }
}
