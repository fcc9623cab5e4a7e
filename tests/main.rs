//! Every integration test, in one binary: the test files each built one
//! and linked the whole crate graph into it (45 links, 2 GB of binaries).
//! nextest still runs each test in a process of its own, in its own sandbox
//! (`common`).

mod common;

mod apply_schema;
mod attach;
mod biglabs;
mod bulk_delete;
mod cli;
mod conntrack_and_catchall;
mod core;
mod corpus;
mod devices;
mod dhcp;
mod dns;
mod dying_veths;
mod edits;
mod forwarding_reads;
mod golden;
mod graph;
mod ipv6_default_off;
mod lab_tests;
mod leaks;
mod memory_kernel;
mod messages;
mod multihost;
mod nat;
mod nat_exclude;
mod nft_refused;
mod ownership;
mod privileges;
mod probes;
mod properties;
mod regressions;
mod reliability;
mod schema;
mod seed_labs;
mod seeds;
mod sharing;
mod show_lab;
mod stdin;
mod taps;
mod test_reports;
mod uplinks;
mod validate;
mod validate_checks;
mod veth_mtu;
mod vxlans;
mod watch;
