//! CIDR functions (template-functions-cidr): `parseCidr`, `cidrSubnet`, `cidrHost`, IPv4.

use super::Args;
use crate::providers::resources::deployments::template::error::EvalError;
use serde_json::{json, Value};
use std::net::Ipv4Addr;

type R = Result<Value, EvalError>;

pub(super) fn call(name: &str, a: &Args) -> Option<R> {
    Some(match name {
        "parsecidr" => parse_cidr(a),
        "cidrsubnet" => cidr_subnet(a),
        "cidrhost" => cidr_host(a),
        _ => return None,
    })
}

fn network(a: &Args) -> Result<(u32, u32), EvalError> {
    let s = a.str(0)?;
    let bad = || a.error(format!("the value '{s}' is not a valid IPv4 CIDR block"));
    let (ip, len) = s.split_once('/').ok_or_else(bad)?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    if len > 32 {
        return Err(bad());
    }
    Ok((u32::from(ip) & mask(len), len))
}

fn mask(len: u32) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - len)
    }
}

fn ip(v: u32) -> String {
    Ipv4Addr::from(v).to_string()
}

/// `parseCidr('10.144.0.0/20')` → network, netmask, broadcast, firstUsable, lastUsable, cidr.
fn parse_cidr(a: &Args) -> R {
    a.count(1, 1)?;
    let (net, len) = network(a)?;
    let broadcast = net | !mask(len);
    let (first, last) = if len >= 31 {
        (net, broadcast)
    } else {
        (net + 1, broadcast - 1)
    };
    Ok(json!({
        "network": ip(net),
        "netmask": ip(mask(len)),
        "broadcast": ip(broadcast),
        "firstUsable": ip(first),
        "lastUsable": ip(last),
        "cidr": len
    }))
}

/// `cidrSubnet(network, newCIDR, subnetIndex)`: the index-th subnet of size newCIDR.
fn cidr_subnet(a: &Args) -> R {
    a.count(3, 3)?;
    let (net, len) = network(a)?;
    let (new_len, index) = (a.int(1)?, a.int(2)?);
    if new_len < i64::from(len) || new_len > 32 {
        return Err(a.error(format!("the new CIDR '{new_len}' must be between '{len}' and '32'")));
    }
    let count = 1u64 << (new_len as u32 - len);
    if index < 0 || index as u64 >= count {
        return Err(a.error(format!(
            "the subnet index '{index}' must be between '0' and '{}'",
            count - 1
        )));
    }
    let size = 1u64 << (32 - new_len as u32);
    Ok(format!("{}/{new_len}", ip(net + (index as u64 * size) as u32)).into())
}

/// `cidrHost(network, hostIndex)`: the usable host at that index (index 0 is network + 1).
fn cidr_host(a: &Args) -> R {
    a.count(2, 2)?;
    let (net, len) = network(a)?;
    let index = a.int(1)?;
    let usable = (1u64 << (32 - len)).saturating_sub(2);
    if index < 0 || index as u64 >= usable.max(1) {
        return Err(a.error(format!("the host index '{index}' is outside the network")));
    }
    Ok(ip(net + 1 + index as u32).into())
}
