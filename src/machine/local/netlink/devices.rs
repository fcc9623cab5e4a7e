//! VXLAN devices and their forwarding entries over rtnetlink.

use super::{count_write, nl_error, Conn};
use crate::machine::{Result, VxlanOptions};
use futures::StreamExt;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST,
};
use netlink_packet_route::link::{InfoData, InfoKind, InfoVxlan};
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::RouteType;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::{LinkMessageBuilder, LinkUnspec, LinkVxlan};
use std::net::IpAddr;

/// The MAC of the entry that floods: broadcast, unknown unicast and
/// multicast frames go to each of its remotes.
const ZERO_MAC: [u8; 6] = [0; 6];

impl Conn {
    /// Creates a VXLAN device, down, without remotes; `dev` is the
    /// underlay's index. A fixed MAC, in the same request.
    pub async fn create_vxlan(
        &self,
        name: &str,
        o: &VxlanOptions,
        dev: Option<u32>,
        mac: Option<[u8; 6]>,
    ) -> Result<()> {
        let mut b = LinkVxlan::new(name, o.vni)
            .port(o.port)
            .learning(o.learning);
        match o.local {
            Some(IpAddr::V4(a)) => b = b.local(a),
            Some(IpAddr::V6(a)) => b = b.local6(a),
            None => {}
        }
        if let Some(i) = dev {
            b = b.dev(i);
        }
        if let Some(m) = mac {
            b = b.address(m.to_vec());
        }
        self.add_link(b.build(), format!("create vxlan {name}"))
            .await
    }

    /// Changes what a VXLAN device changes in place (a "changelink": an
    /// RTM_NEWLINK without NLM_F_CREATE): learning. The kernel refuses a
    /// new VNI or port there.
    pub async fn change_vxlan(&self, index: u32, o: &VxlanOptions, what: &str) -> Result<()> {
        let msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Vxlan)
            .index(index)
            .set_info_data(InfoData::Vxlan(vec![InfoVxlan::Learning(o.learning)]))
            .build();
        count_write();
        self.handle
            .link()
            .add(msg)
            .set_flags(NLM_F_REQUEST | NLM_F_ACK)
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }

    /// Appends `dst` to the all-zero entry of VXLAN device `index`, as
    /// `bridge fdb append` does. rtnetlink's neighbour add sends
    /// CREATE|EXCL, which refuses a second remote with EEXIST: this sends
    /// CREATE|APPEND, so each remote is one more destination of the entry
    /// (and appending one it has already changes nothing).
    pub async fn add_fdb(&self, index: u32, dst: IpAddr, what: &str) -> Result<()> {
        let mut req =
            NetlinkMessage::from(RouteNetlinkMessage::NewNeighbour(fdb_message(index, dst)));
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND;
        count_write();
        let mut handle = self.handle.clone();
        let mut answers = handle
            .request(req)
            .map_err(|e| nl_error(what.to_string(), e))?;
        while let Some(m) = answers.next().await {
            if let NetlinkPayload::Error(e) = m.payload {
                if e.code.is_some() {
                    return Err(nl_error(
                        what.to_string(),
                        rtnetlink::Error::NetlinkError(e),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Removes `dst` from the all-zero entry of device `index`; the
    /// entry's other remotes stay.
    pub async fn delete_fdb(&self, index: u32, dst: IpAddr, what: &str) -> Result<()> {
        count_write();
        self.handle
            .neighbours()
            .del(fdb_message(index, dst))
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }
}

/// The all-zero entry with one remote on the device itself (NTF_SELF, as
/// `bridge fdb` sets by default: without it, on a bridge port, the request
/// would go to the bridge's own table).
fn fdb_message(index: u32, dst: IpAddr) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = index;
    m.header.state = NeighbourState::Permanent;
    m.header.flags = NeighbourFlags::Own;
    m.header.kind = RouteType::Unspec;
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(ZERO_MAC.to_vec()));
    m.attributes
        .push(NeighbourAttribute::Destination(match dst {
            IpAddr::V4(a) => NeighbourAddress::Inet(a),
            IpAddr::V6(a) => NeighbourAddress::Inet6(a),
        }));
    m
}
