//! The lab's nftables table in a namespace: read back, replaced whole in one
//! atomic transaction, deleted whole. Through the `nft` binary with JSON on
//! stdin (the approach Podman's netavark takes); the `nftables` crate's
//! schema types check what we send and parse what nft returns.

use super::count_write;
use crate::machine::{Cause, KernelError, LiveChain, Table as Found, WantChain};
use nftables::schema::NfObject;
use nix::sched::{setns, CloneFlags};
use serde_json::{json, Value};
use std::io::Write;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// The table name of a lab: one per namespace, owned whole by the lab.
pub fn table_name(lab: &str) -> String {
    format!("topo-{lab}")
}

/// Runs `nft` inside the namespace `ns` (here when `None`).
fn nft(
    ns: Option<BorrowedFd<'_>>,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<(bool, String, String), KernelError> {
    finish(start(ns, args, stdin)?)
}

/// Starts `nft` inside `ns` and hands it its input; `finish` waits.
fn start(
    ns: Option<BorrowedFd<'_>>,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<std::process::Child, KernelError> {
    let mut cmd = Command::new(std::env::var("TOPO_NFT").unwrap_or_else(|_| "nft".into()));
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(fd) = ns {
        let raw = fd.as_raw_fd();
        // SAFETY: setns is async-signal-safe, and the child only execs after it.
        unsafe {
            cmd.pre_exec(move || {
                setns(BorrowedFd::borrow_raw(raw), CloneFlags::CLONE_NEWNET)
                    .map_err(std::io::Error::from)
            });
        }
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => KernelError {
            what: "run nft".into(),
            cause: Cause::Missing {
                program: "nft",
                package: "nftables",
                why: "topo uses it for NAT and filter rules",
            },
        },
        _ => KernelError::io("run nft", e),
    })?;
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .map_err(|e| KernelError::io("write to nft", e))?;
    }
    Ok(child)
}

fn finish(child: std::process::Child) -> Result<(bool, String, String), KernelError> {
    let out = child
        .wait_with_output()
        .map_err(|e| KernelError::io("run nft", e))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// A chain without hook or rules whose presence marks the table as made by
/// topo: nft 1.0 keeps no table comment, and the name alone proves nothing.
pub const MARK_CHAIN: &str = "topo-owned";

/// The lab's table in `ns`.
pub fn read(ns: Option<BorrowedFd<'_>>, lab: &str) -> Result<Found, KernelError> {
    let table = table_name(lab);
    // Over nfnetlink when the kernel answers there; else nft lists it.
    match super::netlink::read_table(ns, &table, MARK_CHAIN) {
        Ok(found) => Ok(found),
        Err(e) => {
            tracing::debug!("{e}; asking nft instead");
            read_with_nft(ns, &table)
        }
    }
}

/// The table `table` as `nft -j list` shows it.
fn read_with_nft(ns: Option<BorrowedFd<'_>>, table: &str) -> Result<Found, KernelError> {
    let (ok, out, err) = nft(ns, &["-j", "list", "table", "inet", table], None)?;
    if !ok {
        if err.contains("No such file or directory") || err.contains("does not exist") {
            return Ok(Found::Absent);
        }
        return Err(KernelError::new(
            format!("read nft table {table}"),
            err.trim(),
        ));
    }
    // Only names, policies and comments matter here; serde skips the rest
    // (every rule's statements) without building it.
    #[derive(serde::Deserialize)]
    struct Doc {
        nftables: Vec<Obj>,
    }
    #[derive(serde::Deserialize)]
    struct Obj {
        chain: Option<ChainJson>,
        rule: Option<RuleJson>,
    }
    #[derive(serde::Deserialize)]
    struct ChainJson {
        name: String,
        policy: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct RuleJson {
        chain: String,
        comment: Option<String>,
    }
    let doc: Doc = serde_json::from_str(&out)
        .map_err(|e| KernelError::new(format!("parse nft table {table}"), e))?;
    let mut chains: Vec<LiveChain> = Vec::new();
    for obj in doc.nftables {
        if let Some(c) = obj.chain {
            chains.push(LiveChain {
                name: c.name,
                policy: c.policy,
                rules: vec![],
            });
        } else if let Some(r) = obj.rule {
            if let Some(c) = chains.iter_mut().find(|c| c.name == r.chain) {
                c.rules.push(r.comment);
            }
        }
    }
    let Some(mark) = chains.iter().position(|c| c.name == MARK_CHAIN) else {
        return Ok(Found::Foreign);
    };
    chains.remove(mark);
    Ok(Found::Owned(chains))
}

/// Starts replacing the lab's table in `ns` with exactly `chains`, in one
/// transaction (atomic: the old table stays until nft succeeds).
pub fn replace(
    ns: Option<BorrowedFd<'_>>,
    lab: &str,
    chains: &[WantChain<'_>],
) -> Result<InFlight, KernelError> {
    let name = table_name(lab);
    let table = json!({"family": "inet", "name": name});
    let mut doc = Doc::new();
    doc.push(json!({"add": {"table": table}}))?;
    doc.push(json!({"delete": {"table": table}}))?;
    doc.push(json!({"add": {"table": table}}))?;
    doc.push(json!({"add": {"chain": {"family": "inet", "table": name, "name": MARK_CHAIN}}}))?;
    for c in chains {
        let mut chain = json!({"family": "inet", "table": name, "name": c.name, "type": c.kind, "hook": c.hook, "prio": c.prio});
        if let Some(p) = c.policy {
            chain["policy"] = json!(p);
        }
        doc.push(json!({"add": {"chain": chain}}))?;
        for (comment, expr) in &c.rules {
            let expr: Value = serde_json::from_str(expr)
                .map_err(|e| KernelError::new(format!("rule `{comment}`"), e))?;
            doc.push(json!({"add": {"rule": {"family": "inet", "table": name, "chain": c.name, "expr": expr, "comment": comment}}}))?;
        }
    }
    begin(ns, lab, doc)
}

/// Deletes the lab's table in `ns`; succeeds when it is already gone.
pub fn delete(ns: Option<BorrowedFd<'_>>, lab: &str) -> Result<(), KernelError> {
    let table = json!({"family": "inet", "name": table_name(lab)});
    let mut doc = Doc::new();
    doc.push(json!({"add": {"table": table}}))?;
    doc.push(json!({"delete": {"table": table}}))?;
    transaction(ns, lab, doc)
}

/// An nft JSON document written one command at a time: a lab's table can
/// hold thousands of rules, and a whole document as a JSON tree (then as
/// the crate's types) took tens of megabytes where its text takes one.
struct Doc {
    text: Vec<u8>,
    empty: bool,
}

impl Doc {
    fn new() -> Doc {
        Doc {
            text: br#"{"nftables":["#.to_vec(),
            empty: true,
        }
    }

    /// Appends one command, checked against the crate's schema first.
    fn push(&mut self, cmd: Value) -> Result<(), KernelError> {
        let typed: NfObject = serde_json::from_value(cmd)
            .map_err(|e| KernelError::new("build nft transaction", e))?;
        if !self.empty {
            self.text.push(b',');
        }
        self.empty = false;
        serde_json::to_writer(&mut self.text, &typed).expect("nft JSON serializes");
        Ok(())
    }

    fn finish(mut self) -> String {
        self.text.extend_from_slice(b"]}");
        String::from_utf8(self.text).expect("serde_json writes UTF-8")
    }
}

fn transaction(ns: Option<BorrowedFd<'_>>, lab: &str, doc: Doc) -> Result<(), KernelError> {
    begin(ns, lab, doc)?.wait()
}

/// An nft transaction under way: nft works in a process of its own while
/// the run goes on (a big table takes it a tenth of a second).
pub struct InFlight {
    child: std::process::Child,
    table: String,
}

impl InFlight {
    /// Waits for the transaction; nft's complaint if it refused it.
    pub fn wait(self) -> Result<(), KernelError> {
        let (ok, _, err) = finish(self.child)?;
        if !ok {
            return Err(KernelError::new(
                format!("change nft table {}", self.table),
                err.trim(),
            ));
        }
        Ok(())
    }
}

fn begin(ns: Option<BorrowedFd<'_>>, lab: &str, doc: Doc) -> Result<InFlight, KernelError> {
    let text = doc.finish();
    count_write();
    Ok(InFlight {
        child: start(ns, &["-j", "-f", "-"], Some(&text))?,
        table: table_name(lab),
    })
}

/// The lab's table in `ns` as nft prints it, for a later `restore`.
pub fn snapshot(ns: Option<BorrowedFd<'_>>, lab: &str) -> Result<Option<String>, KernelError> {
    let table = table_name(lab);
    let (ok, out, err) = nft(ns, &["-j", "list", "table", "inet", &table], None)?;
    if ok {
        return Ok(Some(out));
    }
    if err.contains("No such file or directory") || err.contains("does not exist") {
        return Ok(None);
    }
    Err(KernelError::new(
        format!("read nft table {table}"),
        err.trim(),
    ))
}

/// Puts back a table saved by `snapshot` (`None`: removes the table).
pub fn restore(
    ns: Option<BorrowedFd<'_>>,
    lab: &str,
    snapshot: Option<&str>,
) -> Result<(), KernelError> {
    let Some(text) = snapshot else {
        return delete(ns, lab);
    };
    let saved: Value =
        serde_json::from_str(text).map_err(|e| KernelError::new("parse nft snapshot", e))?;
    let table = json!({"family": "inet", "name": table_name(lab)});
    let mut doc = Doc::new();
    doc.push(json!({"add": {"table": table}}))?;
    doc.push(json!({"delete": {"table": table}}))?;
    for obj in saved["nftables"].as_array().into_iter().flatten() {
        let Some((kind, body)) = obj.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        if !["table", "chain", "rule"].contains(&kind.as_str()) {
            continue;
        }
        let mut body = body.clone();
        if let Some(o) = body.as_object_mut() {
            o.remove("handle");
        }
        doc.push(json!({"add": { kind.as_str(): body }}))?;
    }
    transaction(ns, lab, doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::Table;

    /// Runs `f` on a thread in an anonymous network namespace of its own
    /// (gone with the thread): nothing of the machine's is touched.
    fn in_private_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let root = nix::unistd::geteuid().is_root();
        let has_nft = Command::new("nft").arg("--version").output().is_ok();
        if !(root && has_nft) {
            assert!(std::env::var_os("CI").is_none(), "needs root and nft in CI");
            return None;
        }
        std::thread::spawn(move || {
            nix::sched::unshare(CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
        .join()
        .ok()
    }

    #[test]
    fn netlink_and_nft_read_every_table_alike() {
        let got = in_private_netns(|| {
            let mut rules = String::new();
            for i in 0..3000 {
                rules += &format!(
                    "add rule inet topo-t pre tcp dport {} dnat ip to 10.0.0.2 comment \"r{i}\"\n",
                    1000 + i % 60000
                );
            }
            let script = format!(
                "add table inet topo-t\nadd chain inet topo-t {MARK_CHAIN}\n\
                 add chain inet topo-t pre {{ type nat hook prerouting priority -100; policy accept; }}\n\
                 add chain inet topo-t fw {{ type filter hook forward priority 0; policy drop; }}\n\
                 add chain inet topo-t plain\n\
                 add rule inet topo-t fw ct state established accept\n\
                 add rule inet topo-t fw ip saddr 10.0.0.0/8 accept comment \"a comment\"\n\
                 {rules}\
                 add table inet topo-f\nadd chain inet topo-f input {{ type filter hook input priority 0; }}\n\
                 add table ip topo-t\nadd chain ip topo-t other\n"
            );
            let (ok, _, err) = nft(None, &["-f", "-"], Some(&script)).unwrap();
            assert!(ok, "{err}");
            ["topo-t", "topo-f", "topo-none"].map(|t| {
                let netlink = super::super::netlink::read_table(None, t, MARK_CHAIN).unwrap();
                let listed = read_with_nft(None, t).unwrap();
                (t, netlink, listed)
            })
        });
        let Some(got) = got else { return };
        for (t, netlink, listed) in &got {
            assert_eq!(netlink, listed, "table {t}");
        }
        let Table::Owned(chains) = &got[0].1 else {
            panic!("topo-t is owned: {:?}", got[0].1)
        };
        let names: Vec<&str> = chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["pre", "fw", "plain"]);
        assert_eq!(chains[0].rules.len(), 3000);
        assert_eq!(chains[1].policy.as_deref(), Some("drop"));
        assert_eq!(chains[1].rules, [None, Some("a comment".into())]);
        assert_eq!(got[1].1, Table::Foreign);
        assert_eq!(got[2].1, Table::Absent);
    }
}
