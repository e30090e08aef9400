//! Address prefixes (IPv4 and IPv6 CIDR) for subnet checks, with `ipnet`.

use ipnet::IpNet;
use serde_json::Value;

/// `10.0.0.0/8` or `fd00:db8::/48`; host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`).
pub(crate) fn parse(s: &str) -> Option<IpNet> {
    s.trim().parse::<IpNet>().ok().map(|n| n.trunc())
}

/// True when `inner` lies inside `outer` (never across address families).
pub(crate) fn contains(outer: IpNet, inner: IpNet) -> bool {
    outer.contains(&inner)
}

/// A subnet's prefixes: `properties.addressPrefix` and, for dual-stack subnets,
/// `properties.addressPrefixes` (network API `Subnet`).
pub(crate) fn subnet_prefixes(subnet: &Value) -> Vec<&str> {
    let p = &subnet["properties"];
    p["addressPrefix"]
        .as_str()
        .into_iter()
        .chain(
            p["addressPrefixes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment() {
        let outer = parse("10.0.0.0/8").unwrap();
        assert!(contains(outer, parse("10.240.0.0/16").unwrap()));
        assert!(!contains(outer, parse("192.168.0.0/24").unwrap()));
        assert!(!contains(parse("10.0.0.0/16").unwrap(), outer));
        assert!(contains(outer, parse("10.1.2.3/8").unwrap()), "host bits are cleared");
        assert!(parse("10.0.0.0/33").is_none());
        assert!(parse("10.0.0.0").is_none());
    }

    #[test]
    fn ipv6_prefixes() {
        let outer = parse("fd00:db8:deca::/48").unwrap();
        assert!(contains(outer, parse("fd00:db8:deca:deed::/64").unwrap()));
        assert!(!contains(outer, parse("fd00:db8:beef::/64").unwrap()));
        assert!(
            !contains(parse("::/0").unwrap(), parse("10.0.0.0/8").unwrap()),
            "families never mix"
        );
        assert!(parse("fd00::/129").is_none());
    }

    #[test]
    fn dual_stack_subnets() {
        let s = serde_json::json!({ "properties": { "addressPrefixes": ["10.0.0.0/24", "fd00::/64"] } });
        assert_eq!(subnet_prefixes(&s), ["10.0.0.0/24", "fd00::/64"]);
        let s = serde_json::json!({ "properties": { "addressPrefix": "10.0.0.0/24" } });
        assert_eq!(subnet_prefixes(&s), ["10.0.0.0/24"]);
    }
}
