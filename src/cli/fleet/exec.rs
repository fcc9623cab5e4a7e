//! `topo exec FILE NODE -- CMD` in a lab across machines: on the node's
//! host, over ssh, with standard input, output, error and the exit code
//! passed through. The file goes first on the remote's input, in a frame;
//! the rest of the input is the command's.

use crate::cli::{exec::render, exit, HostArgs};
use crate::model::hosts::place;
use crate::remote::{frame, targets, Fleet};
use crate::Loaded;
use std::io::Write;

/// The host of `node`, or what is wrong.
pub(in crate::cli) fn exec_host(l: &Loaded, node: &str) -> Result<String, String> {
    let p = place(&l.spec).map_err(|d| render(&crate::Error::Invalid(l.report(d))))?;
    p.nodes.get(node).cloned().ok_or_else(|| {
        let known: Vec<&str> = p.nodes.keys().map(String::as_str).collect();
        format!(
            "error: lab `{}` ({}) has no node `{node}`\nhelp: its nodes are: {}",
            l.spec.name.value,
            l.file,
            known.join(", ")
        )
    })
}

/// Runs `argv` in `node` on `host` over ssh; its exit code.
pub(in crate::cli) fn exec_remote(
    l: &Loaded,
    host: &str,
    node: &str,
    argv: &[String],
    hosts: &HostArgs,
) -> i32 {
    let p = match place(&l.spec) {
        Ok(p) => p,
        Err(d) => {
            eprintln!("{}", render(&crate::Error::Invalid(l.report(d))));
            return exit::EXEC_FAILED;
        }
    };
    let target: Vec<_> = targets(&p).into_iter().filter(|t| t.host == host).collect();
    let mut fleet = match Fleet::open(&target, hosts.ssh_config.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::EXEC_FAILED;
        }
    };
    let mut args = vec!["exec", "-", node, "--host", host, "--framed", "--"];
    args.extend(argv.iter().map(String::as_str));
    let mut child = match fleet.conns[0].start_attached(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::EXEC_FAILED;
        }
    };
    let mut stdin = child.stdin.take().expect("piped stdin");
    if stdin.write_all(&frame(l.text.as_bytes())).is_err() {
        // The remote ended early: its own message and code say why.
        drop(stdin);
    } else {
        // The command's input is ours, until ours ends.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut stdin);
        });
    }
    let code = match child.wait() {
        Ok(s) => s.code().unwrap_or_else(|| {
            128 + std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or(0)
        }),
        Err(e) => {
            eprintln!("error: ssh to host `{host}`: {e}");
            exit::EXEC_FAILED
        }
    };
    drop(fleet);
    code
}
