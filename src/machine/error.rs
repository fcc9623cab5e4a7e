//! A failed request: what topo attempted, and the machine's own answer as a
//! typed cause (errno and the kernel's message, an I/O error, a missing
//! program), so callers decide on the cause, not on text.

use std::fmt;

#[derive(Debug, thiserror::Error)]
#[error("{what}: {cause}")]
pub struct KernelError {
    pub what: String,
    #[source]
    pub cause: Cause,
}

#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// The kernel refused a netlink request.
    #[error("{}", netlink_words(*.errno, .message))]
    Netlink { errno: i32, message: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A program topo runs is not installed.
    #[error("the `{program}` program is missing: install the {package} package ({why})")]
    Missing {
        program: &'static str,
        package: &'static str,
        why: &'static str,
    },
    /// Anything else, in words.
    #[error("{0}")]
    Other(String),
}

/// The kernel's answer, with what it means for the common errnos.
fn netlink_words(errno: i32, message: &str) -> String {
    match errno {
        17 => "already exists (File exists)".to_string(),
        1 => "operation not permitted: topo needs CAP_NET_ADMIN (run as root)".to_string(),
        19 => "no such device".to_string(),
        _ => message.to_string(),
    }
}

impl KernelError {
    /// An error described in words.
    pub fn new(what: impl Into<String>, e: impl fmt::Display) -> Self {
        KernelError {
            what: what.into(),
            cause: Cause::Other(e.to_string()),
        }
    }

    pub fn io(what: impl Into<String>, e: std::io::Error) -> Self {
        KernelError {
            what: what.into(),
            cause: Cause::Io(e),
        }
    }

    pub fn netlink(what: impl Into<String>, errno: i32, message: impl Into<String>) -> Self {
        KernelError {
            what: what.into(),
            cause: Cause::Netlink {
                errno,
                message: message.into(),
            },
        }
    }

    /// The errno, when the machine gave one.
    pub fn errno(&self) -> Option<i32> {
        match &self.cause {
            Cause::Netlink { errno, .. } => Some(*errno),
            Cause::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }

    /// Whether the object the request was about is already gone: deleting
    /// it again succeeds, so destroy and apply converge from any state.
    pub fn is_gone(&self) -> bool {
        matches!(self.errno(), Some(2 | 3 | 19 | 99))
    }
}
