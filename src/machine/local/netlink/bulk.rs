//! Deleting many interfaces of one namespace in one request: each is put
//! in an interface group no other interface there is in, then the group is
//! deleted, as `ip link delete group N` does. The kernel unregisters them
//! together and waits for its readers once (an RCU grace period, tens of
//! milliseconds on this machine) instead of once per device.

use super::super::LocalKernel;
use super::{count_write, nl_error, Conn, Reader};
use crate::machine::Result;
use crate::model::{IfRef, Ns};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::LinkUnspec;
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::AsFd;

/// Where the groups topo picks start: far from the small numbers people
/// give groups by hand (and from 0, every interface's default).
const FIRST_GROUP: u32 = 0x746f_0000;

impl Reader {
    /// Every interface's index and group, by name.
    pub fn groups(&mut self) -> Result<BTreeMap<String, (u32, u32)>> {
        let mut out = BTreeMap::new();
        self.each(
            RouteNetlinkMessage::GetLink(super::read::no_stats(LinkMessage::default())),
            true,
            "dump links",
            |m| {
                if let RouteNetlinkMessage::NewLink(l) = m {
                    let mut name = None;
                    let mut group = 0;
                    for a in l.attributes {
                        match a {
                            LinkAttribute::IfName(n) => name = Some(n),
                            LinkAttribute::Group(g) => group = g,
                            _ => {}
                        }
                    }
                    if let Some(n) = name {
                        out.insert(n, (l.header.index, group));
                    }
                }
            },
        )?;
        Ok(out)
    }
}

/// Deletes the interfaces `links` of `ns` that are still there, together.
pub async fn delete_links(k: &mut LocalKernel, ns: &Ns, links: &[IfRef]) -> Result<()> {
    let live = {
        let fd = k.ns_fd(ns)?;
        Reader::open(fd.as_ref().map(|f| f.as_fd()))?.groups()?
    };
    let group = free_group(&live);
    let conn = k.conn(ns)?;
    let mut any = false;
    for l in links {
        k.index.remove(l);
        let Some((index, _)) = live.get(&l.name) else {
            continue;
        };
        match conn.set_group(*index, group, &format!("delete {l}")).await {
            // Gone meanwhile with its peer or its master's namespace.
            Err(e) if e.errno() == Some(libc::ENODEV) => {}
            r => r?,
        }
        any = true;
    }
    if any {
        conn.delete_group(group).await?;
    }
    Ok(())
}

/// A group that no interface of the namespace is in.
fn free_group(live: &BTreeMap<String, (u32, u32)>) -> u32 {
    let used: BTreeSet<u32> = live.values().map(|(_, g)| *g).collect();
    (FIRST_GROUP..)
        .find(|g| !used.contains(g))
        .expect("fewer interfaces than groups")
}

impl Conn {
    pub async fn set_group(&self, index: u32, group: u32, what: &str) -> Result<()> {
        let mut m = LinkUnspec::new_with_index(index).build();
        m.attributes.push(LinkAttribute::Group(group));
        count_write();
        self.handle
            .link()
            .set(m)
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }

    /// Deletes every interface of the namespace in `group`.
    pub async fn delete_group(&self, group: u32) -> Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::Group(group));
        count_write();
        let mut req = self.handle.link().del(0);
        *req.message_mut() = m;
        req.execute()
            .await
            .map_err(|e| nl_error(format!("delete interface group {group}"), e))
    }
}
