//! topo: a declarative network topology reconciler for Linux.
//!
//! The pipeline, one folder per stage:
//! spec (parse) → model (validate, resolve) → graph (order) → observe (kernel
//! state) → plan (diff) → apply (execute, verify). `kernel` is the only code
//! that touches the system.

pub mod diag;
pub mod model;
pub mod spec;
