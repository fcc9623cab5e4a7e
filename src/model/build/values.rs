//! Values the file writes that every stage parses the same way: subnets,
//! MTUs, MACs.

use super::*;

impl Builder<'_> {
    pub(super) fn subnet(&mut self, s: &S<String>) -> Option<IpNet> {
        match s.value.parse::<IpNet>() {
            Ok(n) if n.trunc() == n => Some(n),
            Ok(n) => {
                self.err(
                    Pos::of(s),
                    format!("subnet {n} has host bits set"),
                    format!("write `subnet: {}`", n.trunc()),
                );
                None
            }
            Err(_) => {
                self.err(
                    Pos::of(s),
                    format!("`{}` is not a subnet", s.value),
                    "write a prefix such as `12.0.6.0/24`",
                );
                None
            }
        }
    }

    pub(super) fn mtu(&mut self, m: Option<&S<u32>>) -> Option<u32> {
        let m = m?;
        if !(68..=65535).contains(&m.value) {
            self.err(
                Pos::of(m),
                format!("mtu {} is out of range", m.value),
                "an MTU is between 68 and 65535; 1500 is usual",
            );
            return None;
        }
        Some(m.value)
    }

    pub(super) fn mac(&mut self, m: &S<String>) -> Option<Mac> {
        match m.value.parse::<Mac>() {
            Ok(mac) if mac.0[0] & 1 == 0 && mac.0 != [0; 6] => Some(mac),
            Ok(_) => {
                self.err(
                    Pos::of(m),
                    format!("{} is not a unicast MAC address", m.value),
                    "use a locally administered unicast address such as `02:00:00:00:00:01`",
                );
                None
            }
            Err(_) => {
                self.err(
                    Pos::of(m),
                    format!("`{}` is not a MAC address", m.value),
                    "write six hex pairs, e.g. `02:00:00:00:15:01`",
                );
                None
            }
        }
    }
}
