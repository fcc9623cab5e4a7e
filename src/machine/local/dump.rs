//! Reading many namespaces at once. Connections are opened as jobs start
//! and dropped as they end, so at most IN_FLIGHT are alive: each holds
//! about 72 KiB of buffers. Interface indexes read are kept for the
//! requests that follow.

use super::netlink::Conn;
use super::LocalKernel;
use crate::machine::{Depth, Dump, KernelError, Result};
use crate::model::{IfRef, Ns};
use futures::StreamExt;
use std::os::fd::AsFd;

/// Namespaces read at the same time.
const IN_FLIGHT: usize = 64;

pub(super) async fn many(k: &mut LocalKernel, jobs: Vec<(Ns, Depth)>) -> Vec<(Ns, Result<Dump>)> {
    let host = match k.conn(&Ns::Host) {
        Ok(c) => c,
        Err(e) => {
            let fail = |ns| (ns, Err(KernelError::new(e.what.clone(), &e.cause)));
            return jobs.into_iter().map(|(ns, _)| fail(ns)).collect();
        }
    };
    let mut prepared = Vec::with_capacity(jobs.len());
    for (ns, depth) in jobs {
        let file = match &ns {
            Ns::Host => Ok(None),
            Ns::Node(n) => match k.file(n) {
                Ok(Some(f)) => f
                    .try_clone()
                    .map(Some)
                    .map_err(|e| KernelError::io("duplicate namespace handle", e)),
                Ok(None) => Err(KernelError::new(
                    format!("open namespace {n}"),
                    "it does not exist",
                )),
                Err(e) => Err(e),
            },
        };
        prepared.push((ns, depth, file));
    }
    let host = &host;
    let results: Vec<(Ns, Result<Dump>)> = futures::stream::iter(prepared)
        .map(|(ns, depth, file)| async move {
            let conn = match file {
                Err(e) => Err(e),
                Ok(None) => Ok(host.clone()),
                Ok(Some(f)) => Conn::open(Some(f.as_fd())),
            };
            let dump = match conn {
                Err(e) => Err(e),
                Ok(conn) => read(&conn, &depth).await,
            };
            (ns, dump)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    for (ns, dump) in &results {
        if let Ok(d) = dump {
            for l in &d.links {
                k.index.insert(IfRef::new(ns.clone(), &l.name), l.index);
            }
        }
    }
    results
}

async fn read(conn: &Conn, depth: &Depth) -> Result<Dump> {
    let lo_only = |lo: Option<crate::machine::Link>| Dump {
        links: lo.into_iter().collect(),
        ..Dump::default()
    };
    match depth {
        Depth::Full => conn.dump().await,
        Depth::Lo => conn.link_by_name("lo").await.map(lo_only),
        Depth::FullIfMarked(mark) => match conn.link_by_name("lo").await? {
            Some(lo) if lo.alias.as_deref() == Some(mark.as_str()) => conn.dump().await,
            lo => Ok(lo_only(lo)),
        },
    }
}
