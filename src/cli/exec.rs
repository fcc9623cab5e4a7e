//! `topo exec FILE NODE -- CMD...`: what `ip netns exec` does, by node name.
//!
//! topo checks the file and the node, then the machine replaces topo with
//! the command (no shell, the argv exactly as given) inside the node's
//! network namespace, with a /sys of that namespace and the node's
//! /etc/netns files over those of /etc. Because the command
//! takes topo's place, its exit code and signals are the caller's directly.

use super::exit;
use crate::machine::local::LocalKernel;
use crate::machine::{ExecFailure, Machine};
use crate::model::Ns;

/// Runs `argv` in `node`'s namespace; returns only when that fails. In a
/// lab across machines, on the node's host: here when `--host` says this
/// is it, else over ssh.
pub fn run(file: &str, node: &str, argv: &[String], hosts: &super::HostArgs) -> i32 {
    let l = match crate::load(file) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{}", render(&e));
            return exit::EXEC_FAILED;
        }
    };
    if !l.spec.hosts.is_empty() {
        match super::fleet::exec_host(&l, node) {
            Err(msg) => {
                eprintln!("{msg}");
                return exit::EXEC_FAILED;
            }
            Ok(h) if hosts.host.as_deref() != Some(h.as_str()) => {
                return super::fleet::exec_remote(&l, &h, node, argv, hosts);
            }
            Ok(_) => {}
        }
    }
    let mut m = LocalKernel::new();
    if let Err(msg) = prepare(&mut m, l, hosts.host.as_deref(), node) {
        eprintln!("{msg}");
        return exit::EXEC_FAILED;
    }
    let (e, code) = match m.exec(&Ns::Node(node.into()), argv) {
        ExecFailure::NotFound(e) => (e, exit::EXEC_NOT_FOUND),
        ExecFailure::CannotRun(e) => (e, exit::EXEC_CANNOT_RUN),
    };
    eprintln!("error: cannot run `{}` in node `{node}`: {e}", argv[0]);
    code
}

/// Checks the file, the node and the privileges, and that the node's
/// namespace exists; or says what is wrong.
fn prepare(
    m: &mut LocalKernel,
    l: crate::Loaded,
    host: Option<&str>,
    node: &str,
) -> Result<(), String> {
    let l = l.for_host(host).map_err(|e| render(&e))?;
    let file = &l.file;
    let v = crate::validate(&l, &Default::default()).map_err(|e| render(&e))?;
    let model = v.model;
    if !model.nodes.contains(node) {
        let known: Vec<&str> = model.nodes.iter().map(String::as_str).collect();
        let hint = crate::diag::did_you_mean(node, known.iter().copied())
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        return Err(format!(
            "error: lab `{}` ({}) has no node `{node}`\nhelp: {hint}its nodes are: {}",
            model.lab,
            l.file,
            known.join(", ")
        ));
    }
    crate::check_privileges(m).map_err(|e| format!("error: {e}"))?;
    let id = crate::kinds::NetnsId { name: node.into() };
    if let Some(at) = model.state.netns.get(&id).and_then(|n| n.attach.as_ref()) {
        return m
            .attach_namespace(node, at)
            .map(|_| ())
            .map_err(|e| format!("error: {e}\nhelp: start what node `{node}` attaches to first"));
    }
    match m.has_namespace(node) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "error: the namespace of node `{node}` does not exist\nhelp: create the lab first: topo apply {file}"
        )),
        Err(e) => Err(format!("error: cannot open the namespace of node `{node}`: {e}")),
    }
}

pub(super) fn render(e: &crate::Error) -> String {
    match e {
        crate::Error::Invalid(report) => report.render(false),
        e => format!("error: {e}"),
    }
}
