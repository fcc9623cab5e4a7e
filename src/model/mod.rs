//! The validated desired state: typed resources keyed by stable ids,
//! names resolved, network addresses allocated.

mod build;
pub mod checks;
pub mod hosts;
pub mod ipam;
mod mac;
pub mod names;
pub mod nat;
pub mod resource;

pub use crate::kinds::{digests, Id, Res, State};
pub use build::{build, Model, Prior, Validated};
pub use names::{other_owner, owner_mark};
pub use resource::{opt, Attach, Change, IfRef, Mac, Name, Ns, RouteKey, Scope};
