//! The labs on this machine: taking one's lock (telling the user, through
//! `Notify`, when another run holds it), reading everything one owns
//! without its file, and telling whether a lab is here at all.

use crate::machine::local::LocalKernel;
use crate::machine::{Machine, LOCK_WAIT};
use crate::{check_privileges, observe, Error};
use observe::Observed;

/// Where a verb tells its user what it is waiting for (another run holding
/// the lab). The command line prints these on stderr, unless `-q`.
pub type Notify<'a> = &'a dyn Fn(&str);

/// Takes the lab's lock; says so through `notify` when another run holds it.
pub(crate) fn lock<M: Machine>(m: &mut M, lab: &str, notify: Notify) -> Result<M::Lock, Error> {
    m.lock(lab, &mut || {
        notify(&format!(
            "another topo run holds lab `{lab}`; waiting up to {}s",
            LOCK_WAIT.as_secs()
        ))
    })
    .map_err(|e| match e.cause {
        crate::machine::Cause::Io(io) => Error::Lock(io),
        _ => Error::Kernel(e),
    })
}

/// Locks the lab and reads everything it owns, the inside of its node
/// namespaces too, without a file: what `show --lab` lists. `Error::NoLab`
/// when the lab owns nothing here.
pub async fn observe_lab(lab: &str, notify: Notify<'_>) -> Result<Observed, Error> {
    let mut m = LocalKernel::new();
    check_privileges(&m)?;
    let _lock = lock(&mut m, lab, notify)?;
    let observed = observe::observe_with(lab, None, observe::Reach::Everything, &mut m).await?;
    if is_absent(&observed) {
        return Err(Error::NoLab(lab.to_string()));
    }
    Ok(observed)
}

/// Whether the lab owns nothing on this machine: no object with its mark,
/// no sysctl or nft table recorded, nothing an interrupted run left.
pub fn is_absent(o: &Observed) -> bool {
    o.state.is_empty() && o.interrupted.is_empty()
}

/// The labs with a record on this machine (under /run/topo), for messages.
pub fn labs_here() -> Vec<String> {
    LocalKernel::new().labs()
}
