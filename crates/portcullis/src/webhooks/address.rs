//! Which addresses a webhook may reach (SSRF): never a private, loopback,
//! link-local or unspecified one, in IPv4, IPv6 or IPv4 inside IPv6, unless the
//! operator listed the host in `webhooks.allow_http_hosts`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused, or `None` when it may be reached.
pub fn refused_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_class(v4),
            None => v6_class(v6),
        },
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
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
        ];
        for (ip, class) in cases {
            assert_eq!(refused_class(ip.parse().unwrap()), Some(class), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in ["93.184.215.14", "172.32.0.1", "172.15.255.255", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert_eq!(refused_class(ip.parse().unwrap()), None, "{ip}");
        }
    }
}
