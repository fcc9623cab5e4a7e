//! Which namespace a request names: the host's and those in /run/netns
//! by name, an attached node's by the inode it was attached to, and
//! namespaces without a name by inode alone.

use super::{no_namespace, Kernel, Space};
use crate::machine::Result;
use crate::model::Ns;
use std::collections::BTreeMap;

impl Kernel {
    pub(super) fn space(&self, ns: &Ns) -> Result<&Space> {
        self.space_at(ns).ok_or_else(|| no_namespace(ns))
    }

    pub(super) fn space_mut(&mut self, ns: &Ns) -> Result<&mut Space> {
        self.space_at_mut(ns).ok_or_else(|| no_namespace(ns))
    }

    /// The namespace `ns` names now: an attached node's is the one it was
    /// attached to.
    pub(super) fn space_at(&self, ns: &Ns) -> Option<&Space> {
        match ns {
            Ns::Node(n) if self.attached.contains_key(n.as_str()) => {
                self.by_inode(self.attached[n.as_str()])
            }
            _ => self.spaces.get(ns),
        }
    }

    pub(super) fn space_at_mut(&mut self, ns: &Ns) -> Option<&mut Space> {
        match ns {
            Ns::Node(n) if self.attached.contains_key(n.as_str()) => {
                let inode = self.attached[n.as_str()];
                self.by_inode_mut(inode)
            }
            _ => self.spaces.get_mut(ns),
        }
    }

    pub(super) fn by_inode(&self, inode: u64) -> Option<&Space> {
        let mut named = self.spaces.values();
        self.anon
            .get(&inode)
            .or_else(|| named.find(|s| s.inode == inode))
    }

    pub(super) fn by_inode_mut(&mut self, inode: u64) -> Option<&mut Space> {
        if self.anon.contains_key(&inode) {
            return self.anon.get_mut(&inode);
        }
        self.spaces.values_mut().find(|s| s.inode == inode)
    }

    /// How a namespace is named in dumps: its name, else its inode.
    pub(super) fn ns_label(&self, inode: u64) -> String {
        let named = self.spaces.iter().find(|(_, s)| s.inode == inode);
        named.map_or(format!("anonymous:{inode}"), |(ns, _)| ns.to_string())
    }

    /// A new namespace: `lo` down, the kernel's sysctls, the IPv4 `conf`
    /// values copied from `host` (the initial namespace's).
    pub(super) fn fresh_space(&mut self, host: &BTreeMap<String, String>) -> Space {
        self.next_inode += 1;
        Space::fresh(self.next_inode, host)
    }
}
