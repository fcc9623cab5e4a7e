//! Rules for the names users write: lab, node, interface.

/// Linux's IFNAMSIZ less the terminating NUL.
pub const IFNAME_MAX: usize = 15;

/// Why a lab name is unusable, if it is.
pub fn lab_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 32 {
        return Some("a lab name has 1 to 32 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || name.starts_with('-')
    {
        return Some(
            "a lab name uses lowercase letters, digits and '-', and does not start with '-'".into(),
        );
    }
    None
}

/// Why a node name cannot be a file under /run/netns, if it cannot.
pub fn node_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 64 {
        return Some("a node name has 1 to 64 characters".into());
    }
    if name == "host" {
        return Some("`host` is reserved for the namespace topo runs in".into());
    }
    if name.starts_with('.') || name.starts_with('-') {
        return Some("a node name must not start with '.' or '-'".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some(
            "a node name uses letters, digits, '-', '_' and '.' only (it becomes /run/netns/NAME)"
                .into(),
        );
    }
    None
}

/// Why an interface name is unusable, if it is.
pub fn ifname_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an interface name cannot be empty".into());
    }
    if name.len() > IFNAME_MAX {
        return Some(format!(
            "interface name `{name}` has {} bytes; Linux allows at most {IFNAME_MAX}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Some("`.` and `..` are not interface names".into());
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Some(format!(
            "interface name `{name}` contains '/', ':' or whitespace, which Linux or topo reject"
        ));
    }
    None
}

/// A generated interface name for the far end of `node:ifname`: readable when
/// it fits, otherwise a short stable hash.
pub fn port_name(lab: &str, owner: &str, ifname: &str) -> String {
    let readable = format!("{owner}-{ifname}");
    if readable.len() <= IFNAME_MAX && ifname_problem(&readable).is_none() {
        return readable;
    }
    format!(
        "tp{:013x}",
        fnv1a(&format!("{lab}/{owner}/{ifname}")) & 0x1_ffff_ffff_ffff
    )
}

/// The alias that marks an interface or namespace as owned by `lab`.
pub fn owner_mark(lab: &str) -> String {
    format!("topo:{lab}")
}

/// Of an object found where the lab wants one: whose it is, when it is
/// another lab's, in words that say how to remove it.
pub fn other_owner(alias: Option<&str>) -> String {
    let lab = alias
        .and_then(|a| a.strip_prefix("topo:"))
        .and_then(|l| l.split(':').next())
        .filter(|l| !l.is_empty());
    match lab {
        Some(l) => format!(" (it is lab `{l}`'s: `topo destroy --lab {l}` removes that lab)"),
        None => String::new(),
    }
}

/// Names in the order people count them: runs of digits compare as
/// numbers, so `h2` comes before `h10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Natural<'a>(pub &'a str);

impl Ord for Natural<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (mut a, mut b) = (self.0, other.0);
        loop {
            let (Some(x), Some(y)) = (a.chars().next(), b.chars().next()) else {
                return a.len().cmp(&b.len());
            };
            let ord = if x.is_ascii_digit() && y.is_ascii_digit() {
                let run =
                    |s: &str| s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                let (na, nb) = (&a[..run(a)], &b[..run(b)]);
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let o = ta
                    .len()
                    .cmp(&tb.len())
                    .then(ta.cmp(tb))
                    .then(na.len().cmp(&nb.len()));
                (a, b) = (&a[na.len()..], &b[nb.len()..]);
                o
            } else {
                (a, b) = (&a[x.len_utf8()..], &b[y.len_utf8()..]);
                x.cmp(&y)
            };
            if ord.is_ne() {
                return ord;
            }
        }
    }
}

impl PartialOrd for Natural<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// FNV-1a: stable across Rust versions, unlike the std hasher.
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(lab_name_problem("lab-1").is_none());
        assert!(lab_name_problem("Lab").is_some());
        assert!(node_name_problem("../etc").is_some());
        assert!(node_name_problem("red").is_none());
        assert!(ifname_problem("a-very-long-name").is_some());
        assert!(ifname_problem("eth 0").is_some());
        assert!(ifname_problem("veth-red-br").is_none());
    }

    #[test]
    fn natural_order_counts() {
        let mut v = vec!["h10", "h2", "h1", "r1:eth10", "r1:eth9", "h02", "s", "h"];
        v.sort_by(|a, b| Natural(a).cmp(&Natural(b)));
        assert_eq!(
            v,
            ["h", "h1", "h2", "h02", "h10", "r1:eth9", "r1:eth10", "s"]
        );
    }

    #[test]
    fn port_names_fit_and_are_stable() {
        assert_eq!(port_name("l", "red", "eth0"), "red-eth0");
        let long = port_name("l", "a-long-node-name", "eth0");
        assert_eq!(long.len(), 15);
        assert_eq!(long, port_name("l", "a-long-node-name", "eth0"));
        assert_ne!(long, port_name("l", "a-long-node-name", "eth1"));
    }
}
