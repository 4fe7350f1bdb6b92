//! Property tests of `X-Forwarded-For` under `server.trusted_proxies` (see
//! `crate::fuzz` for the case counts): the address believed is the peer, or the
//! right-most hop that is not a trusted proxy, whatever the header holds.

use std::net::IpAddr;

use ipnet::IpNet;
use proptest::prelude::*;

use super::client_ip;
use crate::fuzz::config;

/// Addresses from a small pool, so that peers, hops and proxies often coincide.
fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        prop::sample::select(
            &[
                "10.0.0.1",
                "10.0.0.2",
                "10.1.2.3",
                "192.0.2.7",
                "198.51.100.9",
                "203.0.113.5",
                "127.0.0.1",
                "::1",
                "fe80::1",
                "2001:db8::1",
                "::ffff:10.0.0.1"
            ][..]
        )
        .prop_map(|s| s.parse().unwrap()),
        any::<IpAddr>(),
    ]
}

fn nets() -> impl Strategy<Value = Vec<IpNet>> {
    prop::collection::vec(
        prop::sample::select(
            &["10.0.0.0/8", "127.0.0.1/32", "::1/128", "2001:db8::/32", "192.0.2.0/24", "0.0.0.0/0"][..],
        )
        .prop_map(|s| s.parse().unwrap()),
        0..3,
    )
}

/// One `X-Forwarded-For` entry: an address as proxies write it, or junk.
fn hop() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => ip().prop_map(|ip| ip.to_string()),
        1 => ip().prop_map(|ip| format!(" {ip} ")),
        1 => ip().prop_map(|ip| format!("{ip}:443")),
        1 => ip().prop_map(|ip| format!("[{ip}]")),
        1 => prop::sample::select(&["unknown", "", "_hidden", "1.2.3", "010.0.0.1", "1.2.3.4.5"][..]).prop_map(str::to_owned),
        1 => "[ -~]{0,20}",
    ]
}

/// Header values: hops joined by commas, spread over one to three headers.
fn headers() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::collection::vec(hop(), 0..4).prop_map(|h| h.join(",")), 0..3)
}

fn parsed(headers: &[String]) -> Vec<IpAddr> {
    headers.iter().flat_map(|v| v.split(',')).filter_map(|s| s.trim().parse().ok()).collect()
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn an_untrusted_peer_is_believed_whatever_it_forwards(
        (peer, trusted) in (ip(), nets()).prop_map(|(peer, nets)| {
            (peer, nets.into_iter().filter(|n| !n.contains(&peer)).collect::<Vec<_>>())
        }),
        xff in headers(),
    ) {
        prop_assert_eq!(client_ip(peer, xff.iter().map(String::as_str), &trusted), peer);
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_believed(peer in ip(), trusted in nets(), xff in headers()) {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
        let got = client_ip(peer, xff.iter().map(String::as_str), &trusted);
        let hops = parsed(&xff);
        if got == peer {
            // Nothing better to believe: the peer is untrusted, or every hop is trusted.
            prop_assert!(!is_trusted(&peer) || hops.iter().all(is_trusted));
        } else {
            prop_assert!(is_trusted(&peer));
            prop_assert!(!is_trusted(&got), "a trusted proxy is never the client");
            let at = hops.iter().rposition(|h| *h == got).expect("the client is one of the hops");
            prop_assert!(hops[at + 1..].iter().all(is_trusted), "only trusted proxies stand right of the client");
        }
    }

    /// What a client writes before the first trusted proxy appended its address
    /// cannot change the answer once a real client address stands right of it.
    #[test]
    fn hops_left_of_the_client_do_not_matter(
        proxy in prop::sample::select(&["10.0.0.1", "10.9.8.7"][..]),
        client in prop::sample::select(&["203.0.113.5", "2001:db9::5", "198.51.100.9"][..]),
        spoofed in headers(),
    ) {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut xff = spoofed;
        xff.push(format!("{client}, {proxy}"));
        let got = client_ip(proxy.parse().unwrap(), xff.iter().map(String::as_str), &trusted);
        prop_assert_eq!(got, client.parse::<IpAddr>().unwrap());
    }
}
