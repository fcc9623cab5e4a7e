//! The validated desired state: typed resources keyed by stable ids,
//! names resolved, network addresses allocated.

mod build;
pub mod checks;
mod describe;
pub mod ipam;
mod mac;
pub mod names;
pub mod nat;
pub mod resource;

pub use build::{build, Model, Prior, Validated};
pub use resource::{digests, Change, Id, IfRef, Mac, Ns, Res, RouteKey, Scope, State};
