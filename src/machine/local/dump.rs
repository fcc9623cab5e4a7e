//! Reading many namespaces back: each through a fresh blocking socket opened
//! inside it and closed when it is read (see netlink/read.rs), by a few
//! threads at once, one namespace each at a time, while another thread
//! reads the lab's nft tables (over nfnetlink). The kernel answers
//! dumps of different namespaces without a common lock, so the threads
//! share the machine's CPUs. Interface indexes read are kept for the
//! requests that follow.

use super::netlink::Reader;
use super::{nft, LocalKernel};
use crate::machine::{Depth, Dump, KernelError, ReadBack, Result, Table};
use crate::model::{IfRef, Ns};
use std::fs::File;
use std::os::fd::AsFd;

/// Threads that dump at once: more than the machine's CPUs only queue.
const MAX_THREADS: usize = 4;

pub(super) fn many(
    k: &mut LocalKernel,
    jobs: Vec<(Ns, Depth)>,
    lab: &str,
    tables: Vec<Ns>,
) -> ReadBack {
    // Namespace files are opened (and kept) here: the threads only read.
    for ns in jobs.iter().map(|(ns, _)| ns).chain(&tables) {
        if let Ns::Node(n) = ns {
            // A namespace that cannot be opened is reported as gone below.
            let _ = k.file(n);
        }
    }
    let files = &k.files;
    let file = |ns: &Ns| -> Result<Option<&File>> {
        match ns {
            Ns::Host => Ok(None),
            Ns::Node(n) => files.get(n.as_str()).map(Some).ok_or_else(|| gone(ns)),
        }
    };
    let work: Vec<(&Ns, &Depth, Result<Option<&File>>)> =
        jobs.iter().map(|(ns, d)| (ns, d, file(ns))).collect();
    let table_work: Vec<(&Ns, Result<Option<&File>>)> =
        tables.iter().map(|ns| (ns, file(ns))).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
        .min(work.len().max(1));
    let (dumps, tables) = std::thread::scope(|s| {
        let nft_thread = s.spawn(|| {
            table_work
                .iter()
                .map(|(ns, f)| {
                    let t = f
                        .as_ref()
                        .map_err(|_| gone(ns))
                        .and_then(|f| nft::read(f.map(|f| f.as_fd()), lab));
                    ((*ns).clone(), t)
                })
                .collect::<std::collections::BTreeMap<Ns, Result<Table>>>()
        });
        let workers: Vec<_> = (0..threads)
            .map(|w| {
                let work = &work;
                s.spawn(move || {
                    work.iter()
                        .enumerate()
                        .skip(w)
                        .step_by(threads)
                        .map(|(i, (ns, depth, f))| {
                            let d = f
                                .as_ref()
                                .map_err(|_| gone(ns))
                                .and_then(|f| one(*f, depth));
                            (i, (*ns).clone(), d)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut dumps: Vec<(usize, Ns, Result<Dump>)> = workers
            .into_iter()
            // A reading thread's panic is raised again here, as if read inline.
            .flat_map(|w| w.join().expect("dump thread panicked"))
            .collect();
        dumps.sort_by_key(|(i, _, _)| *i);
        let tables = nft_thread.join().expect("nft thread panicked");
        (dumps, tables)
    });
    let dumps = dumps
        .into_iter()
        .map(|(_, ns, dump)| {
            if let Ok(d) = &dump {
                for l in &d.links {
                    k.index.insert(IfRef::new(ns.clone(), &l.name), l.index);
                }
            }
            (ns, dump)
        })
        .collect();
    ReadBack { dumps, tables }
}

fn gone(ns: &Ns) -> KernelError {
    KernelError::new(format!("open namespace {ns}"), "it does not exist")
}

fn one(f: Option<&File>, depth: &Depth) -> Result<Dump> {
    let mut r = Reader::open(f.map(|f| f.as_fd()))?;
    let lo_only = |lo: Option<crate::machine::Link>| Dump {
        links: lo.into_iter().collect(),
        ..Dump::default()
    };
    match depth {
        Depth::Full => r.dump(),
        // One dump, whose lo tells whether the rest is wanted.
        Depth::LinksIfMarked(mark) => {
            let links = r.links()?;
            let lo = links.iter().find(|l| l.name == "lo");
            Ok(
                match lo.is_some_and(|l| l.alias.as_deref() == Some(mark.as_str())) {
                    true => Dump {
                        links,
                        ..Dump::default()
                    },
                    false => lo_only(lo.cloned()),
                },
            )
        }
        Depth::FullIfMarked(mark) => match r.link("lo")? {
            Some(lo) if lo.alias.as_deref() == Some(mark.as_str()) => r.dump(),
            lo => Ok(lo_only(lo)),
        },
    }
}
