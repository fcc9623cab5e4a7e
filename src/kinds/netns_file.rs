//! A file of /etc/netns/NODE that `ip netns exec NODE` (and `topo exec`)
//! binds over /etc: the node's resolv.conf (`dns:`) or hosts (`hosts:
//! true`). Its first line is the lab's mark; a file without it is not the
//! lab's and is never overwritten. Whether topo made /etc/netns/NODE is
//! recorded before it makes it: the directory goes once topo's last file
//! there does, and only when empty. A file is journaled while it is made
//! or removed: a run that fails or dies between the directory and the file
//! (made, the directory before the file; removed, the file before the
//! directory) leaves no file to delete, and the journal is what has the
//! directory removed.

use super::{Id, Journal, Kind};
use crate::apply::Exec;
use crate::graph::Index;
use crate::machine::{EtcRecord, KernelError, Machine};
use crate::model::{Change, Ns};
use crate::observe::{ObserveLab, ObserveNs};
use serde::{Deserialize, Serialize};

/// The files topo writes there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EtcName {
    #[serde(rename = "resolv.conf")]
    ResolvConf,
    #[serde(rename = "hosts")]
    Hosts,
}

impl EtcName {
    pub const ALL: [EtcName; 2] = [EtcName::ResolvConf, EtcName::Hosts];

    pub fn file(self) -> &'static str {
        match self {
            EtcName::ResolvConf => "resolv.conf",
            EtcName::Hosts => "hosts",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NetnsFileId {
    pub node: String,
    pub file: EtcName,
}

/// The file's lines after the mark.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetnsFile {
    pub lines: Vec<String>,
}

/// The first line of every file topo writes there.
fn mark_line(mark: &str) -> String {
    format!(
        "# {mark}: written by topo; apply puts it back as the lab file says, destroy removes it"
    )
}

/// The lab whose mark opens `text`, if any.
fn owner(text: &str) -> Option<&str> {
    let first = text.lines().next()?.strip_prefix("# topo:")?;
    first.split(':').next()
}

impl Kind for NetnsFile {
    type Id = NetnsFileId;
    const NAME: &'static str = "netnsfile";
    const GOES_WITH_NAMESPACE: bool = false;
    const JOURNAL: Journal = Journal::Always;

    fn ns(id: &NetnsFileId) -> Ns {
        Ns::node(&id.node)
    }

    fn label(id: &NetnsFileId) -> String {
        format!("file /etc/netns/{}/{}", id.node, id.file.file())
    }

    fn describe(&self) -> String {
        let shown: Vec<&str> = self.lines.iter().take(3).map(String::as_str).collect();
        let more = if self.lines.len() > 3 { "; …" } else { "" };
        format!("{}{more}", shown.join("; "))
    }

    fn deps(id: &NetnsFileId, _: &NetnsFile, _: &Index) -> Vec<Id> {
        super::ns_dep(&Self::ns(id))
    }

    /// The lines only one side has: what apply takes out and puts in.
    fn changes(&self, live: &NetnsFile) -> Vec<Change> {
        if self.lines == live.lines {
            return Vec::new();
        }
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|l| !b.contains(l)).cloned().collect()
        };
        let (gone, new) = (
            only(&live.lines, &self.lines),
            only(&self.lines, &live.lines),
        );
        let words = |v: Vec<String>| match v.is_empty() {
            true => "(none)".to_string(),
            false => v.join("; "),
        };
        let change = if gone.is_empty() && new.is_empty() {
            ("line order", live.lines.join("; "), self.lines.join("; "))
        } else {
            ("lines", words(gone), words(new))
        };
        vec![Change {
            attr: change.0.into(),
            before: change.1,
            after: change.2,
        }]
    }

    fn observe(_: &mut ObserveNs<'_>) {}

    fn observe_lab(cx: &mut ObserveLab<'_>) {
        let files: Vec<((String, String), String)> = cx
            .netns_files
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // A file a run was making or removing, not there: what was made
        // for it (the directory) is the lab's to remove.
        let pending: Vec<NetnsFileId> = cx
            .obs
            .lab_state
            .pending
            .iter()
            .filter_map(|id| match id {
                Id::NetnsFile(f) => Some(f.clone()),
                _ => None,
            })
            .collect();
        for id in pending {
            let key = (id.node.clone(), id.file.file().to_string());
            if files
                .iter()
                .all(|(k, t)| *k != key || owner(t) != Some(cx.lab))
            {
                cx.obs.interrupted.insert(Id::NetnsFile(id));
            }
        }
        for ((node, name), text) in files {
            let Some(file) = EtcName::ALL.into_iter().find(|f| f.file() == name) else {
                continue;
            };
            let id = NetnsFileId { node, file };
            if owner(&text) == Some(cx.lab) {
                let lines = text.lines().skip(1).map(str::to_string).collect();
                cx.obs.state.insert::<NetnsFile>(id, NetnsFile { lines });
            } else if cx.desired.is_some_and(|d| d.netns_file.contains_key(&id)) {
                let whose = match owner(&text) {
                    Some(l) => format!("lab `{l}`"),
                    None => "someone else".to_string(),
                };
                let msg = format!(
                    "/etc/netns/{}/{} exists and was written by {whose}, not by lab {}",
                    id.node,
                    file.file(),
                    cx.lab
                );
                cx.obs.foreign.insert(Id::NetnsFile(id), msg);
            }
        }
    }

    async fn create<M: Machine>(
        id: &NetnsFileId,
        me: &NetnsFile,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        write(id, me, x)
    }

    async fn update<M: Machine>(
        id: &NetnsFileId,
        want: &NetnsFile,
        _: &NetnsFile,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        write(id, want, x)
    }

    async fn delete<M: Machine>(
        id: &NetnsFileId,
        _: Option<&NetnsFile>,
        x: &mut Exec<'_, M>,
    ) -> Result<(), KernelError> {
        let node = &id.node;
        x.m.remove_netns_file(node, id.file.file())?;
        // The directory and its record go with the lab's last file there.
        let mut others = false;
        for f in EtcName::ALL.into_iter().filter(|f| *f != id.file) {
            let text = x.m.read_netns_file(node, f.file())?;
            others |= text.is_some_and(|t| owner(&t) == Some(x.lab));
        }
        let Some(rec) = x.lab_state.netns_etc.get(node).copied().filter(|_| !others) else {
            return Ok(());
        };
        let last = x.lab_state.netns_etc.len() == 1;
        let root = last && x.lab_state.etc_root_made;
        if rec.made_dir {
            x.m.remove_netns_dir(node, root)?;
        }
        x.lab_state.netns_etc.remove(node);
        if last {
            x.lab_state.etc_root_made = false;
        }
        x.save_state()
    }
}

/// Writes the file, making /etc/netns/NODE first if needed: recorded as
/// the lab's before it is made (a killed run still removes it), and
/// corrected when it was there already.
fn write<M: Machine>(
    id: &NetnsFileId,
    me: &NetnsFile,
    x: &mut Exec<'_, M>,
) -> Result<(), KernelError> {
    let node = &id.node;
    let before = x.lab_state.netns_etc.get(node).copied();
    let root_before = x.lab_state.etc_root_made;
    if before.is_none() {
        let pessimistic = EtcRecord { made_dir: true };
        x.lab_state.netns_etc.insert(node.clone(), pessimistic);
        x.lab_state.etc_root_made = true;
        x.save_state()?;
    }
    let made = x.m.make_netns_dir(node)?;
    let rec = EtcRecord {
        made_dir: before.is_some_and(|r| r.made_dir) || made.dir,
    };
    let root = root_before || made.root;
    if x.lab_state.netns_etc.get(node) != Some(&rec) || x.lab_state.etc_root_made != root {
        x.lab_state.netns_etc.insert(node.clone(), rec);
        x.lab_state.etc_root_made = root;
        x.save_state()?;
    }
    let mut text = mark_line(&x.mark());
    for l in &me.lines {
        text.push('\n');
        text.push_str(l);
    }
    text.push('\n');
    x.m.write_netns_file(node, id.file.file(), &text)
}
