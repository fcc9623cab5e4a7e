//! Deleting many interfaces of one namespace in one request: each is put
//! in an interface group no other interface there is in, then the group is
//! deleted, as `ip link delete group N` does. The kernel unregisters them
//! together and waits for its readers once (an RCU grace period, tens of
//! milliseconds on this machine) instead of once per device.

use super::super::LocalKernel;
use super::{count_write, Reader};
use crate::machine::Result;
use crate::model::{IfRef, Ns};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::AsFd;

/// Where the groups topo picks start: far from the small numbers people
/// give groups by hand (and from 0, every interface's default). A lab's
/// veths are made in a group of their own from there (`group_for`);
/// groups picked at deletion come after those.
const FIRST_GROUP: u32 = 0x746f_0000;
const MARK_GROUPS: u32 = 0x1_0000;

/// The interface group a lab's new veths are made in, from the lab's mark
/// in their alias (FNV-1a): deleting them all is then one request, without putting each
/// in a group first. Two labs may share one; deletion checks.
pub fn group_for(alias: &str) -> u32 {
    // A veth's alias is the lab's mark and its peer: `topo:LAB:NS/IF`.
    let mark = match alias.match_indices(':').nth(1) {
        Some((i, _)) => &alias[..i],
        None => alias,
    };
    let h = mark.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    FIRST_GROUP + h % MARK_GROUPS
}

impl Reader {
    /// Every interface's index and group, by name.
    pub fn groups(&mut self) -> Result<BTreeMap<String, (u32, u32)>> {
        let mut out = BTreeMap::new();
        self.each(
            RouteNetlinkMessage::GetLink(super::read::no_stats(LinkMessage::default())),
            true,
            "dump links",
            |kind, b| {
                if kind == super::parse::RTM_NEWLINK {
                    if let Some((name, index, group)) = super::parse::name_and_group(b) {
                        out.insert(name, (index, group));
                    }
                }
            },
        )?;
        Ok(out)
    }
}

/// Deletes the interfaces `links` of `ns` that are still there, together.
pub fn delete_links(k: &mut LocalKernel, ns: &Ns, links: &[IfRef]) -> Result<()> {
    for l in links {
        k.index.remove(l);
    }
    let fd = k.ns_fd(ns)?;
    let names: Vec<String> = links.iter().map(|l| l.name.to_string()).collect();
    delete_together(fd.as_ref(), &names)
}

/// Starts deleting `links` of `ns` together on a thread of its own: the
/// kernel's part is mostly a wait (for readers of the old interfaces),
/// during which the run goes on. Joined by `finish_meanwhile`.
pub fn delete_links_meanwhile(k: &mut LocalKernel, ns: &Ns, links: &[IfRef]) -> Result<()> {
    for l in links {
        k.index.remove(l);
    }
    let fd = k.ns_fd(ns)?;
    let names: Vec<String> = links.iter().map(|l| l.name.to_string()).collect();
    let t = std::thread::Builder::new()
        .name("topo-delete".into())
        .spawn(move || delete_together(fd.as_ref(), &names))
        .map_err(|e| crate::machine::KernelError::io("start a thread", e))?;
    k.meanwhile.push(t);
    Ok(())
}

/// The interfaces `names` of the namespace `ns` (here when `None`), in one
/// request: by the group they were made in when only they are in it, else
/// each put in a free group first.
fn delete_together(ns: Option<&std::fs::File>, names: &[String]) -> Result<()> {
    let mut r = Reader::open(ns.map(|f| f.as_fd()))?;
    let live = r.groups()?;
    if let Some(g) = made_together(&live, names) {
        return delete_group(&mut r, g);
    }
    let group = free_group(&live);
    let mut any = false;
    for n in names {
        let Some((index, _)) = live.get(n) else {
            continue;
        };
        let mut m = LinkMessage::default();
        m.header.index = *index;
        m.attributes.push(LinkAttribute::Group(group));
        count_write();
        match r.ack(RouteNetlinkMessage::SetLink(m), &format!("delete {n}")) {
            // Gone meanwhile with its peer or its master's namespace.
            Err(e) if e.errno() == Some(libc::ENODEV) => {}
            res => res?,
        }
        any = true;
    }
    if any {
        delete_group(&mut r, group)?;
    }
    Ok(())
}

/// Deletes every interface of the namespace in `group`.
fn delete_group(r: &mut Reader, group: u32) -> Result<()> {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::Group(group));
    count_write();
    r.ack(
        RouteNetlinkMessage::DelLink(m),
        &format!("delete interface group {group}"),
    )
}

/// The group every interface of `links` still there is in, when no other
/// interface of the namespace is in it (and it is not the default 0).
fn made_together(live: &BTreeMap<String, (u32, u32)>, links: &[String]) -> Option<u32> {
    let names: BTreeSet<&str> = links.iter().map(String::as_str).collect();
    let mut groups = live
        .iter()
        .filter(|(n, _)| names.contains(n.as_str()))
        .map(|(_, (_, g))| *g);
    let g = groups.next()?;
    let alone = groups.all(|h| h == g)
        && g != 0
        && live
            .iter()
            .all(|(n, (_, h))| *h != g || names.contains(n.as_str()));
    alone.then_some(g)
}

/// A group that no interface of the namespace is in.
fn free_group(live: &BTreeMap<String, (u32, u32)>) -> u32 {
    let used: BTreeSet<u32> = live.values().map(|(_, g)| *g).collect();
    (FIRST_GROUP + MARK_GROUPS..)
        .find(|g| !used.contains(g))
        .expect("fewer interfaces than groups")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(v: &[(&str, u32)]) -> BTreeMap<String, (u32, u32)> {
        v.iter()
            .enumerate()
            .map(|(i, (n, g))| (n.to_string(), (i as u32 + 1, *g)))
            .collect()
    }

    fn refs(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn one_lab_one_group_whatever_the_peer() {
        let g = group_for("topo:scale:n1/eth0");
        assert_eq!(g, group_for("topo:scale:n2/eth0"));
        assert_eq!(g, group_for("topo:scale"));
        assert_ne!(g, group_for("topo:other:n1/eth0"));
        assert!((FIRST_GROUP..FIRST_GROUP + MARK_GROUPS).contains(&g));
    }

    #[test]
    fn a_group_is_deleted_whole_only_when_it_holds_just_those() {
        let g = group_for("topo:a");
        let l = live(&[("lo", 0), ("br", 0), ("v1", g), ("v2", g)]);
        assert_eq!(made_together(&l, &refs(&["v1", "v2"])), Some(g));
        // Gone already: the rest still go together.
        assert_eq!(made_together(&l, &refs(&["v1", "v2", "v3"])), Some(g));
        // Another interface in the group stays: each is regrouped.
        assert_eq!(made_together(&l, &refs(&["v1"])), None);
        // Mixed groups, or the default group: never by group.
        let m = live(&[("v1", g), ("v2", g + 1)]);
        assert_eq!(made_together(&m, &refs(&["v1", "v2"])), None);
        let d = live(&[("v1", 0), ("v2", 0)]);
        assert_eq!(made_together(&d, &refs(&["v1", "v2"])), None);
        assert_eq!(made_together(&l, &refs(&["v9"])), None);
        // Groups picked at deletion never collide with a lab's.
        assert!(free_group(&l) >= FIRST_GROUP + MARK_GROUPS);
    }
}
