//! /etc/netns of the in-memory kernel: a tree of one level, NODE/NAME,
//! with the local machine's rules (a file is written only into a
//! directory that exists, a name is a plain file name, a directory is
//! removed only when empty). Files outlive namespaces; nothing here wakes a
//! watch (the local one does not listen to /etc either).

use super::{Kernel, MemoryKernel};
use crate::machine::{KernelError, MadeDirs, Result};
use std::collections::BTreeMap;
use std::io;

#[derive(Debug, Clone, Default)]
pub(super) struct Etc {
    /// /etc/netns exists.
    root: bool,
    /// /etc/netns/NODE → its files.
    dirs: BTreeMap<String, BTreeMap<String, String>>,
}

/// A plain file name: no path can leave the node's directory.
fn check(name: &str) -> io::Result<()> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{name}` is not a file name"),
        ));
    }
    Ok(())
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

fn err(what: &str, node: &str, name: &str, e: io::Error) -> KernelError {
    let path = match name {
        "" => format!("/etc/netns/{node}"),
        _ => format!("/etc/netns/{node}/{name}"),
    };
    KernelError::io(format!("{what} {path}"), e)
}

impl Etc {
    pub fn canon(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.root {
            out.push("etc /etc/netns".to_string());
        }
        for (node, files) in &self.dirs {
            out.push(format!("etc /etc/netns/{node}/"));
            for (name, text) in files {
                out.push(format!("etc /etc/netns/{node}/{name}: {text:?}"));
            }
        }
        out
    }
}

impl Kernel {
    pub(super) fn read_netns_file(&self, node: &str, name: &str) -> Result<Option<String>> {
        check(name).map_err(|e| err("read", node, name, e))?;
        Ok(self.etc.dirs.get(node).and_then(|d| d.get(name)).cloned())
    }

    /// Written whole at once (the local machine renames a whole file over
    /// the old one); one request.
    pub(super) fn write_netns_file(&mut self, node: &str, name: &str, text: &str) -> Result<()> {
        check(name).map_err(|e| err("write", node, name, e))?;
        if !self.etc.dirs.contains_key(node) {
            return Err(err("write", node, name, not_found()));
        }
        self.write(format!("write /etc/netns/{node}/{name}"))?;
        let dir = self.etc.dirs.entry(node.to_string()).or_default();
        dir.insert(name.to_string(), text.to_string());
        Ok(())
    }

    /// One request, whether the file was there or not.
    pub(super) fn remove_netns_file(&mut self, node: &str, name: &str) -> Result<()> {
        check(name).map_err(|e| err("remove", node, name, e))?;
        self.write(format!("remove /etc/netns/{node}/{name}"))?;
        if let Some(d) = self.etc.dirs.get_mut(node) {
            d.remove(name);
        }
        Ok(())
    }

    /// A request for each directory made.
    pub(super) fn make_netns_dir(&mut self, node: &str) -> Result<MadeDirs> {
        let mut made = MadeDirs::default();
        if !self.etc.root {
            self.write("make /etc/netns")?;
            self.etc.root = true;
            made.root = true;
        }
        if !self.etc.dirs.contains_key(node) {
            self.write(format!("make /etc/netns/{node}"))?;
            self.etc.dirs.insert(node.to_string(), BTreeMap::new());
            made.dir = true;
        }
        Ok(made)
    }

    /// Removes /etc/netns/NODE if empty (a request), then /etc/netns if
    /// `root` and empty (another); false when the node's holds files.
    pub(super) fn remove_netns_dir(&mut self, node: &str, root: bool) -> Result<bool> {
        match self.etc.dirs.get(node) {
            Some(files) if !files.is_empty() => return Ok(false),
            Some(_) => {
                self.write(format!("remove /etc/netns/{node}"))?;
                self.etc.dirs.remove(node);
            }
            None => {}
        }
        if root && self.etc.root && self.etc.dirs.is_empty() {
            self.write("remove /etc/netns")?;
            self.etc.root = false;
        }
        Ok(true)
    }
}

/// /etc/netns for tests, as a person edits it.
impl MemoryKernel {
    /// Writes /etc/netns/NODE/NAME, making the directories it needs.
    pub fn put_netns_file(&self, node: &str, name: &str, text: &str) {
        self.with(|k| {
            k.etc.root = true;
            let dir = k.etc.dirs.entry(node.to_string()).or_default();
            dir.insert(name.to_string(), text.to_string());
        })
    }

    /// Removes /etc/netns/NODE/NAME (the directory stays).
    pub fn delete_netns_file(&self, node: &str, name: &str) {
        self.with(|k| {
            if let Some(d) = k.etc.dirs.get_mut(node) {
                d.remove(name);
            }
        })
    }

    /// What /etc/netns/NODE/NAME holds.
    pub fn netns_file(&self, node: &str, name: &str) -> Option<String> {
        self.with(|k| k.etc.dirs.get(node)?.get(name).cloned())
    }

    /// Makes /etc/netns/NODE (and /etc/netns), empty.
    pub fn make_netns_dir_by_hand(&self, node: &str) {
        self.with(|k| {
            k.etc.root = true;
            k.etc.dirs.entry(node.to_string()).or_default();
        })
    }
}
