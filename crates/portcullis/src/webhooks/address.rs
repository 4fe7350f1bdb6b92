//! Which addresses a webhook may reach (SSRF): never a private, loopback,
//! link-local or unspecified one, in IPv4, IPv6 or IPv4 inside IPv6, unless the
//! operator listed the host in `webhooks.allow_http_hosts`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, or `None` when it may be reached.
pub fn refused_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_class(v4),
            None => v6_class(v6),
        },
    }
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`),
/// the deprecated IPv4-compatible form (`::a.b.c.d`, not `::` or `::1`), or the
/// well-known NAT64 prefix (`64:ff9b::a.b.c.d`, RFC 6052), which a NAT64 gateway
/// forwards to that IPv4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let o = ip.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let compatible = s[..6].iter().all(|&x| x == 0) && !ip.is_unspecified() && !ip.is_loopback();
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0);
    (compatible || nat64).then_some(low)
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    // 0.0.0.0/8 is "this network": Linux connects 0.x.y.z to the host itself.
    if ip.octets()[0] == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_broadcast() || ip.is_multicast() {
        Some("broadcast or multicast")
    } else {
        None
    }
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("broadcast or multicast")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refused_class_is_refused_in_ipv4_ipv6_and_ipv4_mapped_form() {
        let cases = [
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.254", "private"),
            ("192.168.1.1", "private"),
            ("fc00::1", "private"),
            ("fdff::1", "private"),
            ("127.0.0.1", "loopback"),
            ("127.200.0.9", "loopback"),
            ("::1", "loopback"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:169.254.169.254", "link-local"),
            ("::ffff:0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("::127.0.0.1", "loopback"),
            ("::10.0.0.1", "private"),
            ("64:ff9b::192.168.0.1", "private"),
            ("64:ff9b::127.0.0.1", "loopback"),
        ];
        for (ip, class) in cases {
            assert_eq!(refused_class(ip.parse().unwrap()), Some(class), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.215.14",
            "172.32.0.1",
            "172.15.255.255",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert_eq!(refused_class(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
