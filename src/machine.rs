//! The labs on this machine: taking one's lock (telling the user, through
//! `Notify`, when another run holds it), reading everything one owns
//! without its file, and telling whether a lab is here at all.

use crate::{check_privileges, kernel, observe, Error};
use observe::{Handles, Observed};
use std::time::Duration;

/// How long a run waits for another run on the same lab.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// Where a verb tells its user what it is waiting for (another run holding
/// the lab). The command line prints these on stderr, unless `-q`.
pub type Notify<'a> = &'a dyn Fn(&str);

/// Takes the lab's lock; says so through `notify` when another run holds it.
pub(crate) fn lock(lab: &str, notify: Notify) -> Result<kernel::lock::LabLock, Error> {
    kernel::lock::acquire(lab, LOCK_WAIT, &mut || {
        notify(&format!(
            "another topo run holds lab `{lab}`; waiting up to {}s",
            LOCK_WAIT.as_secs()
        ))
    })
    .map_err(Error::Lock)
}

/// Locks the lab and reads everything it owns, the inside of its node
/// namespaces too, without a file: what `show --lab` lists. `Error::NoLab`
/// when the lab owns nothing here.
pub async fn observe_lab(lab: &str, notify: Notify<'_>) -> Result<Observed, Error> {
    check_privileges()?;
    let _lock = lock(lab, notify)?;
    let mut handles = Handles::default();
    let observed = observe::observe_with(lab, None, true, &mut handles).await?;
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
    let mut labs: Vec<String> = std::fs::read_dir(kernel::state_file::run_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("state.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    labs.sort();
    labs
}
