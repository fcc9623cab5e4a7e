//! The nftables JSON of matches and statements.

use super::*;

pub(super) fn net_json(n: IpNet) -> Value {
    if n.prefix_len() == n.max_prefix_len() {
        json!(n.addr().to_string())
    } else {
        json!({"prefix": {"addr": n.network().to_string(), "len": n.prefix_len()}})
    }
}

pub(super) fn matches(left: Value, op: &str, right: Value) -> Value {
    json!({"match": {"op": op, "left": left, "right": right}})
}

pub(super) fn saddr(n: IpNet) -> Value {
    matches(
        json!({"payload": {"protocol": "ip", "field": "saddr"}}),
        "==",
        net_json(n),
    )
}

pub(super) fn daddr(n: IpNet) -> Value {
    matches(
        json!({"payload": {"protocol": "ip", "field": "daddr"}}),
        "==",
        net_json(n),
    )
}

pub(super) fn daddr_not(n: IpNet) -> Value {
    matches(
        json!({"payload": {"protocol": "ip", "field": "daddr"}}),
        "!=",
        net_json(n),
    )
}

pub(super) fn ifname(key: &str, name: &str) -> Value {
    matches(json!({"meta": {"key": key}}), "==", json!(name))
}

pub(super) fn ports_json(first: u16, last: u16) -> Value {
    if first == last {
        json!(first)
    } else {
        json!({"range": [first, last]})
    }
}

pub(super) fn port_text(first: u16, last: u16) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    }
}
