//! Address allocation for `networks:`, and subnets from the pools of
//! `addressing:` (`allocate_subnets`), under the same rule.
//!
//! Stability: a member keeps the address it already has in the kernel (when
//! it is still inside the subnet and nobody else claims it); fixed addresses
//! are honoured first; only members without an address get one, the lowest
//! free one from .1 upwards, skipping the network address, broadcast and the
//! reserved addresses (the gateway, addresses the file writes elsewhere). So
//! adding or removing a member never renumbers another.

use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// One member's request: a fixed address, or the address it has now.
pub struct Request {
    pub fixed: Option<IpAddr>,
    pub current: Option<IpAddr>,
}

/// Why allocation failed.
#[derive(Debug, PartialEq, Eq)]
pub enum IpamError {
    /// Member index whose request could not be met.
    Exhausted(usize),
}

/// Assigns one address per request, in order, none of them `reserved`.
pub fn allocate(
    subnet: IpNet,
    reserved: &BTreeSet<IpAddr>,
    reqs: &[Request],
) -> Result<Vec<IpAddr>, IpamError> {
    let mut taken = reserved.clone();
    let mut out: Vec<Option<IpAddr>> = vec![None; reqs.len()];
    for (i, r) in reqs.iter().enumerate() {
        if let Some(a) = r.fixed {
            taken.insert(a);
            out[i] = Some(a);
        }
    }
    for (i, r) in reqs.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        if let Some(a) = r
            .current
            .filter(|a| usable(subnet, *a) && !taken.contains(a))
        {
            taken.insert(a);
            out[i] = Some(a);
        }
    }
    let mut hosts = subnet.hosts().filter(|a| usable(subnet, *a));
    for (i, slot) in out.iter_mut().enumerate() {
        if slot.is_none() {
            let a = hosts
                .by_ref()
                .find(|a| !taken.contains(a))
                .ok_or(IpamError::Exhausted(i))?;
            taken.insert(a);
            *slot = Some(a);
        }
    }
    Ok(out
        .into_iter()
        .map(|a| a.expect("every slot filled"))
        .collect())
}

/// Assigns one subnet of `prefix` from `pool` per request, in order: a
/// request keeps the subnet it has now (`current`) when that is one of the
/// pool's and free; the others get the lowest free ones. A subnet is free
/// when no `reserved` network overlaps it and no earlier request took it.
/// So adding or removing a request never moves another.
pub fn allocate_subnets(
    pool: IpNet,
    prefix: u8,
    reserved: &[IpNet],
    current: &[Option<IpNet>],
) -> Result<Vec<IpNet>, IpamError> {
    // A reserved network as long as a candidate or longer lies in exactly
    // one candidate; a shorter one is checked against each.
    let block = |n: &IpNet| IpNet::new(n.addr(), prefix).map(|b| b.trunc());
    let mut taken: BTreeSet<IpNet> = reserved
        .iter()
        .filter(|r| r.prefix_len() >= prefix)
        .filter_map(|r| block(r).ok())
        .collect();
    let wide: Vec<IpNet> = reserved
        .iter()
        .filter(|r| r.prefix_len() < prefix)
        .copied()
        .collect();
    let free = |c: &IpNet, taken: &BTreeSet<IpNet>| {
        !taken.contains(c) && !wide.iter().any(|w| w.contains(&c.addr()))
    };
    let mut out: Vec<Option<IpNet>> = vec![None; current.len()];
    for (i, c) in current.iter().enumerate() {
        if let Some(c) = c.filter(|c| c.prefix_len() == prefix && pool.contains(c)) {
            if free(&c, &taken) {
                taken.insert(c);
                out[i] = Some(c);
            }
        }
    }
    let mut candidates = pool.subnets(prefix).ok().into_iter().flatten();
    for (i, slot) in out.iter_mut().enumerate() {
        if slot.is_none() {
            let c = candidates
                .by_ref()
                .find(|c| free(c, &taken))
                .ok_or(IpamError::Exhausted(i))?;
            taken.insert(c);
            *slot = Some(c);
        }
    }
    Ok(out
        .into_iter()
        .map(|s| s.expect("every slot filled"))
        .collect())
}

/// Inside the subnet and neither its network nor its broadcast address.
pub fn usable(subnet: IpNet, a: IpAddr) -> bool {
    if !subnet.contains(&a) {
        return false;
    }
    match subnet {
        IpNet::V4(n) if n.prefix_len() < 31 => {
            IpAddr::V4(n.network()) != a && IpAddr::V4(n.broadcast()) != a
        }
        IpNet::V6(n) if n.prefix_len() < 127 => IpAddr::V6(n.network()) != a,
        _ => true,
    }
}

/// Whether every allocated member of `m` already has its fresh address
/// live (in `prior`), or no address at all yet: then the live addresses
/// change nothing and `m` stands. Link-local addresses do not count: topo
/// derives them from the MAC, they are never allocated, and with them
/// every member would seem to hold its allocation.
pub fn allocation_holds(m: &super::Model, prior: &super::Prior) -> bool {
    m.allocated.iter().all(|link| {
        let Some(live) = prior.get(link) else {
            return true;
        };
        let from = crate::kinds::AddressId {
            link: link.clone(),
            address: IpNet::V4(Default::default()),
        };
        m.state
            .address
            .range(from..)
            .map_while(|(id, _)| (id.link == *link).then_some(id.address.addr()))
            .filter(|a| !matches!(a, IpAddr::V6(v) if v.is_unicast_link_local()))
            .any(|a| live.contains(&a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn req(fixed: Option<&str>, current: Option<&str>) -> Request {
        Request {
            fixed: fixed.map(ip),
            current: current.map(ip),
        }
    }
    fn gw(s: &str) -> BTreeSet<IpAddr> {
        BTreeSet::from([ip(s)])
    }

    #[test]
    fn starts_at_one_and_skips_the_gateway() {
        let got = allocate(
            "12.0.6.0/24".parse().unwrap(),
            &gw("12.0.6.1"),
            &[req(None, None), req(None, None)],
        );
        assert_eq!(got.unwrap(), vec![ip("12.0.6.2"), ip("12.0.6.3")]);
    }

    #[test]
    fn fixed_addresses_are_not_given_to_others() {
        let got = allocate(
            "12.0.6.0/24".parse().unwrap(),
            &gw("12.0.6.200"),
            &[req(None, None), req(Some("12.0.6.1"), None)],
        );
        assert_eq!(got.unwrap(), vec![ip("12.0.6.2"), ip("12.0.6.1")]);
    }

    #[test]
    fn removing_a_member_renumbers_nobody() {
        let net = "10.0.0.0/24".parse().unwrap();
        let first = allocate(
            net,
            &gw("10.0.0.254"),
            &[req(None, None), req(None, None), req(None, None)],
        )
        .unwrap();
        // The first member goes; the others keep what they have in the kernel.
        let reqs = [req(None, Some("10.0.0.2")), req(None, Some("10.0.0.3"))];
        let second = allocate(net, &gw("10.0.0.254"), &reqs).unwrap();
        assert_eq!(second, first[1..].to_vec());
        // A newcomer takes the lowest free address, not someone else's.
        let reqs = [
            req(None, Some("10.0.0.2")),
            req(None, Some("10.0.0.3")),
            req(None, None),
        ];
        assert_eq!(
            allocate(net, &gw("10.0.0.254"), &reqs).unwrap()[2],
            ip("10.0.0.1")
        );
    }

    #[test]
    fn reserved_addresses_are_skipped_and_not_kept() {
        let net = "10.0.0.0/24".parse().unwrap();
        let reserved = BTreeSet::from([ip("10.0.0.254"), ip("10.0.0.1")]);
        let got = allocate(
            net,
            &reserved,
            &[req(None, Some("10.0.0.1")), req(None, None)],
        )
        .unwrap();
        assert_eq!(got, vec![ip("10.0.0.2"), ip("10.0.0.3")]);
    }

    #[test]
    fn a_full_subnet_is_an_error() {
        let net = "10.0.0.0/30".parse().unwrap();
        let got = allocate(net, &gw("10.0.0.1"), &[req(None, None), req(None, None)]);
        assert_eq!(got, Err(IpamError::Exhausted(1)));
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_come_lowest_first_around_what_is_reserved() {
        let pool = net("10.1.0.0/16");
        let got = allocate_subnets(
            pool,
            31,
            &[net("10.1.0.2/31"), net("10.1.0.5/24")],
            &[None, None],
        );
        // 10.1.0.5/24 lies in a /24 wider than a /31: every /31 of 10.1.0.0/24 is out.
        assert_eq!(got.unwrap(), vec![net("10.1.1.0/31"), net("10.1.1.2/31")]);
        let got = allocate_subnets(pool, 30, &[net("10.1.0.1/32")], &[None]).unwrap();
        assert_eq!(got, vec![net("10.1.0.4/30")]);
    }

    #[test]
    fn adding_or_removing_a_subnet_moves_no_other() {
        let pool = net("10.1.0.0/16");
        let first = allocate_subnets(pool, 31, &[], &[None, None, None]).unwrap();
        assert_eq!(first[2], net("10.1.0.4/31"));
        // The first request goes: the others keep theirs.
        let kept: Vec<Option<IpNet>> = first[1..].iter().copied().map(Some).collect();
        assert_eq!(allocate_subnets(pool, 31, &[], &kept).unwrap(), first[1..]);
        // A newcomer takes the lowest free one, the gap, and moves nobody.
        let mut reqs = kept.clone();
        reqs.insert(0, None);
        let again = allocate_subnets(pool, 31, &[], &reqs).unwrap();
        assert_eq!(again, first);
        // A current subnet of another size, outside the pool, or taken by
        // an earlier request is given anew.
        let odd = [Some(net("10.1.0.0/30")), Some(net("10.9.0.0/31")), None];
        let got = allocate_subnets(pool, 31, &[net("10.1.0.0/32")], &odd).unwrap();
        assert_eq!(
            got,
            vec![net("10.1.0.2/31"), net("10.1.0.4/31"), net("10.1.0.6/31")]
        );
    }

    #[test]
    fn a_full_pool_names_the_request() {
        let got = allocate_subnets(net("10.1.0.0/30"), 31, &[], &[None, None, None]);
        assert_eq!(got, Err(IpamError::Exhausted(2)));
    }
}
