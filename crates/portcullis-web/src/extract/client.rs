//! The client's address and user agent. `X-Forwarded-For` is believed only when
//! the socket peer is one of `server.trusted_proxies`.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use ipnet::IpNet;
use portcullis_core::service::ClientMeta;

use crate::state::AppState;

/// Where a request comes from.
#[derive(Debug, Clone)]
pub struct ClientInfo(pub ClientMeta);

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let trusted = parts
            .extensions
            .get::<AppState>()
            .map(|s| s.config().trusted_proxies.clone())
            .unwrap_or_default();
        let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let ip = peer.map(|p| client_ip(p, forwarded, &trusted));
        let user_agent =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Self(ClientMeta { ip: ip.map(|i| i.to_string()), user_agent }))
    }
}

/// The peer, or, when the peer is a trusted proxy, the right-most address of
/// `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip<'a>(peer: IpAddr, forwarded: impl Iterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> =
        forwarded.flat_map(|v| v.split(',')).filter_map(|s| s.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let spoofed = ["1.2.3.4"];
        assert_eq!(
            client_ip("203.0.113.9".parse().unwrap(), spoofed.into_iter(), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let via_proxy = ["1.2.3.4, 198.51.100.7, 10.0.0.5"];
        assert_eq!(
            client_ip("10.0.0.1".parse().unwrap(), via_proxy.into_iter(), &trusted),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }
}
