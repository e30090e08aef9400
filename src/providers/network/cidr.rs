//! IPv4 CIDR arithmetic for subnet checks.

/// `10.0.0.0/8` → (network as u32, prefix length).
pub fn parse(s: &str) -> Option<(u32, u8)> {
    let (addr, len) = s.trim().split_once('/')?;
    let len: u8 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    let n = u32::from(ip);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((n & mask, len))
}

/// True when `inner` lies inside `outer`.
pub fn contains(outer: (u32, u8), inner: (u32, u8)) -> bool {
    let mask = if outer.1 == 0 { 0 } else { u32::MAX << (32 - outer.1) };
    inner.1 >= outer.1 && (inner.0 & mask) == outer.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment() {
        let outer = parse("10.0.0.0/8").unwrap();
        assert!(contains(outer, parse("10.240.0.0/16").unwrap()));
        assert!(!contains(outer, parse("192.168.0.0/24").unwrap()));
        assert!(parse("10.0.0.0/33").is_none());
    }
}
