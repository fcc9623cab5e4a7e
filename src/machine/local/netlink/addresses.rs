//! Adding and deleting an interface's addresses.

use super::{count_write, family, nl_error, Conn};
use crate::machine::Result;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};

impl Conn {
    /// Adds an address; `nodad` makes an IPv6 address usable at once,
    /// without the two seconds of duplicate address detection.
    pub async fn add_address(&self, index: u32, net: IpNet, nodad: bool, what: &str) -> Result<()> {
        count_write();
        // Replace: an address the kernel may have removed with its primary,
        // or not, is added again either way. The interface is the lab's.
        let mut req = self
            .handle
            .address()
            .add(index, net.addr(), net.prefix_len())
            .replace();
        if nodad && net.addr().is_ipv6() {
            req.message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        req.execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }

    pub async fn delete_address(&self, index: u32, net: IpNet, what: &str) -> Result<()> {
        match self.delete_address_as(index, net, true, what).await {
            // An IPv4 address with a peer (`ip addr add A peer B`) has the
            // peer as its IFA_ADDRESS, which the request does not know: the
            // kernel matches none. Asked again by the local address alone
            // (the kernel then takes the first address with it, whatever
            // its prefix; verify reads what is left).
            Err(e) if net.addr().is_ipv4() && e.errno() == Some(libc::EADDRNOTAVAIL) => {
                self.delete_address_as(index, net, false, what).await
            }
            r => r,
        }
    }

    async fn delete_address_as(
        &self,
        index: u32,
        net: IpNet,
        with_address: bool,
        what: &str,
    ) -> Result<()> {
        let mut msg = AddressMessage::default();
        msg.header.family = family(net.addr());
        msg.header.prefix_len = net.prefix_len();
        msg.header.index = index;
        msg.attributes.push(AddressAttribute::Local(net.addr()));
        if with_address {
            msg.attributes.push(AddressAttribute::Address(net.addr()));
        }
        count_write();
        self.handle
            .address()
            .del(msg)
            .execute()
            .await
            .map_err(|e| nl_error(what.to_string(), e))
    }
}
