//! The errors that stop a verb. `cli` renders them and maps each to an
//! exit code.

use crate::diag::Report;
use crate::machine::KernelError;
use crate::plan::{Plan, PlanError};
use crate::{remote, ApplyReport};

/// Everything that can stop a verb, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{} is not a valid lab file", .0.file)]
    Invalid(Report),
    #[error("{0}")]
    Privileges(String),
    #[error("{0}")]
    Lock(std::io::Error),
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("apply failed at `{failed}`: {error}")]
    Apply {
        failed: String,
        error: KernelError,
        report: Box<ApplyReport>,
    },
    #[error("the saved plan is stale: the kernel changed since it was made, so nothing was applied: {}; run `topo plan -o` again", .0.join("; "))]
    Stale(Vec<String>),
    #[error("after apply the kernel still differs from the file in {} place(s): {}", .left.actions.len(), .left.actions.iter().map(|a| a.id().to_string()).collect::<Vec<_>>().join(", "))]
    Verify {
        left: Plan,
        report: Box<ApplyReport>,
    },
    #[error("stopped by signal {signal} before the end")]
    Interrupted {
        signal: i32,
        report: Box<ApplyReport>,
    },
    /// Applied and verified, then rolled back because the run across hosts
    /// did not succeed on every host.
    #[error("rolled back: the apply did not succeed on every host of the lab")]
    Withdrawn { report: Box<ApplyReport> },
    /// A lab across machines run without saying which host this is, or
    /// the other way round; the text says what to write.
    #[error("{0}")]
    Hosts(String),
    #[error(transparent)]
    Remote(#[from] remote::RemoteError),
    /// `--lab NAME` of a lab that owns nothing on this machine.
    #[error("no lab named `{0}` on this machine")]
    NoLab(String),
}
