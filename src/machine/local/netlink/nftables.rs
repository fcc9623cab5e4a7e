//! The lab's nft table read over nfnetlink: its chains (name, policy) and
//! each rule's comment, which is all observe compares. Listing it with
//! `nft -j` made the kernel describe every expression of every rule, and
//! nft turn them into JSON: about 70 ms and 23 MiB for 2000 rules, where
//! these three dumps take a few milliseconds. Writing stays with `nft`.

use super::raw::{attrs, text, u32_at, Msg, Raw, Req, NLM_F_DUMP, NLM_F_REQUEST};
use crate::machine::{LiveChain, Result, Table};
use netlink_sys::protocols::NETLINK_NETFILTER;
use std::os::fd::BorrowedFd;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETRULE: u16 = 7;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_USERDATA: u16 = 7;
/// The comment in a rule's user data (libnftnl's NFTNL_UDATA_RULE_COMMENT).
const UDATA_RULE_COMMENT: u8 = 0;
/// nfgenmsg: family inet, version 0, resource id 0.
const INET: [u8; 4] = [1, 0, 0, 0];
const NF_DROP: u32 = 0;

fn msg(kind: u16) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | kind
}

/// Table `table` of family inet in `ns`, as `nft` would list it to
/// observe: `Foreign` when it lacks the chain `mark`, the chains without
/// `mark` otherwise.
pub fn read_table(ns: Option<BorrowedFd<'_>>, table: &str, mark: &str) -> Result<Table> {
    let what = format!("read nft table {table}");
    let mut raw = Raw::open(NETLINK_NETFILTER, ns)?;
    let name = [table.as_bytes(), &[0]].concat();
    let get_table = Req {
        kind: msg(NFT_MSG_GETTABLE),
        flags: NLM_F_REQUEST,
        head: &INET,
        attrs: &[(NFTA_TABLE_NAME, &name)],
    };
    let mut there = false;
    match raw.each(&get_table, &what, |m| {
        there |= matches!(m, Msg::Answer(k, _) if k == msg(NFT_MSG_NEWTABLE));
    }) {
        Err(e) if e.errno() == Some(libc::ENOENT) => return Ok(Table::Absent),
        r => r?,
    }
    if !there {
        return Ok(Table::Absent);
    }
    // A chain dump covers every table of the family: keep this one's.
    let mut chains: Vec<LiveChain> = Vec::new();
    let get_chains = Req {
        kind: msg(NFT_MSG_GETCHAIN),
        flags: NLM_F_REQUEST | NLM_F_DUMP,
        head: &INET,
        attrs: &[],
    };
    raw.each(&get_chains, &what, |m| {
        let body = match m {
            Msg::Answer(k, body) if k == msg(NFT_MSG_NEWCHAIN) => body,
            Msg::Answer(..) => return,
            Msg::Restart => return chains.clear(),
        };
        let (mut of, mut chain, mut policy) = (None, None, None);
        for (a, v) in attrs(body) {
            match a {
                NFTA_CHAIN_TABLE => of = Some(text(v)),
                NFTA_CHAIN_NAME => chain = Some(text(v)),
                NFTA_CHAIN_POLICY if v.len() >= 4 => policy = Some(u32::from_be(u32_at(v, 0))),
                _ => {}
            }
        }
        if let (Some(of), Some(name)) = (of, chain) {
            if of == table {
                chains.push(LiveChain {
                    name,
                    policy: policy.map(|p| if p == NF_DROP { "drop" } else { "accept" }.into()),
                    rules: vec![],
                });
            }
        }
    })?;
    // Rules of this table only, in each chain's order.
    let get_rules = Req {
        kind: msg(NFT_MSG_GETRULE),
        flags: NLM_F_REQUEST | NLM_F_DUMP,
        head: &INET,
        attrs: &[(NFTA_RULE_TABLE, &name)],
    };
    let mut rules: Vec<(String, Option<String>)> = Vec::new();
    raw.each(&get_rules, &what, |m| {
        let body = match m {
            Msg::Answer(k, body) if k == msg(NFT_MSG_NEWRULE) => body,
            Msg::Answer(..) => return,
            Msg::Restart => return rules.clear(),
        };
        let (mut chain, mut comment) = (None, None);
        for (a, v) in attrs(body) {
            match a {
                NFTA_RULE_CHAIN => chain = Some(text(v)),
                NFTA_RULE_USERDATA => comment = rule_comment(v),
                _ => {}
            }
        }
        if let Some(c) = chain {
            rules.push((c, comment));
        }
    })?;
    for (chain, comment) in rules {
        if let Some(c) = chains.iter_mut().find(|c| c.name == chain) {
            c.rules.push(comment);
        }
    }
    let Some(at) = chains.iter().position(|c| c.name == mark) else {
        return Ok(Table::Foreign);
    };
    chains.remove(at);
    Ok(Table::Owned(chains))
}

/// The comment among a rule's user data: type-length-value items of one
/// byte type and one byte length, the comment NUL-terminated.
fn rule_comment(mut v: &[u8]) -> Option<String> {
    while v.len() >= 2 {
        let (kind, len) = (v[0], v[1] as usize);
        let value = v.get(2..2 + len)?;
        if kind == UDATA_RULE_COMMENT {
            return Some(text(value));
        }
        v = &v[2 + len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comment_is_found_among_user_data() {
        let mut v = vec![5, 2, 9, 9];
        v.extend_from_slice(&[UDATA_RULE_COMMENT, 6]);
        v.extend_from_slice(b"dnat1\0");
        assert_eq!(rule_comment(&v).as_deref(), Some("dnat1"));
        assert_eq!(rule_comment(&[5, 2, 9, 9]), None);
        // A length past the end is no comment, not a panic.
        assert_eq!(rule_comment(&[UDATA_RULE_COMMENT, 40, b'x']), None);
    }
}
